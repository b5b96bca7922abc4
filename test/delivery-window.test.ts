/**
 * The `sli` processor's emission window end to end with real parts: real Redis, the real `tyk_redis`
 * receiver in at-least-once mode, `route → sli`, and `otlp_http` (delta temporality) to a local OTLP/HTTP
 * sink. Each test sets a long `emit_interval`, so that the window's own bounds, the receiver's bound of
 * unacknowledged chunks (`Pipelines.release`) or a shutdown end a window, not the timer (which still ends
 * the window holding the tail of a backlog, below every bound):
 * - under a backlog the window reaches `emit_max_chunks` (the defaults: 10 of the receiver's 16), and a
 *   receiver bound below it ends each window instead of stalling the drain until the timer;
 * - a shutdown emits the held chunks and acknowledges them — not leave them in Redis for the next start to
 *   count again — and a second agent on the same lists drains the rest: every request exactly once;
 * - an exporter of another pipeline down (the chunks stay unacknowledged, the receiver sits at its bound)
 *   neither stalls the metrics pipeline behind the timer nor makes it count a request twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startOtlpSink, type OtlpSink } from './helpers/otlp-sink.js';
import { sumSamples as metric } from './helpers/exposition.js';
import { deliveredIndexes, syntheticRecord } from './helpers/synthetic-records.js';

/** `processor.sli.window_chunks` of the agent, by trigger: windows emitted and the chunks in them. */
async function windows(agent: RunningAgent): Promise<Record<string, { windows: number; chunks: number }>> {
  const out: Record<string, { windows: number; chunks: number }> = {};
  for (const line of (await (await fetch(`${agent.telemetryUrl}/metrics`)).text()).split('\n')) {
    const m = /^tyk_otel_pump_processor_sli_window_chunks_(count|sum)\{.*trigger="([a-z_]+)".*\} (\d+)$/.exec(line);
    if (!m) continue;
    const w = (out[m[2] as string] ??= { windows: 0, chunks: 0 });
    if (m[1] === 'count') w.windows = Number(m[3]);
    else w.chunks = Number(m[3]);
  }
  return out;
}

function totals(w: Record<string, { windows: number; chunks: number }>): { windows: number; chunks: number } {
  return Object.values(w).reduce((a, b) => ({ windows: a.windows + b.windows, chunks: a.chunks + b.chunks }), { windows: 0, chunks: 0 });
}

