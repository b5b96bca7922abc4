/**
 * `npm run bench -- route`: the `route` processor on realistic traffic (fixture records whose ids, UUIDs
 * and hashes are fresh random values, so most raw paths are distinct, plus id-free paths that repeat),
 * with built-in rules only (`route`) and with user routes and a pattern (`route-rules`), against a naive
 * baseline (split + a regex per segment, no listen-path handling, no cap).
 * Each variant runs in its own child process so peak RSS is per variant; the variants are run in
 * interleaved rounds and the best round of each is reported, because the machine is shared and noisy.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { AnalyticsRecord, RecordBatch } from '../../src/model.js';
import { withRoute } from '../../src/model.js';
import type { BatchContext, Consumer } from '../../src/component.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { routeConfigSchema } from '../../processors/route/config.js';
import { RouteProcessor } from '../../processors/route/route.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { silentLogger } from '../../src/logger.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';

const POOL = 50_000;
const PASSES = 8;
const BATCH = 1000;
const ROUNDS = 3;
const VARIANTS = ['route', 'route-rules', 'naive'] as const;
type Variant = (typeof VARIANTS)[number];

/** Fixture HTTP records with their ids replaced by fresh random ones (deterministic sequence). */
function workload(): AnalyticsRecord[] {
  const base = loadFixtures('gateway-msgpack.jsonl').map((f) => decodeAnalytics(f.bytes, 'msgpack')).filter((r) => r.kind === 'http');
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
  const out: AnalyticsRecord[] = [];
  for (let i = 0; i < POOL; i++) {
    const r = base[i % base.length] as AnalyticsRecord;
    const path = r.path.replace(uuid, () => randomUUID()).replace(/\/\d+(?=\/|$)/g, () => `/${rnd() % 1_000_000}`);
    out.push({ ...r, path, rawPath: path, originalPath: path });
  }
  return out;
}

const NAIVE_RULES: [RegExp, string][] = [
  [/^\d+$/, '{id}'],
  [/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, '{uuid}'],
  [/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i, '{ulid}'],
  [/^(?=.*\d)[0-9a-f]{7,}$/i, '{id}'],
];

/** `route-rules`: user routes for two APIs and a global pattern, as a user with an OpenAPI spec would have. */
const RULES = {
  apis: {
    e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0: { routes: ['/v1/items/{item_id}', '/v1/items/{item_id}/notes/{note_id}', '/v1/items/{item_id}/history', '/search', '/health'] },
    '3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b': { routes: ['/v2/items/{item_id}', '/v2/items/{item_id}/notes/{note_id}', '/search'] },
  },
  patterns: [{ regex: '^/export/(csv|json)/', template: '/export/$1/*' }],
};

/** The baseline: what one writes first. */
class NaiveRoute implements Consumer<'records'> {
  constructor(private readonly next: Consumer<'records'>) {}
  async consume(batch: RecordBatch, ctx: BatchContext): Promise<void> {
    const out = batch.map((r) => {
      if (r.kind !== 'http') return r;
      const route = r.path
        .split('/')
        .map((s) => NAIVE_RULES.find(([re]) => re.test(s))?.[1] ?? s)
        .join('/');
      return withRoute(r, route);
    });
    await this.next.consume(out, ctx);
  }
}

async function child(variant: Variant): Promise<void> {
  const records = workload();
  const routes = new Set<string>();
  const sink: Consumer<'records'> = {
    consume: async (b) => {
      for (const r of b) if (r.kind === 'http') routes.add(r.route);
    },
  };
  const self = new SelfTelemetry('bench');
  const ctx = {
    id: 'route', logger: silentLogger(), telemetry: self.forComponent('processor', 'route'), health: new HealthRegistry().reporter('route'),
    http: new HttpServers(silentLogger()).hostFor('route'),
    shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined) }), instanceId: 'bench', configDir: process.cwd(),
  };
  const proc: Consumer<'records'> =
    variant === 'naive' ? new NaiveRoute(sink) : new RouteProcessor(ctx, routeConfigSchema.parse(variant === 'route-rules' ? RULES : {}), sink);
  const bctx: BatchContext = { chunkId: undefined, defer: () => () => undefined };
  // Warm up on a slice, then measure the whole workload.
  for (let i = 0; i < 20_000; i += BATCH) await proc.consume(records.slice(i, i + BATCH), bctx);
  routes.clear();
  const t0 = process.hrtime.bigint();
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < records.length; i += BATCH) await proc.consume(records.slice(i, i + BATCH), bctx);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ variant, perSec: Math.round((PASSES * records.length) / s), rssMiB: Math.round(rss), routes: routes.size }));
  await self.shutdown();
}

async function main(): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith('--variant='));
  if (arg) {
    await child(arg.slice('--variant='.length) as Variant);
    return;
  }
  const file = fileURLToPath(import.meta.url);
  const results: Record<string, { perSec: number; rssMiB: number; routes: number }> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of VARIANTS) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', file, `--variant=${v}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${v} failed: ${r.stderr}`);
      const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { perSec: number; rssMiB: number; routes: number };
      const best = results[v];
      if (!best || got.perSec > best.perSec) results[v] = got;
    }
  }
  console.log(`route processor: ${PASSES} passes over ${POOL} records in batches of ${BATCH} (fresh random ids in most paths), best of ${ROUNDS} interleaved rounds`);
  for (const v of VARIANTS) {
    const r = results[v]!;
    console.log(`  ${v.padEnd(14)} ${String(r.perSec).padStart(9)} records/s   peak RSS ${String(r.rssMiB).padStart(4)} MiB   distinct routes ${r.routes}`);
  }
  const ours = results['route']!;
  const naive = results['naive']!;
  console.log(`  ratio route/naive: ${(ours.perSec / naive.perSec).toFixed(2)}x throughput`);
}

await main();
