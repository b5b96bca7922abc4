import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Consumer } from '../../src/component.js';
import type { AnalyticsRecord, MetricsBatch, TykRecord } from '../../src/model.js';
import { HealthRegistry } from '../../src/graph.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { isRetryable } from '../../src/errors.js';
import { alertState, type SliWindowLabel } from '../../src/slo/windows.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { componentContext, testSharedConfig } from '../../test/helpers/context.js';
import { httpRecord, networkRecord, uptimeRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { waitFor } from '../../test/helpers/agent.js';
import { freePort } from '../../test/helpers/prometheus.js';
import { sloConfigSchema } from './config.js';
import { SloProcessor, type SloState } from './slo.js';
import { decompose, pieceLocation } from './store.js';

const MIN = 60_000;
/** The controlled "now": half a minute into a minute. */
const NOW = Date.UTC(2026, 10, 26, 12, 30, 30);
const M = Math.floor(NOW / MIN);

const SLOS = [
  { name: 'orders-availability', objective: 99.9, selector: { api_ids: ['orders-api'] }, sli: { type: 'availability' } },
  { name: 'orders-latency', objective: 99, selector: { api_ids: ['orders-api'], methods: ['GET'] }, sli: { type: 'latency', threshold_seconds: 0.25 } },
];

interface Harness {
  readonly proc: SloProcessor;
  readonly next: RecordingConsumer<'metrics'>;
  readonly health: HealthRegistry;
  push(records: readonly TykRecord[]): Promise<Error | undefined>;
  close(): Promise<void>;
}

function harness(
  redis: { url: string; prefix: string },
  opts: { slos?: unknown[]; config?: Record<string, unknown>; now?: () => number; id?: string; next?: Consumer<'metrics'> } = {},
): Harness {
  const self = new SelfTelemetry('tyk_otel_pump');
  const { logger } = captureLogger('debug');
  const health = new HealthRegistry();
  const id = opts.id ?? 'slo@metrics/slo';
  const ctx = componentContext({
    id,
    logger,
    telemetry: self.forComponent('processor', id),
    health,
    shared: testSharedConfig({ slos: opts.slos ?? SLOS }),
    instanceId: `test-${id}`,
  });
  const next = new RecordingConsumer<'metrics'>();
  const config = sloConfigSchema.parse({ endpoint: redis.url, key_prefix: redis.prefix, ...opts.config });
  const proc = new SloProcessor(ctx, config, opts.next ?? next, { now: opts.now ?? (() => NOW) });
  return {
    proc,
    next,
    health,
    push: (records) => tracked((c) => proc.consume(records, c)),
    async close() {
      await proc.shutdown();
      await self.shutdown();
    },
  };
}

/** A record `minutesAgo` minutes before the current minute (at second 10 of it). */
function at(minutesAgo: number, over: Partial<AnalyticsRecord> = {}): AnalyticsRecord {
  return httpRecord({ apiId: 'orders-api', method: 'GET', timestampMs: (M - minutesAgo) * MIN + 10_000, ...over });
}

/** A private key prefix per test, under the test's own (so cleanup removes it). */
function sub(redis: TestRedis, name: string): { url: string; prefix: string } {
  return { url: redis.url, prefix: `${redis.prefix}${name}` };
}

/** Plain values of states (comparable across processor instances). */
function plain(states: readonly SloState[]) {
  return states.map((s) => ({
    name: s.slo.name,
    windows: s.windows.map((w) => [w.window.label, w.total, w.bad, w.errorRatio, w.burnRate]),
    budgetRemaining: s.budgetRemaining,
    alerts: s.alerts,
  }));
}

describe('slo processor: window decomposition', () => {
  it('cuts any minute range into whole days, whole hours and minutes that cover it exactly once', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const last = 29_000_000 + rnd(200_000);
      const first = last - rnd(90 * 1440);
      const pieces = decompose(first, last);
      const covered: number[] = [];
      for (const p of pieces) {
        const size = p.level === 'd' ? 1440 : p.level === 'h' ? 60 : 1;
        for (let m = p.index * size; m < p.index * size + size; m++) covered.push(m);
      }
      assert.equal(covered.length, last - first + 1);
      covered.forEach((m, j) => assert.equal(m, first + j));
      // At most 59 + 23 pieces at each end plus the whole days.
      assert.ok(pieces.length <= 2 * (59 + 23) + Math.ceil((last - first + 1) / 1440), `${pieces.length} pieces`);
    }
    assert.deepEqual(pieceLocation({ level: 'm', index: 125 }), { key: 'm:2', field: '5' });
    assert.deepEqual(pieceLocation({ level: 'h', index: 49 }), { key: 'h:2', field: '1' });
    assert.deepEqual(pieceLocation({ level: 'd', index: 65 }), { key: 'd:2', field: '1' });
  });
});