describe('sli emission window (real Redis, at-least-once, otlp_http delta)', () => {
  let sink: OtlpSink;
  let redis: TestRedis;
  before(async () => {
    sink = await startOtlpSink();
    redis = await testRedis('window');
  });
  after(async () => {
    await sink.close();
    await redis.cleanup();
  });

  const key = () => `${redis.prefix}analytics-tyk-system-analytics`;
  const push = (from: number, n: number) => redis.push(key(), Array.from({ length: n }, (_, i) => syntheticRecord(from + i)));
  /** Requests the sink counted (`tyk.api.requests`, every agent of this file). */
  const requests = () => sink.points().filter((p) => p.name === 'tyk.api.requests').reduce((n, p) => n + (p.value ?? 0), 0);

  const yaml = (o: { chunk: number; receiver?: string; sli: string; logs?: boolean }) => `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    delivery: at_least_once
    chunk_size: ${o.chunk}
    poll_interval: 50ms
    at_least_once: { instance_id: window-test, retry_initial_interval: 100ms, retry_max_interval: 500ms }${o.receiver === undefined ? '' : `\n    ${o.receiver}`}
processors:
  route: {}
  sli: ${o.sli}${o.logs ? '\n  audit_log: {}' : ''}
exporters:
  otlp_http:
    endpoint: ${sink.url}
    temporality: delta
    export_interval: 100ms${o.logs ? `
  otlp_http/logs:
    endpoint: ${sink.url}
    sending_queue: { queue_size: 1000, num_consumers: 1 }
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }` : ''}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [otlp_http] }${o.logs ? `
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http/logs] }` : ''}
`;

  it('under a backlog the window reaches emit_max_chunks (defaults: 10 chunks, the receiver may leave 16 unacknowledged); below it the receiver\'s bound ends each window, not the timer', { timeout: 60_000 }, async () => {
    const base = requests();
    await push(0, 2000);
    const wide = await startAgent(yaml({ chunk: 100, sli: '{ emit_interval: 2s }' }));
    let w: Record<string, { windows: number; chunks: number }>;
    try {
      await waitFor('the backlog drained and emitted', async () => (await redis.client.llen(key())) === 0 && requests() - base >= 2000, 20_000, 50);
      w = await windows(wide);
    } finally {
      await wide.stop();
    }
    assert.equal(requests() - base, 2000);
    assert.equal(totals(w).chunks, 20, 'every chunk in one window');
    assert.ok((w['chunks']?.windows ?? 0) >= 1, `some window reached emit_max_chunks: ${JSON.stringify(w)}`);
    assert.ok(totals(w).windows <= 4, `20 chunks in at most 4 windows (3 chunks each before): ${JSON.stringify(w)}`);

    // The receiver's bound below emit_max_chunks: it asks for each window when it gets there.
    const base2 = requests();
    await push(2000, 2000);
    const started = Date.now();
    const narrow = await startAgent(yaml({ chunk: 100, receiver: 'max_unacked_chunks: 4', sli: '{ emit_interval: 1m, emit_max_chunks: 10 }' }));
    // 20 chunks: the receiver's bound ends every window but the tail's (it stays below the bound); the test's
    // shutdown emits that one, instead of its 1m timer.
    try {
      w = await waitFor('the backlog drained and held no more than its tail', async () => {
        const got = await windows(narrow);
        return (await redis.client.llen(key())) === 0 && totals(got).chunks >= 16 && requests() - base2 >= totals(got).chunks * 100 ? got : undefined;
      }, 20_000, 50);
    } finally {
      await narrow.stop();
    }
    assert.ok(Date.now() - started < 30_000, 'no window waited for its 1m timer');
    assert.equal(requests() - base2, 2000, 'the tail emitted by the shutdown');
    assert.ok((w['receiver_limit']?.windows ?? 0) >= 4, `the receiver's bound ended the windows: ${JSON.stringify(w)}`);
    assert.deepEqual(Object.keys(w), ['receiver_limit'], JSON.stringify(w));
  });

  it('a shutdown emits and acknowledges the held chunks; the next start counts only the rest: every request exactly once', { timeout: 60_000 }, async () => {
    const CHUNK = 50;
    const base = requests();
    // Three chunks, below the receiver's bound: only a shutdown ends this window.
    await push(0, 3 * CHUNK);
    const first = await startAgent(yaml({ chunk: CHUNK, receiver: 'max_unacked_chunks: 4', sli: '{ emit_interval: 1m, emit_max_chunks: 1000 }' }));
    let held = 0;
    try {
      held = await waitFor('the window to hold the three chunks', async () => {
        const scrape = await (await fetch(`${first.telemetryUrl}/metrics`)).text();
        const n = metric(scrape, 'tyk_otel_pump_processor_accepted_items_total', ['processor="sli@metrics"']);
        return n === 3 * CHUNK ? n : 0;
      }, 20_000);
      assert.equal(requests() - base, 0, 'nothing emitted while the window is open');
    } finally {
      // Without the window being emitted when shutdown begins, the receiver would wait for these chunks
      // until its shutdown timeout and leave them in their in-flight lists, counted all the same.
      await first.stop();
    }
    assert.equal(requests() - base, held, 'the held chunks were emitted at shutdown');
    assert.equal(await redis.client.llen(key()), 0);
    // In-flight lists are named `{<source key's hash tag>}:tyk-otel-pump-inflight:<instance>:…`.
    const lists = [...new Set([...(await redis.client.keys('*tyk-otel-pump-inflight:window-test:*')), ...(await redis.client.keys(`*${redis.prefix}*`))])].filter((k) => k !== key());
    const leftovers = await Promise.all(lists.map(async (k) => ((await redis.client.type(k)) === 'list' ? redis.client.llen(k) : 0)));
    assert.ok(leftovers.every((n) => n === 0), 'acknowledged: no in-flight list holds records');

    await push(3 * CHUNK, 1000 - 3 * CHUNK);
    const second = await startAgent(yaml({ chunk: CHUNK, sli: '{}' }));
    try {
      await waitFor('every record counted once', () => requests() - base >= 1000 && redis.client.llen(key()).then((n) => n === 0), 30_000, 100);
    } finally {
      await second.stop();
    }
    assert.equal(requests() - base, 1000, 'every request exactly once across the two agents');
  });

  it('redis_stream: the window reaches emit_max_chunks reads under a backlog (max_unacked_reads 16), and a lower max_unacked_reads releases it instead of stalling', { timeout: 60_000 }, async () => {
    const stream = `${redis.prefix}stream`;
    const add = async (from: number, n: number) => {
      const p = redis.client.pipeline();
      for (let i = from; i < from + n; i++) p.xadd(stream, '*', 'data', syntheticRecord(i), 'source', 'list', 'format', 'msgpack');
      await p.exec();
    };
    const consumer = (group: string, receiver: string, sli: string) => `
receivers:
  redis_stream: { endpoint: "${redis.url}", stream: ${stream}, group: ${group}, from: earliest, count: 100, block: 100ms${receiver} }
processors:
  route: {}
  sli: ${sli}
exporters:
  otlp_http: { endpoint: "${sink.url}", temporality: delta, export_interval: 100ms }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    metrics: { receivers: [redis_stream], processors: [route, sli], exporters: [otlp_http] }
`;
    await add(0, 2000);
    for (const [group, receiver, check] of [
      ['wide', '', (w: Record<string, { windows: number; chunks: number }>) => (w['chunks']?.windows ?? 0) >= 1 && totals(w).windows <= 4],
      ['narrow', ', max_unacked_reads: 4', (w: Record<string, { windows: number; chunks: number }>) => (w['receiver_limit']?.windows ?? 0) >= 4 && (w['interval']?.windows ?? 0) === 0],
    ] as const) {
      const base = requests();
      const agent = await startAgent(consumer(group, receiver, '{ emit_interval: 1m, emit_max_chunks: 10 }'));
      let w: Record<string, { windows: number; chunks: number }>;
      try {
        // The tail (below every bound) waits for the shutdown, which emits it.
        w = await waitFor(`group ${group}: every read but the tail emitted`, async () => {
          const got = await windows(agent);
          return totals(got).chunks >= 16 && requests() - base >= totals(got).chunks * 100 ? got : undefined;
        }, 30_000, 50);
      } finally {
        await agent.stop();
      }
      assert.ok(check(w), `group ${group}: ${JSON.stringify(w)}`);
      assert.equal(requests() - base, 2000, `group ${group}: every request exactly once`);
    }
  });

  it('an exporter of another pipeline down: the receiver at its bound releases the window (no stall behind the timer, no deadlock) and every request counts once', { timeout: 60_000 }, async () => {
    const RECORDS = 1000;
    const base = requests();
    const logsBefore = sink.logs().length;
    let downUntil = Infinity;
    sink.reply((req) => {
      if (!req.path.endsWith('/v1/logs')) return { status: 200 };
      if (downUntil === Infinity) downUntil = Date.now() + 3000;
      return Date.now() < downUntil ? { status: 503, body: 'down' } : { status: 200 };
    });
    await push(0, RECORDS);
    // A 5 s interval, longer than the outage: only the receiver's bound ends a window while the exporter is down.
    const agent = await startAgent(yaml({ chunk: 50, receiver: 'max_unacked_chunks: 4', sli: '{ emit_interval: 5s, emit_max_chunks: 10 }', logs: true }));
    try {
      await waitFor('the logs endpoint to go down', () => downUntil !== Infinity, 10_000);
      // While the logs endpoint is down the receiver sits at its bound; the metrics of what it holds go out.
      // (The logs exporter's queue takes every chunk and keeps its deferral open: the chunks stay unacknowledged.)
      await waitFor('the held window released while the logs exporter is down', async () => Date.now() < downUntil && (await windows(agent))['receiver_limit'] !== undefined && requests() > base, 10_000);
      assert.equal(sink.logs().length, logsBefore, 'no log delivered yet');
      assert.ok(requests() - base <= 4 * 50, 'no more than the receiver\'s bound was claimed meanwhile');
      await waitFor('every record delivered in both pipelines', async () => requests() - base >= RECORDS && deliveredIndexes(sink.logs().slice(logsBefore)).size >= RECORDS && (await redis.client.llen(key())) === 0, 40_000, 100);
      // The last chunks' acknowledgement follows their delivery.
      await waitFor('every chunk acknowledged', async () => metric(await (await fetch(`${agent.telemetryUrl}/metrics`)).text(), 'tyk_otel_pump_receiver_unacked_chunks') === 0, 10_000);
      const w = await windows(agent);
      assert.ok((w['interval']?.windows ?? 0) <= 1, `only the tail's window waited for the interval: ${JSON.stringify(w)}`);
    } finally {
      await agent.stop();
      sink.reply(() => ({ status: 200 }));
    }
    assert.equal(requests() - base, RECORDS, 'the metrics pipeline counted every request exactly once while the logs pipeline was re-delivered');
    const seen = deliveredIndexes(sink.logs().slice(logsBefore));
    assert.equal(seen.size, RECORDS);
    assert.ok(!seen.has(-1));
  });
});
