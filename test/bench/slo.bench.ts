/**
 * The `slo` processor's Redis layout, measured against naive layouts in the same run (each variant in its
 * own child process, against the Redis on 127.0.0.1:6379 under a private key prefix):
 *
 * - write: records/s through `SloProcessor.consume` (per-batch aggregation, one MULTI of HINCRBYs per
 *   batch) vs one HINCRBY per record and SLO, pipelined per batch, vs one awaited HINCRBY per record.
 * - evaluate: one evaluation of every window (5m … 30d) of an SLO holding 30 days of per-minute data:
 *   our minute/hour/day rollups vs one hash with 2 × 43 200 minute fields read whole (HGETALL).
 *   Also the Redis memory each layout needs for those 30 days.
 *
 * `npm run bench -- slo`
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ComponentContext } from '../../src/component.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { silentLogger } from '../../src/logger.js';
import { sloWindows } from '../../src/slo/windows.js';
import { UNTRACKED } from '../../src/delivery.js';
import { httpRecord, RecordingConsumer } from '../helpers/records.js';
import { sloConfigSchema } from '../../processors/slo/config.js';
import { SloProcessor } from '../../processors/slo/slo.js';
import { SloStore, type Counts } from '../../processors/slo/store.js';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const VARIANTS = ['write: ours (MULTI per batch)', 'write: HINCRBY per record, pipelined', 'write: HINCRBY per record, awaited', 'evaluate: ours (rollups)', 'evaluate: naive (HGETALL 86400 fields)'] as const;
type Variant = (typeof VARIANTS)[number];
const BATCH = 2000;
const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 200_000);
const EVALS = Number(process.env['BENCH_EVALS'] ?? 50);
const NOW = Date.UTC(2026, 10, 26, 12, 30, 30);
const M = Math.floor(NOW / 60_000);

const SLOS = [
  { name: 'orders-availability', objective: 99.9, selector: { api_ids: ['orders-api'] }, sli: { type: 'availability' } },
  { name: 'orders-latency', objective: 99, selector: { api_ids: ['orders-api'] }, sli: { type: 'latency', threshold_seconds: 0.25 } },
];

function context(): ComponentContext {
  const logger = silentLogger();
  return {
    id: 'slo@bench',
    logger,
    telemetry: new SelfTelemetry('bench').forComponent('processor', 'slo@bench'),
    health: new HealthRegistry().reporter('slo@bench'),
    http: new HttpServers(logger).hostFor('slo@bench'),
    shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined), slos: sharedSectionSchemas.slos.parse(SLOS) }),
    instanceId: 'bench',
    configDir: process.cwd(),
  };
}

/** Batches of records spread over the last 3 minutes, 5 % errors, 3 % slow, a third from another API. */
function batches(): AnalyticsRecord[][] {
  const out: AnalyticsRecord[][] = [];
  for (let b = 0; b < RECORDS / BATCH; b++) {
    const batch: AnalyticsRecord[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      batch.push(httpRecord({
        apiId: n % 3 === 0 ? 'other-api' : 'orders-api', responseCode: n % 20 === 0 ? 503 : 200,
        requestTime: n % 33 === 0 ? 400 : 30, timestampMs: NOW - (n % 3) * 60_000,
      }));
    }
    out.push(batch);
  }
  return out;
}

async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

async function memory(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) total += Number((await redis.call('MEMORY', 'USAGE', k)) ?? 0);
  } while (cursor !== '0');
  return total;
}

