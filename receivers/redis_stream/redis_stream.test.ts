/**
 * The `redis_stream` receiver on its own: its bounds on what it holds open (reads delivered, not yet
 * acknowledged), with a real Redis: `max_unacked_reads` by count and `max_unacked_bytes` by the bytes of their
 * entries; each acknowledgement makes room for one more read, and every entry is delivered in the end. And its
 * lifecycle without a reachable Redis: shutdown is prompt when nothing is in flight (it does not wait out a
 * connection attempt or a retry backoff). End-to-end behaviour — groups, claims, dead letters, recovery — is in
 * `test/streams*.test.ts`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchContext, ComponentContext, Consumer } from '../../src/component.js';
import type { RecordBatch } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { waitFor } from '../../test/helpers/agent.js';
import { syntheticIndex, syntheticRecord } from '../../test/helpers/synthetic-records.js';
import { redisStreamReceiverFactory } from './index.js';
import { componentContext } from '../../test/helpers/context.js';
import { freePort } from '../../test/helpers/tyk-redis.js';

const redises: TestRedis[] = [];

/** Defers every batch: it stays open until the test settles it. */
class DeferringConsumer implements Consumer<'records'> {
  readonly settles: ((e?: Error) => void)[] = [];
  readonly batches: RecordBatch[] = [];
  async consume(data: RecordBatch, ctx: BatchContext): Promise<void> {
    this.settles.push(ctx.defer());
    this.batches.push(data);
  }
}

function start(r: TestRedis, config: Record<string, unknown>, next: Consumer<'records'>) {
  const telemetry = new SelfTelemetry('tyk_otel_pump');
  const { logger } = captureLogger('warn');
  const ctx: ComponentContext = {
    id: 'redis_stream', logger, telemetry: telemetry.forComponent('receiver', 'redis_stream'), health: new HealthRegistry().reporter('redis_stream'),
    http: new HttpServers(logger).hostFor('redis_stream'), shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined) }),
    instanceId: 'test', configDir: process.cwd(),
  };
  const receiver = redisStreamReceiverFactory.create(ctx, redisStreamReceiverFactory.configSchema.parse({ endpoint: r.url, stream: `${r.prefix}stream`, from: 'earliest', block: '50ms', ...config }), next);
  return { receiver, close: async () => { await receiver.shutdown(); await telemetry.shutdown(); } };
}

describe('redis_stream receiver: bounds on open reads', () => {
  after(async () => {
    for (const r of redises.splice(0)) await r.cleanup();
  });

  for (const [what, bound] of [
    ['max_unacked_reads', (_entryBytes: number) => ({ max_unacked_reads: 3 })],
    ['max_unacked_bytes', (entryBytes: number) => ({ max_unacked_reads: 100, max_unacked_bytes: Math.floor(entryBytes * 10 * 2.5) })],
  ] as const) {
    it(`${what}: three reads of 10 open, no fourth until one is acknowledged; every entry delivered in the end`, async () => {
      const r = await testRedis('stream-bounds');
      redises.push(r);
      const entries = Array.from({ length: 100 }, (_, i) => syntheticRecord(i));
      const p = r.client.pipeline();
      for (const e of entries) p.xadd(`${r.prefix}stream`, '*', 'data', e, 'source', 'list', 'format', 'msgpack');
      await p.exec();
      const c = new DeferringConsumer();
      const size = Math.max(...entries.map((e) => e.length));
      const h = start(r, { count: 10, ...bound(size) }, c);
      await h.receiver.start();
      try {
        await waitFor('three reads open', () => c.settles.length === 3);
        await new Promise((res) => setTimeout(res, 200));
        assert.equal(c.settles.length, 3, 'no fourth read while three are open');
        for (let i = 0; i < 10; i++) {
          await waitFor(`read ${i + 1}`, () => c.settles.length > i);
          (c.settles[i] as (e?: Error) => void)();
        }
        const got = c.batches.flatMap((b) => b.map((x) => syntheticIndex((x as { path: string }).path)));
        assert.deepEqual(got, entries.map((_, i) => i));
        await waitFor('acknowledged', async () => Number((await r.client.call('XPENDING', `${r.prefix}stream`, 'tyk-otel-pump') as unknown[])[0]) === 0);
      } finally {
        await h.close();
      }
    });
  }
});

const nothing: Consumer<'records'> = { consume: () => Promise.resolve() };

describe('redis_stream receiver: Redis unreachable', () => {
  it('shuts down well under a second when nothing is in flight (a closed port: connection refused, retried)', async (t) => {
    // A port nothing listens on: every connection attempt is refused and retried with backoff.
    const port = await freePort();
    const telemetry = new SelfTelemetry('rs');
    const health = new HealthRegistry();
    const ctx = componentContext({ id: 'redis_stream', telemetry: telemetry.forComponent('receiver', 'redis_stream'), health });
    const config = redisStreamReceiverFactory.configSchema.parse({ endpoint: `redis://127.0.0.1:${port}/0`, stream: 's', group: 'g' });
    const receiver = redisStreamReceiverFactory.create(ctx, config, nothing);
    try {
      await receiver.start();
      // Started and retrying: /ready says why it is not ready.
      await waitFor('the receiver to report the refused connection', () => /ECONNREFUSED/.test(health.snapshot().components['redis_stream']?.detail ?? ''), 5000, 10);
      // Well inside connect_timeout (5 s) and a reconnect backoff: shutdown must not wait them out.
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      await receiver.shutdown();
      const ms = performance.now() - t0;
      t.diagnostic(`shutdown with Redis unreachable: ${ms.toFixed(1)} ms`);
      assert.ok(ms < 500, `shutdown took ${ms.toFixed(0)} ms`);
      assert.equal(health.snapshot().components['redis_stream']?.detail, 'stopped');
    } finally {
      await receiver.shutdown();
      await telemetry.shutdown();
    }
  });
});
