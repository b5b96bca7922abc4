import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentContext } from '../../src/component.js';
import type { AnalyticsRecord, LogsBatch, TykRecord } from '../../src/model.js';
import { withRoute } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { formatRfc3339Nano } from '../../src/tyk-json.js';
import { parseWithProblems } from '../../src/config/load.js';
import { loadFixtures } from '../../test/helpers/fixtures.js';
import { componentContext } from '../../test/helpers/context.js';
import { decodeFixture as decode } from '../../test/helpers/decoded-fixtures.js';
import { httpRecord, networkRecord, RecordingConsumer, uptimeRecord, tracked } from '../../test/helpers/records.js';
import { auditLogConfigSchema } from './config.js';
import { auditLogProcessorFactory } from './index.js';

function context(telemetry: SelfTelemetry, id = 'audit_log@logs'): ComponentContext {
  return componentContext({
    id,
    telemetry: telemetry.forComponent('processor', id, 'records'),
  });
}

function setup(config: Record<string, unknown> = {}) {
  const telemetry = new SelfTelemetry('t');
  const next = new RecordingConsumer<'logs'>();
  const parsed = auditLogConfigSchema.parse(config);
  const proc = auditLogProcessorFactory.create(context(telemetry), parsed, { input: 'records', output: 'logs' }, next as never);
  const run = async (records: TykRecord[]) => {
    await proc.consume(records as never, { chunkId: undefined, defer: () => () => undefined });
    return next.batches as LogsBatch[];
  };
  return { telemetry, next, proc, run };
}