describe('slo processor: config', () => {
  it('defaults, and rejects a bad endpoint and a too-short interval with path-prefixed problems', () => {
    const c = sloConfigSchema.parse({});
    assert.equal(c.evaluation_interval, 30_000);
    assert.equal(c.endpoint, 'redis://127.0.0.1:6379/0');
    assert.deepEqual(c.slos, []);
    const r = parseWithProblems(sloConfigSchema, { endpoint: 'http://x', evaluation_interval: '10ms', password: 'hunter2', slos: 'a' }, ['processors', 'slo']);
    assert.deepEqual(r.problems.map((p) => `${p.path}: ${p.message}`), [
      'processors::slo::slos: must be a list of SLO names',
      'processors::slo::evaluation_interval: must be at least 1s',
      'processors::slo::endpoint: must be a redis://[user:password@]host[:port][/db] or rediss:// URL, or host:port',
    ]);
    assert.ok(!JSON.stringify(r.problems).includes('hunter2'));
  });
});

describe('slo processor: shared state in Redis', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await testRedis('slo');
  });
  after(async () => {
    await redis.cleanup();
  });

  it('two instances sharing Redis report identical, complete SLOs equal to the closed form; a restart loses nothing', async () => {
    // Offsets (minutes before now) chosen to fall into successively longer windows; 43200 is outside 30d.
    const offsets = [0, 3, 20, 45, 100, 300, 1000, 3000, 20000, 43200];
    const records: TykRecord[] = [];
    const expected = new Map<number, { total: number; bad: number; slow: number }>();
    offsets.forEach((dm, k) => {
      const e = { total: 0, bad: 0, slow: 0 };
      for (let i = 0; i < 10 * (k + 1); i++) {
        const bad = i < k + 1;
        const slow = i % 4 === 0;
        // 250 ms is exactly the threshold (good: le semantics); 251 ms is slow.
        records.push(at(dm, { responseCode: bad ? 503 : i % 3 === 0 ? 404 : 200, requestTime: slow ? 251 : 250 }));
        e.total++;
        if (bad) e.bad++;
        if (slow) e.slow++;
      }
      expected.set(dm, e);
    });
    // Never counted: another API, a POST for the GET-only latency SLO (counted for availability), network and uptime records.
    records.push(at(0, { apiId: 'other-api', responseCode: 500 }), networkRecord({ apiId: 'orders-api', timestampMs: NOW }), uptimeRecord({ apiId: 'orders-api' }));
    records.push(at(1, { method: 'POST', responseCode: 200, requestTime: 900 }));
    const post = { dm: 1, total: 1, bad: 0 };

    const a = harness(sub(redis, 'shared-'), { id: 'slo@a' });
    const b = harness(sub(redis, 'shared-'), { id: 'slo@b' });
    try {
      // Each instance drains half of the traffic, in several batches.
      const half = (i: number) => records.filter((_, j) => j % 2 === i);
      for (const [h, part] of [[a, half(0)], [b, half(1)]] as const) {
        for (let i = 0; i < part.length; i += 37) assert.equal(await h.push(part.slice(i, i + 37)), undefined);
      }
      const sa = await a.proc.evaluate();
      const sb = await b.proc.evaluate();
      assert.deepEqual(plain(sa), plain(sb));

      for (const s of sa) {
        const latency = s.slo.sli.type === 'latency';
        for (const w of s.windows) {
          const minutes = w.window.ms / MIN;
          let total = 0;
          let bad = 0;
          for (const [dm, e] of expected) {
            if (dm > minutes - 1) continue;
            total += e.total;
            bad += latency ? e.slow : e.bad;
          }
          if (!latency && post.dm <= minutes - 1) total += post.total;
          assert.equal(w.total, total, `${s.slo.name} ${w.window.label} total`);
          assert.equal(w.bad, bad, `${s.slo.name} ${w.window.label} bad`);
          assert.equal(w.errorRatio, bad / total);
          assert.equal(w.burnRate, bad / total / s.slo.budget);
        }
        const period = s.windows[s.windows.length - 1];
        assert.equal(period?.window.label, '30d');
        assert.equal(s.budgetRemaining, 1 - (period?.burnRate ?? NaN));
        const ratios: Partial<Record<SliWindowLabel, number>> = {};
        for (const w of s.windows) ratios[w.window.label as SliWindowLabel] = w.errorRatio;
        assert.deepEqual(s.alerts, alertState(ratios, s.slo.budget, s.slo.period));
      }

      // Restart a: a new instance on the same Redis reports the same; new traffic adds to it.
      await a.close();
      const a2 = harness(sub(redis, 'shared-'), { id: 'slo@a' });
      try {
        assert.deepEqual(plain(await a2.proc.evaluate()), plain(sa));
        assert.equal(await a2.push([at(2, { responseCode: 500 })]), undefined);
        assert.equal(await b.push([at(2, { responseCode: 200 })]), undefined);
        const after2 = await b.proc.evaluate();
        assert.deepEqual(plain(after2), plain(await a2.proc.evaluate()));
        const five = (after2[0] as SloState).windows[0];
        const before5 = (sa[0] as SloState).windows[0];
        assert.deepEqual([five?.total, five?.bad], [(before5?.total ?? 0) + 2, (before5?.bad ?? 0) + 1]);
      } finally {
        await a2.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('alert state follows the multi-window burn rates: page at 20×, ticket only at 2×, none at 0.5×', async () => {
    const slos = [20, 2, 0.5].map((burn) => ({ name: `burn-${burn}x`, objective: 99.9, selector: { api_ids: [`api-${burn}`] }, sli: { type: 'availability' } }));
    const h = harness(sub(redis, 'alerts-'), { slos });
    try {
      // The last 6 hours: 1000 requests a minute with burn × 1 error (budget 0.001) for each API.
      for (let dm = 0; dm < 360; dm += 30) {
        const batch: TykRecord[] = [];
        for (const burn of [20, 2, 0.5]) {
          for (let m = dm; m < dm + 30; m++) {
            const bad = burn * 1000 * 0.001; // 20, 2, 0.5 per minute
            const n = Math.floor(bad) + (bad % 1 !== 0 && m % 2 === 0 ? 1 : 0);
            for (let i = 0; i < 1000; i++) batch.push(at(m, { apiId: `api-${burn}`, responseCode: i < n ? 500 : 200 }));
          }
        }
        assert.equal(await h.push(batch), undefined);
      }
      const states = await h.proc.evaluate();
      assert.deepEqual(states.map((s) => [s.slo.name, s.alerts]), [
        ['burn-20x', { page: true, ticket: true }],
        ['burn-2x', { page: false, ticket: true }],
        ['burn-0.5x', { page: false, ticket: false }],
      ]);
      const burn2 = states[1]?.windows.find((w) => w.window.label === '6h');
      assert.equal(burn2?.burnRate, (360 * 2) / (360 * 1000) / 0.001);
    } finally {
      await h.close();
    }
  });

  it('emits the gauges downstream: on start, from the timer, after a consumed batch and on shutdown', async () => {
    const h = harness(sub(redis, 'emit-'), { config: { evaluation_interval: '1s' }, now: Date.now });
    try {
      await h.proc.start();
      const first = await waitFor('the start-up emission', () => h.next.batches[0]);
      const names = first.metrics.map((m) => m.descriptor.name);
      assert.deepEqual(names, ['tyk.slo.objective', 'tyk.slo.error_ratio', 'tyk.slo.burn_rate', 'tyk.slo.error_budget.remaining', 'tyk.slo.alert']);
      await waitFor('a timer emission', () => h.next.batches.length >= 2, 5000);

      assert.equal(await h.push([httpRecord({ apiId: 'orders-api', method: 'GET', timestampMs: Date.now(), responseCode: 500, requestTime: 10 })]), undefined);
      const withError = await waitFor('an emission with the consumed error', () =>
        h.next.batches.find((b) => value(b, 'tyk.slo.error_ratio', { 'tyk.slo.name': 'orders-availability', window: '5m' }) === 1),
      );
      assert.equal(value(withError, 'tyk.slo.objective', { 'tyk.slo.name': 'orders-availability' }), 0.999);
      assert.equal(value(withError, 'tyk.slo.burn_rate', { 'tyk.slo.name': 'orders-availability', window: '30d' }), 1000);
      assert.equal(value(withError, 'tyk.slo.error_budget.remaining', { 'tyk.slo.name': 'orders-availability' }), -999);
      assert.equal(value(withError, 'tyk.slo.alert', { 'tyk.slo.name': 'orders-availability', severity: 'page' }), 1);
      assert.equal(value(withError, 'tyk.slo.alert', { 'tyk.slo.name': 'orders-latency', severity: 'ticket' }), 0);
      const points = withError.metrics.find((m) => m.descriptor.name === 'tyk.slo.error_ratio')?.dataPoints ?? [];
      assert.deepEqual([...new Set(points.map((p) => p.attributes['window']))], ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']);

      const before = h.next.batches.length;
      await h.proc.shutdown();
      assert.equal(h.next.batches.length, before + 1, 'one last emission on shutdown');
      assert.equal(isRetryable(await h.push([httpRecord()])), true, 'consume after shutdown is refused, retryably');
    } finally {
      await h.close();
    }
  });

  it('a downstream that never finishes delivering holds up neither evaluations nor shutdown; one that refuses is logged, not thrown', async () => {
    let deferred = 0;
    let refuse = false;
    const next: Consumer<'metrics'> = {
      consume: async (_b, c) => {
        if (refuse) throw new Error('exporter queue closed');
        c.defer(); // never settled
        deferred++;
      },
    };
    const h = harness(sub(redis, 'slow-'), { config: { evaluation_interval: '1s' }, now: Date.now, next });
    try {
      await h.proc.start();
      await waitFor('two emissions despite unsettled deliveries', () => deferred >= 2, 5000);
      refuse = true;
      assert.equal(await h.push([at(0)]), undefined, 'a refused emission does not fail the batch');
      const stopped = await Promise.race([h.proc.shutdown().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('stuck'), 3000))]);
      assert.equal(stopped, 'stopped');
    } finally {
      await h.close();
    }
  });

  it('changing what an SLO counts starts a fresh count; changing only its objective keeps the history', async () => {
    const base = { name: 'checkout', objective: 99.9, selector: { api_ids: ['orders-api'] }, sli: { type: 'availability' } };
    const h1 = harness(sub(redis, 'hash-'), { slos: [base] });
    assert.equal(await h1.push([at(1, { responseCode: 500 }), at(1)]), undefined);
    await h1.close();
    const h2 = harness(sub(redis, 'hash-'), { slos: [{ ...base, objective: 99 }] });
    const h3 = harness(sub(redis, 'hash-'), { slos: [{ ...base, selector: { api_ids: ['orders-api', 'other-api'] } }] });
    try {
      assert.deepEqual([(await h2.proc.evaluate())[0]?.windows[0]?.total, (await h2.proc.evaluate())[0]?.windows[0]?.bad], [2, 1]);
      assert.equal((await h3.proc.evaluate())[0]?.windows[0]?.total, 0);
    } finally {
      await h2.close();
      await h3.close();
    }
  });

  it('does not count records older than the SLO period, and reads few hashes for a 30-day window', async () => {
    const h = harness(sub(redis, 'old-'), { slos: [SLOS[0]] });
    try {
      assert.equal(await h.push([at(43_200), at(43_199, { responseCode: 500 })]), undefined);
      const [s] = await h.proc.evaluate();
      assert.deepEqual([s?.windows[7]?.total, s?.windows[7]?.bad], [1, 1]);
      const store = (h.proc as unknown as { store: import('./store.js').SloStore }).store;
      const { hashesRead } = await store.sums([{ slo: h.proc.slos[0] as never, ranges: [{ first: M - 43_199, last: M }] }]);
      assert.ok(hashesRead <= 6, `${hashesRead} hashes for one 30d window`);
    } finally {
      await h.close();
    }
  });
});

function value(batch: MetricsBatch, name: string, attrs: Record<string, string>): number | undefined {
  const m = batch.metrics.find((x) => x.descriptor.name === name);
  const p = m?.dataPoints.find((d) => Object.entries(attrs).every(([k, v]) => d.attributes[k] === v));
  return p?.value as number | undefined;
}


async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('private redis-server', async () => {
    const { Redis } = await import('ioredis');
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } finally {
      c.disconnect();
    }
  });
  return child;
}

