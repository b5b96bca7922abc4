/**
 * The `sql` exporter against a real PostgreSQL: the DDL equals Tyk's column for column (read back from
 * information_schema), every fixture record's columns equal values computed from the fixture's
 * `expected` JSON, 1 MB raw fields, Tyk's sharded row counts, a second start changes nothing, a missing
 * column is added, and a chunk delivered twice is written once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SelfTelemetry } from '../../src/telemetry.js';
import { HealthRegistry } from '../../src/graph.js';
import type { BatchContext } from '../../src/component.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { componentContext } from '../../test/helpers/context.js';
import { allFixtures } from '../../test/helpers/fixtures.js';
import { decodeFixture } from '../../test/helpers/decoded-fixtures.js';
import { httpRecord } from '../../test/helpers/records.js';
import { testPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { sqlConfigSchema } from './config.js';
import { SqlExporter } from './sql.js';

/** Tyk's DDL for tyk_analytics as the gorm fork generates it (tyk-pump analytics.AnalyticsRecord, gorm postgres driver v1.5.0). */
const TYK_DDL = `CREATE TABLE "tyk_analytics" ("method" text,"host" text,"path" text,"rawpath" text,"contentlength" bigint,
 "useragent" text,"day" bigint,"month" bigint,"year" bigint,"hour" bigint,"responsecode" bigint,"apikey" text,
 "timestamp" timestamptz,"apiversion" text,"api_name" text,"apiid" text,"orgid" text,"oauthid" text,
 "requesttime" bigint,"rawrequest" text,"rawresponse" text,"ipaddress" text,"geo_country_iso_code" text,
 "geo_city_geoname_id" bigint,"geo_city_names" text,"geo_location_latitude" decimal,"geo_location_longitude" decimal,
 "geo_location_time_zone" text,"network_open_connections" bigint,"network_closed_connections" bigint,
 "network_bytes_in" bigint,"network_bytes_out" bigint,"latency_total" bigint,"latency_upstream" bigint,
 "latency_gateway" bigint,"tags" text,"alias" text,"trackpath" boolean,"expireAt" timestamptz,"originalpath" text,
 "listenpath" text,"graphql_stats_variables" text,"graphql_stats_root_fields" text,"graphql_stats_types" text,
 "graphql_stats_errors" text,"graphql_stats_operation_type" bigint,"graphql_stats_has_errors" boolean,
 "graphql_stats_is_graph_ql" boolean,"mcp_stats_is_mcp" boolean,"mcp_stats_jsonrpc_method" text,
 "mcp_stats_primitive_type" text,"mcp_stats_primitive_name" text)`;

const PG_TYPE: Readonly<Record<string, string>> = { text: 'text', bigint: 'bigint', timestamptz: 'timestamp with time zone', decimal: 'numeric', boolean: 'boolean' };

function tykColumns(ddl: string): [string, string][] {
  const body = ddl.slice(ddl.indexOf('(') + 1, ddl.lastIndexOf(')'));
  return body.split(',').map((c) => {
    const m = /^\s*"([^"]+)"\s+(\w+)\s*$/.exec(c);
    assert.ok(m, `bad DDL part ${c}`);
    return [m[1] as string, PG_TYPE[m[2] as string] as string];
  });
}

export async function columnsOf(db: TestPostgres, table: string): Promise<[string, string][]> {
  const rows = await db.rows<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
    'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [db.schema, table],
  );
  for (const r of rows) {
    assert.equal(r.is_nullable, 'YES', `${table}.${r.column_name} nullable as in Tyk`);
    assert.equal(r.column_default, null, `${table}.${r.column_name} has no default as in Tyk`);
  }
  return rows.map((r) => [r.column_name, r.data_type]);
}

const ctxOf = (chunkId: string | undefined): BatchContext => ({ chunkId, defer: () => () => undefined });

