/**
 * The `redis_stream` receiver's lifecycle without a reachable Redis: shutdown is prompt when nothing is in
 * flight (it does not wait out a connection attempt or a retry backoff). Reading, claiming, recovery and
 * fan-out against a real Redis live in `test/streams*.test.ts`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer } from '../../src/component.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { HealthRegistry } from '../../src/graph.js';
import { componentContext } from '../../test/helpers/context.js';
import { freePort } from '../../test/helpers/tyk-redis.js';
import { waitFor } from '../../test/helpers/agent.js';
import { redisStreamReceiverFactory } from './index.js';

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
