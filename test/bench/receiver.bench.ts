/**
 * Receiver throughput: drain + decode of a big backlog, the `tyk_redis` receiver against the naive path
 * (`MULTI LRANGE/LTRIM EXEC` of one chunk, `msgpackr` unpack of each whole element, mapping to the typed
 * record, hand the batch over, then the next chunk — chunked the same way). Also: Redis alone (claims
 * without decoding: the ceiling), a chunk-size sweep (to choose the default), and two backlog sizes (peak
 * RSS must not grow with the backlog).
 *
 * Input: the msgpack fixture records of every gateway generation (msgpack, legacy v4, pump 1.8 — real
 * gateway bytes, ~20 % with detailed recording) cycled, each made unique by its `TimeStamp` nanoseconds,
 * generated inside a private redis-server (no network transfer to fill it; flushed after). Each variant
 * runs in its own child process (so its peak RSS is its own), draining until it has every record.
 *
 * `npm run bench -- receiver` (`BENCH_N=1000000`, `BENCH_SMALL_N=250000`, `BENCH_SWEEP_N=200000`,
 * `BENCH_REPEATS=3`).
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Consumer } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch } from '../../src/model.js';
import { naiveDecode } from './naive-decode.js';
import { tykRedisReceiverFactory } from '../../receivers/tyk_redis/index.js';
import { DEFAULT_CHUNK_SIZE } from '../../receivers/tyk_redis/config.js';
import { chunkHeader, claimInflight, defineScripts } from '../../receivers/tyk_redis/scripts.js';
import { startPrivateRedis } from '../helpers/tyk-redis.js';
import { lightContext } from '../helpers/light-context.js';
import { childArgs, gatewayBacklog, measureProcess, replyAsChild, runChild, type Backlog } from './harness.js';

type Variant = 'ours' | 'naive' | 'redis-only';
const KEY = 'bench-rcv-tyk-system-analytics';

// --- the naive baseline: generic unpack, then map (test/bench/naive-decode.ts) ---------------------------

const naive = naiveDecode;

// --- one variant (child process) -------------------------------------------------------------------------

interface Result {
  variant: Variant;
  chunk: number;
  n: number;
  records: number;
  seconds: number;
  perSecond: number;
  cpuUsPerRecord: number;
  peakRssMiB: number;
}

/** A consumer that touches every record (so nothing is optimised away) and counts. */
class Counting implements Consumer<'records'> {
  count = 0;
  sum = 0;
  done: () => void = () => undefined;
  constructor(private readonly n: number) {}
  consume(batch: RecordBatch): Promise<void> {
    for (const r of batch) this.sum += r.requestTime;
    this.count += batch.length;
    if (this.count >= this.n) this.done();
    return Promise.resolve();
  }
}

async function runVariant(variant: Variant, port: number, n: number, chunk: number): Promise<Result> {
  const m = measureProcess();
  const consumer = new Counting(n);
  const finished = new Promise<void>((r) => (consumer.done = r));
  if (variant === 'ours') {
    const ctx = lightContext('tyk_redis', 'bench');
    const config = tykRedisReceiverFactory.configSchema.parse({ endpoint: `redis://127.0.0.1:${port}/0`, key_prefix: 'bench-rcv-', uptime: false, chunk_size: chunk, poll_interval: '10ms' });
    const receiver = tykRedisReceiverFactory.create(ctx, config, consumer);
    await receiver.start();
    await finished;
    await receiver.shutdown();
  } else {
    const client = new Redis({ port, lazyConnect: true });
    await client.connect();
    if (variant === 'naive') {
      for (;;) {
        const res = await client.multi().lrangeBuffer(KEY, 0, chunk - 1).ltrim(KEY, chunk, -1).exec();
        const items = (res?.[0]?.[1] ?? []) as Buffer[];
        if (items.length === 0) break;
        await consumer.consume(items.map(naive));
      }
    } else {
      // Redis alone: the receiver's own claim (into an in-flight list, read back, deleted), one chunk
      // ahead (two slots), no decoding.
      const scripted = defineScripts(client);
      let slot = 0;
      const claim = async () => {
        const inflight = `{${KEY}}:bench-inflight:${slot++ % 2}`;
        const got = await claimInflight(scripted, KEY, inflight, chunk, 16 << 20, 'bench');
        if (got.items.length > 0) await scripted.del(inflight);
        return got.items;
      };
      let next = claim();
      for (;;) {
        const items = await next;
        if (items.length === 0) break;
        next = claim();
        consumer.count += items.length;
      }
    }
    client.disconnect();
  }
  const { seconds, cpuUs } = m.stop();
  m.close();
  return {
    variant, chunk, n, records: consumer.count, seconds, perSecond: consumer.count / seconds,
    cpuUsPerRecord: cpuUs / consumer.count, peakRssMiB: m.peakRssMiB(true),
  };
}

