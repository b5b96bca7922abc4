/**
 * `npm run bench -- scrape`: one `/metrics` scrape of the `prometheus` exporter holding 4 000 and 16 000
 * histogram series (semconv buckets, the `sli` processor's labels), fetched by a real client (`curl`, with
 * and without `--compressed`: Prometheus asks for gzip) while a drain keeps accumulating batches into the
 * same exporter. Against the exporter, serializer and HTTP server of another git ref (`BENCH_REF`, by
 * default the commit before the streaming serializer), extracted into `.bench-tmp/` and run on the same
 * data in the same run: the A/B.
 *
 * Per variant and size, in its own child process (so peak RSS is its own): the scrape's wall time and
 * size, idle and while draining; the longest event-loop stall the drain saw while the scrape ran, and the
 * batches it drained meanwhile (the drain is a loop that accumulates, each turn, one batch of 1 500 delta
 * points — what the `sli` processor emits per 1 000-record chunk of diverse traffic — into the exporter);
 * the RSS before the scrapes and at peak. Each child also prints a SHA-256 of a scrape taken while idle: equal hashes mean
 * the two variants serve the same bytes.
 *
 * A third variant, ours with `without_scope_info: true`, shows what not repeating `otel_scope_name` saves.
 *
 * `BENCH_SIZES` (default `4000,16000`), `BENCH_ROUNDS` (default 2, interleaved), `BENCH_SCRAPES` (per
 * child and encoding, default 3; the median is reported).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'node:http';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { ComponentContext, Exporter } from '../../src/component.js';
import type { MetricsBatch } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { HealthRegistry } from '../../src/graph.js';
import { silentLogger } from '../../src/logger.js';
import { UNTRACKED } from '../../src/delivery.js';
import { testSharedConfig } from '../helpers/context.js';
import { prometheusConfigSchema } from '../../exporters/prometheus/config.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/**
 * The baseline: `BENCH_REF`, or by default the commit before the streaming serializer came in (the parent
 * of the commit that added `src/http-body.ts`), i.e. the one-string serializer and whole-body gzip.
 */
const REF =
  process.env['BENCH_REF'] ??
  `${spawnSync('git', ['log', '--diff-filter=A', '--format=%H', '--', 'src/http-body.ts'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n').pop()?.slice(0, 10)}^`;
