/**
 * `npm run bench -- sql`: records/s into Tyk's PostgreSQL tables, in one run against a private PostgreSQL
 * server (initdb in a temp dir, fsync on), with the server's CPU time (all its processes, from /proc):
 * - tyk_analytics: the `sql` exporter (COPY, batch_size 1000, exactly-once marker) against Tyk Pump's
 *   statement (one multi-row INSERT per 1000 rows) and a naive baseline (one INSERT per record);
 * - tyk_aggregated: the `sql_aggregate` exporter (aggregate in memory, one upsert per org per 1000 rows)
 *   against a naive baseline (one upsert statement per record, its dimension rows).
 * Every variant gets chunks of 1000 fixture records and commits once per chunk; rounds are interleaved and
 * the best round of each variant is reported.
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import type { AnalyticsRecord } from '../../src/model.js';
import type { BatchContext } from '../../src/component.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { sqlConfigSchema } from '../../exporters/sql/config.js';
import { SqlExporter } from '../../exporters/sql/sql.js';
import { analyticsRow, ANALYTICS_COLUMN_NAMES } from '../../exporters/sql/columns.js';
import { sqlAggregateConfigSchema } from '../../exporters/sql_aggregate/config.js';
import { SqlAggregateExporter } from '../../exporters/sql_aggregate/sql_aggregate.js';
import { aggregateRecords, dimensions } from '../../exporters/sql_aggregate/aggregate.js';
import { AGGREGATE_COLUMN_NAMES, aggregateRow, aggregateUpsertSql } from '../../exporters/sql_aggregate/rows.js';
import { insertRows } from '../../internal/postgres/bulk.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { componentContext } from '../helpers/context.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { CLK_TCK, procStat } from './harness.js';

const RECORDS = 20_000;
const CHUNK = 1000;
const ROUNDS = 3;
const NAIVE_RECORDS = 5000;

/** CPU seconds (user + system) of the postmaster and every process under it. */
function serverCpuSeconds(server: PrivatePostgres): number {
  const root = server.pid();
  if (root === undefined) return 0;
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid, cpuTicks } = procStat(name);
      if (Number(name) === root || ppid === root) ticks += cpuTicks;
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / CLK_TCK;
}

function workload(): AnalyticsRecord[] {
  const base = loadFixtures('gateway-msgpack.jsonl').map((f) => decodeAnalytics(f.bytes, 'msgpack')).filter((r) => !r.mcpStats.isMCP);
  return Array.from({ length: RECORDS }, (_, i) => base[i % base.length] as AnalyticsRecord);
}

interface Result {
  readonly name: string;
  readonly records: number;
  readonly seconds: number;
  readonly cpu: number;
}

async function measure(name: string, server: PrivatePostgres, records: readonly AnalyticsRecord[], run: (chunk: readonly AnalyticsRecord[], i: number) => Promise<void>): Promise<Result> {
  const cpu0 = serverCpuSeconds(server);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += CHUNK) await run(records.slice(i, i + CHUNK), i / CHUNK);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, records: records.length, seconds, cpu: serverCpuSeconds(server) - cpu0 };
}

