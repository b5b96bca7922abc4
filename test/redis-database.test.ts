/**
 * A database that cannot be selected (issue: `redis://host:6379/20` on a 16-database Redis made the agent
 * drain database 0, with `/ready` at 200). Every Redis client of the agent (receiver, SLO state) must
 * never run a command on another database: the connection is closed and retried, `/ready` answers 503 with
 * the reason, and records waiting in database 0 stay untouched. Covered: the first connection of a real
 * agent (standalone), a re-select refused on reconnect (ACL `-select` after a connection kill), and
 * Sentinel. Private `redis-server` processes, so connection counts are this test's own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { sloConfigSchema } from '../processors/slo/config.js';
import { SloProcessor } from '../processors/slo/slo.js';
import { HealthRegistry } from '../src/graph.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { isRetryable } from '../src/errors.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { captureLogger } from './helpers/log-capture.js';
import { componentContext, testSharedConfig } from './helpers/context.js';
import { httpRecord, RecordingConsumer, tracked } from './helpers/records.js';
import { startSentinel, type PrivateSentinel } from './helpers/redis-topology.js';
import { CollectingConsumer, pushUnique, receiverHarness, smallTemplate, startPrivateRedis, type PrivateRedis, type ReceiverHarness } from './helpers/tyk-redis.js';

const N = 1000;
const SLOS = [{ name: 'orders', objective: 99.9, selector: { api_ids: ['orders'] }, sli: { type: 'availability' } }];

/** Connections the server accepted so far (each reconnect attempt is one). */
async function connections(admin: Redis): Promise<number> {
  const info = await admin.info('stats');
  return Number(/total_connections_received:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Waits until the server accepted `more` further connections: that many reconnect attempts happened. */
async function attempts(admin: Redis, more: number): Promise<void> {
  const from = await connections(admin);
  await waitFor(`${more} more connection attempts`, async () => (await connections(admin)) >= from + more, 20_000, 100);
}

describe('a database the server cannot select', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  before(async () => {
    redis = await startPrivateRedis(['--requirepass', 'db-test-pw', '--databases', '16'], { pingArgs: ['-a', 'db-test-pw', '--no-auth-warning'] });
    admin = await redis.client({ password: 'db-test-pw' });
  });
  after(async () => {
    admin.disconnect();
    await redis.destroy();
  });

  it('a real agent (receiver on /20 in the URL, slo state on database: 16): /ready 503 with the reason, database 0 untouched', async () => {
    const key = 'db-analytics-tyk-system-analytics';
    await pushUnique(admin, key, smallTemplate(), 0, N);
    const agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: redis://:db-test-pw@127.0.0.1:${redis.port}/20
    key_prefix: db-analytics-
    uptime: false
    poll_interval: 50ms
    reconnect: { initial_interval: 50ms, max_interval: 200ms }
processors:
  slo:
    endpoint: redis://127.0.0.1:${redis.port}
    password: db-test-pw
    database: 16
    key_prefix: db-
    evaluation_interval: 1s
    command_timeout: 300ms
    reconnect: { initial_interval: 50ms, max_interval: 200ms }
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [slo], exporters: [prometheus] }
  telemetry:
    metrics: { address: 127.0.0.1:0 }
slos:
  - { name: orders, objective: 99.9, selector: { api_ids: [orders] }, sli: { type: availability } }
`);
    try {
      type Ready = { status: number; body: { components: Record<string, { ready: boolean; detail?: string }> } };
      const ready = async (): Promise<Ready> => {
        const res = await fetch(`${agent.telemetryUrl}/ready`);
        return { status: res.status, body: (await res.json()) as Ready['body'] };
      };
      const down = await waitFor('/ready 503 with both reasons', async () => {
        const r = await ready();
        const c = r.body.components;
        return r.status === 503 && /cannot select database 20/.test(c['tyk_redis']?.detail ?? '') && /cannot select database 16/.test(c['slo@metrics']?.detail ?? '') ? r : undefined;
      }, 15_000);
      assert.match(down.body.components['tyk_redis']?.detail ?? '', /^redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\/20\): cannot select database 20 \(ERR DB index is out of range\)/);
      assert.match(down.body.components['slo@metrics']?.detail ?? '', /^SLO state in Redis unreachable: redis:\/\/127\.0\.0\.1:\d+\/16: cannot select database 16 \(ERR DB index is out of range\)/);
      // Several reconnect attempts of both clients, each refused the same way.
      await attempts(admin, 10);
      const after = await ready();
      assert.equal(after.status, 503);
      assert.equal(await admin.llen(key), N, 'not one record taken from database 0');
      assert.deepEqual(await admin.keys('*'), [key], 'nothing written to database 0');
      assert.ok(!agent.logs.some((l) => l.msg?.startsWith('redis reachable again')), 'never "reachable again"');
      assert.ok(agent.logs.some((l) => l.msg?.startsWith('redis unreachable') && /cannot select database 20/.test(String(l['err']))), 'the outage is logged with the reason');
      assert.ok(!JSON.stringify(agent.logs).includes('db-test-pw'), 'no password in the logs');
      assert.ok(!JSON.stringify(after.body).includes('db-test-pw'), 'no password on /ready');
    } finally {
      await agent.stop();
      await admin.del(key);
    }
  });

  it('a re-select refused on reconnect (ACL -select) is fatal to that connection; granting it back resumes on the right database', async () => {
    await admin.call('ACL', 'SETUSER', 'pump', 'on', '>pump-pw', '~*', '+@all');
    const key = 'rs-tyk-system-analytics';
    await admin.select(3);
    await pushUnique(admin, key, smallTemplate(), 0, 10);
    const c = new CollectingConsumer();
    const h: ReceiverHarness = receiverHarness({
      endpoint: `redis://127.0.0.1:${redis.port}/3`, username: 'pump', password: 'pump-pw', key_prefix: 'rs-', uptime: false,
      poll_interval: '50ms', reconnect: { initial_interval: '50ms', max_interval: '200ms' },
    }, c);
    const state = () => h.health.snapshot().components['tyk_redis'];
    try {
      await h.receiver.start();
      await waitFor('database 3 drained', () => c.count === 10);
      // The user may no longer SELECT; its connections are cut, so the client reconnects and re-selects.
      await admin.call('ACL', 'SETUSER', 'pump', '-select');
      await admin.call('CLIENT', 'KILL', 'USER', 'pump');
      await waitFor('not ready with the NOPERM reason', () => state()?.ready === false && /cannot select database 3 \(NOPERM/.test(state()?.detail ?? ''));
      await pushUnique(admin, key, smallTemplate(), 100, 10);
      await admin.select(0);
      await pushUnique(admin, key, smallTemplate(), 200, 10);
      await attempts(admin, 5);
      assert.equal(await admin.llen(key), 10, 'database 0 untouched');
      await admin.select(3);
      assert.equal(await admin.llen(key), 10, 'database 3 waits too');
      assert.equal(c.count, 10);
      assert.equal(state()?.ready, false);
      await admin.call('ACL', 'SETUSER', 'pump', '+select');
      await waitFor('database 3 drained after the grant', async () => c.count === 20 && (await admin.llen(key)) === 0, 15_000);
      await admin.select(0);
      assert.equal(await admin.llen(key), 10, 'database 0 still untouched');
      await waitFor('ready again', () => state()?.ready === true);
    } finally {
      await h.close();
      await admin.select(0);
      await admin.del(key);
      await admin.call('ACL', 'DELUSER', 'pump');
    }
  });
});

