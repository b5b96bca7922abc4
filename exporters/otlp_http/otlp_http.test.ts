import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { BatchContext } from '../../src/component.js';
import type { LogEntry, LogsBatch, MetricsBatch } from '../../src/model.js';
import { HttpServers } from '../../src/http-server.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { ExportError, isRetryable, ShuttingDownError } from '../../src/errors.js';
import { parseWithProblems } from '../../src/config/load.js';
import { captureLogger, type LogLine } from '../../test/helpers/log-capture.js';
import { componentContext } from '../../test/helpers/context.js';
import { startOtlpSink, type OtlpSink } from '../../test/helpers/otlp-sink.js';
import { DEFAULT_GZIP_LEVEL, otlpHttpConfigSchema } from './config.js';
import { otlpHttpExporterFactory } from './index.js';
import type { OtlpHttpExporter } from './otlp_http.js';
import { Backoff, parseRetryAfter } from './sender.js';

const SECRET = 'Bearer s3cr3t-token-value';

interface Harness {
  readonly exp: OtlpHttpExporter;
  readonly telemetry: SelfTelemetry;
  readonly logs: LogLine[];
  readonly text: () => string;
  count(name: 'dropped' | 'sent' | 'send_failed' | 'accepted' | 'refused', labels?: Record<string, string>): Promise<number>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sink(): Promise<OtlpSink> {
  const s = await startOtlpSink();
  cleanups.push(() => s.close());
  return s;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'otlp-spool-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function harness(config: Record<string, unknown>, id = 'otlp_http/test', start = true): Promise<Harness> {
  const telemetry = new SelfTelemetry('t');
  const { logger, lines, text } = captureLogger('debug');
  const ctx = componentContext({ id, logger: logger.child({ component: id }), telemetry: telemetry.forComponent('exporter', id, 'logs'), http: new HttpServers(logger) });
  const parsed = otlpHttpConfigSchema.parse({ headers: { authorization: SECRET }, ...config });
  const exp = otlpHttpExporterFactory.create(ctx, parsed) as OtlpHttpExporter;
  if (start) await exp.start();
  cleanups.push(async () => {
    await exp.shutdown();
    await telemetry.shutdown();
  });
  const metricName = { dropped: 'dropped_items', sent: 'sent_items', send_failed: 'send_failed_items', accepted: 'accepted_items', refused: 'refused_items' } as const;
  return {
    exp, telemetry, logs: lines, text,
    async count(name, labels = {}) {
      const scrape = await telemetry.scrape();
      let total = 0;
      for (const line of scrape.split('\n')) {
        if (!line.startsWith(`t_exporter_${metricName[name]}_total{`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
      }
      return total;
    },
  };
}

function log(i: number, over: Partial<LogEntry> = {}): LogEntry {
  return {
    timestampMs: Date.UTC(2026, 10, 26, 12, 0, 0, i % 1000), timestampNs: 123_456, severityNumber: 9 as LogEntry['severityNumber'],
    severityText: 'INFO', body: `GET /orders/{id} 200 ${i}ms`,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, seq: i, 'tyk.tags': ['a', 'b'] },
    ...over,
  };
}

function logsBatch(from: number, n: number): LogsBatch {
  return { resource: { 'service.name': 'tyk-gateway', 'host.name': 'gw-1' }, scope: 'tyk-otel-pump/audit_log', logs: Array.from({ length: n }, (_, k) => log(from + k)) };
}

/** A BatchContext that records how the deferral settled. */
function deferred(): { ctx: BatchContext; settled: Promise<Error | undefined>; isSettled: () => boolean } {
  let resolve!: (e: Error | undefined) => void;
  let done = false;
  const settled = new Promise<Error | undefined>((r) => (resolve = r));
  return {
    settled,
    isSettled: () => done,
    ctx: {
      chunkId: undefined,
      defer: () => (err) => {
        done = true;
        resolve(err);
      },
    },
  };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const FAST_RETRY = { initial_interval: '20ms', max_interval: '100ms', randomization_factor: 0 };

describe('otlp_http exporter: logs', () => {
  it('sends protobuf+gzip by default; the official schema decodes records, resource and scope exactly', async () => {
    const s = await sink();
    const h = await harness({ endpoint: s.url, resource: { 'service.instance.id': 'agent-1', 'host.name': 'override' } });
    const d = deferred();
    const entry = log(7, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    await h.exp.consumeLogs({ ...logsBatch(0, 1), logs: [entry] }, d.ctx);
    assert.equal(await d.settled, undefined, 'settled without error once the endpoint accepted');
    const [req] = s.requests;
    assert.equal(req?.path, '/v1/logs');
    assert.equal(req?.contentType, 'application/x-protobuf');
    assert.equal(req?.contentEncoding, 'gzip');
    assert.equal(req?.headers['authorization'], SECRET);
    const [got] = s.logs();
    assert.deepEqual(got?.resource, { 'service.name': 'tyk-gateway', 'host.name': 'override', 'service.instance.id': 'agent-1' });
    assert.equal(got?.scope, 'tyk-otel-pump/audit_log');
    assert.equal(got?.timeUnixNano, String(BigInt(entry.timestampMs) * 1_000_000n + 123_456n));
    assert.equal(got?.severityNumber, 9);
    assert.equal(got?.severityText, 'INFO');
    assert.equal(got?.body, 'GET /orders/{id} 200 7ms');
    assert.deepEqual(got?.attributes, { 'http.request.method': 'GET', 'http.response.status_code': 200, seq: 7, 'tyk.tags': ['a', 'b'] });
    assert.equal(got?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(await h.count('sent', { signal: 'logs' }), 1);
  });

  it('sends OTLP/JSON without compression when configured, and splits large batches', async () => {
    const s = await sink();
    const h = await harness({ endpoint: s.url, encoding: 'json', compression: 'none', sending_queue: { max_batch_items: 40 } });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 100), d.ctx);
    assert.equal(await d.settled, undefined);
    assert.equal(s.requests.length, 3, '100 records in requests of at most 40');
    for (const r of s.requests) {
      assert.equal(r.contentType, 'application/json');
      assert.equal(r.contentEncoding, '');
    }
    assert.deepEqual(s.logs().map((l) => l.attributes['seq']).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 100 }, (_, i) => i));
  });

  it('sends protobuf uncompressed or gzipped at any compression_params.level, split at max_batch_items: the same records', async () => {
    const s = await sink();
    const configs = [{ compression: 'none' }, { compression_params: { level: 0 } }, { compression_params: { level: 9 } }, { compression_params: { level: -1 } }, {}];
    for (const [i, cfg] of configs.entries()) {
      const h = await harness({ endpoint: s.url, sending_queue: { max_batch_items: 30 }, ...cfg }, `otlp_http/level${i}`);
      const d = deferred();
      await h.exp.consumeLogs(logsBatch(i * 100, 100), d.ctx);
      assert.equal(await d.settled, undefined);
    }
    assert.equal(s.requests.length, configs.length * 4, '100 records in requests of at most 30');
    assert.deepEqual(s.requests.map((r) => r.contentEncoding), [...Array(4).fill(''), ...Array(16).fill('gzip')]);
    assert.ok(s.requests.every((r) => r.contentType === 'application/x-protobuf' && r.decoded !== undefined));
    assert.deepEqual(s.logs().map((l) => Number(l.attributes['seq'])).sort((a, b) => a - b), Array.from({ length: configs.length * 100 }, (_, i) => i));
    assert.equal(otlpHttpConfigSchema.parse({}).compression_params.level, DEFAULT_GZIP_LEVEL);
  });

  for (const status of [400, 401, 403, 404]) {
    it(`counts a ${status} as permanent: not retried, logged once with the URL and never the headers`, async () => {
      const s = await sink();
      s.reply(() => ({ status, body: 'nope: bad credentials', headers: { 'content-type': 'text/plain' } }));
      const h = await harness({ endpoint: s.url, retry_on_failure: FAST_RETRY });
      const outcomes: (Error | undefined)[] = [];
      for (let i = 0; i < 3; i++) {
        const d = deferred();
        await h.exp.consumeLogs(logsBatch(i * 10, 10), d.ctx);
        outcomes.push(await d.settled);
      }
      await new Promise((r) => setTimeout(r, 150)); // long enough for several retries, had there been any
      assert.equal(s.requests.length, 3, 'one attempt per request, no retry loop');
      for (const e of outcomes) {
        assert.ok(e instanceof ExportError);
        assert.equal(e.status, status);
        assert.equal(isRetryable(e), false, 'the at-least-once receiver acks (the records are dropped, counted)');
      }
      assert.equal(await h.count('dropped', { reason: 'permanent_error', signal: 'logs' }), 30);
      const errors = h.logs.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, 'logged once per burst');
      assert.equal(errors[0]?.['url'], `${s.url}/v1/logs`);
      assert.equal(errors[0]?.['status'], status);
      assert.match(String(errors[0]?.['message']), /bad credentials/);
      assert.ok(!h.text().includes('s3cr3t'), 'no header value in any log line');
    });
  }

  it('retries 503 with backoff until it succeeds; every record arrives once', async () => {
    const s = await sink();
    s.reply((_r, i) => (i < 3 ? { status: 503 } : { status: 200 }));
    const h = await harness({ endpoint: s.url, retry_on_failure: FAST_RETRY });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 5), d.ctx);
    assert.equal(await d.settled, undefined);
    assert.equal(s.requests.length, 4);
    assert.equal(s.logs().length, 5);
    assert.equal(await h.count('send_failed', { reason: 'http_503' }), 15);
    assert.equal(await h.count('dropped'), 0);
    assert.ok(h.logs.some((l) => l.msg === 'OTLP logs endpoint recovered'));
    assert.equal(h.logs.filter((l) => l.msg === 'OTLP logs export failed; retrying with backoff').length, 1, 'one warning per burst');
  });

  it('honours Retry-After (seconds) over its own shorter backoff', async () => {
    const s = await sink();
    s.reply((_r, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const h = await harness({ endpoint: s.url, retry_on_failure: FAST_RETRY });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 1), d.ctx);
    assert.equal(await d.settled, undefined);
    const [a, b] = s.requests;
    const gap = (b?.receivedAt ?? 0) - (a?.receivedAt ?? 0);
    // The lower bound is the point (the Retry-After wins over a 20 ms backoff); the upper one only catches a hang.
    assert.ok(gap >= 950 && gap < 10_000, `second attempt ${gap} ms after the first (Retry-After: 1, own backoff 20 ms)`);
  });

  it('gives up after max_elapsed_time: settled retryable so the receiver re-delivers, counted as failed attempts, never as dropped', async () => {
    const s = await sink();
    s.reply(() => ({ status: 502 }));
    const h = await harness({ endpoint: s.url, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '300ms' } });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 4), d.ctx);
    const err = await d.settled;
    assert.ok(err instanceof ExportError);
    assert.equal(isRetryable(err), true);
    assert.ok(s.requests.length >= 3, `retried (${s.requests.length} attempts)`);
    assert.equal(await h.count('dropped'), 0, 'handed back, not dropped: the receiver decides');
    assert.equal(await h.count('send_failed', { reason: 'http_502' }), 4 * s.requests.length, 'each failed attempt, per record');
  });

  it('treats a timeout as retryable', async () => {
    const s = await sink();
    s.reply((_r, i) => (i === 0 ? 'hang' : { status: 200 }));
    const h = await harness({ endpoint: s.url, timeout: '200ms', retry_on_failure: FAST_RETRY });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 2), d.ctx);
    assert.equal(await d.settled, undefined);
    assert.equal(await h.count('send_failed', { reason: 'timeout' }), 2);
  });

  it('counts records the endpoint rejected in a partial success', async () => {
    const s = await sink();
    s.reply(() => ({ status: 200, rejected: 2 }));
    const h = await harness({ endpoint: s.url });
    const d = deferred();
    await h.exp.consumeLogs(logsBatch(0, 5), d.ctx);
    assert.equal(await d.settled, undefined);
    assert.equal(await h.count('dropped', { reason: 'rejected_by_endpoint' }), 2);
    assert.equal(await h.count('sent', { signal: 'logs' }), 3);
  });

  it('applies backpressure: consumeLogs waits while the queue is full and resumes when it drains', async () => {
    const s = await sink();
    let down = true;
    s.reply(() => (down ? { status: 503 } : { status: 200 }));
    const h = await harness({ endpoint: s.url, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '0' }, sending_queue: { queue_size: 10, num_consumers: 1 } });
    await h.exp.consumeLogs(logsBatch(0, 10), deferred().ctx); // taken by the only sender (retrying)
    await until('the sender took the first batch', () => s.requests.length > 0);
    await h.exp.consumeLogs(logsBatch(10, 10), deferred().ctx); // fills the queue
    let third = false;
    const p = h.exp.consumeLogs(logsBatch(20, 10), deferred().ctx).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(third, false, 'the third batch waits for room instead of being dropped');
    assert.equal(await h.count('dropped'), 0);
    down = false;
    await p;
    await until('all 30 delivered', () => s.logs().length === 30);
  });

  it('overflows into the spool when memory is full (settling on fsync), and replays it after a restart', async () => {
    const s = await sink();
    s.reply(() => ({ status: 503 }));
    const dir = tempDir();
    const cfg = { endpoint: s.url, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '0' }, sending_queue: { queue_size: 10, num_consumers: 1, drain_timeout: '200ms' }, spool: { directory: dir } };
    const h1 = await harness(cfg, 'otlp_http/spooled');
    const inMemory = deferred();
    await h1.exp.consumeLogs(logsBatch(0, 10), inMemory.ctx);
    await until('the sender took the first batch', () => s.requests.length > 0);
    await h1.exp.consumeLogs(logsBatch(10, 10), deferred().ctx);
    const spooled = deferred();
    await h1.exp.consumeLogs(logsBatch(20, 10), spooled.ctx);
    assert.equal(await spooled.settled, undefined, 'spooled = durably accepted: settled at once');
    assert.equal(inMemory.isSettled(), false, 'queued in memory: not settled while the endpoint fails');
    const files = readdirSync(join(dir, 'otlp_http_spooled')).filter((f) => f !== 'LOCK');
    assert.deepEqual(files, ['000000000001-10.pb.gz']);
    assert.match(await h1.telemetry.scrape(), /^t_exporter_spool_items\{exporter="otlp_http\/spooled"\} 10$/m);
    await h1.exp.shutdown();
    assert.equal(await inMemory.settled, undefined, 'at shutdown what is queued goes to the spool');
    assert.equal(readdirSync(join(dir, 'otlp_http_spooled')).length, 3, 'three requests spooled, lock released');
    assert.equal(await h1.count('dropped'), 0);

    s.reply(() => ({ status: 200 }));
    const h2 = await harness(cfg, 'otlp_http/spooled');
    await until('the spool is replayed', () => s.logs().length === 30);
    assert.deepEqual(s.logs().map((l) => Number(l.attributes['seq'])).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
    await until('spool files removed', () => readdirSync(join(dir, 'otlp_http_spooled')).every((f) => f === 'LOCK'));
    assert.equal(await h2.count('sent', { signal: 'logs' }), 30);
    assert.ok(h2.logs.some((l) => l.msg === 'replaying spooled log requests' && l['items'] === 30));
  });

  it('refuses a spool directory held by another live process', async () => {
    const dir = tempDir();
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'otlp_http_x'), { recursive: true });
    writeFileSync(join(dir, 'otlp_http_x', 'LOCK'), String(process.ppid));
    const h = await harness({ spool: { directory: dir } }, 'otlp_http/x', false);
    await assert.rejects(h.exp.start(), /in use by process/);
  });

  it('without a spool, shutdown hands back what it cannot send within drain_timeout (settled retryable, not counted dropped)', async () => {
    const s = await sink();
    s.reply(() => ({ status: 503 }));
    const h = await harness({ endpoint: s.url, retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 1, drain_timeout: '300ms' } });
    const a = deferred();
    const b = deferred();
    await h.exp.consumeLogs(logsBatch(0, 3), a.ctx);
    await h.exp.consumeLogs(logsBatch(3, 4), b.ctx);
    const t0 = Date.now();
    await h.exp.shutdown();
    const took = Date.now() - t0;
    assert.ok(took < 10_000, `shutdown took ${took} ms (drain_timeout 300ms: bounded, not hanging)`);
    for (const d of [a, b]) {
      const err = await d.settled;
      assert.ok(err instanceof ShuttingDownError);
      assert.equal(isRetryable(err), true);
    }
    await assert.rejects(h.exp.consumeLogs(logsBatch(7, 1), deferred().ctx), ShuttingDownError);
    assert.equal(await h.count('dropped'), 0, 'the receiver keeps (at_least_once) or counts (at_most_once) them');
  });

  it('shutdown is idempotent and safe without start', async () => {
    const h = await harness({}, 'otlp_http/idle', false);
    await h.exp.shutdown();
    await h.exp.shutdown();
  });
});

