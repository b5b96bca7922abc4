/**
 * End to end: a pump.conf with Tyk's `sql_aggregate`, `sql-graph-aggregate` and `sql-mcp-aggregate` pumps
 * (type names as tyk-pump `pumps/init.go` registers them) → `convert` → an agent started from the converted
 * config → the gateway fixtures' real wire bytes (GraphQL and MCP records among them) in a real Redis →
 * the tables Tyk Dashboard reads in a real PostgreSQL: `tyk_aggregated` ("Activity by API"),
 * `tyk_graph_aggregated` ("Activity by Graph") and `tyk_mcp_aggregated` ("Activity by MCP"). The expected
 * hits are counted here from the fixtures' expected JSON with Tyk's record rules (`IsGraphRecord`,
 * `IsMCPRecord`, `analytics/aggregate.go`, `analytics/aggregate_mcp.go`), never from our code. The only
 * change made to the converted config is the test's own schema.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { loadFixtures, pushFixtures, type Fixture } from '../../../test/helpers/fixtures.js';
import { testRedis, TEST_REDIS_URL, type TestRedis } from '../../../test/helpers/redis.js';
import { testPostgres, TEST_POSTGRES, type TestPostgres } from '../../../test/helpers/postgres.js';
import { startAgent, waitFor, type RunningAgent } from '../../../test/helpers/agent.js';
import { freePort } from '../../../test/helpers/tyk-redis.js';
import { convert } from './convert.js';

const FIXTURES = [...loadFixtures('gateway-msgpack.jsonl'), ...loadFixtures('gateway-protobuf.jsonl')];

/* eslint-disable @typescript-eslint/no-explicit-any */
const ex = (f: Fixture): Record<string, any> => f.expected as Record<string, any>;
const isGraph = (f: Fixture): boolean => ex(f)['graphql_stats']?.['IsGraphQL'] === true;
const isMcp = (f: Fixture): boolean => ex(f)['mcp_stats']?.['is_mcp'] === true;
/** Tyk's GraphQL operation names (`analytics.GraphQLOperations`); unknown is "". */
const OPERATION: Readonly<Record<number, string>> = { 1: 'Query', 2: 'Mutation', 3: 'Subscription' };

function tally(items: readonly Fixture[], key: (f: Fixture) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of items) {
    const k = key(f);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

type Row = { dimension: string; dimension_value: string; org_id: string; api_id?: string; hits: string };

/** Hits per `key(row)` over every bucket of `dimension` (rows of several chunks and hours add up). */
async function hits(db: TestPostgres, table: string, dimension: string, key: (r: Row) => string): Promise<Map<string, number>> {
  const rows = await db.rows<Row>(`SELECT *, counter_hits::text AS hits FROM ${table} WHERE dimension = $1`, [dimension]);
  const m = new Map<string, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + Number(r.hits));
  return m;
}

