/**
 * The `sql_aggregate` exporter against a real PostgreSQL, held to the numeric oracles of Tyk Pump's own
 * tests (pumps/sql_aggregate_test.go, pumps/sql_test.go uptime tests): the 5-then-2-record `apiid` row,
 * the sharded row counts, repeated writes in one hour, the uptime aggregation; plus Tyk's DDL and index,
 * every dimension and its hex id, code folding, the first-record bucket (and `exact_buckets`), and a
 * chunk delivered twice counted once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SelfTelemetry } from '../../src/telemetry.js';
import type { BatchContext } from '../../src/component.js';
import type { AnalyticsRecord, UptimeRecord } from '../../src/model.js';
import { componentContext } from '../../test/helpers/context.js';
import { httpRecord, networkRecord, uptimeRecord } from '../../test/helpers/records.js';
import { testPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { waitFor } from '../../test/helpers/agent.js';
import { allFixtures } from '../../test/helpers/fixtures.js';
import { decodeFixture } from '../../test/helpers/decoded-fixtures.js';
import { sqlAggregateConfigSchema } from './config.js';
import { SqlAggregateExporter } from './sql_aggregate.js';

/** Tyk's DDL for tyk_aggregated (tyk-pump analytics.SQLAnalyticsRecordAggregate through the gorm fork). */
const TYK_AGGREGATE_DDL = `CREATE TABLE "tyk_aggregated" ("id" text,"counter_hits" bigint,"counter_success" bigint,"counter_error" bigint,
 "counter_request_time" decimal,"counter_total_request_time" decimal,"counter_identifier" text,
 "counter_human_identifier" text,"counter_last_time" timestamptz,"counter_open_connections" bigint,
 "counter_closed_connections" bigint,"counter_bytes_in" bigint,"counter_bytes_out" bigint,
 "counter_max_upstream_latency" bigint,"counter_min_upstream_latency" bigint,"counter_total_upstream_latency" bigint,
 "counter_upstream_latency" decimal,"counter_max_latency" bigint,"counter_min_latency" bigint,
 "counter_total_latency" bigint,"counter_latency" decimal,"counter_error_map" text,"counter_error_list" text,
 "timestamp" bigint,"org_id" text,"dimension" text,"dimension_value" text,"code_1x" bigint,"code_200" bigint,
 "code_201" bigint,"code_2x" bigint,"code_301" bigint,"code_302" bigint,"code_303" bigint,"code_304" bigint,
 "code_3x" bigint,"code_400" bigint,"code_401" bigint,"code_403" bigint,"code_404" bigint,"code_429" bigint,
 "code_4x" bigint,"code_500" bigint,"code_501" bigint,"code_502" bigint,"code_503" bigint,"code_504" bigint,
 "code_5x" bigint,PRIMARY KEY ("id"))`;

const PG_TYPE: Readonly<Record<string, string>> = { text: 'text', bigint: 'bigint', timestamptz: 'timestamp with time zone', decimal: 'numeric', boolean: 'boolean' };

function tykColumns(ddl: string): [string, string][] {
  const body = ddl.slice(ddl.indexOf('(') + 1, ddl.lastIndexOf(',PRIMARY KEY'));
  return body.split(',').map((c) => {
    const m = /^\s*"([^"]+)"\s+(\w+)\s*$/.exec(c);
    assert.ok(m, `bad DDL part ${c}`);
    return [m[1] as string, PG_TYPE[m[2] as string] as string];
  });
}

const bctx = (chunkId?: string): BatchContext => ({ chunkId, defer: () => () => undefined });
type Row = Record<string, string | null>;

let seq = 0;
function exporter(db: TestPostgres, over: Record<string, unknown> = {}): SqlAggregateExporter {
  const id = `sql_aggregate/t${seq++}`;
  const ctx = componentContext({ id, telemetry: new SelfTelemetry('sqlaggtest').forComponent('exporter', id) });
  return new SqlAggregateExporter(ctx, sqlAggregateConfigSchema.parse({ ...db.config, ...over }));
}

async function write(db: TestPostgres, batches: readonly (readonly (AnalyticsRecord | UptimeRecord)[])[], over: Record<string, unknown> = {}, chunkIds: (string | undefined)[] = []): Promise<void> {
  const exp = exporter(db, over);
  await exp.start();
  try {
    for (const [i, b] of batches.entries()) await exp.consumeRecords(b, bctx(chunkIds[i]));
  } finally {
    await exp.shutdown();
  }
}

