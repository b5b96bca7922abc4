/**
 * The pipeline bench's "ours": the agent as a user runs it — the compiled CLI (`bin/tyk-otel-pump.js run
 * --config FILE`, dist/ built by `npm run build`) in a child process, on a config file with default
 * settings — watched from outside so the watching costs the agent (almost) nothing:
 *
 * - the clock starts when the backlog's Redis list first shrinks (`LLEN`, polled every 2 ms by this
 *   process: the first chunk claimed), so the agent's start (module loading, config) is not in it;
 * - while draining, `LLEN` every 50 ms gives the progress, and each poll reads the child's RSS from
 *   `/proc/<pid>/status` (the RSS at each tenth of the backlog is reported: it must stay flat);
 * - once the list is empty, the agent's small self-telemetry `/metrics` (a few dozen series) is polled
 *   every 20 ms until the receiver has accepted every record, then the exporter's `/metrics` is scraped
 *   until its `tyk_api_requests_total` equals the HTTP records: the clock stops when that scrape was sent
 *   (the last record visible in `/metrics`). The scrape's time and size are reported;
 * - CPU is the child's user + system time from `/proc/<pid>/stat` between the two clock points; peak RSS is
 *   `VmHWM` when the clock stopped (before the verifying scrape) and again after it.
 *
 * Optionally one scrape is sent when half the backlog is drained (`midScrape`): its time is how long a
 * scrape stalls the drain at most (rendering runs on the agent's event loop).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { CLK_TCK, procStat, procStatusKiB as statusKiB } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/tyk-otel-pump.js', import.meta.url));

/** What one compiled-agent run measured. */
export interface AgentRun {
  readonly seconds: number;
  readonly cpuUsPerRecord: number;
  /** The system (kernel) part of {@link cpuUsPerRecord}: socket reads and writes, page faults. */
  readonly sysUsPerRecord: number;
  /** RSS when the first chunk was claimed: the started, idle agent. */
  readonly startRssMiB: number;
  /** `VmHWM` when the clock stopped, and after the verifying scrape. */
  readonly peakRssMiB: number;
  readonly peakWithScrapeMiB: number;
  /** RSS (MiB) when 10 %, 20 %, … 100 % of the backlog had left Redis. */
  readonly rssByTenth: readonly number[];
  /** RSS 3 s after the drain and the scrape (no forced GC: what an operator sees). */
  readonly idleRssMiB: number;
  readonly scrapeMs: number;
  readonly scrapeBytes: number;
  /** Histogram series in the scrape (`…_count{` lines). */
  readonly histogramSeries: number;
  /** A scrape sent at half the backlog, if asked (ms). */
  readonly midScrapeMs?: number;
  /** The requests counted through the scrape (the caller checks them). */
  readonly requests: number;
  /** The sli emission windows by what ended them (`processor.sli.window_chunks`), read after the clock stopped; empty when the agent has no such metric. */
  readonly windows: Readonly<Record<string, { windows: number; chunks: number }>>;
}

