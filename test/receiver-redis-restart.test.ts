/**
 * Redis goes away mid-drain and comes back (a private redis-server with an fsync-always append-only file,
 * stopped and restarted on the same port): a real agent keeps running, `/ready` answers 503 with the reason
 * while Redis is down, the outage is logged once, and the receiver resumes and drains the rest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { ExporterFactory } from '../src/component.js';
import type { RecordBatch } from '../src/model.js';
import { factories } from '../src/factories.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { pushUnique, smallTemplate, startPrivateRedis, uniqueId, type PrivateRedis } from './helpers/tyk-redis.js';

const N = 15_000;
const CHUNK = 500;

/** A records exporter that keeps what it gets, slowly enough that a drain takes a while. */
const received: RecordBatch[] = [];
const sinkFactory: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'test_sink',
  description: 'test sink',
  inputs: ['records'],
  configSchema: z.strictObject({}),
  create: () => ({
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    async consumeRecords(batch) {
      await new Promise((r) => setTimeout(r, 15));
      received.push(batch);
    },
  }),
};

async function ready(agent: RunningAgent): Promise<{ status: number; body: { components: Record<string, { ready: boolean; detail?: string; facts?: Record<string, unknown> }> } }> {
  const res = await fetch(`${agent.telemetryUrl}/ready`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('tyk_redis: Redis restarted mid-drain', () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
  });
  after(async () => {
    await redis.destroy();
  });

  for (const delivery of ['at_most_once', 'at_least_once'] as const) {
    it(`${delivery}: /ready goes 503 while Redis is down, then the receiver resumes and drains the rest`, async () => {
      received.length = 0;
      const prefix = `restart-${delivery}-`;
      const key = `${prefix}tyk-system-analytics`;
      let client = await redis.client();
      await pushUnique(client, key, smallTemplate(), 0, N);
      client.disconnect();
      const agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${prefix}
    uptime: false
    chunk_size: ${CHUNK}
    poll_interval: 50ms
    delivery: ${delivery}
    reconnect: { initial_interval: 50ms, max_interval: 200ms }
exporters:
  test_sink: {}
service:
  pipelines:
    records:
      receivers: [tyk_redis]
      exporters: [test_sink]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`, { factories: [...factories, sinkFactory] });
      try {
        await waitFor('ready', async () => (await ready(agent)).status === 200);
        const count = () => received.reduce((n, b) => n + b.length, 0);
        await waitFor('a few chunks drained', () => count() >= 4 * CHUNK);
        await redis.stop();
        const down = await waitFor('/ready 503', async () => {
          const r = await ready(agent);
          return r.status === 503 ? r : undefined;
        });
        const state = down.body.components['tyk_redis'];
        assert.equal(state?.ready, false);
        assert.match(state?.detail ?? '', /^redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\/0\)/);
        assert.equal(state?.facts?.['redis'], 'down');
        const drainedWhileUp = count();
        await new Promise((r) => setTimeout(r, 600)); // several reconnect attempts
        assert.ok(count() - drainedWhileUp <= 2 * CHUNK, 'nothing new is claimed while Redis is down');
        await redis.restart();
        await waitFor('ready again', async () => (await ready(agent)).status === 200, 15_000);
        client = await redis.client();
        await waitFor('the rest drained', async () => (await client.llen(key)) === 0 && (await client.keys(`{${key}}*`)).length === 0, 30_000);
        // Claimed is not yet delivered: wait until nothing is outstanding (the facts refresh every second).
        await waitFor('every claimed record delivered', async () => (await ready(agent)).body.components['tyk_redis']?.facts?.['unackedChunks'] === 0);
        const ids = received.flat().map((r) => uniqueId(r));
        const unique = new Set(ids);
        if (delivery === 'at_most_once') {
          // A claim cut by the outage can be lost (never twice delivered): at most one chunk.
          assert.equal(unique.size, ids.length, 'no duplicates');
          const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !unique.has(i));
          assert.ok(N - unique.size <= CHUNK, `lost ${N - unique.size}: ${missing[0]}…${missing[missing.length - 1]} drainedWhileUp ${drainedWhileUp}`);
        } else {
          assert.equal(unique.size, N, 'nothing lost');
          assert.ok(ids.length - N <= 2 * CHUNK, `duplicates ${ids.length - N}`);
        }
        const outageLogs = agent.logs.filter((l) => l.msg?.startsWith('redis unreachable'));
        assert.equal(outageLogs.length, 1, 'one log line per outage');
        assert.ok(agent.logs.some((l) => l.msg?.startsWith('redis reachable again')));
        assert.ok(!JSON.stringify(agent.logs).includes('password'));
        client.disconnect();
      } finally {
        await agent.stop();
      }
    });
  }
});
