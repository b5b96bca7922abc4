import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { statsdConfigSchema } from './config.js';
import { StatsdExporter, goJsonString } from './statsd.js';
import { statsdExporterFactory } from './index.js';
import { parseWithProblems } from '../../src/config/load.js';
import { UNTRACKED } from '../../src/delivery.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { allFixtures, pushFixtures } from '../../test/helpers/fixtures.js';
import { decodedFixturesHalfRouted as fixtureRecords } from '../../test/helpers/decoded-fixtures.js';
import { Cleanups } from '../../test/helpers/cleanups.js';
import { httpRecord, networkRecord, uptimeRecord } from '../../test/helpers/records.js';
import { startAgent } from '../../test/helpers/agent.js';
import { testRedis } from '../../test/helpers/redis.js';
import {
  datagramHarness, exporterContext, parseStatsdLine, udpServer, type DatagramHarness, type ParsedLine,
} from '../../test/helpers/statsd-server.js';

/** The segment rule, written independently of the implementation. */
const seg = (v: string) => v.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 100) || 'unknown';

/** Closed after the suite, even when a test fails (a Unix socket would keep the process alive). */
const cleanups = new Cleanups();

/** A started exporter with `over` as its config; `finish()` parses plain StatsD lines strictly unless given a parser. */
function harness(over: Record<string, unknown>): Promise<DatagramHarness<StatsdExporter>> {
  return datagramHarness({
    id: 'statsd',
    make: (ctx, endpoint) => new StatsdExporter(ctx, statsdConfigSchema.parse({ endpoint, ...over })),
    parse: (l) => parseStatsdLine(l),
    cleanups,
  });
}

function sums(lines: readonly ParsedLine[], pred: (l: ParsedLine) => boolean, keyOf: (l: ParsedLine) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) if (pred(l)) m.set(keyOf(l), (m.get(keyOf(l)) ?? 0) + l.value);
  return m;
}