async function runVariant(variant: Variant): Promise<void> {
  const prefix = `bench-slo-${randomBytes(4).toString('hex')}-`;
  const redis = new Redis(REDIS_URL);
  const result: Record<string, unknown> = { variant };
  try {
    if (variant.startsWith('write')) {
      const input = batches();
      const ctx = context();
      const slos = ctx.shared.slos;
      let proc: SloProcessor | undefined;
      if (variant === 'write: ours (MULTI per batch)') {
        proc = new SloProcessor(ctx, sloConfigSchema.parse({ endpoint: REDIS_URL, key_prefix: prefix }), new RecordingConsumer<'metrics'>(), { now: () => NOW });
      }
      const t0 = performance.now();
      for (const batch of input) {
        if (proc) {
          await proc.consume(batch, UNTRACKED);
        } else if (variant === 'write: HINCRBY per record, pipelined') {
          const p = redis.pipeline();
          for (const r of batch) {
            if (r.apiId !== 'orders-api') continue;
            const minute = Math.floor((r.timestampMs ?? NOW) / 60_000);
            for (const slo of slos) {
              const bad = slo.sli.type === 'latency' ? r.requestTime > 250 : r.responseCode >= 500;
              p.hincrby(`${prefix}${slo.name}`, `t${minute}`, 1);
              if (bad) p.hincrby(`${prefix}${slo.name}`, `b${minute}`, 1);
            }
          }
          await p.exec();
        } else {
          for (const r of batch) {
            if (r.apiId !== 'orders-api') continue;
            const minute = Math.floor((r.timestampMs ?? NOW) / 60_000);
            for (const slo of slos) {
              const bad = slo.sli.type === 'latency' ? r.requestTime > 250 : r.responseCode >= 500;
              await redis.hincrby(`${prefix}${slo.name}`, `t${minute}`, 1);
              if (bad) await redis.hincrby(`${prefix}${slo.name}`, `b${minute}`, 1);
            }
          }
        }
      }
      const ms = performance.now() - t0;
      await proc?.shutdown();
      Object.assign(result, { records: RECORDS, perSecond: (RECORDS / ms) * 1000 });
    } else {
      const ctx = context();
      const slo = ctx.shared.slos[0];
      if (!slo) throw new Error('no slo');
      const store = new SloStore(redis, prefix);
      const naiveKey = `${prefix}naive`;
      // 30 days of minutes: 100 requests each, a few bad.
      for (let day = 0; day < 30; day++) {
        const perMinute = new Map<number, Counts>();
        const fields: (string | number)[] = [];
        for (let m = M - (day + 1) * 1440 + 1; m <= M - day * 1440; m++) {
          const c = { total: 100, bad: m % 7 === 0 ? 1 : 0 };
          perMinute.set(m, c);
          fields.push(`t${m}`, c.total, `b${m}`, c.bad);
        }
        if (variant === 'evaluate: ours (rollups)') await store.add(new Map([[slo, perMinute]]));
        else await redis.hset(naiveKey, ...fields);
      }
      const windows = sloWindows(slo.period);
      const ranges = windows.map((w) => ({ first: M - w.ms / 60_000 + 1, last: M }));
      const times: number[] = [];
      let check = 0;
      for (let i = 0; i < EVALS; i++) {
        const t0 = performance.now();
        if (variant === 'evaluate: ours (rollups)') {
          const { sums, hashesRead } = await store.sums([{ slo, ranges }]);
          check = sums[0]?.[windows.length - 1]?.total ?? 0;
          result['hashesRead'] = hashesRead;
        } else {
          const h = await redis.hgetall(naiveKey);
          const sums = ranges.map((r) => {
            let total = 0;
            for (let m = r.first; m <= r.last; m++) total += Number(h[`t${m}`] ?? 0);
            return total;
          });
          check = sums[sums.length - 1] ?? 0;
          result['fieldsRead'] = Object.keys(h).length;
        }
        times.push(performance.now() - t0);
      }
      if (check !== 30 * 1440 * 100) throw new Error(`wrong 30d total ${check}`);
      times.sort((a, b) => a - b);
      Object.assign(result, { msPerEvaluation: times[Math.floor(times.length / 2)], perSecond: 1000 / (times[Math.floor(times.length / 2)] as number), redisBytes: await memory(redis, prefix) });
    }
    result['peakRssMiB'] = process.resourceUsage().maxRSS / 1024;
  } finally {
    await cleanup(redis, prefix);
    redis.disconnect();
  }
  process.stdout.write(JSON.stringify(result));
}

const only = process.argv[2];
if (only !== undefined) {
  runVariant(only as Variant).then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, Record<string, number>> = {};
  for (const v of VARIANTS) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, v], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`${v} failed:\n${r.stderr}`);
      process.exit(1);
    }
    results[v] = JSON.parse(r.stdout) as Record<string, number>;
  }
  const w = (v: Variant) => results[v] as Record<string, number>;
  console.log(`slo write path: ${RECORDS} records in batches of ${BATCH}, 2 SLOs (2/3 of the records match), Redis ${REDIS_URL}`);
  console.log('variant                                   records/s   peak RSS   vs ours');
  const ours = w('write: ours (MULTI per batch)')['perSecond'] as number;
  for (const v of VARIANTS.filter((x) => x.startsWith('write'))) {
    const r = w(v);
    console.log(`${v.padEnd(40)} ${Math.round(r['perSecond'] as number).toString().padStart(10)}   ${(r['peakRssMiB'] as number).toFixed(0).padStart(5)} MiB   ${((r['perSecond'] as number) / ours).toFixed(3)}×`);
  }
  const e = w('evaluate: ours (rollups)');
  const n = w('evaluate: naive (HGETALL 86400 fields)');
  console.log(`\nslo evaluation of the 8 windows of one 30d SLO holding 30 days of minutes (median of ${EVALS})`);
  console.log('variant                                   ms/eval   read                 Redis memory   peak RSS');
  console.log(`${'evaluate: ours (rollups)'.padEnd(40)} ${(e['msPerEvaluation'] as number).toFixed(2).padStart(8)}   ${`${e['hashesRead']} hashes`.padEnd(20)} ${((e['redisBytes'] as number) / 1024).toFixed(0).padStart(7)} KiB   ${(e['peakRssMiB'] as number).toFixed(0).padStart(5)} MiB`);
  console.log(`${'evaluate: naive (HGETALL 86400 fields)'.padEnd(40)} ${(n['msPerEvaluation'] as number).toFixed(2).padStart(8)}   ${`${n['fieldsRead']} fields`.padEnd(20)} ${((n['redisBytes'] as number) / 1024).toFixed(0).padStart(7)} KiB   ${(n['peakRssMiB'] as number).toFixed(0).padStart(5)} MiB`);
  console.log(`ours is ${((n['msPerEvaluation'] as number) / (e['msPerEvaluation'] as number)).toFixed(1)}× faster per evaluation`);
}