const TEXT_COLS = `*, counter_request_time::float8 AS rt, counter_latency::float8 AS lat, counter_upstream_latency::float8 AS ulat,
  to_char(counter_last_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last`;

async function rows(db: TestPostgres, table = 'tyk_aggregated'): Promise<Row[]> {
  return db.rows<Row>(`SELECT ${TEXT_COLS} FROM ${table} ORDER BY dimension, dimension_value, timestamp`);
}

function hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

/** A record of Tyk's value test: (request time, latency total, latency upstream, code). */
function valueRecord(ms: number, [rt, lt, lu, code]: readonly [number, number, number, number]): AnalyticsRecord {
  return httpRecord({ timestampMs: ms, orgId: 'org1', apiId: 'api1', apiName: 'api1', apiVersion: '', requestTime: rt, latency: { total: lt, upstream: lu, gateway: 0 }, responseCode: code, tags: [] });
}

describe('sql_aggregate exporter (real PostgreSQL)', () => {
  let db: TestPostgres;
  before(async () => {
    db = await testPostgres('sqlagg');
  });
  after(async () => {
    await db.cleanup();
  });
  const reset = async () => {
    await db.client.query('DROP TABLE IF EXISTS tyk_aggregated, tyk_uptime_analytics, tyk_otel_pump_batches CASCADE');
  };

  it('creates tyk_aggregated with Tyk\'s columns and primary key, and tyk_aggregated_idx_dimension concurrently', async () => {
    await reset();
    await write(db, [[httpRecord()]]);
    const cols = await db.rows<{ column_name: string; data_type: string }>('SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [db.schema, 'tyk_aggregated']);
    assert.deepEqual(cols.map((c) => [c.column_name, c.data_type]), tykColumns(TYK_AGGREGATE_DDL));
    const uptimeCols = await db.rows<{ column_name: string; data_type: string }>('SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [db.schema, 'tyk_uptime_analytics']);
    assert.deepEqual(uptimeCols.map((c) => [c.column_name, c.data_type]), tykColumns(TYK_AGGREGATE_DDL), 'uptime table has the same 48 columns');
    const pk = await db.rows<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'tyk_aggregated_pkey'`, [db.schema]);
    assert.match(pk[0]?.indexdef ?? '', /UNIQUE INDEX tyk_aggregated_pkey ON \S+ USING btree \(id\)/);
    const idx = await waitFor('the dimension index', async () => (await db.rows<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'tyk_aggregated_idx_dimension'`, [db.schema]))[0]);
    assert.match(idx.indexdef, /\(dimension, "timestamp", org_id, dimension_value\)/);
    const up = await db.rows<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'dimension'`, [db.schema]);
    assert.match(up[0]?.indexdef ?? '', /ON \S+tyk_uptime_analytics USING btree \("timestamp", org_id, dimension, dimension_value\)/);
  });

  it('omit_index_creation: no dimension index', async () => {
    await reset();
    await write(db, [[httpRecord()]], { omit_index_creation: true, uptime: { enabled: false } });
    assert.deepEqual(await db.rows(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tyk_aggregated' AND indexname <> 'tyk_aggregated_pkey'`, [db.schema]), []);
  });

  it('Tyk\'s value oracle: 5 records then 2 in the same hour (TestSQLAggregateWriteDataValues, batch_size 1)', async () => {
    await reset();
    const t0 = Date.UTC(2019, 0, 1, 0, 0);
    const first = ([[10, 10, 10, 200], [10, 10, 10, 500], [10, 10, 10, 200], [20, 20, 20, 200], [20, 20, 30, 500]] as const).map((v) => valueRecord(t0, v));
    const exp = exporter(db, { batch_size: 1 });
    await exp.start();
    await exp.consumeRecords(first, bctx());
    let r = await rows(db);
    assert.deepEqual(r.map((x) => [x['dimension'], x['dimension_value']]), [['', 'total'], ['apiid', 'api1'], ['errors', '500']]);
    let api = r.find((x) => x['dimension'] === 'apiid') as Row;
    const want1: Row = {
      code_500: '2', counter_hits: '5', counter_success: '3', counter_error: '2', counter_total_request_time: '70', counter_total_latency: '70',
      counter_total_upstream_latency: '80', counter_max_latency: '20', counter_min_upstream_latency: '10', last: '2019-01-01T00:00:00.000000Z',
      timestamp: String(t0 / 1000), id: hex(`${t0 / 1000}org1apiidapi1`), counter_error_map: '{}', counter_error_list: '[]', counter_identifier: 'api1',
    };
    for (const [k, v] of Object.entries(want1)) assert.equal(api[k], v, k);
    assert.equal(Number(api['rt']), 14);
    assert.equal(Number(api['lat']), 14);
    assert.equal(Number(api['ulat']), 16);
    assert.equal(r.find((x) => x['dimension'] === '')?.['counter_hits'], '5');

    const t1 = t0 + 10 * 60_000;
    await exp.consumeRecords([valueRecord(t1, [10, 10, 5, 200]), valueRecord(t1, [10, 30, 10, 500])], bctx());
    await exp.shutdown();
    r = await rows(db);
    assert.equal(r.length, 3);
    api = r.find((x) => x['dimension'] === 'apiid') as Row;
    const want2: Row = {
      code_500: '3', counter_hits: '7', counter_success: '4', counter_error: '3', counter_total_request_time: '90', counter_total_latency: '110',
      counter_total_upstream_latency: '95', counter_max_latency: '30', counter_min_upstream_latency: '5', last: '2019-01-01T00:10:00.000000Z',
    };
    for (const [k, v] of Object.entries(want2)) assert.equal(api[k], v, k);
    assert.ok(Math.abs(Number(api['rt']) - 90 / 7) < 1e-10, `request_time ${api['rt']}`);
    assert.ok(Math.abs(Number(api['lat']) - 110 / 7) < 1e-10, `latency ${api['lat']}`);
    assert.ok(Math.abs(Number(api['ulat']) - 95 / 7) < 1e-10, `upstream_latency ${api['ulat']}`);
    assert.equal(r.find((x) => x['dimension'] === '')?.['counter_hits'], '7');
  });

  it('repeated writes in one hour sum (hits 3/6/9); the next hour is a new row set (TestSQLAggregateWriteData)', async () => {
    await reset();
    const now = Date.UTC(2030, 1, 2, 3, 4, 5);
    const three = (ms: number) => [0, 1, 2].map(() => httpRecord({ timestampMs: ms, orgId: '1', apiId: 'api1', apiVersion: '', tags: [] }));
    const exp = exporter(db);
    await exp.start();
    const totals: string[] = [];
    for (let i = 0; i < 3; i++) {
      await exp.consumeRecords(three(now), bctx());
      totals.push(String((await db.rows<Row>(`SELECT counter_hits FROM tyk_aggregated WHERE dimension = '' AND dimension_value = 'total'`))[0]?.['counter_hits']));
    }
    assert.deepEqual(totals, ['3', '6', '9']);
    assert.equal((await rows(db)).length, 2);
    await exp.consumeRecords(three(now + 3_600_000), bctx());
    await exp.shutdown();
    const r = await rows(db);
    assert.equal(r.length, 4);
    assert.deepEqual(r.filter((x) => x['dimension'] === '').map((x) => x['counter_hits']), ['9', '3']);
  });

  it('table_sharding: 4, 5 and 3 rows in three day tables (TestSQLAggregateWriteData_Sharded), each with its index', async () => {
    await reset();
    const day = 86_400_000;
    const d1 = Date.UTC(2032, 2, 3, 12);
    const rec = (ms: number, code: number, apiId: string) => httpRecord({ timestampMs: ms, orgId: '1', apiId, apiVersion: '', responseCode: code, tags: [] });
    await write(db, [[rec(d1, 500, ''), rec(d1, 400, ''), rec(d1, 451, ''), rec(d1, 200, ''), rec(d1 + day, 404, '1'), rec(d1 + day, 404, '1'), rec(d1 + day, 401, '2'), rec(d1 + 2 * day, 401, '2')]], { table_sharding: true, uptime: { enabled: false } });
    const counts: string[] = [];
    for (const d of ['20320303', '20320304', '20320305']) {
      counts.push(String((await db.rows<Row>(`SELECT count(*) AS n FROM tyk_aggregated_${d}`))[0]?.['n']));
      assert.equal((await db.rows(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2`, [db.schema, `tyk_aggregated_${d}_idx_dimension`])).length, 1);
    }
    assert.deepEqual(counts, ['4', '5', '3']);
  });

  it('every dimension with Tyk\'s values and hex ids; tags trimmed, key- and ignored prefixes left out; codes folded', async () => {
    await reset();
    const ms = Date.UTC(2030, 5, 6, 7, 8, 9);
    const r = httpRecord({
      timestampMs: ms, orgId: 'o', apiId: 'a', apiName: 'A', apiVersion: 'v1', apiKey: 'k', alias: 'kk', oauthId: 'oa', path: '/x.y',
      geo: { country: { isoCode: 'DE' }, city: { geoNameId: 0, names: null }, location: { latitude: 0, longitude: 0, timeZone: '' } },
      tags: [' t.1 ', 'key-abc', 'skip-me', '   ', 't.1'], trackPath: true, responseCode: 481,
    });
    await write(db, [[r, { ...r, responseCode: 481 }, { ...r, responseCode: 482 }, { ...r, responseCode: 482 }, { ...r, responseCode: 481 }, { ...r, responseCode: 666 }]], { ignore_tag_prefix_list: ['skip-'] });
    const got = await rows(db);
    const b = ms - (8 * 60 + 9) * 1000;
    const bucket = String(b / 1000);
    const ep = Buffer.from('a:/x.y').toString('base64').replace(/=+$/, '');
    const want: [string, string, string, string][] = [
      ['', 'total', '', ''],
      ['apiendpoints', hex('a:v1:/x.y'), hex('a:v1:/x.y'), '/x.y'],
      ['apiid', 'a', 'a', 'A'],
      ['apikeys', 'k', 'k', 'kk'],
      ['endpoints', '/x\\u2ey', '/x.y', '/x.y'],
      ['errors', '481', '481', ''],
      ['errors', '482', '482', ''],
      ['errors', '666', '666', ''],
      ['geo', 'DE', 'DE', 'DE'],
      ['keyendpoints', `k.${ep}`, ep, ep],
      ['oauthendpoints', `oa.${ep}`, ep, ep],
      ['oauthids', 'oa', 'oa', ''],
      ['tags', 't1', 't1', 't1'],
      ['versions', Buffer.from('a:v1').toString('base64').replace(/=+$/, ''), 'v1', 'v1'],
    ];
    assert.deepEqual(got.map((x) => [x['dimension'], x['dimension_value'], x['counter_identifier'], x['counter_human_identifier']]), want);
    for (const x of got) {
      assert.equal(x['id'], hex(`${bucket}o${x['dimension']}${x['dimension_value']}`));
      assert.equal(x['timestamp'], bucket);
    }
    const total = got[0] as Row;
    assert.equal(total['code_4x'], '5', '481×3 and 482×2 fold into code_4x');
    assert.equal(total['counter_error'], '6', '666 is an error, but has no code column');
    assert.equal(total['code_5x'], '0');
    assert.equal(got.find((x) => x['dimension'] === 'tags')?.['counter_hits'], '12', 't.1 twice per record, 6 records');
  });

  it('Tyk\'s accidents: a chunk across an hour boundary lands in the first hour; a network record pins the api row\'s min latency at 0', async () => {
    await reset();
    const h = Date.UTC(2030, 0, 1, 10, 59);
    const recs = [httpRecord({ timestampMs: h, orgId: 'o', apiId: 'a', tags: [] }), httpRecord({ timestampMs: h + 120_000, orgId: 'o', apiId: 'a', tags: [] })];
    await write(db, [recs], { uptime: { enabled: false } });
    let r = await rows(db);
    assert.deepEqual([...new Set(r.map((x) => x['timestamp']))], [String(Date.UTC(2030, 0, 1, 10) / 1000)]);
    assert.equal(r.find((x) => x['dimension'] === '')?.['counter_hits'], '2');
    await reset();
    await write(db, [recs], { uptime: { enabled: false }, exact_buckets: true });
    r = await rows(db);
    assert.deepEqual(r.filter((x) => x['dimension'] === '').map((x) => [x['timestamp'], x['counter_hits']]), [[String(Date.UTC(2030, 0, 1, 10) / 1000), '1'], [String(Date.UTC(2030, 0, 1, 11) / 1000), '1']]);

    await reset();
    const net = networkRecord({ timestampMs: h, orgId: 'o', apiId: 'a', tags: [] });
    await write(db, [[net, httpRecord({ timestampMs: h, orgId: 'o', apiId: 'a', tags: [], latency: { total: 40, upstream: 30, gateway: 10 }, requestTime: 40 })]], { uptime: { enabled: false } });
    const api = (await rows(db)).find((x) => x['dimension'] === 'apiid') as Row;
    assert.equal(api['counter_hits'], '1');
    assert.equal(api['counter_min_latency'], '0');
    assert.equal(api['counter_max_latency'], '40');
    assert.equal(api['counter_bytes_in'], '1000');
    assert.equal(api['last'], '0001-01-01T00:00:00.000000Z');
    // A second chunk of only network records: both rows have 0 hits where Tyk's average divides by zero.
    await write(db, [[net], [net]], { uptime: { enabled: false } });
  });

  it('uptime: Tyk\'s aggregation (TestSQLWriteUptimeDataAggregations) and repeated writes (TestSQLWriteUptimeData)', async () => {
    await reset();
    const ms = Date.UTC(2030, 3, 4, 5, 6);
    const up = (rt: number, code: number, t = ms) => uptimeRecord({ timestampMs: t, orgId: '1', url: 'url1', requestTime: rt, responseCode: code });
    await write(db, [[up(10, 200), up(10, 500), up(10, 200), up(20, 200), up(20, 500)]]);
    const r = await rows(db, 'tyk_uptime_analytics');
    assert.deepEqual(r.map((x) => [x['dimension'], x['dimension_value']]), [['', 'total'], ['errors', '500'], ['url', 'url1']]);
    const url = r[2] as Row;
    for (const [k, v] of Object.entries({ code_200: '3', code_500: '2', counter_hits: '5', counter_success: '3', counter_error: '2', counter_total_request_time: '70' })) assert.equal(url[k], v, k);
    assert.equal(Number(url['rt']), 14);

    await reset();
    const three = (t: number) => [up(10, 200, t), up(10, 200, t), up(10, 200, t)];
    const exp = exporter(db);
    await exp.start();
    const hits: string[] = [];
    for (let i = 0; i < 3; i++) {
      await exp.consumeRecords(three(ms), bctx());
      hits.push(String((await db.rows<Row>(`SELECT counter_hits FROM tyk_uptime_analytics WHERE dimension = '' AND dimension_value = 'total'`))[0]?.['counter_hits']));
    }
    assert.deepEqual(hits, ['3', '6', '9']);
    await exp.consumeRecords(three(ms + 3_600_000), bctx());
    await exp.shutdown();
    const all = await rows(db, 'tyk_uptime_analytics');
    assert.equal(all.length, 4);
    assert.deepEqual(all.filter((x) => x['dimension'] === '').map((x) => x['counter_hits']), ['9', '3']);
  });

  it('uptime table_sharding: 2 rows per day table (TestSQLWriteUptimeDataSharded)', async () => {
    await reset();
    const d = Date.UTC(2033, 6, 7, 8);
    await write(db, [[0, 1, 2].map((i) => uptimeRecord({ timestampMs: d + i * 86_400_000, orgId: '1', url: 'url1', responseCode: 200 }))], { uptime: { table_sharding: true } });
    for (const s of ['20330707', '20330708', '20330709']) assert.equal((await db.rows<Row>(`SELECT count(*) AS n FROM tyk_uptime_analytics_${s}`))[0]?.['n'], '2');
  });

  it('GraphQL records per API into tyk_graph_aggregated (Tyk\'s columns, types/fields/operation/rootfields, GraphQL errors as errors)', async () => {
    await db.client.query('DROP TABLE IF EXISTS tyk_graph_aggregated, tyk_mcp_aggregated');
    await reset();
    const ms = Date.UTC(2030, 7, 8, 9, 10);
    const gql = (code: number, hasErrors: boolean) => httpRecord({
      timestampMs: ms, orgId: 'o', apiId: 'g1', apiName: 'G', apiVersion: '', tags: [], responseCode: code,
      graphqlStats: { isGraphQL: true, hasErrors, operationType: 1, variables: '', rootFields: ['countries'], types: { Country: ['name', 'code'] }, errors: null },
    });
    await write(db, [[gql(200, true), gql(200, false), httpRecord({ timestampMs: ms, orgId: 'o', tags: [] })]], { graphql: { enabled: true }, uptime: { enabled: false } });
    const cols = await db.rows<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [db.schema, 'tyk_graph_aggregated']);
    const agg = tykColumns(TYK_AGGREGATE_DDL).map(([n]) => n);
    assert.deepEqual(cols.map((c) => c.column_name), ['id', 'org_id', 'dimension', 'dimension_value', 'api_id', ...agg.slice(1, 23), ...agg.slice(27), 'timestamp']);
    const r = await rows(db, 'tyk_graph_aggregated');
    assert.deepEqual(r.map((x) => [x['dimension'], x['dimension_value'], x['counter_hits'], x['counter_success'], x['counter_error']]), [
      ['', 'total', '2', '2', '0'], ['apiid', 'g1', '2', '2', '0'], ['fields', 'Country_code', '2', '1', '1'], ['fields', 'Country_name', '2', '1', '1'],
      ['operation', 'Query', '2', '1', '1'], ['rootfields', 'countries', '2', '1', '1'], ['types', 'Country', '2', '1', '1'],
    ]);
    const bucket = String(Date.UTC(2030, 7, 8, 9) / 1000);
    for (const x of r) {
      assert.equal(x['id'], hex(`${bucket}g1${x['dimension']}${x['dimension_value']}`), 'id keyed by the API id');
      assert.deepEqual([x['org_id'], x['api_id']], ['o', 'g1']);
    }
    assert.equal((await rows(db)).find((x) => x['dimension'] === '')?.['counter_hits'], '1', 'tyk_aggregated leaves GraphQL records out');
    assert.deepEqual(await db.rows(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tyk_graph_aggregated' AND indexname <> 'tyk_graph_aggregated_pkey'`, [db.schema]), []);
  });

  it('MCP records per API into tyk_mcp_aggregated: apiid, total, methods, primitives, names (Tyk\'s mcp_sql_aggregate_test), with its index', async () => {
    await reset();
    const ms = Date.UTC(2030, 7, 8, 9, 10);
    const mcp = (name: string) => httpRecord({ timestampMs: ms, orgId: 'o', apiId: 'm1', apiVersion: '', tags: [], mcpStats: { isMCP: true, jsonRpcMethod: 'tools/call', primitiveType: 'tool', primitiveName: name } });
    await write(db, [[mcp('my_tool'), mcp('my_tool')]], { mcp: { enabled: true }, uptime: { enabled: false } });
    const r = await rows(db, 'tyk_mcp_aggregated');
    assert.deepEqual(r.map((x) => [x['dimension'], x['dimension_value'], x['counter_human_identifier'], x['counter_hits']]), [
      ['', 'total', '', '2'], ['apiid', 'm1', 'Orders API', '2'], ['methods', 'tools/call', 'tools/call', '2'], ['names', 'tool_my_tool', 'my_tool', '2'], ['primitives', 'tool', 'tool', '2'],
    ]);
    await waitFor('the mcp dimension index', async () => (await db.rows(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'tyk_mcp_aggregated_idx_dimension'`, [db.schema])).length === 1);
  });

  it('rest: false writes only the per-API aggregates (Tyk\'s sql-graph-aggregate on its own): no tyk_aggregated, REST records counted as not aggregated', async () => {
    await db.client.query('DROP TABLE IF EXISTS tyk_graph_aggregated, tyk_mcp_aggregated');
    await reset();
    const ms = Date.UTC(2030, 7, 8, 9, 10);
    const gql = httpRecord({ timestampMs: ms, orgId: 'o', apiId: 'g1', tags: [], graphqlStats: { isGraphQL: true, hasErrors: false, operationType: 2, variables: '', rootFields: [], types: {}, errors: null } });
    const id = `sql_aggregate/t${seq++}`;
    const telemetry = new SelfTelemetry('sqlaggrest');
    const ctx = componentContext({ id, telemetry: telemetry.forComponent('exporter', id) });
    const exp = new SqlAggregateExporter(ctx, sqlAggregateConfigSchema.parse({ ...db.config, rest: { enabled: false }, uptime: { enabled: false }, graphql: { enabled: true } }));
    await exp.start();
    try {
      await exp.consumeRecords([gql, httpRecord({ timestampMs: ms, orgId: 'o', tags: [] }), uptimeRecord({ timestampMs: ms })], bctx('rest-off'));
    } finally {
      await exp.shutdown();
    }
    // (Shards of earlier tests stay in this schema; the unsharded tables were dropped above.)
    const tables = await db.rows<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('tyk_aggregated', 'tyk_uptime_analytics', 'tyk_graph_aggregated', 'tyk_mcp_aggregated') ORDER BY 1", [db.schema]);
    assert.deepEqual(tables.map((t) => t.table_name), ['tyk_graph_aggregated']);
    assert.deepEqual((await rows(db, 'tyk_graph_aggregated')).filter((x) => x['dimension'] === 'operation').map((x) => [x['dimension_value'], x['counter_hits']]), [['Mutation', '1']]);
    assert.match(await telemetry.scrape(), /dropped_items_total\{[^}]*reason="not_aggregated"[^}]*\} 2$/m);
    await telemetry.shutdown();
    assert.throws(() => sqlAggregateConfigSchema.parse({ ...db.config, rest: { enabled: false }, uptime: { enabled: false } }), /writes nothing: enable at least one of rest, uptime, graphql, mcp/);
  });

  it('the fixtures\' records: per org and per API, hits/successes/errors/codes/latency totals equal counts from the fixtures\' expected JSON', async () => {
    await reset();
    const fixtures = allFixtures().filter((f) => f.format !== 'uptime');
    await write(db, [fixtures.map(decodeFixture)], { uptime: { enabled: false } });
    type Want = { hits: number; success: number; error: number; latency: number; codes: Map<string, number> };
    const want = new Map<string, Want>();
    const add = (key: string, e: Record<string, any>) => {
      const w = want.get(key) ?? { hits: 0, success: 0, error: 0, latency: 0, codes: new Map<string, number>() };
      const code = e['response_code'] as number;
      w.hits++;
      if (code >= 200 && code < 300) w.success++;
      if (code >= 400) {
        w.error++;
        const col = ['400', '401', '403', '404', '429', '500', '501', '502', '503', '504'].includes(String(code)) ? `code_${code}` : `code_${String(code)[0]}x`;
        w.codes.set(col, (w.codes.get(col) ?? 0) + 1);
      }
      w.latency += e['latency'].total as number;
      want.set(key, w);
    };
    for (const f of fixtures) {
      const e = f.expected as Record<string, any>;
      if (e['org_id'] === '' || e['graphql_stats'].IsGraphQL || e['mcp_stats'].is_mcp) continue;
      if (e['response_code'] === -1) {
        // A network-only record makes an apiid row with 0 hits (it carries bytes only).
        const k = `apiid ${e['org_id']} ${e['api_id']}`;
        if (e['api_id'] !== '' && !want.has(k)) want.set(k, { hits: 0, success: 0, error: 0, latency: 0, codes: new Map() });
        continue;
      }
      add(`total ${e['org_id']}`, e);
      if (e['api_id'] !== '') add(`apiid ${e['org_id']} ${e['api_id']}`, e);
    }
    const got = await rows(db);
    let checked = 0;
    for (const x of got) {
      const key = x['dimension'] === '' ? `total ${x['org_id']}` : x['dimension'] === 'apiid' ? `apiid ${x['org_id']} ${x['dimension_value']}` : undefined;
      if (key === undefined) continue;
      const w = want.get(key);
      assert.ok(w, `unexpected row ${key}`);
      assert.deepEqual([x['counter_hits'], x['counter_success'], x['counter_error'], x['counter_total_latency']], [String(w.hits), String(w.success), String(w.error), String(w.latency)], key);
      for (const col of ['code_400', 'code_401', 'code_403', 'code_404', 'code_429', 'code_4x', 'code_500', 'code_501', 'code_502', 'code_503', 'code_504', 'code_5x', 'code_200', 'code_2x']) {
        assert.equal(x[col], String(w.codes.get(col) ?? 0), `${key} ${col}`);
      }
      checked++;
    }
    assert.equal(checked, want.size, 'a total row per org and an apiid row per API');
    assert.ok(want.size >= 5);
  });

  it('a chunk delivered twice with one chunk id is summed once', async () => {
    await reset();
    const ms = Date.UTC(2030, 1, 1, 1);
    const batch = [httpRecord({ timestampMs: ms, orgId: 'o', tags: [] }), httpRecord({ timestampMs: ms, orgId: 'o', tags: [] })];
    await write(db, [batch, batch, batch], {}, ['c1', 'c1', 'c2']);
    assert.equal((await rows(db)).find((x) => x['dimension'] === '')?.['counter_hits'], '4');
  });
});