describe('statsd exporter', () => {
  after(() => cleanups.run());

  it('names from the template: timers (ms) and counts per name equal the fixtures; datagrams within max_packet_bytes', async () => {
    const records = fixtureRecords();
    const h = await harness({});
    await h.exporter.consumeRecords(records.slice(0, 333), UNTRACKED);
    await h.exporter.consumeRecords(records.slice(333), UNTRACKED);
    const lines = await h.finish();
    assert.ok(h.server.datagrams.every((d) => d.length <= 1432));

    const http = records.filter((r): r is AnalyticsRecord => r.kind === 'http');
    const base = (r: AnalyticsRecord) => `tyk.${seg(r.apiName)}.${seg(r.method)}.${seg(r.route)}`;
    const total = new Map<string, number>();
    const bad = new Map<string, number>();
    const timers = new Map<string, number[]>();
    for (const r of http) {
      total.set(`${base(r)}.requests`, (total.get(`${base(r)}.requests`) ?? 0) + 1);
      if (r.responseCode >= 500) bad.set(`${base(r)}.requests.bad`, (bad.get(`${base(r)}.requests.bad`) ?? 0) + 1);
      for (const [k, v] of [['total', r.latency.total], ['upstream', r.latency.upstream], ['gateway', r.latency.gateway]] as const) {
        const name = `${base(r)}.request.duration.${k}`;
        timers.set(name, [...(timers.get(name) ?? []), v]);
      }
    }
    assert.deepEqual(sums(lines, (l) => l.name.endsWith('.requests'), (l) => l.name), total);
    assert.deepEqual(sums(lines, (l) => l.name.endsWith('.requests.bad'), (l) => l.name), bad);
    const got = new Map<string, number[]>();
    for (const l of lines.filter((x) => x.type === 'ms' && x.name.includes('.request.duration.'))) got.set(l.name, [...(got.get(l.name) ?? []), l.value]);
    const sorted = (m: Map<string, number[]>) => new Map([...m].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]));
    assert.deepEqual(sorted(got), sorted(timers));
    assert.ok([...total.keys()].some((k) => k.includes('.unknown.')), 'records without a route template get the unknown segment');

    const net = records.filter((r): r is AnalyticsRecord => r.kind === 'network');
    const bytesOut = [...sums(lines, (l) => l.name.startsWith('tyk.network.') && l.name.endsWith('.bytes_out'), (l) => l.name).values()].reduce((a, b) => a + b, 0);
    assert.equal(bytesOut, net.reduce((a, r) => a + r.network.bytesOut, 0));
    const uptime = records.filter((r) => r.kind === 'uptime');
    assert.equal(lines.filter((l) => l.name.startsWith('tyk.uptime.') && l.name.endsWith('.check.duration')).length, uptime.length);
    const checks = [...sums(lines, (l) => /^tyk\.uptime\..*\.checks\.(up|down)$/.test(l.name), (l) => l.name).values()].reduce((a, b) => a + b, 0);
    assert.equal(checks, uptime.length);
    assert.equal(await h.t.counter('test_exporter_sent_items_total', { exporter: 'statsd' }), lines.length);
  });

  it('telegraf: true puts the fields into tags', async () => {
    const h = await harness({ telegraf: true, tags: ['env:prod'], prefix: 'api' });
    await h.exporter.consumeRecords([httpRecord({ route: '/orders/{id}' }), httpRecord({ responseCode: 502 }), httpRecord()], UNTRACKED);
    const lines = await h.finish((l) => parseStatsdLine(l, { telegraf: true }));
    const raw = lines.map((l) => l.raw);
    assert.ok(raw.includes('api.request.duration.total,api_id=orders-api,api_name=Orders_API,org_id=org-1,method=GET,status_code=200,status_class=2xx,route=/orders/{id},env=prod:25|ms'), raw.join('\n'));
    assert.ok(raw.includes('api.requests,api_id=orders-api,api_name=Orders_API,org_id=org-1,method=GET,status_code=200,status_class=2xx,env=prod:1|c'));
    assert.ok(raw.includes('api.requests.bad,api_id=orders-api,api_name=Orders_API,org_id=org-1,method=GET,status_code=502,status_class=5xx,env=prod:1|c'));
  });

  it('adversarial values produce valid lines in every mode', async () => {
    const nasty = 'a|b:c#d,e@f\ng\r\u0000h=i\\j k — Ünïcödé 名前 🚀.x/y';
    const records = [
      httpRecord({ apiName: nasty, apiId: nasty, method: 'GE:T', route: `/x/{id}/${nasty}`, path: `/p/${nasty}/`, apiKey: nasty, oauthId: nasty }),
      httpRecord({ apiName: 'x'.repeat(300) }),
      networkRecord({ apiId: nasty }),
      uptimeRecord({ apiId: nasty }),
    ];
    const h1 = await harness({ name_template: '{api_id}.{api_name}.{method}.{route}.{oauth_id}', tyk_compatible: true, tyk_tags: ['path', 'api_name', 'api_key', 'response_code'], tyk_fields: ['request_time', 'latency_gateway'] });
    const h2 = await harness({ telegraf: true, tag_set: ['api_id', 'api_name', 'method', 'route', 'oauth_id'] });
    await h1.exporter.consumeRecords(records, UNTRACKED);
    await h2.exporter.consumeRecords(records, UNTRACKED);
    const tykName = /^[^:|@,\s]+$/;
    const lines1 = await h1.finish((l) => (l.startsWith('request_time.') || l.startsWith('latency_gateway.') ? parseStatsdLine(l, { namePattern: tykName }) : parseStatsdLine(l)));
    const lines2 = await h2.finish((l) => parseStatsdLine(l, { telegraf: true }));
    assert.ok(lines1.some((l) => l.name === 'tyk.a_b_c_d_e_f_g_h_i_j_k_n_c_d_x_y.a_b_c_d_e_f_g_h_i_j_k_n_c_d_x_y.GE_T.x_id_a_b_c_d_e_f_g_h_i_j_k_n_c_d_x_y.a_b_c_d_e_f_g_h_i_j_k_n_c_d_x_y.requests'), lines1.map((l) => l.name).join('\n'));
    assert.ok(lines1.some((l) => l.name.startsWith(`tyk.orders-api.${'x'.repeat(100)}.GET.unknown`)));
    const compat = lines1.find((l) => l.name.startsWith('request_time.'));
    assert.ok(compat);
    assert.doesNotMatch(compat.name, /[\s"]/);
    assert.ok(lines2.some((l) => l.tags.includes('route:/x/{id}/a_b_c#d_e@f_g__h_i_j_k_—_Ünïcödé_名前_🚀.x/y')), lines2.map((l) => l.raw).join('\n'));
    assert.equal(lines1.filter((l) => l.name.endsWith('.request.duration.total')).length, 2);
  });

  it('sample_rate 0.1 flags |@0.1 on timers, keeps counters exact, and is unbiased', async () => {
    const n = 20_000;
    const h = await harness({ sample_rate: 0.1, latencies: ['total'], name_template: '{api_id}' });
    const batch = Array.from({ length: 1000 }, (_, i) => httpRecord({ apiId: `api-${i % 2}` }));
    for (let i = 0; i < n / batch.length; i++) await h.exporter.consumeRecords(batch, UNTRACKED);
    const lines = await h.finish();
    const timers = lines.filter((l) => l.type === 'ms');
    assert.ok(timers.every((l) => l.raw.endsWith('|ms|@0.1')));
    assert.ok(Math.abs(timers.length - n * 0.1) < 212, `sampled ${timers.length} of ${n}`);
    assert.equal([...sums(lines, (l) => l.name.endsWith('.requests'), (l) => l.name).values()].reduce((a, b) => a + b, 0), n);
    assert.ok(lines.filter((l) => l.type === 'c').every((l) => l.rate === 1));
  });

  it('tyk_compatible reproduces Tyk Pump names: <field>.<json-encoded, lower-cased tag values>', async () => {
    const r = httpRecord({ method: 'GET', path: '/Foo/Bar/', responseCode: 200, requestTime: 12, apiName: 'Orders API', latency: { total: 12, upstream: 9, gateway: 3 }, timestampMs: Date.UTC(2026, 10, 26, 12, 0, 5, 300) });
    const h = await harness({ tyk_compatible: true, tyk_tags: ['path', 'response_code', 'api_name', 'time_stamp'], tyk_fields: ['request_time', 'latency_upstream'] });
    const h2 = await harness({ tyk_compatible: true, tyk_tags: ['method', 'path'], separated_method: true });
    const h3 = await harness({ tyk_compatible: true });
    await h.exporter.consumeRecords([r, networkRecord()], UNTRACKED);
    await h2.exporter.consumeRecords([r, httpRecord({ path: '/a b"c<d>' })], UNTRACKED);
    await h3.exporter.consumeRecords([r], UNTRACKED);
    const any = { namePattern: /^[^:|@,\s]+$/ };
    const raw = (await h.finish((l) => parseStatsdLine(l, any))).map((l) => l.raw);
    assert.ok(raw.includes('request_time.get/foo/bar.200.ordersapi.2026-11-2612-00-05+0000utc:12|ms'), raw.join('\n'));
    assert.ok(raw.includes('latency_upstream.get/foo/bar.200.ordersapi.2026-11-2612-00-05+0000utc:9|ms'));
    assert.equal(raw.filter((l) => l.startsWith('request_time.')).length, 1, 'network records are not requests');
    const raw2 = (await h2.finish((l) => parseStatsdLine(l, any))).map((l) => l.raw);
    assert.ok(raw2.includes('request_time.get./foo/bar:12|ms'), raw2.join('\n'));
    assert.ok(raw2.includes('request_time.get./ab\\c\\u003cd\\u003e:25|ms'), raw2.join('\n'));
    const raw3 = (await h3.finish((l) => parseStatsdLine(l, any))).map((l) => l.raw);
    assert.ok(raw3.includes('request_time:12|ms'), 'no tags: no dangling dot');
    assert.ok(raw3.some((l) => l.startsWith('tyk.Orders_API.GET.unknown.request.duration.total:')), 'native metrics too');
  });

  it('encodes strings like Go’s json.Marshal', () => {
    assert.equal(goJsonString('a"b\\c\n<&>\u2028é🚀'), '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u2028é🚀"');
    assert.equal(goJsonString('\ud800x'), '"\\ufffdx"');
    assert.equal(goJsonString('\u0001'), '"\\u0001"');
  });

  it('validates its config with our messages', () => {
    const p = parseWithProblems(statsdConfigSchema, {
      endpoint: 'unix:///tmp/x', name_template: '{api_id}.{path}', tyk_tags: ['method'], tags: ['env:prod'], prefix: '.x',
    }, ['exporters', 'statsd']);
    const byPath = Object.fromEntries(p.problems.map((x) => [x.path, x.message]));
    assert.equal(byPath['exporters::statsd::endpoint'], 'must be host:port (UDP)');
    assert.match(byPath['exporters::statsd::name_template'] ?? '', /^must be dot-separated segments/);
    assert.match(byPath['exporters::statsd::prefix'] ?? '', /^must be empty or/);
    const cross = parseWithProblems(statsdConfigSchema, { tyk_tags: ['method'], tags: ['env:prod'] }, ['exporters', 'statsd']);
    const crossBy = Object.fromEntries(cross.problems.map((x) => [x.path, x.message]));
    assert.match(crossBy['exporters::statsd::tyk_tags'] ?? '', /separated_method/);
    assert.match(crossBy['exporters::statsd::tags'] ?? '', /telegraf: true/);
    assert.deepEqual(parseWithProblems(statsdConfigSchema, { name_template: '', prefix: '' }, []).problems, []);
    assert.deepEqual(statsdExporterFactory.inputs, ['records']);
  });

  it('keeps running without a server: a host that does not resolve is counted as dns drops', async () => {
    const t = exporterContext('statsd');
    cleanups.push(() => t.close());
    const exporter = new StatsdExporter(t.ctx, statsdConfigSchema.parse({ endpoint: 'no-such-statsd.invalid:8125' }));
    await exporter.start();
    await exporter.consumeRecords(Array.from({ length: 100 }, () => httpRecord()), UNTRACKED);
    await exporter.shutdown();
    assert.equal(await t.counter('test_exporter_dropped_items_total', { reason: 'dns' }), 100 * 3 + 2);
  });

  it('end to end: Redis → tyk_redis → statsd', async () => {
    const redis = await testRedis('sd');
    const server = await udpServer();
    cleanups.push(() => redis.cleanup(), () => server.close());
    const fixtures = allFixtures().filter((f) => f.format === 'msgpack');
    await pushFixtures(redis, fixtures);
    const agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime: false
    poll_interval: 50ms
exporters:
  statsd:
    endpoint: ${server.endpoint}
    name_template: "{api_id}.{status_class}"
    flush_interval: 50ms
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [statsd] }
`);
    cleanups.push(() => agent.stop());
    const http = fixtures.filter((f) => f.expected['response_code'] !== -1).length;
    const counted = (lines: string[]) => lines.filter((l) => /\.requests:/.test(l)).reduce((a, l) => a + Number(l.slice(l.indexOf(':') + 1, l.indexOf('|'))), 0);
    await server.waitFor('all requests counted', (lines) => counted(lines) >= http);
    await agent.stop();
    await server.settle();
    const lines = server.lines().map((l) => parseStatsdLine(l));
    assert.equal(counted(server.lines()), http);
    const fiveXX = lines.filter((l) => /\.5xx\.requests$/.test(l.name)).reduce((a, l) => a + l.value, 0);
    assert.equal(fiveXX, fixtures.filter((f) => (f.expected['response_code'] as number) >= 500).length);
  });
});