const SIZES = (process.env['BENCH_SIZES'] ?? '4000,16000').split(',').map(Number);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SCRAPES = Number(process.env['BENCH_SCRAPES'] ?? 3);
const SEMCONV_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** The four histograms of the `sli` processor. */
const HISTOGRAMS: [string, string, number[]][] = [
  ['http.server.request.duration', 's', SEMCONV_BUCKETS],
  ['tyk.upstream.request.duration', 's', SEMCONV_BUCKETS],
  ['tyk.gateway.request.duration', 's', SEMCONV_BUCKETS],
  ['http.server.request.body.size', 'By', [0, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000]],
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
/** Ours with `without_scope_info: true`: what dropping `otel_scope_name` saves. */
const NO_SCOPE = 'ours-noscope';

/** Files taken from `REF` for the baseline; every other import resolves to this worktree. */
const AB_FILES = ['exporters/prometheus/prometheus.ts', 'exporters/prometheus/serialize.ts', 'src/http-server.ts'];
const AB_DIR = join(ROOT, '.bench-tmp', 'scrape-ab');

/** Extracts {@link AB_FILES} at `REF` into {@link AB_DIR}, pointing their relative imports at the right files. */
function extractBaseline(): void {
  for (const file of AB_FILES) {
    const r = spawnSync('git', ['show', `${REF}:${file}`], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git show ${REF}:${file}: ${r.stderr}`);
    const text = r.stdout.replace(/from '(\.{1,2}\/[^']+)'/g, (_m, spec: string) => {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = AB_FILES.includes(target) ? join(AB_DIR, target) : join(ROOT, target);
      return `from '${pathToFileURL(to.replace(/\.ts$/, '.js')).href}'`;
    });
    const out = join(AB_DIR, file);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
}

/** Hex id like Tyk's (32 characters). */
function hexId(seed: number, len: number): string {
  let s = '';
  let x = seed * 2654435761 + 12345;
  while (s.length < len) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += x.toString(16).padStart(8, '0');
  }
  return s.slice(0, len);
}

/** `perFamily` series: 8 APIs (one with a non-Latin-1 name, as real API names have), routes, methods, statuses. */
function seriesAttributes(perFamily: number): Attributes[] {
  const out: Attributes[] = [];
  for (let i = 0; i < perFamily; i++) {
    const api = i % 8;
    const status = [200, 201, 404, 503][Math.floor(i / 8) % 4] as number;
    const method = METHODS[Math.floor(i / 32) % METHODS.length] as string;
    const route = Math.floor(i / 160);
    const a: Attributes = {
      'http.request.method': method,
      'http.response.status_code': status,
      'http.route': `/svc${api}/v1/resource${route}/{id}`,
      'tyk.api.id': hexId(api, 32),
      'tyk.api.name': api === 3 ? 'Orders API — EU' : `Bench API ${api}`,
      'tyk.org.id': hexId(99, 24),
    };
    if (status >= 500) a['error.type'] = String(status);
    out.push(a);
  }
  return out;
}

/** One delta batch of every family for `attrs[from..to)`, each point with `n` observations. */
function batch(attrs: Attributes[], from: number, to: number, n: number, salt: number): MetricsBatch {
  const metrics: MetricData[] = HISTOGRAMS.map(([name, unit, bounds]) => ({
    descriptor: { name, description: `${name} (bench)`, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.DELTA,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: attrs.slice(from, to).map((attributes, j) => {
      const counts = new Array<number>(bounds.length + 1).fill(0);
      for (let k = 0; k < n; k++) counts[(j * 7 + k * 3 + salt) % counts.length]! += 1;
      return { startTime: [1, 0], endTime: [2, 0], attributes, value: { buckets: { boundaries: bounds, counts }, sum: n * 0.137 * (j + 1), count: n } };
    }),
  }));
  return { resource: {}, scope: 'tyk-otel-pump/sli', metrics };
}

interface Scrape {
  ms: number;
  bytes: number;
}

/** One scrape by curl (a separate process, as Prometheus is): wall time and bytes received. */
function curl(url: string, gzip: boolean): Promise<Scrape> {
  return new Promise((resolveP, reject) => {
    const args = ['-sf', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', ...(gzip ? ['-H', 'Accept-Encoding: gzip'] : []), url];
    const c = spawn('curl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`curl exited ${code}`));
      const [t, b] = out.split(' ');
      resolveP({ ms: Number(t) * 1000, bytes: Number(b) });
    });
  });
}

/** The plain body of one scrape (for the hash). */
function fetchBody(port: number): Promise<Buffer> {
  return new Promise((resolveP, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveP(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface ChildResult {
  variant: string;
  series: number;
  idleGzipMs: number;
  idleGzipCpuMs: number;
  idlePlainMs: number;
  idlePlainCpuMs: number;
  /** Peak RSS after the idle gzip scrapes (what a Prometheus scrape costs). */
  gzipPeakRssMiB: number;
  gzip: Scrape & { stallMs: number; loopMaxMs: number; drained: number };
  plain: Scrape & { stallMs: number; loopMaxMs: number; drained: number };
  rssBeforeMiB: number;
  peakRssMiB: number;
  sha: string;
}

async function child(variant: string, series: number): Promise<ChildResult> {
  const base = variant === 'ref' ? AB_DIR : ROOT;
  const { PrometheusMetricsExporter } = (await import(pathToFileURL(join(base, 'exporters/prometheus/prometheus.ts')).href)) as typeof import('../../exporters/prometheus/prometheus.js');
  const { HttpServers } = (await import(pathToFileURL(join(base, 'src/http-server.ts')).href)) as typeof import('../../src/http-server.js');
  const logger = silentLogger();
  const http = new HttpServers(logger);
  const ctx: ComponentContext = {
    id: 'prometheus', logger, telemetry: new SelfTelemetry('bench').forComponent('exporter', 'prometheus'),
    health: new HealthRegistry().reporter('prometheus'), http: http.hostFor('prometheus'), shared: testSharedConfig(),
    instanceId: 'bench', configDir: ROOT,
  };
  const exp: Exporter = new PrometheusMetricsExporter(ctx, prometheusConfigSchema.parse({ endpoint: '127.0.0.1:0', without_scope_info: variant === NO_SCOPE }));
  const consume = (b: MetricsBatch) => (exp.consumeMetrics as NonNullable<Exporter['consumeMetrics']>).call(exp, b, UNTRACKED);
  await exp.start();
  const port = (await http.bound('127.0.0.1:0'))?.port as number;
  const perFamily = series / HISTOGRAMS.length;
  const attrs = seriesAttributes(perFamily);
  for (let from = 0; from < perFamily; from += 500) await consume(batch(attrs, from, Math.min(perFamily, from + 500), 20, from));
  (globalThis as { gc?: () => void }).gc?.();
  const rssBeforeMiB = process.memoryUsage.rss() / 1048576;

  /** Idle scrapes: wall time, and the CPU time of this process (render, gzip, writes) per scrape. */
  const idle = async (gzip: boolean) => {
    const runs: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      const c0 = process.cpuUsage();
      runs.push((await curl(`http://127.0.0.1:${port}/metrics`, gzip)).ms);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { ms: median(runs), cpuMs: median(cpu) };
  };
  const idleGzip = await idle(true);
  const gzipPeakRssMiB = process.resourceUsage().maxRSS / 1024;
  const idlePlain = await idle(false);
  const sha = createHash('sha256').update(await fetchBody(port)).digest('hex').slice(0, 16);

  /** Scrapes while a drain accumulates a 1 500-point batch (375 points of each family) per turn. */
  const timed = async (gzip: boolean) => {
    const runs: (Scrape & { stallMs: number; loopMaxMs: number; drained: number })[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      let draining = true;
      let drained = 0;
      let stall = 0;
      let last = performance.now();
      const drain = async () => {
        while (draining) {
          const from = (drained * 375) % perFamily;
          await consume(batch(attrs, from, Math.min(perFamily, from + 375), 3, drained));
          drained++;
          await new Promise<void>((r) => setImmediate(r));
          const now = performance.now();
          stall = Math.max(stall, now - last);
          last = now;
        }
      };
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      const d = drain();
      await new Promise((r) => setTimeout(r, 50));
      stall = 0;
      drained = 0;
      last = performance.now();
      const s = await curl(`http://127.0.0.1:${port}/metrics`, gzip);
      draining = false;
      await d;
      h.disable();
      runs.push({ ...s, stallMs: stall, loopMaxMs: h.max / 1e6, drained });
    }
    const pick = (k: 'ms' | 'stallMs' | 'loopMaxMs' | 'drained') => median(runs.map((r) => r[k]));
    return { ms: pick('ms'), bytes: runs[0]?.bytes ?? 0, stallMs: pick('stallMs'), loopMaxMs: pick('loopMaxMs'), drained: pick('drained') };
  };
  const gzipResult = await timed(true);
  const plainResult = await timed(false);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  await exp.shutdown();
  await http.close();
  return { variant, series, idleGzipMs: idleGzip.ms, idleGzipCpuMs: idleGzip.cpuMs, idlePlainMs: idlePlain.ms, idlePlainCpuMs: idlePlain.cpuMs, gzipPeakRssMiB, gzip: gzipResult, plain: plainResult, rssBeforeMiB, peakRssMiB, sha };
}

function runChild(variant: string, series: number): ChildResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', variant, String(series)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${variant} ${series} failed (${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult;
}

const f0 = (x: number) => x.toFixed(0);
const mb = (b: number) => (b / 1048576).toFixed(1);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const r = await child(argv[1] as string, Number(argv[2]));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  extractBaseline();
  console.log(`load: ${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()}`);
  console.log(`baseline ("before"): ${REF} = ${spawnSync('git', ['log', '-1', '--format=%h %s', REF], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().slice(0, 100)}`);
  const variants = ['ours', 'before', NO_SCOPE];
  const results: ChildResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const series of SIZES) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const r = runChild(v === 'before' ? 'ref' : v, series);
        r.variant = v;
        results.push(r);
        console.log(
          `round ${round + 1} ${v.padEnd(12)} ${String(series).padStart(6)} histogram series: idle gzip ${f0(r.idleGzipMs)} ms (CPU ${f0(r.idleGzipCpuMs)} ms), plain ${f0(r.idlePlainMs)} ms (CPU ${f0(r.idlePlainCpuMs)} ms) · draining: ` +
            `gzip ${f0(r.gzip.ms)} ms (${mb(r.gzip.bytes)} MB; drain stall ${f0(r.gzip.stallMs)} ms, loop max ${f0(r.gzip.loopMaxMs)} ms, ${r.gzip.drained} batches) · ` +
            `plain ${f0(r.plain.ms)} ms (${mb(r.plain.bytes)} MB; stall ${f0(r.plain.stallMs)} ms, ${r.plain.drained} batches) · ` +
            `RSS ${f0(r.rssBeforeMiB)} → peak ${f0(r.gzipPeakRssMiB)} (gzip scrapes), ${f0(r.peakRssMiB)} MiB (all) · sha ${r.sha}`,
        );
      }
    }
  }
  console.log('\nbest round per variant (ratio ours / before: below 1 is faster):');
  for (const series of SIZES) {
    const best = (v: string, k: 'gzip' | 'plain') => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r[k].ms));
    const bestIdle = (v: string) => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r.idleGzipMs));
    const bestCpu = (v: string) => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r.idleGzipCpuMs));
    const gzPeak = (v: string) => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r.gzipPeakRssMiB));
    const stall = (v: string) => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r.gzip.stallMs));
    const peak = (v: string) => Math.min(...results.filter((r) => r.variant === v && r.series === series).map((r) => r.peakRssMiB));
    const same = new Set(results.filter((r) => r.series === series && r.variant !== NO_SCOPE).map((r) => r.sha)).size === 1;
    const ns = results.filter((r) => r.variant === NO_SCOPE && r.series === series);
    const oursPlain = results.find((r) => r.variant === 'ours' && r.series === series)?.plain.bytes ?? NaN;
    console.log(
      `${String(series).padStart(6)} series: idle gzip ${f0(bestIdle('ours'))} vs ${f0(bestIdle('before'))} ms (×${(bestIdle('ours') / bestIdle('before')).toFixed(2)}), CPU ${f0(bestCpu('ours'))} vs ${f0(bestCpu('before'))} ms (×${(bestCpu('ours') / bestCpu('before')).toFixed(2)}), peak RSS ${f0(gzPeak('ours'))} vs ${f0(gzPeak('before'))} MiB; draining: gzip ${f0(best('ours', 'gzip'))} vs ${f0(best('before', 'gzip'))} ms (×${(best('ours', 'gzip') / best('before', 'gzip')).toFixed(2)}), ` +
        `plain ${f0(best('ours', 'plain'))} vs ${f0(best('before', 'plain'))} ms (×${(best('ours', 'plain') / best('before', 'plain')).toFixed(2)}), ` +
        `drain stall ${f0(stall('ours'))} vs ${f0(stall('before'))} ms, peak RSS ${f0(peak('ours'))} vs ${f0(peak('before'))} MiB, same bytes: ${same ? 'yes' : 'NO'}`,
    );
    if (ns.length > 0) {
      console.log(
        `        without_scope_info: ${mb(ns[0]?.plain.bytes ?? NaN)} MB plain (${f0((1 - (ns[0]?.plain.bytes ?? NaN) / oursPlain) * 100)} % less), ` +
          `${mb(ns[0]?.gzip.bytes ?? NaN)} MB gzip, idle gzip ${f0(bestIdle(NO_SCOPE))} ms, CPU ${f0(bestCpu(NO_SCOPE))} ms`,
      );
    }
  }
}

await main();
