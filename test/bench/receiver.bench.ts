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
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createNoopMeter } from '@opentelemetry/api';
import type { ComponentContext, Consumer } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch } from '../../src/model.js';
import { naiveDecode } from './naive-decode.js';
import { silentLogger } from '../../src/logger.js';
import { compileErrorDefinition } from '../../src/error-definition.js';
import { tykRedisReceiverFactory } from '../../receivers/tyk_redis/index.js';
import { DEFAULT_CHUNK_SIZE } from '../../receivers/tyk_redis/config.js';
import { claimInflight, defineScripts } from '../../receivers/tyk_redis/scripts.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { splitAtNanos, startPrivateRedis } from '../helpers/tyk-redis.js';

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
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const consumer = new Counting(n);
  const finished = new Promise<void>((r) => (consumer.done = r));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  if (variant === 'ours') {
    const ctx: ComponentContext = {
      id: 'tyk_redis',
      logger: silentLogger(),
      telemetry: { meter: createNoopMeter(), name: (s) => `tyk_otel_pump.${s}`, accepted: () => undefined, refused: () => undefined, dropped: () => undefined, sent: () => undefined, sendFailed: () => undefined, queueSize: () => undefined },
      health: { set: () => undefined },
      http: { route: () => undefined, metrics: () => undefined, listen: () => Promise.resolve({ host: '127.0.0.1', port: 0 }), release: () => undefined },
      shared: { errorDefinition: compileErrorDefinition(), slos: [] },
      instanceId: 'bench',
      configDir: process.cwd(),
    };
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
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  clearInterval(sampler);
  peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  return {
    variant, chunk, n, records: consumer.count, seconds, perSecond: consumer.count / seconds,
    cpuUsPerRecord: (cpu.user + cpu.system) / consumer.count, peakRssMiB: peak / 1048576,
  };
}

// --- parent -------------------------------------------------------------------------------------------------

const GENERATE_LUA = `
local t = (#ARGV - 2) / 2
local first, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch = {}
for i = first, first + n - 1 do
  local j = (i % t) * 2 + 3
  batch[#batch + 1] = ARGV[j] .. '\\206' .. struct.pack('>I', i) .. ARGV[j + 1]
  if #batch == 1000 then redis.call('RPUSH', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
return n`;

async function fill(client: Redis, n: number, templates: Buffer[]): Promise<void> {
  await client.del(KEY);
  const parts = templates.flatMap((t) => splitAtNanos(t));
  for (let done = 0; done < n; done += 50_000) await client.eval(GENERATE_LUA, 1, KEY, done, Math.min(50_000, n - done), ...parts);
}

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

/** Redis CPU (user+sys seconds) of the server so far. */
async function redisCpu(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_user') + num('used_cpu_sys');
}

async function claimMethods(client: Redis, n: number, templates: Buffer[]): Promise<void> {
  const scripted = defineScripts(client);
  const inflight = `{${KEY}}:bench-inflight`;
  const methods: [string, () => Promise<number>][] = [
    ['MULTI LRANGE/LTRIM (before, at-most-once)', () => claimMulti(client, DEFAULT_CHUNK_SIZE)],
    ['Lua LRANGE→RPUSH (before, at-least-once)', async () => {
      const got = (await client.eval(OLD_INFLIGHT_LUA, 2, KEY, inflight, DEFAULT_CHUNK_SIZE)) as unknown[];
      await client.del(inflight);
      return got.length;
    }],
    ['LMOVE script + LRANGE (now) + DEL', async () => {
      const got = await claimInflight(scripted, KEY, inflight, DEFAULT_CHUNK_SIZE, 16 << 20, 'bench');
      if (got.items.length > 0) await client.del(inflight);
      return got.items.length;
    }],
    ['same, no byte bound (probe cost)', async () => {
      const got = await claimInflight(scripted, KEY, inflight, DEFAULT_CHUNK_SIZE, 2 ** 52, 'bench');
      if (got.items.length > 0) await client.del(inflight);
      return got.items.length;
    }],
  ];
  console.log(`\nclaim methods (${n} records, chunk ${DEFAULT_CHUNK_SIZE}, one claim at a time, no decoding; Redis CPU from INFO cpu):`);
  for (const [name, claim] of methods) {
    await fill(client, n, templates);
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
    console.log(`${name.padEnd(44)} ${(wall * 1000 / got).toFixed(2).padStart(6)} µs wall/rec  ${((r1 - r0) * 1e6 / got).toFixed(2).padStart(6)} µs Redis CPU/rec  ${((cpu.user + cpu.system) / got).toFixed(2).padStart(6)} µs client CPU/rec`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const [, variant, port, n, chunk] = args;
  const r = await runVariant(variant as Variant, Number(port), Number(n), Number(chunk));
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
} else {
  const N = Number(process.env['BENCH_N'] ?? 1_000_000);
  const SMALL = Number(process.env['BENCH_SMALL_N'] ?? 250_000);
  const SWEEP_N = Number(process.env['BENCH_SWEEP_N'] ?? 200_000);
  const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);
  const templates = (['gateway-msgpack.jsonl', 'gateway-legacy-v4.jsonl', 'gateway-pump18.jsonl'] as const).flatMap((f) => loadFixtures(f).map((x) => x.bytes));
  const avgBytes = Math.round(templates.reduce((a, b) => a + b.length, 0) / templates.length);
  const redis = await startPrivateRedis(['--maxmemory', '0']);
  const client = await redis.client();
  const self = fileURLToPath(import.meta.url);
  const run = async (variant: Variant, n: number, chunk: number): Promise<Result> => {
    await fill(client, n, templates);
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', variant, String(redis.port), String(n), String(chunk)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`${variant} failed:\n${r.stderr}`);
    const got = JSON.parse(r.stdout) as Result;
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
    console.log(`receiver bench: msgpack fixtures of every gateway generation (${templates.length} templates, avg ${avgBytes} B), private redis-server; best of ${REPEATS} interleaved runs`);
    // 0. What each claim method costs.
    await claimMethods(client, Number(process.env['BENCH_CLAIM_N'] ?? 200_000), templates);
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
