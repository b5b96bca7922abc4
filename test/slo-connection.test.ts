/**
 * The `slo` processor's state store on the connection topologies the receiver supports, through the
 * shared `internal/redis` connection: a password-protected Sentinel (master found by name, a database
 * index) and a three-master Redis Cluster (every state key in one hash slot, so a batch stays one atomic
 * MULTI). Two processor instances share the state in each, as agents draining one gateway do.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { HealthRegistry } from '../src/graph.js';
import { SelfTelemetry } from '../src/telemetry.js';
import type { TykRecord } from '../src/model.js';
import { sloConfigSchema } from '../processors/slo/config.js';
import { SloProcessor, type SloState } from '../processors/slo/slo.js';
import { captureLogger, type LogLine } from './helpers/log-capture.js';
import { componentContext, testSharedConfig } from './helpers/context.js';
import { httpRecord, RecordingConsumer, tracked } from './helpers/records.js';
import { startCluster, startSentinel, type PrivateCluster, type PrivateSentinel } from './helpers/redis-topology.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 26, 12, 30, 30);
const M = Math.floor(NOW / MIN);

/** Three SLOs whose names hash to different Cluster slots (so only the store's hash tag keeps them together). */
const SLOS = ['orders', 'payments', 'search'].map((name) => ({ name, objective: 99.9, selector: { api_ids: [`${name}-api`] }, sli: { type: 'availability' } }));

interface Harness {
  readonly proc: SloProcessor;
  readonly health: HealthRegistry;
  readonly logs: LogLine[];
  push(records: readonly TykRecord[]): Promise<Error | undefined>;
  close(): Promise<void>;
}

function harness(config: Record<string, unknown>, id: string): Harness {
  const self = new SelfTelemetry('tyk_otel_pump');
  const { logger, lines } = captureLogger('debug');
  const health = new HealthRegistry();
  const ctx = componentContext({ id, logger, telemetry: self.forComponent('processor', id), health, shared: testSharedConfig({ slos: SLOS }), instanceId: id });
  const proc = new SloProcessor(ctx, sloConfigSchema.parse({ evaluation_interval: '1h', reconnect: { initial_interval: '50ms', max_interval: '500ms' }, ...config }), new RecordingConsumer<'metrics'>(), { now: () => NOW });
  return {
    proc,
    health,
    logs: lines,
    push: (records) => tracked((c) => proc.consume(records, c)),
    async close() {
      await proc.shutdown();
      await self.shutdown();
    },
  };
}

/** `n` records of `api` in the minute `minutesAgo` before now, the first `bad` of them 503. */
function records(api: string, minutesAgo: number, n: number, bad: number): TykRecord[] {
  return Array.from({ length: n }, (_, i) => httpRecord({ apiId: `${api}-api`, timestampMs: (M - minutesAgo) * MIN + 5000, responseCode: i < bad ? 503 : 200 }));
}

/** The traffic both tests count: per SLO, batches over several minutes, hours and days. */
const TRAFFIC: readonly { api: string; minutesAgo: number; n: number; bad: number }[] = [
  { api: 'orders', minutesAgo: 0, n: 40, bad: 2 },
  { api: 'orders', minutesAgo: 90, n: 30, bad: 3 },
  { api: 'payments', minutesAgo: 1, n: 25, bad: 5 },
  { api: 'payments', minutesAgo: 3000, n: 10, bad: 10 },
  { api: 'search', minutesAgo: 20_000, n: 7, bad: 1 },
];

/** Expected [total, bad] of one SLO over its 30-day window and its 5-minute window. */
function expected(api: string): { period: [number, number]; fiveMinutes: [number, number] } {
  const sum = (pred: (t: (typeof TRAFFIC)[number]) => boolean): [number, number] =>
    TRAFFIC.filter((t) => t.api === api && pred(t)).reduce<[number, number]>((a, t) => [a[0] + t.n, a[1] + t.bad], [0, 0]);
  return { period: sum(() => true), fiveMinutes: sum((t) => t.minutesAgo < 5) };
}

/** Pushes TRAFFIC, half through each harness, batch by batch. */
async function countTraffic(a: Harness, b: Harness): Promise<void> {
  for (const [i, t] of TRAFFIC.entries()) {
    const all = records(t.api, t.minutesAgo, t.n, t.bad);
    assert.equal(await a.push(all.filter((_, j) => j % 2 === i % 2)), undefined);
    assert.equal(await b.push(all.filter((_, j) => j % 2 !== i % 2)), undefined);
  }
}