// --- parent -------------------------------------------------------------------------------------------------

// --- claim methods: what never losing a chunk to a lost reply costs -------------------------------------

/** Tyk Pump's claim, and ours for at-most-once until 2026-12-03 (a lost reply lost the chunk). */
async function claimMulti(client: Redis, chunk: number): Promise<number> {
  const res = await client.multi().lrangeBuffer(KEY, 0, chunk - 1).ltrim(KEY, chunk, -1).exec();
  return ((res?.[0]?.[1] ?? []) as Buffer[]).length;
}

/** Our at-least-once claim until 2026-12-03: LRANGE + LTRIM + RPUSH of every element inside Lua, returning them. */
const OLD_INFLIGHT_LUA = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local n = #items
if n == 0 then return items end
redis.call('LTRIM', KEYS[1], n, -1)
for i = 1, n, 1000 do redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, n))) end
return items`;

/** Our claim in both modes during 2026-12-03: `LMOVE` one element at a time, the byte bound on `#item`. */
const LMOVE_CLAIM_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TYK_INFLIGHT_BUSY') end
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then return {0, 0, 0} end
local max, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
local n, bytes = 0, 0
while n < max and bytes < budget do
  local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not item then break end
  n = n + 1
  bytes = bytes + #item
end
if n == 0 then redis.call('DEL', KEYS[2]) end
return {n, bytes, redis.call('LLEN', KEYS[1])}`;

/**
 * The range move tried for issue 12: windows of `LRANGE` into Lua, sizes summed, multi-element `RPUSH`
 * (1000 per call) into the in-flight list, the window grown from 1 by the remaining bytes over the largest
 * element seen (at most doubling), one `LTRIM` at the end. Not kept: per call it is cheap, but every
 * element still becomes a Lua string and back.
 */
const RANGE_MOVE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TYK_INFLIGHT_BUSY') end
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then return {0, 0, 0} end
local max, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
local n, bytes, largest, window = 0, 0, 1, 1
while true do
  local items = redis.call('LRANGE', KEYS[1], n, n + window - 1)
  local got, take = #items, 0
  while take < got and bytes < budget do
    take = take + 1
    local size = #items[take]
    bytes = bytes + size
    if size > largest then largest = size end
  end
  for i = 1, take, 1000 do redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, take))) end
  n = n + take
  if got < window or n >= max or bytes >= budget then break end
  window = math.min(max - n, window * 2, math.max(1, math.floor((budget - bytes) / largest)))
end
if n == 0 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[1], n, -1) end
return {n, bytes, redis.call('LLEN', KEYS[1])}`;