/** How to run and when the run is complete. */
export interface AgentJob {
  readonly yaml: string;
  /** A client on the bench's Redis, and the list the backlog is in. */
  readonly redis: Redis;
  readonly key: string;
  readonly n: number;
  readonly httpRecords: number;
  /** Ports written into the YAML: the exporter's `/metrics` and the self-telemetry listener. */
  readonly promPort: number;
  readonly telemetryPort: number;
  /** Extra completion condition (e.g. a logs sink received every record); polled every 20 ms at the end. */
  readonly done?: () => Promise<boolean>;
  readonly midScrape?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sumOf(text: string, prefix: string): number {
  let total = 0;
  for (const l of text.split('\n')) if (l.startsWith(prefix)) total += Number(l.slice(l.lastIndexOf(' ') + 1));
  return total;
}

async function get(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Runs the compiled agent on `job.yaml` until every record is visible in `/metrics`, then stops it (SIGTERM). */
export async function runCompiledAgent(job: AgentJob): Promise<AgentRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-'));
  const config = join(dir, 'otel-config.yaml');
  writeFileSync(config, job.yaml);
  // BENCH_AGENT_NODE_OPTIONS: Node/V8 flags for the agent alone (A/B of heap sizing; the bench's own process keeps its flags).
  const flags = process.env['BENCH_AGENT_NODE_OPTIONS'];
  const env = flags === undefined ? process.env : { ...process.env, NODE_OPTIONS: flags };
  // BENCH_AGENT_NODE_ARGS: flags on the agent's node command line, for those NODE_OPTIONS refuses
  // (`--cpu-prof --cpu-prof-dir=/tmp/prof`: the profile is written when the agent exits on SIGTERM).
  const args = (process.env['BENCH_AGENT_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
  const child = spawn(process.execPath, [...args, BIN, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  const keep = (d: Buffer) => void (output = (output + d.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // BENCH_AGENT_STDOUT=FILE: the agent's stdout is appended there too (e.g. with `--trace-gc` in BENCH_AGENT_NODE_ARGS).
  const tee = process.env['BENCH_AGENT_STDOUT'];
  if (tee !== undefined) child.stdout.on('data', (d: Buffer) => appendFileSync(tee, d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const pid = child.pid as number;
  const alive = () => {
    if (exitCode !== undefined) throw new Error(`the agent exited (${exitCode}) during the run:\n${output}`);
  };
  try {
    while ((await job.redis.llen(job.key)) === job.n) {
      alive();
      await sleep(2);
    }
    const t0 = performance.now();
    // One read of /proc/<pid>/stat gives both the total and its system part.
    const { cpuTicks: c0, sysTicks: sys0 } = procStat(pid);
    const startRssMiB = statusKiB(pid, 'VmRSS') / 1024;
    const rssByTenth: number[] = [];
    let midScrapeMs: number | undefined;
    for (;;) {
      alive();
      const left = await job.redis.llen(job.key);
      const tenths = Math.floor(((job.n - left) / job.n) * 10);
      const rss = statusKiB(pid, 'VmRSS') / 1024;
      while (rssByTenth.length < tenths) rssByTenth.push(rss);
      if (job.midScrape && midScrapeMs === undefined && left <= job.n / 2) {
        const s0 = performance.now();
        await get(job.promPort);
        midScrapeMs = performance.now() - s0;
      }
      if (left === 0) break;
      await sleep(50);
    }
    const receiverAccepted = '_receiver_accepted_items_total{receiver="tyk_redis"';
    while (sumOf(await get(job.telemetryPort), `tyk_otel_pump${receiverAccepted}`) < job.n) {
      alive();
      await sleep(20);
    }
    while (job.done && !(await job.done())) {
      alive();
      await sleep(20);
    }
    let t1: number;
    let c1: number;
    let sys1: number;
    let peak: number;
    let text: string;
    let scrapeMs: number;
    for (;;) {
      alive();
      t1 = performance.now();
      ({ cpuTicks: c1, sysTicks: sys1 } = procStat(pid));
      peak = statusKiB(pid, 'VmHWM');
      text = await get(job.promPort);
      scrapeMs = performance.now() - t1;
      if (sumOf(text, 'tyk_api_requests_total{') >= job.httpRecords) break;
      await sleep(20);
    }
    const requests = sumOf(text, 'tyk_api_requests_total{');
    const histogramSeries = text.split('\n').filter((l) => /^[a-z_]+_count\{/.test(l)).length;
    const scrapeBytes = Buffer.byteLength(text);
    text = '';
    const peakWithScrapeMiB = statusKiB(pid, 'VmHWM') / 1024;
    const windows: Record<string, { windows: number; chunks: number }> = {};
    for (const line of (await get(job.telemetryPort)).split('\n')) {
      const m = /^tyk_otel_pump_processor_sli_window_chunks_(count|sum)\{.*trigger="([a-z_]+)".*\} (\d+)$/.exec(line);
      if (!m) continue;
      const w = (windows[m[2] as string] ??= { windows: 0, chunks: 0 });
      if (m[1] === 'count') w.windows += Number(m[3]);
      else w.chunks += Number(m[3]);
    }
    await sleep(3000);
    const idleRssMiB = statusKiB(pid, 'VmRSS') / 1024;
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`the agent exited ${code} after SIGTERM:\n${output}`);
    return {
      seconds: (t1 - t0) / 1000,
      cpuUsPerRecord: (((c1 - c0) / CLK_TCK) * 1e6) / job.n,
      sysUsPerRecord: (((sys1 - sys0) / CLK_TCK) * 1e6) / job.n,
      startRssMiB,
      peakRssMiB: peak / 1024,
      peakWithScrapeMiB,
      rssByTenth,
      idleRssMiB,
      scrapeMs,
      scrapeBytes,
      histogramSeries,
      midScrapeMs,
      requests,
      windows,
    };
  } finally {
    if (exitCode === undefined) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An OTLP/HTTP logs endpoint in its own process: gunzips each request and counts its log records by walking
 * the protobuf wire (`ExportLogsServiceRequest.resource_logs(1).scope_logs(2).log_records(2)`), answers 200
 * with an empty `ExportLogsServiceResponse`. `GET /count` answers `{"records":…,"requests":…,"bytes":…}`.
 */
const OTLP_LOGS_SINK = `
const { gunzipSync } = require('node:zlib');
const r = { records: 0, requests: 0, bytes: 0 };
function varint(b, p) { let x = 0, s = 0; for (;;) { const c = b[p.i++]; x += (c & 0x7f) * 2 ** s; if (c < 0x80) return x; s += 7; } }
function count(b, start, end, fields, depth) {
  let n = 0; const p = { i: start };
  while (p.i < end) {
    const tag = varint(b, p), f = Math.floor(tag / 8), w = tag & 7;
    if (w === 2) { const len = varint(b, p), s = p.i; p.i += len; if (f === fields[depth]) n += depth === fields.length - 1 ? 1 : count(b, s, s + len, fields, depth + 1); }
    else if (w === 0) varint(b, p); else if (w === 1) p.i += 8; else if (w === 5) p.i += 4; else throw new Error('wire type ' + w);
  }
  return n;
}
const server = require('node:http').createServer((req, res) => {
  if (req.method === 'GET') { res.end(JSON.stringify(r)); return; }
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    let body = Buffer.concat(parts);
    r.bytes += body.length;
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    r.records += count(body, 0, body.length, [1, 2, 2], 0);
    r.requests++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** A running logs sink: its port, its counts, and a stop. */
export interface LogsSink {
  readonly port: number;
  count(): Promise<{ records: number; requests: number; bytes: number }>;
  stop(): void;
}

/** Starts {@link OTLP_LOGS_SINK} in its own process. */
export async function startLogsSink(): Promise<LogsSink> {
  const p = spawn(process.execPath, ['-e', OTLP_LOGS_SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    p.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    p.once('exit', (c) => reject(new Error(`the logs sink exited ${c}`)));
  });
  return {
    port,
    count: async () => (await (await fetch(`http://127.0.0.1:${port}/count`)).json()) as { records: number; requests: number; bytes: number },
    stop: () => void p.kill('SIGTERM'),
  };
}