describe('slo processor: Redis outages', () => {
  it('refuses a batch retryably while Redis is down (never silently loses it) and recovers when it is back', async () => {
    const port = await freePort();
    let server = await startRedisServer(port);
    const h = harness({ url: `redis://127.0.0.1:${port}`, prefix: 'outage-' }, { config: { connect_timeout: '300ms', command_timeout: '500ms' } });
    try {
      await h.proc.start();
      assert.equal(await h.push([at(0)]), undefined);
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      const err = await h.push([at(0, { responseCode: 500 })]);
      assert.ok(err, 'the batch must be refused');
      assert.equal(isRetryable(err), true);
      assert.equal(h.health.snapshot().components['slo@metrics/slo']?.ready, false);
      server = await startRedisServer(port);
      await waitFor('counting works again', async () => (await h.push([at(0, { responseCode: 500 })])) === undefined, 10_000, 100);
      const [s] = await h.proc.evaluate();
      // The server kept no data across the restart: only the batch counted after it.
      assert.deepEqual([s?.windows[0]?.total, s?.windows[0]?.bad], [1, 1]);
      await waitFor('ready again', () => h.health.snapshot().components['slo@metrics/slo']?.ready === true, 5000);
    } finally {
      await h.close();
      server.kill('SIGKILL');
    }
  });
});
