/**
 * Cardinality under hostile paths: 100 000 records with 100 000 distinct raw paths go through the real
 * `route` → `sli` → `prometheus` components. The number of series stays bounded and a scrape stays fast.
 *
 * The bound, per metric: min(sli `cardinality_limit` (2000, overflow series included),
 * APIs × (route `max_routes_per_api` + 1 for `{other}`) × methods × status codes).
 * With the route defaults each unique path gets its own route until an API has 100, then `{other}`:
 * here at most 5 × (100 + 2 × 3) = 530 series. With the route cap lifted, the sli limit (2000) holds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ComponentContext, Consumer, Exporter, ExporterFactory, Processor, ProcessorFactory } from '../src/component.js';
import type { AnalyticsRecord, MetricsBatch, RecordBatch } from '../src/model.js';
import { factories } from '../src/factories.js';
import { HttpServers } from '../src/http-server.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { silentLogger } from '../src/logger.js';
import { UNTRACKED } from '../src/delivery.js';
import { httpRecord } from './helpers/records.js';
import { componentContext } from './helpers/context.js';

const RECORDS = 100_000;
const APIS = 5;
const METHODS = ['GET', 'POST'];
const CODES = [200, 404, 503];

/** A word-like, never-repeating path segment (not an id the route templater would collapse). */
function word(i: number): string {
  let s = '';
  let n = i;
  do {
    s += String.fromCharCode(97 + (n % 26));
    n = Math.floor(n / 26);
  } while (n > 0);
  return `item-${s}`;
}

/** Milliseconds curl needs to fetch `url` (time_total). */
function timedScrape(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('curl', ['-sf', '-o', '/dev/null', '-w', '%{time_total}', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(Number(out) * 1000) : reject(new Error(`curl exited ${code}`))));
  });
}

function factory<F>(kind: string, type: string): F {
  const f = factories.find((x) => x.kind === kind && x.type === type);
  assert.ok(f, `${kind} ${type} is registered`);
  return f as F;
}

describe('cardinality: 100k distinct raw paths through route → sli → prometheus', { timeout: 60_000 }, () => {
  const cases = [
    { name: 'route defaults: the route cap bounds the series', route: {}, maxSeries: APIS * (100 + METHODS.length * CODES.length), overflow: false },
    { name: 'route cap lifted: the sli cardinality limit bounds the series', route: { max_routes_per_api: 1_000_000 }, maxSeries: 2000, overflow: true },
  ];
  for (const c of cases) it(`${c.name}, and the scrape is complete`, async (t) => {
    const telemetry = new SelfTelemetry('tyk_otel_pump');
    const http = new HttpServers(silentLogger());
    const ctx = (id: string, kind: 'processor' | 'exporter'): ComponentContext =>
      componentContext({ id, telemetry: telemetry.forComponent(kind, id), http, instanceId: 'card' });
    const prometheusF = factory<ExporterFactory>('exporter', 'prometheus');
    const sliF = factory<ProcessorFactory>('processor', 'sli');
    const routeF = factory<ProcessorFactory>('processor', 'route');
    const exporter: Exporter = prometheusF.create(ctx('prometheus', 'exporter'), prometheusF.configSchema.parse({ endpoint: '127.0.0.1:0' }));
    const toExporter: Consumer<'metrics'> = { consume: (b: MetricsBatch, c) => (exporter.consumeMetrics as NonNullable<Exporter['consumeMetrics']>).call(exporter, b, c) };
    const sli: Processor = sliF.create(ctx('sli@metrics', 'processor'), sliF.configSchema.parse({}), { input: 'records', output: 'metrics' }, toExporter as Consumer<never>);
    const route: Processor = routeF.create(ctx('route@metrics', 'processor'), routeF.configSchema.parse(c.route), { input: 'records', output: 'records' }, sli as Consumer<never>);
    try {
      await exporter.start();
      await sli.start();
      await route.start();
      const paths = new Set<string>();
      for (let start = 0; start < RECORDS; start += 1000) {
        const batch: AnalyticsRecord[] = [];
        for (let i = start; i < start + 1000; i++) {
          const path = `/catalog/${word(i)}/details`;
          paths.add(path);
          batch.push(httpRecord({
            apiId: `api-${i % APIS}`, apiName: `API ${i % APIS}`, listenPath: '/catalog/', path, rawPath: path,
            method: METHODS[i % METHODS.length], responseCode: CODES[Math.floor(i / 2) % CODES.length], timestampMs: Date.now(),
          }));
        }
        await route.consume(batch as RecordBatch, UNTRACKED);
      }
      assert.equal(paths.size, RECORDS, '100k distinct raw paths');

      const bound = await http.bound('127.0.0.1:0');
      const url = `http://127.0.0.1:${bound?.port}/metrics`;
      // Timed from another process, as Prometheus scrapes (decoding 33 MB here would compete with the server).
      // Reported, not asserted: a wall-clock bound fails on a loaded CI host. The scrape's speed is
      // measured by `npm run bench -- pipeline` (BENCHMARKS.md); here it must merely complete.
      const scrapeMs = await timedScrape(url);
      const text = await (await fetch(url)).text();

      const requests = text.split('\n').filter((l) => l.startsWith('tyk_api_requests_total{'));
      t.diagnostic(`${requests.length} series per metric, scrape ${(text.length / 1e6).toFixed(1)} MB in ${scrapeMs.toFixed(0)} ms`);
      const total = requests.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      assert.equal(total, RECORDS, 'every request counted, overflow included');
      assert.ok(requests.length <= c.maxSeries, `${requests.length} series of tyk_api_requests_total (bound ${c.maxSeries})`);
      assert.ok(requests.length >= c.maxSeries * 0.9, `${requests.length} series: the bound is what limits them`);
      assert.equal(requests.some((l) => l.includes('otel_metric_overflow="true"')), c.overflow, 'the sli limit was reached');
      const durationSeries = text.split('\n').filter((l) => l.startsWith('http_server_request_duration_seconds_count{'));
      assert.equal(durationSeries.length, requests.length);
      if (!c.overflow) {
        for (let a = 0; a < APIS; a++) {
          const routes = new Set(requests.filter((l) => l.includes(`tyk_api_id="api-${a}"`)).map((l) => /http_route="([^"]*)"/.exec(l)?.[1]));
          assert.equal(routes.size, 101, `api-${a}: max_routes_per_api 100 + {other}`);
        }
      }
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');
    } finally {
      await route.shutdown();
      await sli.shutdown();
      await exporter.shutdown();
      await http.close();
      await telemetry.shutdown();
    }
  });
});