/** The value of one self-telemetry counter line (0 when absent). */
async function counter(t: SelfTelemetry, name: string, labels: Record<string, string>): Promise<number> {
  const text = await t.scrape();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

describe('audit_log processor', () => {
  it('turns every fixture HTTP record into a log entry with the expected semconv attributes', async () => {
    const fixtures = [...loadFixtures('gateway-msgpack.jsonl'), ...loadFixtures('gateway-protobuf.jsonl'), ...loadFixtures('gateway-legacy-v4.jsonl')];
    const http = fixtures.filter((f) => f.expected['response_code'] !== -1);
    const { run } = setup();
    const [batch] = await run(fixtures.map(decode));
    assert.ok(batch);
    assert.equal(batch.logs.length, http.length, 'one log per HTTP record, network records skipped');
    http.forEach((f, i) => {
      const e = f.expected as Record<string, unknown> & { latency: Record<string, number>; geo: { country: { iso_code: string } } };
      const log = batch.logs[i];
      assert.ok(log);
      const a = log.attributes;
      const code = e['response_code'] as number;
      assert.equal(a['http.request.method'], e['method']);
      assert.equal(a['http.response.status_code'], code);
      assert.equal(a['url.path'], e['raw_path'] || e['path']);
      assert.equal(a['tyk.api.id'], e['api_id']);
      assert.equal(a['tyk.api.name'], e['api_name'] || undefined);
      assert.equal(a['tyk.org.id'], e['org_id'] || undefined);
      assert.equal(a['tyk.latency.total_ms'], e.latency['total']);
      assert.equal(a['tyk.latency.upstream_ms'], e.latency['upstream']);
      assert.equal(a['tyk.latency.gateway_ms'], e.latency['gateway']);
      assert.equal(a['client.address'], e['ip_address'] || undefined);
      assert.equal(a['user_agent.original'], e['user_agent'] || undefined);
      assert.equal(a['tyk.key.alias'], e['alias'] || undefined);
      assert.equal(a['tyk.oauth.client_id'], e['oauth_id'] || undefined);
      assert.equal(a['geo.country.iso_code'], e.geo.country.iso_code || undefined);
      assert.equal(a['http.route'], undefined, 'no route processor ran, so no http.route (never the raw path)');
      // error.type exactly when the default error definition (5xx) says bad.
      assert.equal(a['error.type'], code >= 500 ? String(code) : undefined);
      assert.equal(log.severityText, code >= 500 ? 'ERROR' : code >= 400 ? 'WARN' : 'INFO');
      assert.equal(log.severityNumber, code >= 500 ? 17 : code >= 400 ? 13 : 9);
      assert.equal(log.body, `${String(e['method'])} ${String(e['path'])} ${code} ${e.latency['total']}ms`);
      assert.equal(formatRfc3339Nano(log.timestampMs, log.timestampNs), e['timestamp']);
      const tags = e['tags'] as string[];
      assert.deepEqual(a['tyk.tags'], tags.length > 0 ? tags : undefined);
      assert.equal(a['tyk.raw_request'], undefined, 'raw only with include_raw');
    });
  });

  it('adds GraphQL and MCP details from the fixtures', async () => {
    const fixtures = loadFixtures('gateway-msgpack.jsonl');
    const gql = fixtures.find((f) => (f.expected['graphql_stats'] as { IsGraphQL: boolean }).IsGraphQL && (f.expected['graphql_stats'] as { HasErrors: boolean }).HasErrors);
    const mcp = fixtures.find((f) => (f.expected['mcp_stats'] as { is_mcp: boolean }).is_mcp);
    assert.ok(gql && mcp);
    const { run } = setup();
    const [batch] = await run([decode(gql), decode(mcp)]);
    const [g, m] = batch?.logs ?? [];
    const gs = gql.expected['graphql_stats'] as { OperationType: number; RootFields: string[] };
    assert.equal(g?.attributes['graphql.operation.type'], ['', 'query', 'mutation', 'subscription'][gs.OperationType]);
    assert.deepEqual(g?.attributes['tyk.graphql.root_fields'], gs.RootFields);
    assert.equal(g?.attributes['tyk.graphql.has_errors'], true);
    const ms = mcp.expected['mcp_stats'] as { jsonrpc_method: string; primitive_name: string; primitive_type: string };
    assert.equal(m?.attributes['mcp.method.name'], ms.jsonrpc_method);
    assert.equal(m?.attributes['tyk.mcp.primitive.type'], ms.primitive_type);
    assert.equal(m?.attributes['gen_ai.tool.name'], ms.primitive_name);
  });

  it('uses the route template for body and http.route when the route processor set one', async () => {
    const { run } = setup();
    const r = withRoute(httpRecord({ path: '/orders/123', latency: { total: 12, upstream: 10, gateway: 2 } }), '/orders/{id}');
    const [batch] = await run([r]);
    assert.equal(batch?.logs[0]?.body, 'GET /orders/{id} 200 12ms');
    assert.equal(batch?.logs[0]?.attributes['http.route'], '/orders/{id}');
    assert.equal(batch?.logs[0]?.attributes['url.path'], '/orders/123');
  });

  it('includes raw request/response only with include_raw, as the record carries them', async () => {
    const fixture = loadFixtures('gateway-msgpack.jsonl').find((f) => f.expected['raw_request'] !== '');
    assert.ok(fixture);
    const rec = decode(fixture) as AnalyticsRecord;
    const off = await setup().run([rec]);
    assert.equal(off[0]?.logs[0]?.attributes['tyk.raw_request'], undefined);
    const on = await setup({ include_raw: true }).run([rec]);
    assert.equal(on[0]?.logs[0]?.attributes['tyk.raw_request'], fixture.expected['raw_request']);
    assert.equal(on[0]?.logs[0]?.attributes['tyk.raw_response'], fixture.expected['raw_response'] || undefined);
    // What an upstream redact processor emptied stays empty.
    const redacted = await setup({ include_raw: true }).run([{ ...rec, rawRequest: '', rawResponse: '' }]);
    assert.equal(redacted[0]?.logs[0]?.attributes['tyk.raw_request'], undefined);
  });

  it('skips network and uptime records by default and counts them; includes them when selected', async () => {
    const s = setup();
    const batches = await s.run([httpRecord(), networkRecord(), uptimeRecord(), networkRecord()]);
    assert.equal(batches[0]?.logs.length, 1);
    assert.equal(await counter(s.telemetry, 't_processor_dropped_items_total', { processor: 'audit_log@logs', reason: 'kind_not_selected' }), 3);
    assert.equal(await counter(s.telemetry, 't_processor_accepted_items_total', { processor: 'audit_log@logs' }), 4);

    const all = setup({ kinds: ['http', 'network', 'uptime'] });
    const [b] = await all.run([networkRecord(), uptimeRecord({ tcpError: true, responseCode: 521 }), uptimeRecord({ responseCode: 503 })]);
    assert.equal(b?.logs.length, 3);
    assert.equal(b?.logs[0]?.attributes['tyk.record.kind'], 'network');
    assert.equal(b?.logs[0]?.attributes['tyk.network.open_connections'], 3);
    assert.match(String(b?.logs[0]?.body), /^TCP TCP echo open=3 closed=1 in=1000B out=2000B$/);
    assert.equal(b?.logs[1]?.attributes['error.type'], 'tcp_error');
    assert.equal(b?.logs[1]?.severityText, 'ERROR');
    assert.equal(b?.logs[2]?.attributes['error.type'], '503');

    const none = setup();
    assert.equal((await none.run([uptimeRecord()])).length, 0, 'no empty batch is sent downstream');
    const entry = (await all.run([uptimeRecord({ url: 'https://monitor:s3cret-pw@upstream.internal/health' })])).at(-1)?.logs[0];
    assert.equal(entry?.attributes['url.full'], 'https://REDACTED:REDACTED@upstream.internal/health');
    assert.doesNotMatch(JSON.stringify(entry), /s3cret-pw|monitor:/);
  });

  it('sets the resource (default service.name merged with config) and the scope', async () => {
    const [a] = await setup().run([httpRecord()]);
    assert.deepEqual(a?.resource, { 'service.name': 'tyk-gateway' });
    assert.equal(a?.scope, 'tyk-otel-pump/audit_log');
    const [b] = await setup({ resource: { 'service.namespace': 'edge', 'deployment.environment.name': 'prod' } }).run([httpRecord()]);
    assert.deepEqual(b?.resource, { 'service.name': 'tyk-gateway', 'service.namespace': 'edge', 'deployment.environment.name': 'prod' });
    const [c] = await setup({ resource: { 'service.name': 'gw-eu' } }).run([httpRecord()]);
    assert.equal(c?.resource['service.name'], 'gw-eu');
  });

  it('follows the shared error definition, or its own override', async () => {
    const [a] = await setup().run([httpRecord({ responseCode: 429 })]);
    assert.equal(a?.logs[0]?.attributes['error.type'], undefined);
    assert.equal(a?.logs[0]?.severityText, 'WARN', 'severity follows the status class, not the error definition');
    const [b] = await setup({ error_definition: { status_codes: [429] } }).run([httpRecord({ responseCode: 429 })]);
    assert.equal(b?.logs[0]?.attributes['error.type'], '429');
  });

  it('links the log to the gateway trace from the trace-id tag', async () => {
    const id = '4bf92f3577b34da6a3ce929d0e0e4736';
    const [a] = await setup().run([httpRecord({ tags: ['pol-1', `trace-id-${id}`] }), httpRecord({ tags: ['trace-id-nothex'] })]);
    assert.equal(a?.logs[0]?.traceId, id);
    assert.equal(a?.logs[1]?.traceId, undefined);
  });

  it('passes the batch context downstream so deferred delivery reaches the receiver', async () => {
    const telemetry = new SelfTelemetry('t');
    let settleLater: ((e?: Error) => void) | undefined;
    const next = { consume: async (_b: LogsBatch, ctx: { defer(): (e?: Error) => void }) => void (settleLater = ctx.defer()) };
    const proc = auditLogProcessorFactory.create(context(telemetry), auditLogConfigSchema.parse({}), { input: 'records', output: 'logs' }, next as never);
    const outcome = tracked((ctx) => proc.consume([httpRecord()] as never, ctx));
    await new Promise((r) => setImmediate(r));
    assert.ok(settleLater, 'the exporter saw the deferral');
    const err = new Error('failed');
    settleLater(err);
    assert.equal(await outcome, err);
  });

  it('validates its config with path-prefixed problems', () => {
    const r = parseWithProblems(auditLogConfigSchema, { kinds: ['http', 'tcp'], include_raw: 'yes', resource: { 'service.name': { a: 1 } } }, ['processors', 'audit_log']);
    const lines = r.problems.map((p) => `${p.path}: ${p.message}`);
    assert.ok(lines.some((l) => l.startsWith('processors::audit_log::kinds[1]: must be one of http, network, uptime')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::audit_log::include_raw:')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::audit_log::resource::service.name: must be a string, number, boolean')), lines.join('\n'));
    assert.ok(parseWithProblems(auditLogConfigSchema, { kinds: [] }, ['p']).problems.some((p) => p.message === 'must list at least one record kind'));
  });
});