function check(states: readonly SloState[]): void {
  assert.deepEqual(states.map((s) => s.slo.name), ['orders', 'payments', 'search']);
  for (const s of states) {
    const want = expected(s.slo.name);
    const period = s.windows[s.windows.length - 1];
    assert.equal(period?.window.label, '30d');
    assert.deepEqual([period?.total, period?.bad], want.period, `${s.slo.name} 30d`);
    assert.deepEqual([s.windows[0]?.total, s.windows[0]?.bad], want.fiveMinutes, `${s.slo.name} 5m`);
  }
}

const plain = (states: readonly SloState[]) => states.map((s) => s.windows.map((w) => [w.window.label, w.total, w.bad]));

/**
 * What both topologies check: two instances on `config` count TRAFFIC half each, both evaluate to the
 * expected counts, and the first is ready; then `inspect` looks at the topology's own side (keys, slots).
 */
async function twoInstancesShare(config: Record<string, unknown>, inspect: (a: Harness, b: Harness) => Promise<void>): Promise<void> {
  const a = harness(config, 'slo@a');
  const b = harness(config, 'slo@b');
  try {
    await a.proc.start();
    await b.proc.start();
    await countTraffic(a, b);
    const sa = await a.proc.evaluate();
    check(sa);
    assert.deepEqual(plain(await b.proc.evaluate()), plain(sa));
    await inspect(a, b);
    assert.equal(a.health.snapshot().components['slo@a']?.ready, true);
  } finally {
    await a.close();
    await b.close();
  }
}

describe('slo state store through Sentinel', () => {
  let sen: PrivateSentinel;
  before(async () => {
    sen = await startSentinel();
  });
  after(async () => {
    await sen.destroy();
  });

  it('two instances find the master by name (passwords on both) and share the counts in database 2', async () => {
    const config = {
      sentinel: { master_name: sen.masterName, addrs: [sen.sentinelAddr], password: sen.sentinelPassword },
      password: sen.masterPassword,
      database: 2,
      key_prefix: 'sen-',
    };
    await twoInstancesShare(config, async (a, b) => {
      const admin = await sen.master.client({ password: sen.masterPassword });
      try {
        await admin.select(2);
        const keys = await admin.keys('sen-tyk-otel-pump:slo:*');
        assert.ok(keys.length >= 3 * 3, `state keys in database 2: ${keys.length}`);
        await admin.select(0);
        assert.deepEqual(await admin.keys('sen-*'), [], 'nothing in database 0');
      } finally {
        admin.disconnect();
      }
      assert.ok(!JSON.stringify([...a.logs, ...b.logs]).includes('-pw'), 'no password in the logs');
    });
  });
});

describe('slo state store on Redis Cluster', () => {
  let cl: PrivateCluster;
  before(async () => {
    cl = await startCluster();
  });
  after(async () => {
    await cl.destroy();
  });

  it('two instances share the counts; every key of the store is in one slot, so each batch is one MULTI', async () => {
    const admin = cl.client();
    const names = new Set(await Promise.all(SLOS.map((s) => admin.call('CLUSTER', 'KEYSLOT', `cl-tyk-otel-pump:slo:${s.name}`))));
    assert.equal(names.size, 3, 'without a hash tag the SLOs would live in three slots');
    const config = { cluster: { addrs: [...cl.addrs] }, key_prefix: 'cl-' };
    await twoInstancesShare(config, async () => {
      const keys: string[] = [];
      for (const node of cl.nodes) {
        const r = new Redis({ port: node.port, lazyConnect: true });
        await r.connect();
        keys.push(...(await r.keys('*cl-tyk-otel-pump:slo*')));
        r.disconnect();
      }
      assert.ok(keys.length >= 3 * 3, `state keys: ${keys.length}`);
      assert.ok(keys.every((k) => k.startsWith('{cl-tyk-otel-pump:slo}:')), keys.join(' '));
      const slots = new Set(await Promise.all(keys.map((k) => admin.call('CLUSTER', 'KEYSLOT', k))));
      assert.equal(slots.size, 1);
    });
  });
});