// ---------------------------------------------------------------------------------------------------
// metrics

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const ATTRS = { 'http.request.method': 'GET', 'http.response.status_code': 200, 'tyk.api.id': 'orders' };

function metricsBatch(opts: { requests: number; latencies: number[]; at: number; attrs?: Record<string, string | number> }): MetricsBatch {
  const start: [number, number] = [Math.floor(opts.at / 1000), 0];
  const end: [number, number] = [Math.floor(opts.at / 1000) + 10, 0];
  const attributes = opts.attrs ?? ATTRS;
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  for (const v of opts.latencies) {
    let i = 0;
    while (i < BOUNDS.length && v > (BOUNDS[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const metrics: MetricData[] = [
    {
      descriptor: { name: 'tyk.api.requests', description: 'requests', unit: '{request}', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.SUM, isMonotonic: true,
      dataPoints: [{ startTime: start, endTime: end, attributes, value: opts.requests }],
    },
    {
      descriptor: { name: 'http.server.request.duration', description: 'duration', unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [{
        startTime: start, endTime: end, attributes,
        value: { buckets: { boundaries: BOUNDS, counts }, sum: opts.latencies.reduce((a, b) => a + b, 0), count: opts.latencies.length, min: Math.min(...opts.latencies), max: Math.max(...opts.latencies) },
      }],
    },
  ];
  return { resource: { 'service.name': 'tyk-gateway' }, scope: 'tyk-otel-pump/sli', metrics };
}

describe('otlp_http exporter: metrics', () => {
  it('exports cumulative sums and histograms (bucket counts) every export_interval, with the resource merged', async () => {
    const s = await sink();
    const h = await harness({ endpoint: s.url, export_interval: '150ms', resource: { 'service.instance.id': 'agent-1' } });
    const t = Date.UTC(2026, 10, 26, 12);
    await h.exp.consumeMetrics(metricsBatch({ requests: 3, latencies: [0.004, 0.02, 0.3], at: t }), deferred().ctx);
    await h.exp.consumeMetrics(metricsBatch({ requests: 2, latencies: [0.02, 12], at: t + 10_000 }), deferred().ctx);
    await until('two exports', () => s.requests.filter((r) => r.path === '/v1/metrics').length >= 2);
    const byRequest = (n: number) => s.points().filter((p) => p.request === n);
    for (const n of [0, 1]) {
      const pts = byRequest(n);
      const sum = pts.find((p) => p.name === 'tyk.api.requests');
      const hist = pts.find((p) => p.name === 'http.server.request.duration');
      assert.equal(sum?.value, 5, 'cumulative total of both deltas, repeated on every export');
      assert.equal(sum?.temporality, 2);
      assert.equal(sum?.isMonotonic, true);
      assert.deepEqual(sum?.attributes, ATTRS);
      assert.deepEqual(sum?.resource, { 'service.name': 'tyk-gateway', 'service.instance.id': 'agent-1' });
      assert.equal(sum?.startTimeUnixNano, String(BigInt(t / 1000) * 1_000_000_000n));
      assert.equal(sum?.timeUnixNano, String(BigInt(t / 1000 + 20) * 1_000_000_000n));
      assert.equal(hist?.temporality, 2);
      assert.deepEqual(hist?.explicitBounds, BOUNDS);
      assert.deepEqual(hist?.bucketCounts, [1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
      assert.equal(hist?.count, 5);
      assert.ok(Math.abs((hist?.sum ?? 0) - 12.344) < 1e-9);
      assert.equal(hist?.min, 0.004);
      assert.equal(hist?.max, 12);
    }
    assert.equal(await h.count('accepted', { signal: 'metrics' }), 4);
  });

  it('delta temporality exports only what changed, and merges a failed export back into the next', async () => {
    const s = await sink();
    let fail = true;
    s.reply((r) => (r.path === '/v1/metrics' && fail ? { status: 503 } : { status: 200 }));
    const h = await harness({ endpoint: s.url, temporality: 'delta', export_interval: '150ms', retry_on_failure: FAST_RETRY });
    const t = Date.UTC(2026, 10, 26, 12);
    await h.exp.consumeMetrics(metricsBatch({ requests: 3, latencies: [0.004, 0.02, 0.3], at: t }), deferred().ctx);
    await until('a failed export', () => s.requests.length >= 1);
    await h.exp.consumeMetrics(metricsBatch({ requests: 2, latencies: [0.02, 12], at: t + 10_000 }), deferred().ctx);
    fail = false;
    await until('a successful export', () => s.points().length > 0);
    const first = s.points().filter((p) => p.request === s.points()[0]?.request);
    const sum = first.find((p) => p.name === 'tyk.api.requests');
    const hist = first.find((p) => p.name === 'http.server.request.duration');
    assert.equal(sum?.temporality, 1);
    assert.equal(sum?.value, 5, 'the failed delta (3) merged with the new one (2)');
    assert.deepEqual(hist?.bucketCounts, [1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(sum?.startTimeUnixNano, String(BigInt(t / 1000) * 1_000_000_000n), 'the merged window starts at the failed one');
    await h.exp.consumeMetrics(metricsBatch({ requests: 1, latencies: [0.02], at: t + 20_000 }), deferred().ctx);
    await until('next export', () => s.points().some((p) => p.name === 'tyk.api.requests' && p.value === 1));
    const total = s.points().filter((p) => p.name === 'tyk.api.requests').reduce((a, p) => a + (p.value ?? 0), 0);
    assert.equal(total, 6, 'no delta lost or sent twice');
  });

  it('bounds memory by series count: beyond max_series new series fold into an overflow series', async () => {
    const s = await sink();
    const h = await harness({ endpoint: s.url, export_interval: '100ms', metrics: { max_series: 4 } });
    for (let i = 0; i < 10; i++) {
      await h.exp.consumeMetrics(metricsBatch({ requests: 1, latencies: [0.01], at: Date.UTC(2026, 0, 1), attrs: { 'tyk.api.id': `api-${i}` } }), deferred().ctx);
    }
    await until('an export', () => s.points().length > 0);
    const pts = s.points().filter((p) => p.request === s.points()[0]?.request && p.name === 'tyk.api.requests');
    const overflow = pts.find((p) => p.attributes['otel.metric.overflow'] === true);
    assert.ok(overflow, 'overflow series exported');
    assert.equal(pts.reduce((a, p) => a + (p.value ?? 0), 0), 10, 'nothing lost, only folded');
    assert.ok(h.logs.some((l) => String(l.msg).includes('max_series')));
  });

  it('refuses exponential histograms and non-delta sums (counted), accepting the rest', async () => {
    const h = await harness({ export_interval: '60s' });
    const b = metricsBatch({ requests: 1, latencies: [0.01], at: Date.UTC(2026, 0, 1) });
    const cumulative = { ...(b.metrics[0] as MetricData), aggregationTemporality: AggregationTemporality.CUMULATIVE } as MetricData;
    const expo = { ...(b.metrics[1] as MetricData), dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM } as unknown as MetricData;
    await h.exp.consumeMetrics({ ...b, metrics: [cumulative, expo, b.metrics[1] as MetricData] }, deferred().ctx);
    assert.equal(await h.count('refused', { reason: 'unsupported_temporality' }), 1);
    assert.equal(await h.count('refused', { reason: 'unsupported_metric_type' }), 1);
    assert.equal(await h.count('accepted', { signal: 'metrics' }), 1);
  });

  it('exports once more at shutdown (final flush)', async () => {
    const s = await sink();
    const h = await harness({ endpoint: s.url, export_interval: '60s', encoding: 'json' });
    await h.exp.consumeMetrics(metricsBatch({ requests: 4, latencies: [0.01], at: Date.UTC(2026, 0, 1) }), deferred().ctx);
    await h.exp.shutdown();
    assert.equal(s.points().find((p) => p.name === 'tyk.api.requests')?.value, 4);
    assert.equal(s.requests[0]?.contentType, 'application/json');
  });

  it('a permanent error on metrics is counted and the next export tries again with fresh data', async () => {
    const s = await sink();
    s.reply((_r, i) => (i === 0 ? { status: 401 } : { status: 200 }));
    const h = await harness({ endpoint: s.url, export_interval: '100ms' });
    await h.exp.consumeMetrics(metricsBatch({ requests: 4, latencies: [0.01], at: Date.UTC(2026, 0, 1) }), deferred().ctx);
    await until('a successful export', () => s.points().length > 0);
    assert.equal(await h.count('dropped', { reason: 'permanent_error', signal: 'metrics' }), 2);
    assert.equal(s.points().find((p) => p.name === 'tyk.api.requests')?.value, 4);
    assert.ok(!h.text().includes('s3cr3t'));
  });
});

describe('otlp_http helpers and config', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(Date.now() + 5000).toUTCString(), Date.now()) !== undefined, true);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('backs off exponentially with jitter, capped at max_interval', () => {
    const cfg = otlpHttpConfigSchema.parse({}).retry_on_failure;
    const noJitter = new Backoff({ ...cfg, randomization_factor: 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => noJitter.next()), [5000, 7500, 11250, 16875, 25313, 30000]);
    const low = new Backoff(cfg, () => 0);
    const high = new Backoff(cfg, () => 0.999999);
    assert.equal(low.next(), 2500);
    assert.equal(high.next(), 7500);
  });

  it('reports config problems with paths, never echoing header values', () => {
    const r = parseWithProblems(otlpHttpConfigSchema, { endpoint: 'localhost:4318', headers: { 'api-key': { nested: 'x' } }, compression: 'zstd', compression_params: { level: 10, strategy: 'x' }, sending_queue: { num_consumers: 0 } }, ['exporters', 'otlp_http']);
    const lines = r.problems.map((p) => `${p.path}: ${p.message}${p.got === undefined ? '' : ` (got ${p.got})`}`);
    assert.ok(lines.some((l) => l.startsWith('exporters::otlp_http::endpoint: must be an http:// or https:// URL')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::otlp_http::compression: must be gzip or none')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::otlp_http::compression_params::level: must be an integer from -1 to 9')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::otlp_http::compression_params') && l.includes('strategy')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::otlp_http::sending_queue::num_consumers: must be greater than 0')), lines.join('\n'));
    assert.ok(!lines.join('\n').includes('nested'), lines.join('\n'));
  });
});