describe('convert → agent → Tyk Dashboard\'s aggregate tables for REST, GraphQL and MCP', { timeout: 90_000 }, () => {
  let redis: TestRedis;
  let db: TestPostgres;
  let agent: RunningAgent | undefined;
  let converted: ReturnType<typeof convert>;

  before(async () => {
    redis = await testRedis('convert-sql');
    db = await testPostgres('convert_sql');
    await pushFixtures(redis, FIXTURES);
    const url = new URL(TEST_REDIS_URL);
    const health = await freePort();
    const connection = `postgres://${TEST_POSTGRES.user}@${TEST_POSTGRES.host}:${TEST_POSTGRES.port}/${TEST_POSTGRES.database}`;
    const pumpConf = {
      analytics_storage_config: { type: 'redis', host: url.hostname, port: Number(url.port || 6379), database: Number(url.pathname.slice(1) || 0), key_prefix: `${redis.prefix}analytics-` },
      purge_delay: 1,
      dont_purge_uptime_data: true,
      health_check_endpoint_port: health,
      pumps: {
        aggregate: { type: 'sql_aggregate', meta: { type: 'postgres', connection_string: connection } },
        graph: { type: 'sql-graph-aggregate', meta: { type: 'postgres', connection_string: connection } },
        mcp: { type: 'sql-mcp-aggregate', meta: { type: 'postgres', connection_string: connection } },
      },
    };
    converted = convert(JSON.stringify(pumpConf), {});
    const config = parse(converted.agentYaml) as { exporters: Record<string, Record<string, unknown>>; service: { telemetry: { metrics: { address: string } } } };
    for (const e of Object.values(config.exporters)) e['schema'] = db.schema;
    // The health port is Tyk's (all interfaces); the test keeps it on loopback.
    config.service.telemetry.metrics.address = `127.0.0.1:${health}`;
    agent = await startAgent(stringify(config));
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
    await db?.cleanup();
  });

  it('converts all three pumps to sql_aggregate exporters, each writing only its own table', () => {
    assert.equal(converted.converted, 3);
    const config = parse(converted.agentYaml) as { exporters: Record<string, Record<string, any>> };
    assert.deepEqual(Object.keys(config.exporters).sort(), ['sql_aggregate/aggregate', 'sql_aggregate/graph', 'sql_aggregate/mcp']);
    assert.deepEqual([config.exporters['sql_aggregate/graph']?.['rest'], config.exporters['sql_aggregate/graph']?.['graphql']], [{ enabled: false }, { enabled: true }]);
    assert.deepEqual([config.exporters['sql_aggregate/mcp']?.['rest'], config.exporters['sql_aggregate/mcp']?.['mcp']], [{ enabled: false }, { enabled: true }]);
    assert.doesNotMatch(converted.report.format(), /not converted/);
  });

  it('fills tyk_aggregated, tyk_graph_aggregated and tyk_mcp_aggregated with the hits Tyk Pump counts, each record once', async () => {
    const http = FIXTURES.filter((f) => ex(f)['response_code'] !== -1);
    const graph = FIXTURES.filter(isGraph);
    const mcp = FIXTURES.filter(isMcp);
    assert.ok(graph.length > 10 && mcp.length > 10, 'the fixtures hold GraphQL and MCP records');
    // tyk_aggregated: per org, HTTP records with an org that are neither GraphQL nor MCP (pumps/sql_aggregate.go).
    const rest = tally(http, (f) => (ex(f)['org_id'] === '' || isGraph(f) || isMcp(f) ? undefined : ex(f)['org_id']));
    const graphPerApi = tally(graph, (f) => ex(f)['api_id']);
    const mcpPerApi = tally(mcp, (f) => ex(f)['api_id']);
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

    await waitFor('every record aggregated', async () => {
      const tables = (await db.rows<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1", [db.schema])).map((r) => r.t);
      if (!['tyk_aggregated', 'tyk_graph_aggregated', 'tyk_mcp_aggregated'].every((t) => tables.includes(t))) return undefined;
      const done = total(await hits(db, 'tyk_aggregated', '', (r) => r.org_id)) === total(rest)
        && total(await hits(db, 'tyk_graph_aggregated', '', (r) => r.api_id ?? '')) === graph.length
        && total(await hits(db, 'tyk_mcp_aggregated', '', (r) => r.api_id ?? '')) === mcp.length;
      return done || undefined;
    }, 60_000, 250);
    await agent?.stop();
    agent = undefined;

    // Equal, not at least: had the graph or MCP exporter written tyk_aggregated too, records would count twice.
    assert.deepEqual(await hits(db, 'tyk_aggregated', '', (r) => r.org_id), rest, 'tyk_aggregated totals per org');
    assert.deepEqual(await hits(db, 'tyk_graph_aggregated', '', (r) => r.api_id ?? ''), graphPerApi, 'tyk_graph_aggregated totals per API');
    assert.deepEqual(await hits(db, 'tyk_graph_aggregated', 'apiid', (r) => r.dimension_value), graphPerApi);
    assert.deepEqual(
      await hits(db, 'tyk_graph_aggregated', 'operation', (r) => `${r.api_id} ${r.dimension_value}`),
      tally(graph, (f) => `${ex(f)['api_id']} ${OPERATION[ex(f)['graphql_stats']['OperationType'] as number] ?? ''}`),
      'tyk_graph_aggregated operation rows',
    );
    assert.deepEqual(await hits(db, 'tyk_mcp_aggregated', '', (r) => r.api_id ?? ''), mcpPerApi, 'tyk_mcp_aggregated totals per API');
    assert.deepEqual(
      await hits(db, 'tyk_mcp_aggregated', 'methods', (r) => `${r.api_id} ${r.dimension_value}`),
      tally(mcp, (f) => (ex(f)['mcp_stats']['jsonrpc_method'] === '' ? undefined : `${ex(f)['api_id']} ${ex(f)['mcp_stats']['jsonrpc_method']}`)),
      'tyk_mcp_aggregated methods rows',
    );
    assert.equal(await redis.client.llen(`${redis.prefix}analytics-tyk-system-analytics`), 0, 'drained');
  });
});