/** The whole chunk copied inside Redis without weighing it (no byte bound): what any in-flight claim costs at least. */
const SORT_STORE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TYK_INFLIGHT_BUSY') end
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then return {0, 0, 0} end
local n = redis.call('SORT', KEYS[1], 'BY', 'nosort', 'LIMIT', 0, tonumber(ARGV[1]), 'STORE', KEYS[2])
if n == 0 then return {0, 0, 0} end
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[1], n, -1)
return {n, 0, redis.call('LLEN', KEYS[1])}`;

/** Redis CPU (user+sys seconds) of the server so far. */
async function redisCpu(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_user') + num('used_cpu_sys');
}

/** A claim script run like {@link claimInflight}: script + `LRANGE` read-back in one round trip, then `DEL`. */
function scriptClaim(client: Redis, name: string, lua: string, inflight: string): () => Promise<number> {
  client.defineCommand(name, { numberOfKeys: 2, lua });
  const header = chunkHeader('bench');
  return async () => {
    const pipeline = client.pipeline() as unknown as Record<string, (...args: unknown[]) => unknown> & { lrangeBuffer(k: string, a: number, b: number): unknown; exec(): Promise<[Error | null, unknown][] | null> };
    pipeline[name]?.(KEY, inflight, DEFAULT_CHUNK_SIZE, 16 << 20, header);
    pipeline.lrangeBuffer(inflight, 1, -1);
    const res = await pipeline.exec();
    if (res?.[0]?.[0]) throw res[0][0];
    const moved = (res?.[0]?.[1] as number[])[0] as number;
    if (moved > 0) await client.del(inflight);
    return moved;
  };
}

async function claimMethods(client: Redis, n: number, backlog: Backlog): Promise<void> {
  const scripted = defineScripts(client);
  const inflight = `{${KEY}}:bench-inflight`;
  const methods: [string, () => Promise<number>][] = [
    ['MULTI LRANGE/LTRIM (Tyk Pump; at-most-once before)', () => claimMulti(client, DEFAULT_CHUNK_SIZE)],
    ['Lua LRANGE→RPUSH, returned (at-least-once before)', async () => {
      const got = (await client.eval(OLD_INFLIGHT_LUA, 2, KEY, inflight, DEFAULT_CHUNK_SIZE)) as unknown[];
      await client.del(inflight);
      return got.length;
    }],
    ['LMOVE one by one + LRANGE + DEL (until now)', scriptClaim(client, 'benchLmove', LMOVE_CLAIM_LUA, inflight)],
    ['Lua LRANGE windows → RPUSH + LRANGE + DEL (tried)', scriptClaim(client, 'benchRange', RANGE_MOVE_LUA, inflight)],
    ['SORT STORE, weighed prefix + LRANGE + DEL (now)', async () => {
      const got = await claimInflight(scripted, KEY, inflight, DEFAULT_CHUNK_SIZE, 16 << 20, 'bench');
      if (got.items.length > 0) await client.del(inflight);
      return got.items.length;
    }],
    ['SORT STORE unweighed (no byte bound: the floor)', scriptClaim(client, 'benchSortStore', SORT_STORE_LUA, inflight)],
  ];
  const rounds = Number(process.env['BENCH_CLAIM_REPEATS'] ?? 3);
  console.log(`\nclaim methods (${n} records, chunk ${DEFAULT_CHUNK_SIZE}, one claim at a time, no decoding; Redis CPU from INFO cpu; median of ${rounds} interleaved rounds):`);
  const results = new Map<string, { redis: number; wall: number; client: number }[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, claim] of methods) {
      await backlog.fill(client, KEY, n);
      const r0 = await redisCpu(client);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let got = 0;
      for (;;) {
        const k = await claim();
        if (k === 0) break;
        got += k;
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      const r1 = await redisCpu(client);
      if (got !== n) throw new Error(`${name}: claimed ${got} of ${n}`);
      const list = results.get(name) ?? [];
      list.push({ redis: ((r1 - r0) * 1e6) / got, wall: (wall * 1000) / got, client: (cpu.user + cpu.system) / got });
      results.set(name, list);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const floor = median((results.get(methods[0]?.[0] as string) ?? []).map((r) => r.redis));
  for (const [name, rs] of results) {
    const redis = median(rs.map((r) => r.redis));
    console.log(`${name.padEnd(52)} ${median(rs.map((r) => r.wall)).toFixed(2).padStart(6)} µs wall/rec  ${redis.toFixed(2).padStart(6)} µs Redis CPU/rec (${(redis / floor).toFixed(1)}× MULTI)  ${median(rs.map((r) => r.client)).toFixed(2).padStart(6)} µs client CPU/rec   [Redis µs/rec per round: ${rs.map((r) => r.redis.toFixed(2)).join(' ')}]`);
  }
}

const args = childArgs();
if (args) {
  const [variant, port, n, chunk] = args;
  await replyAsChild(runVariant(variant as Variant, Number(port), Number(n), Number(chunk)));
} else {
  const N = Number(process.env['BENCH_N'] ?? 1_000_000);
  const SMALL = Number(process.env['BENCH_SMALL_N'] ?? 250_000);
  const SWEEP_N = Number(process.env['BENCH_SWEEP_N'] ?? 200_000);
  const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);
  const backlog = gatewayBacklog();
  const redis = await startPrivateRedis(['--maxmemory', '0']);
  const client = await redis.client();
  const self = fileURLToPath(import.meta.url);
  const run = async (variant: Variant, n: number, chunk: number): Promise<Result> => {
    await backlog.fill(client, KEY, n);
    const got = runChild<Result>(self, [variant, String(redis.port), String(n), String(chunk)], { what: variant });
    const left = await client.llen(KEY);
    if (got.records !== n || left !== 0) throw new Error(`${variant}: drained ${got.records} of ${n}, ${left} left`);
    return got;
  };
  const best = (rs: Result[]) => rs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const fmt = (r: Result) => `${r.variant.padEnd(10)} chunk ${String(r.chunk).padStart(5)}  backlog ${String(r.n).padStart(8)}  ${Math.round(r.perSecond).toString().padStart(7)} rec/s (wall)  ${r.cpuUsPerRecord.toFixed(2).padStart(6)} µs CPU/rec = ${Math.round(1e6 / r.cpuUsPerRecord).toString().padStart(7)} rec per CPU-second  peak RSS ${r.peakRssMiB.toFixed(0).padStart(4)} MiB`;
  // The machine is shared: wall-clock rates swing with the load of other processes, CPU time per record
  // (user+sys of the agent process) much less. Both are reported; each variant's best run counts.
  const bestCpu = (rs: Result[]) => rs.reduce((a, b) => (b.cpuUsPerRecord < a.cpuUsPerRecord ? b : a));
  try {
    console.log(`receiver bench: msgpack fixtures of every gateway generation (${backlog.fixtures.length} templates, avg ${backlog.avgBytes} B), private redis-server; best of ${REPEATS} interleaved runs`);
    // 0. What each claim method costs.
    await claimMethods(client, Number(process.env['BENCH_CLAIM_N'] ?? 200_000), backlog);
    // 1. Chunk-size sweep for the default (BENCH_ONLY_CLAIM=1 skips this and the next).
    const onlyClaim = process.env['BENCH_ONLY_CLAIM'] === '1';
    if (!onlyClaim) console.log(`\nchunk-size sweep (ours, backlog ${SWEEP_N}):`);
    for (const chunk of onlyClaim ? [] : [250, 500, 1000, 2000, 5000, 10000]) {
      const rs: Result[] = [];
      for (let i = 0; i < REPEATS; i++) rs.push(await run('ours', SWEEP_N, chunk));
      console.log(fmt(best(rs)));
    }
    // 2. Ours vs naive vs Redis alone, two backlog sizes.
    for (const n of onlyClaim ? [] : [SMALL, N]) {
      console.log(`\nbacklog ${n}, chunk ${DEFAULT_CHUNK_SIZE}:`);
      const rs: Record<Variant, Result[]> = { ours: [], naive: [], 'redis-only': [] };
      for (let i = 0; i < REPEATS; i++) for (const v of ['ours', 'naive', 'redis-only'] as const) rs[v].push(await run(v, n, DEFAULT_CHUNK_SIZE));
      for (const v of ['ours', 'naive', 'redis-only'] as const) console.log(fmt(best(rs[v])));
      console.log(`ratio ours/naive: ${(best(rs.ours).perSecond / best(rs.naive).perSecond).toFixed(2)}× records/s (wall), ${(bestCpu(rs.naive).cpuUsPerRecord / bestCpu(rs.ours).cpuUsPerRecord).toFixed(2)}× records per CPU-second`);
    }
  } finally {
    client.disconnect();
    await redis.destroy();
  }
}
