/**
 * Redis Streams fan-out throughput, all in one run on the same Redis: the drainer (lists → `tyk_redis` →
 * `redis_stream` exporter → stream), a consumer (stream → `redis_stream` receiver → route → sli →
 * prometheus) and, as the baseline, the direct path (lists → `tyk_redis` → route → sli → prometheus);
 * plus the stream's Redis memory per million records (`MEMORY USAGE`, against the records' wire bytes).
 * Real agents from YAML, the shared test Redis with a private key prefix (deleted after).
 *
 * `npm run bench -- streams` (`BENCH_N=100000`).
 */
import { startAgent, waitFor } from '../helpers/agent.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { syntheticRecord } from '../helpers/synthetic-records.js';

const N = Number(process.env['BENCH_N'] ?? 100_000);

const PIPELINE = `
processors:
  route: {}
  sli: {}
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    metrics: { receivers: [RECEIVER], processors: [route, sli], exporters: [prometheus] }
`;

async function fill(redis: TestRedis, prefix: string): Promise<number> {
  let bytes = 0;
  const key = `${prefix}tyk-system-analytics`;
  for (let i = 0; i < N; i += 5000) {
    const chunk = Array.from({ length: Math.min(5000, N - i) }, (_, j) => syntheticRecord(i + j));
    for (const b of chunk) bytes += b.length;
    await redis.push(key, chunk);
  }
  return bytes;
}

async function timed(what: string, start: () => Promise<{ stop(): Promise<void> }>, done: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  const agent = await start();
  await waitFor(what, done, 600_000, 20);
  const seconds = (performance.now() - t0) / 1000;
  await agent.stop();
  return seconds;
}

const redis = await testRedis('bench-streams');
try {
  const lists = `${redis.prefix}a-`;
  const stream = `${redis.prefix}stream`;
  const tykRedis = (prefix: string) => `receivers:\n  tyk_redis: { endpoint: ${redis.url}, key_prefix: ${prefix}, uptime: false, delivery: at_least_once, poll_interval: 20ms }\n`;
  // At-least-once in-flight lists carry their source list's hash tag: none left = every chunk acknowledged.
  const inflightGone = async () => (await redis.client.keys(`{${redis.prefix}*`)).length === 0;

  // Baseline: the direct path.
  await fill(redis, `${redis.prefix}d-`);
  const direct = await timed('direct path drained', () => startAgent(tykRedis(`${redis.prefix}d-`) + PIPELINE.replace('RECEIVER', 'tyk_redis')),
    async () => (await redis.client.llen(`${redis.prefix}d-tyk-system-analytics`)) === 0 && (await inflightGone()));

  // Drainer: lists → stream. The consumer group exists first (from earliest), so the consumer run reads all.
  await redis.client.xgroup('CREATE', stream, 'bench', '0', 'MKSTREAM');
  const wireBytes = await fill(redis, lists);
  const drainer = await timed('drainer done', () => startAgent(`${tykRedis(lists)}exporters:\n  redis_stream: { endpoint: ${redis.url}, stream: ${stream}, max_len: 0 }\nservice:\n  telemetry: { metrics: { address: 127.0.0.1:0 } }\n  pipelines:\n    records: { receivers: [tyk_redis], exporters: [redis_stream] }\n`),
    async () => (await redis.client.xlen(stream)) >= N && (await inflightGone()));
  const memory = Number(await redis.client.call('MEMORY', 'USAGE', stream, 'SAMPLES', '0'));

  // Consumer: stream → route → sli → prometheus.
  const consumer = await timed('consumer done', () => startAgent(`receivers:\n  redis_stream: { endpoint: ${redis.url}, stream: ${stream}, group: bench, instance_id: c1, from: earliest, block: 100ms }\n` + PIPELINE.replace('RECEIVER', 'redis_stream')),
    async () => {
      const groups = (await redis.client.call('XINFO', 'GROUPS', stream)) as unknown[][];
      const g = groups[0] ?? [];
      const at = (k: string) => g[g.indexOf(k) + 1];
      return Number(at('lag')) === 0 && Number(at('pending')) === 0;
    });

  const rate = (s: number) => Math.round(N / s).toLocaleString('en');
  console.log(`records: ${N.toLocaleString('en')} synthetic msgpack records, ${Math.round(wireBytes / N)} bytes each on average (wall time incl. agent start)`);
  console.log(`direct   tyk_redis → route → sli → prometheus: ${direct.toFixed(2)} s, ${rate(direct)} records/s (baseline)`);
  console.log(`drainer  tyk_redis → redis_stream (lists → stream): ${drainer.toFixed(2)} s, ${rate(drainer)} records/s (${(direct / drainer).toFixed(2)}× the direct path's rate)`);
  console.log(`consumer redis_stream → route → sli → prometheus: ${consumer.toFixed(2)} s, ${rate(consumer)} records/s (${(direct / consumer).toFixed(2)}× the direct path's rate)`);
  console.log(`stream memory: ${(memory / N).toFixed(0)} bytes per record (${(memory / N - wireBytes / N).toFixed(0)} over the wire bytes), ${((memory / N) * 1e6 / 2 ** 20).toFixed(0)} MiB per million records`);
} finally {
  await redis.cleanup();
}
