/**
 * Decoding only what the pipelines read (src/record-reads.ts):
 * - the graph's union per receiver (`receiverReads`), on real factories and validated configs;
 * - every factory that declares its reads, run on the gateway fixtures (real bytes, every generation and
 *   encoding) decoded with exactly its declaration (every other field neutral) and decoded in full, must
 *   produce the same output. A component reading a field it did not declare sees '' / 0 / null there and
 *   fails this test.
 */
import { describe, it } from 'node:test';
import { pack } from 'msgpackr';
import assert from 'node:assert/strict';
import type { Consumer, ProcessorFactory, RecordReadsDeclaration } from '../src/component.js';
import { factories } from '../src/factories.js';
import { loadConfigText } from '../src/config/load.js';
import { receiverReads } from '../src/graph-plan.js';
import { decodedFields, type RecordReads } from '../src/record-reads.js';
import type { RecordBatch, Signal, TykRecord } from '../src/model.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { decodeAnalytics, decodeUptime } from '../internal/tyk-wire/decode.js';
import { projection, type Projection } from '../internal/tyk-wire/projection.js';
import { allFixtures } from './helpers/fixtures.js';
import { componentContext } from './helpers/context.js';
import { RecordingConsumer, tracked } from './helpers/records.js';

function readsOf(yaml: string): Map<string, RecordReads> {
  const r = loadConfigText(yaml, 'reads.yaml', factories, {});
  assert.ok(r.config, r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return receiverReads(r.config.pipelines, r.config.components);
}

const METRICS = `
    metrics:
      receivers: [tyk_redis]
      processors: [route, sli]
      exporters: [prometheus]`;

function config(pipelines: string, extra = ''): string {
  return `
receivers:
  tyk_redis: {}
  tyk_redis/b: { key_prefix: "other-" }
processors:
  route: {}
  sli: {}
  filter: { skip_response_codes: [404] }
  audit_log: {}
${extra}
exporters:
  prometheus: {}
  file: { path: /tmp/never-written.jsonl }
  redis_stream: { stream: s }
  otlp_http: { endpoint: "http://127.0.0.1:1" }
service:
  pipelines:${pipelines}
`;
}

describe('receiverReads: what each receiver decodes', () => {
  it('a metrics pipeline (tyk_redis → route → sli → prometheus): the fields route and sli read, not the rest', () => {
    const r = readsOf(config(METRICS)).get('tyk_redis');
    const d = decodedFields(r ?? 'all');
    assert.notEqual(d, 'all');
    const set = d as ReadonlySet<string>;
    for (const f of ['apiId', 'path', 'responseCode', 'latency', 'requestTime', 'method', 'timestampMs']) assert.ok(set.has(f), f);
    for (const f of ['userAgent', 'rawRequest', 'rawResponse', 'geo', 'tags', 'graphqlStats', 'mcpStats', 'apiSchema', 'ipAddress', 'host']) assert.ok(!set.has(f), f);
    assert.ok(set.size <= 17, `${set.size} fields`);
  });

  it('a file pipeline beside it on the same receiver: every field', () => {
    assert.equal(readsOf(config(`${METRICS}
    records:
      receivers: [tyk_redis]
      exporters: [file]`)).get('tyk_redis'), 'all');
  });

  it('a logs pipeline beside it: what audit_log logs, not the raw request/response unless include_raw, never the key', () => {
    const logs = `${METRICS}
    logs:
      receivers: [tyk_redis]
      processors: [audit_log]
      exporters: [otlp_http]`;
    const d = decodedFields(readsOf(config(logs)).get('tyk_redis') ?? 'all');
    assert.notEqual(d, 'all');
    const set = d as ReadonlySet<string>;
    for (const f of ['userAgent', 'geo', 'tags', 'graphqlStats', 'mcpStats', 'ipAddress', 'host', 'network', 'latency']) assert.ok(set.has(f), f);
    for (const f of ['rawRequest', 'rawResponse', 'apiKey', 'apiSchema', 'day', 'expireAtMs']) assert.ok(!set.has(f), f);
    const raw = decodedFields(readsOf(config(logs).replace('  audit_log: {}', '  audit_log: { include_raw: true }')).get('tyk_redis') ?? 'all') as ReadonlySet<string>;
    for (const f of ['rawRequest', 'rawResponse']) assert.ok(raw.has(f), f);
    assert.ok(!raw.has('apiKey'));
  });

  it('a drainer (tyk_redis → redis_stream) reads no field; behind a processor (no original bytes left) every field', () => {
    assert.deepEqual(readsOf(config(`
    records:
      receivers: [tyk_redis]
      exporters: [redis_stream]`)).get('tyk_redis'), []);
    assert.equal(readsOf(config(`
    records:
      receivers: [tyk_redis]
      processors: [filter]
      exporters: [redis_stream]`)).get('tyk_redis'), 'all');
  });

  it('per receiver: a drainer and a metrics pipeline on different receivers do not mix', () => {
    const m = readsOf(config(`${METRICS}
    records:
      receivers: [tyk_redis/b]
      exporters: [redis_stream]`));
    assert.deepEqual(m.get('tyk_redis/b'), []);
    assert.notEqual(m.get('tyk_redis'), 'all');
  });

  it('a function of the config: Tyk custom metrics add the fields their labels name', () => {
    const plain = decodedFields(readsOf(config(METRICS)).get('tyk_redis') ?? 'all') as ReadonlySet<string>;
    const custom = decodedFields(readsOf(config(METRICS).replace('  sli: {}', `  sli:
    tyk_compatible:
      enabled: true
      custom_metrics:
        - { name: by_host, metric_type: counter, labels: [host, ip_address, mcp_method] }`)).get('tyk_redis') ?? 'all') as ReadonlySet<string>;
    for (const f of ['host', 'ipAddress', 'mcpStats', 'apiKey']) {
      assert.ok(!plain.has(f), f);
      assert.ok(custom.has(f), f);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

const fixtures = allFixtures();

/**
 * Gateway-shaped msgpack records (Go field names) where the fields the fixtures keep equal differ: an
 * original path beside a rewritten one, listen paths matched or not, TrackPath set, raw paths with queries.
 */
const VARIETY: readonly Buffer[] = [
  { Path: '/api/orders/17', RawPath: '/api/orders/17?x=1', OriginalPath: '/api/orders/17', ListenPath: '/api/', TrackPath: true },
  { Path: '/internal/9f3c', RawPath: '/internal/9f3c', OriginalPath: '/api/items/42', ListenPath: '/api/', TrackPath: false },
  { Path: '/rewritten', RawPath: '/v1/raw/77', OriginalPath: '/v1/original/88', ListenPath: '', TrackPath: false },
  { Path: '', RawPath: '/only/raw/5', OriginalPath: '', ListenPath: '/only/', TrackPath: true },
].map((o, i) => pack({
  Method: i % 2 === 0 ? 'GET' : 'PATCH', Host: `h${i}.internal`, ResponseCode: [200, 404, 503, 201][i], APIKey: `key-000${i}`,
  TimeStamp: [1_764_000_000 + i, 1000 * i], APIVersion: 'v2', APIName: 'Variety', APIID: 'variety-api', OrgID: 'org-v', OauthID: `client-${i}`,
  RequestTime: 5 + i, Latency: { Total: 5 + i, Upstream: 3, Gateway: 2 + i }, IPAddress: `10.0.0.${i}`, Alias: `alias-${i}`,
  UserAgent: 'variety/1', ContentLength: 100 * i, ...o,
}));

/** The fixtures (and the variety records) decoded with projection `p` (uptime in full unless `p` reads nothing). */
function decodeAll(p: Projection): TykRecord[] {
  return [
    ...fixtures.map((f) =>
      f.format === 'uptime' ? decodeUptime(f.bytes, { projection: p }) : decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack', { projection: p })),
    ...VARIETY.map((b) => decodeAnalytics(b, 'msgpack', { projection: p })),
  ];
}

/** JSON of an output with the agent-clock times left out (the two runs happen at different moments). */
function comparable(out: unknown): string {
  return JSON.stringify(out, (k, v: unknown) => (k === 'startTime' || k === 'endTime' ? undefined : v));
}

async function runProcessor(factory: ProcessorFactory, rawConfig: unknown, batch: TykRecord[]): Promise<unknown[]> {
  const cfg = factory.configSchema.parse(rawConfig);
  const sig = factory.signatures[0] as ProcessorFactory['signatures'][number];
  const next = new RecordingConsumer<Signal>();
  const ctx = componentContext({ id: `${factory.type}@test`, telemetry: new SelfTelemetry('reads_test').forComponent('processor', factory.type, 'records') });
  const proc = factory.create(ctx, cfg, sig, next as Consumer<Signal>);
  await proc.start();
  // Several batches, so caches and per-series state are exercised too.
  for (let i = 0; i < batch.length; i += 40) {
    const err = await tracked((c) => proc.consume(batch.slice(i, i + 40) as RecordBatch, c));
    assert.equal(err, undefined);
  }
  await proc.shutdown({ at: Date.now() + 1000, signal: new AbortController().signal });
  return next.batches as unknown[];
}

/** Processor configs to check, per type: the default and the configs that make it read more. */
const PROCESSOR_CONFIGS: Readonly<Record<string, readonly unknown[]>> = {
  audit_log: [
    {},
    { include_raw: true, kinds: ['http', 'network', 'uptime'] },
    { include_tags: false, kinds: ['network'] },
  ],
  route: [{}, { path_source: 'raw_path' }, { path_source: 'original_path', include_listen_path: true }],
  filter: [{ skip_response_codes: [404, 500] }, { api_ids: ['legacy--soap', 'tcp-echo-api'] }, { kinds: ['http', 'network'], skip_org_ids: ['org-legacy'] }],
  sli: [
    {},
    { attributes: ['http.request.method', 'http.response.status_code', 'http.route', 'error.type', 'tyk.api.id', 'tyk.api.name', 'tyk.org.id', 'tyk.api.version', 'tyk.oauth.client_id', 'tyk.key.alias'] },
    { tyk_compatible: { enabled: true } },
    { tyk_compatible: { enabled: true, track_all_paths: true, custom_metrics: [
      { name: 'c_all', metric_type: 'counter', labels: ['host', 'method', 'path', 'code', 'key', 'time_stamp', 'api_version', 'api_name', 'api', 'org_id', 'client_id', 'request_time', 'ip_address', 'alias'] },
      { name: 'h_lat', metric_type: 'histogram', labels: ['type', 'latency_total', 'latency_upstream', 'latency_gateway', 'api_id'] },
      { name: 'c_mcp', metric_type: 'counter', mcp_only: true, labels: ['mcp_method', 'mcp_primitive_type', 'mcp_primitive_name', 'api_key'], obfuscate_api_keys: true },
    ] } },
  ],
};

describe('declared reads equal the full decode on every fixture', () => {
  const declaring = factories.filter((f): f is ProcessorFactory => f.kind === 'processor' && f.reads !== undefined);

  it('every processor that declares its reads is checked here', () => {
    // slo counts into Redis: test/record-reads-slo.test.ts checks it the same way.
    const unchecked = declaring.map((f) => f.type).filter((t) => !(t in PROCESSOR_CONFIGS) && t !== 'slo');
    assert.deepEqual(unchecked, []);
  });

  for (const factory of declaring.filter((f) => f.type in PROCESSOR_CONFIGS)) {
    for (const raw of PROCESSOR_CONFIGS[factory.type] ?? []) {
      it(`${factory.type} ${JSON.stringify(raw)}`, async () => {
        const cfg = factory.configSchema.parse(raw);
        const declared = (factory.reads as (c: unknown) => RecordReadsDeclaration)(cfg);
        assert.notEqual(declared, 'all');
        assert.notEqual(declared, 'wire');
        const reads = declared as RecordReads;
        const projected = decodeAll(projection(reads));
        const full = decodeAll(projection('all'));
        // The projection really leaves fields out (else the comparison proves nothing).
        assert.ok(projected.some((r, i) => JSON.stringify(r) !== JSON.stringify(full[i])));
        const a = await runProcessor(factory, raw, full);
        const b = await runProcessor(factory, raw, projected);
        assert.ok(a.length > 0, 'the processor emitted something');
        if (factory.signatures[0]?.output === 'records') {
          // Records go on: compare what a downstream component can rely on — the declared fields, kind and route.
          const keep = (batches: unknown[]) => (batches as TykRecord[][]).flat().map((r) => (r.kind === 'uptime' ? r : { kind: r.kind, route: r.route, ...Object.fromEntries((reads as readonly string[]).map((f) => [f, (r as unknown as Record<string, unknown>)[f]])) }));
          assert.deepEqual(keep(b), keep(a));
        } else {
          assert.equal(comparable(b), comparable(a));
        }
      });
    }
  }
});