describe('a database the server cannot select, through Sentinel', () => {
  let sen: PrivateSentinel;
  let admin: Redis;
  before(async () => {
    sen = await startSentinel();
    admin = await sen.master.client({ password: sen.masterPassword });
  });
  after(async () => {
    admin.disconnect();
    await sen.destroy();
  });

  it('the slo state refuses batches retryably with the reason and writes nothing to database 0', async () => {
    const self = new SelfTelemetry('tyk_otel_pump');
    const health = new HealthRegistry();
    const { logger } = captureLogger('debug');
    const ctx = componentContext({ id: 'slo@x', logger, telemetry: self.forComponent('processor', 'slo@x'), health, shared: testSharedConfig({ slos: SLOS }) });
    const config = sloConfigSchema.parse({
      sentinel: { master_name: sen.masterName, addrs: [sen.sentinelAddr], password: sen.sentinelPassword }, password: sen.masterPassword,
      database: 16, key_prefix: 'sen-db-', command_timeout: '300ms', evaluation_interval: '1h', reconnect: { initial_interval: '50ms', max_interval: '200ms' },
    });
    const proc = new SloProcessor(ctx, config, new RecordingConsumer<'metrics'>());
    try {
      await proc.start();
      await attempts(admin, 5);
      // Every batch is refused, retryably. Which reason a refusal names depends on where the connection
      // attempt is at that moment (on a loaded host a Sentinel lookup can time out first), so batches are
      // offered until one names the database — the reason an operator must see.
      let err: Error | undefined;
      await waitFor('a refusal naming database 16', async () => {
        err = await tracked((c) => proc.consume([httpRecord({ apiId: 'orders', timestampMs: Date.now() })], c));
        assert.ok(err, 'the batch is refused');
        assert.equal(isRetryable(err), true);
        return /cannot select database 16 \(ERR DB index is out of range\)/.test(err.message);
      }, 20_000, 100);
      await waitFor('health names database 16', () => /cannot select database 16/.test(health.snapshot().components['slo@x']?.detail ?? ''), 20_000, 100);
      const s = health.snapshot().components['slo@x'];
      assert.equal(s?.ready, false);
      assert.match(s?.detail ?? '', /cannot select database 16/);
      assert.deepEqual(await admin.keys('*'), [], 'nothing written to database 0');
    } finally {
      await proc.shutdown();
      await self.shutdown();
    }
  });
});