async function main(): Promise<void> {
  const server = await startPrivatePostgres({ fsync: true });
  const records = workload();
  const conn = { ...server.config, schema: 'public' };
  const client = new pg.Client(server.config);
  await client.connect();
  const results = new Map<string, Result[]>();
  const keep = (r: Result) => results.set(r.name, [...(results.get(r.name) ?? []), r]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await client.query('DROP TABLE IF EXISTS tyk_analytics, tyk_aggregated, tyk_uptime_analytics, tyk_otel_pump_batches');
      const telemetry = new SelfTelemetry('bench');
      const sql = new SqlExporter(componentContext({ id: 'sql', telemetry: telemetry.forComponent('exporter', 'sql') }), sqlConfigSchema.parse(conn));
      const agg = new SqlAggregateExporter(componentContext({ id: 'sql_aggregate', telemetry: telemetry.forComponent('exporter', 'sql_aggregate') }), sqlAggregateConfigSchema.parse({ ...conn, omit_index_creation: true }));
      await sql.start();
      await agg.start();
      const ctx = (i: number): BatchContext => ({ chunkId: `r${round}-c${i}`, defer: () => () => undefined });
      keep(await measure('tyk_analytics: sql exporter (COPY)', server, records, (c, i) => sql.consumeRecords(c, ctx(i))));
      keep(await measure('tyk_analytics: multi-row INSERT (Tyk Pump)', server, records, async (c) => {
        await client.query('BEGIN');
        await insertRows(client as unknown as pg.PoolClient, 'tyk_analytics', ANALYTICS_COLUMN_NAMES, c.map(analyticsRow));
        await client.query('COMMIT');
      }));
      keep(await measure('tyk_analytics: one INSERT per record', server, records.slice(0, NAIVE_RECORDS), async (c) => {
        await client.query('BEGIN');
        for (const r of c) await insertRows(client as unknown as pg.PoolClient, 'tyk_analytics', ANALYTICS_COLUMN_NAMES, [analyticsRow(r)]);
        await client.query('COMMIT');
      }));
      keep(await measure('tyk_aggregated: sql_aggregate exporter', server, records, (c, i) => agg.consumeRecords(c, ctx(i))));
      const upsert = aggregateUpsertSql('tyk_aggregated');
      keep(await measure('tyk_aggregated: one upsert per record', server, records.slice(0, NAIVE_RECORDS), async (c) => {
        await client.query('BEGIN');
        for (const r of c) {
          for (const a of aggregateRecords([r], { trackAllPaths: false, ignoreTagPrefixList: [], perMinute: false, zone: 'UTC', exactBuckets: false })) {
            await insertRows(client as unknown as pg.PoolClient, 'tyk_aggregated', AGGREGATE_COLUMN_NAMES, dimensions(a).map((d) => aggregateRow(a.bucket, a.orgId, d)), upsert);
          }
        }
        await client.query('COMMIT');
      }));
      await sql.shutdown();
      await agg.shutdown();
    }
    const [hits] = (await client.query<{ h: string }>(`SELECT sum(counter_hits) AS h FROM tyk_aggregated WHERE dimension = ''`)).rows;
    // Both aggregate variants must count the same records: those with an org, neither GraphQL nor network-only.
    const counted = (rs: readonly AnalyticsRecord[]) => rs.filter((r) => r.orgId !== '' && !r.graphqlStats.isGraphQL && r.responseCode !== -1).length;
    const expected = counted(records) + counted(records.slice(0, NAIVE_RECORDS));
    if (Number(hits?.h) !== expected) throw new Error(`tyk_aggregated counts ${hits?.h} hits, expected ${expected}`);
    console.log(`check: tyk_aggregated total hits after the last round = ${hits?.h} = the records both variants aggregated`);
  } finally {
    await client.end();
    await server.destroy();
  }
  const best = new Map<string, Result>();
  for (const [name, rs] of results) best.set(name, rs.reduce((a, b) => (b.records / b.seconds > a.records / a.seconds ? b : a)));
  console.log(`records per variant: ${RECORDS} (naive: ${NAIVE_RECORDS}), chunks of ${CHUNK}, best of ${ROUNDS} interleaved rounds; PostgreSQL 15 private server, fsync on`);
  console.log('| variant | records/s | server CPU s per 10k records |');
  console.log('| --- | ---: | ---: |');
  for (const r of best.values()) console.log(`| ${r.name} | ${Math.round(r.records / r.seconds)} | ${((r.cpu / r.records) * 10_000).toFixed(2)} |`);
  const rate = (n: string) => {
    const r = best.get(n);
    return r === undefined ? 0 : r.records / r.seconds;
  };
  console.log(`ratio tyk_analytics: COPY / multi-row INSERT = ${(rate('tyk_analytics: sql exporter (COPY)') / rate('tyk_analytics: multi-row INSERT (Tyk Pump)')).toFixed(2)}x, COPY / one INSERT per record = ${(rate('tyk_analytics: sql exporter (COPY)') / rate('tyk_analytics: one INSERT per record')).toFixed(1)}x`);
  console.log(`ratio tyk_aggregated: exporter / one upsert per record = ${(rate('tyk_aggregated: sql_aggregate exporter') / rate('tyk_aggregated: one upsert per record')).toFixed(1)}x`);
}

await main();