let seq = 0;
function exporter(db: TestPostgres, over: Record<string, unknown> = {}, health = new HealthRegistry()): SqlExporter {
  const id = `sql/t${seq++}`;
  const ctx = componentContext({ id, telemetry: new SelfTelemetry('sqltest').forComponent('exporter', id), health });
  return new SqlExporter(ctx, sqlConfigSchema.parse({ ...db.config, ...over }));
}

/** Go-style JSON text (HTML-escaped), computed here independently of the exporter. */
function goJsonText(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** `2026-11-26T12:00:00.037727887Z` → `2026-11-26T12:00:00.037727Z` (PostgreSQL keeps microseconds). */
function micros(rfc: unknown): string {
  if (rfc === null) return '0001-01-01T00:00:00.000000Z';
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(String(rfc));
  assert.ok(m, `timestamp ${String(rfc)}`);
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 6)}Z`;
}

const SELECT_TEXT = `SELECT *, to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_text,
  to_char("expireAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS exp_text, md5(rawrequest) AS req_md5, md5(rawresponse) AS res_md5`;

describe('sql exporter (real PostgreSQL)', () => {
  let db: TestPostgres;
  before(async () => {
    db = await testPostgres('sql');
  });
  after(async () => {
    await db.cleanup();
  });

  it('creates tyk_analytics with exactly Tyk\'s columns, types and order, and no index', async () => {
    const exp = exporter(db);
    await exp.start();
    await exp.consumeRecords([httpRecord()], ctxOf(undefined));
    await exp.shutdown();
    assert.deepEqual(await columnsOf(db, 'tyk_analytics'), tykColumns(TYK_DDL));
    assert.deepEqual(await db.rows(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tyk_analytics'`, [db.schema]), []);
  });

  it('writes every fixture record with each column equal to the fixture\'s expected values', async () => {
    await db.client.query('TRUNCATE tyk_analytics');
    const fixtures = allFixtures().filter((f) => f.format !== 'uptime');
    const exp = exporter(db, { batch_size: 7 });
    await exp.start();
    await exp.consumeRecords(fixtures.map(decodeFixture), ctxOf(undefined));
    await exp.shutdown();
    const written = fixtures.filter((f) => (f.expected['mcp_stats'] as { is_mcp: boolean }).is_mcp !== true);
    assert.ok(written.length < fixtures.length, 'MCP records exist in the fixtures and are skipped');
    const rows = await db.rows<Record<string, unknown>>(`${SELECT_TEXT} FROM tyk_analytics`);
    assert.equal(rows.length, written.length);
    // Rows come back in COPY order within one transaction on a fresh heap, but match by timestamp+path to be safe.
    const byKey = new Map(rows.map((r) => [`${String(r['ts_text'])} ${String(r['path'])} ${String(r['apiid'])}`, r]));
    for (const f of written) {
      const e = f.expected as Record<string, any>;
      const key = `${micros(e['timestamp'])} ${e['path']} ${e['api_id']}`;
      const row = byKey.get(key);
      assert.ok(row, `row for ${key}`);
      const gql = e['graphql_stats'];
      const want: Record<string, unknown> = {
        method: e['method'], host: e['host'], path: e['path'], rawpath: e['raw_path'], contentlength: String(e['content_length']),
        useragent: e['user_agent'], day: String(e['day']), month: String(e['month']), year: String(e['year']), hour: String(e['hour']),
        responsecode: String(e['response_code']), apikey: e['api_key'], ts_text: micros(e['timestamp']), apiversion: e['api_version'],
        api_name: e['api_name'], apiid: e['api_id'], orgid: e['org_id'], oauthid: e['oauth_id'], requesttime: String(e['request_time']),
        rawrequest: e['raw_request'], rawresponse: e['raw_response'], ipaddress: e['ip_address'],
        geo_country_iso_code: e['geo'].country.iso_code, geo_city_geoname_id: String(e['geo'].city.geoname_id),
        geo_city_names: e['geo'].city.names === null ? '{}' : goJsonText(Object.fromEntries(Object.entries(e['geo'].city.names).sort())),
        geo_location_time_zone: e['geo'].location.time_zone,
        network_open_connections: String(e['network'].open_connections), network_closed_connections: String(e['network'].closed_connections),
        network_bytes_in: String(e['network'].bytes_in), network_bytes_out: String(e['network'].bytes_out),
        latency_total: String(e['latency'].total), latency_upstream: String(e['latency'].upstream), latency_gateway: String(e['latency'].gateway),
        tags: goJsonText(e['tags']), alias: e['alias'], trackpath: e['track_path'], exp_text: micros(e['expireAt']),
        originalpath: e['original_path'], listenpath: e['listen_path'],
        graphql_stats_root_fields: goJsonText(gql.RootFields ?? []), graphql_stats_operation_type: String(gql.OperationType),
        graphql_stats_has_errors: gql.HasErrors, graphql_stats_is_graph_ql: gql.IsGraphQL,
        mcp_stats_is_mcp: false, mcp_stats_jsonrpc_method: e['mcp_stats'].jsonrpc_method, mcp_stats_primitive_type: e['mcp_stats'].primitive_type,
        mcp_stats_primitive_name: e['mcp_stats'].primitive_name,
      };
      for (const [col, v] of Object.entries(want)) assert.deepEqual(row[col], v, `${key}: ${col}`);
      assert.equal(Number(row['geo_location_latitude']), e['geo'].location.latitude, `${key}: latitude`);
      assert.equal(Number(row['geo_location_longitude']), e['geo'].location.longitude, `${key}: longitude`);
      // The subset of graphql_stats the fixtures do not pin: JSON text of the right shape ([] / {} when not GraphQL).
      const types = JSON.parse(String(row['graphql_stats_types'])) as unknown;
      const errors = JSON.parse(String(row['graphql_stats_errors'])) as unknown;
      assert.ok(types !== null && typeof types === 'object' && !Array.isArray(types), `${key}: types is a JSON object`);
      assert.ok(Array.isArray(errors), `${key}: errors is a JSON array`);
      if (!gql.IsGraphQL) {
        assert.equal(row['graphql_stats_types'], '{}');
        assert.equal(row['graphql_stats_errors'], '[]');
        assert.equal(row['graphql_stats_variables'], '');
      }
    }
    assert.ok(written.some((f) => f.expected['raw_request'] !== ''), 'some fixtures carry base64 raw requests');
  });

  it('keeps 1 MB raw request/response fields byte for byte', async () => {
    await db.client.query('TRUNCATE tyk_analytics');
    const big = Buffer.alloc(1024 * 1024, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n').toString('base64');
    const bigRes = Buffer.alloc(1024 * 1024 + 17, 'HTTP/1.1 200 OK\r\n\r\n{"a":"<&>"}').toString('base64');
    const exp = exporter(db);
    await exp.start();
    await exp.consumeRecords([httpRecord({ rawRequest: big, rawResponse: bigRes })], ctxOf(undefined));
    await exp.shutdown();
    const [row] = await db.rows<Record<string, unknown>>(`${SELECT_TEXT} FROM tyk_analytics`);
    assert.equal(row?.['req_md5'], createHash('md5').update(big).digest('hex'));
    assert.equal(row?.['res_md5'], createHash('md5').update(bigRes).digest('hex'));
  });

  it('a second start changes nothing; a missing column is added back, none dropped', async () => {
    const before = await columnsOf(db, 'tyk_analytics');
    await db.client.query('ALTER TABLE tyk_analytics DROP COLUMN latency_gateway, DROP COLUMN "expireAt"');
    await db.client.query('ALTER TABLE tyk_analytics ADD COLUMN extra_col text');
    const exp = exporter(db);
    await exp.start();
    await exp.consumeRecords([httpRecord({ latency: { total: 9, upstream: 4, gateway: 5 } })], ctxOf(undefined));
    await exp.shutdown();
    const cols = await columnsOf(db, 'tyk_analytics');
    assert.deepEqual(cols.map((c) => c[0]).sort(), [...before.map((c) => c[0]), 'extra_col'].sort());
    const [row] = await db.rows<{ latency_gateway: string }>('SELECT latency_gateway FROM tyk_analytics WHERE latency_gateway IS NOT NULL');
    assert.equal(row?.latency_gateway, '5');
    await db.client.query('ALTER TABLE tyk_analytics DROP COLUMN extra_col');
    // Now the table has all columns again (in another order): a further start issues no ALTER.
    const again = await columnsOf(db, 'tyk_analytics');
    const exp2 = exporter(db);
    await exp2.start();
    await exp2.consumeRecords([httpRecord()], ctxOf(undefined));
    await exp2.shutdown();
    assert.deepEqual(await columnsOf(db, 'tyk_analytics'), again);
  });

  it('writes a chunk delivered twice once (same chunk id), and twice without a chunk id', async () => {
    await db.client.query('TRUNCATE tyk_analytics');
    const exp = exporter(db);
    await exp.start();
    const batch = [httpRecord({ path: '/once' }), httpRecord({ path: '/once' })];
    await exp.consumeRecords(batch, ctxOf('chunk-1'));
    await exp.consumeRecords(batch, ctxOf('chunk-1'));
    await exp.consumeRecords(batch, ctxOf('chunk-2'));
    await exp.shutdown();
    const [c] = await db.rows<{ n: string }>('SELECT count(*) AS n FROM tyk_analytics');
    assert.equal(c?.n, '4');
    const markers = await db.rows<{ chunk_id: string; records: string }>('SELECT chunk_id, records FROM tyk_otel_pump_batches ORDER BY chunk_id');
    assert.deepEqual(markers.map((m) => [m.chunk_id, m.records]), [['chunk-1', '2'], ['chunk-2', '2']]);
  });

  it('table_sharding: Tyk\'s 3/2/1 rows over three days, 6 indexes per new shard, no table for an empty batch', async () => {
    const day = 86_400_000;
    const now = Date.UTC(2031, 4, 17, 10, 30);
    const rec = (ms: number, i: number): AnalyticsRecord => httpRecord({ timestampMs: ms, path: `/p${i}` });
    const exp = exporter(db, { table_sharding: true, batch_size: 2 });
    await exp.start();
    await exp.consumeRecords([], ctxOf(undefined));
    await exp.consumeRecords([rec(now, 0), rec(now, 1), rec(now, 2), rec(now + day, 3), rec(now + day, 4), rec(now + 2 * day, 5)], ctxOf(undefined));
    await exp.shutdown();
    const counts: (string | undefined)[] = [];
    for (const d of ['20310517', '20310518', '20310519']) counts.push((await db.rows<{ n: string }>(`SELECT count(*) AS n FROM tyk_analytics_${d}`))[0]?.n);
    assert.deepEqual(counts, ['3', '2', '1']);
    // Tables: the three shards plus today's (created at start, as Tyk's Init does); the empty batch made none.
    const tables = await db.rows<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'tyk_analytics\\_%' ORDER BY 1`, [db.schema]);
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    assert.deepEqual(tables.map((t) => t.table_name), [...new Set([`tyk_analytics_${today}`, 'tyk_analytics_20310517', 'tyk_analytics_20310518', 'tyk_analytics_20310519'])].sort());
    assert.deepEqual(await columnsOf(db, 'tyk_analytics_20310518'), tykColumns(TYK_DDL));
    const idx = await db.rows<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tyk_analytics_20310519' ORDER BY indexname`, [db.schema]);
    assert.deepEqual(idx.map((i) => i.indexname), ['apiid', 'apikey', 'oauthid', 'orgid', 'responsecode', 'timestamp'].map((c) => `tyk_analytics_20310519_idx_${c}`));
  });
});
