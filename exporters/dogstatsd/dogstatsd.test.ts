import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { ValueType } from '@opentelemetry/api';
import { defaultPacketBytes, dogstatsdConfigSchema } from './config.js';
import { DogStatsdExporter, MAX_TAG_SETS } from './dogstatsd.js';
import { dogstatsdExporterFactory } from './index.js';
import { parseWithProblems } from '../../src/config/load.js';
import { UNTRACKED } from '../../src/delivery.js';
import type { AnalyticsRecord, MetricsBatch } from '../../src/model.js';
import { allFixtures, pushFixtures } from '../../test/helpers/fixtures.js';
import { decodedFixturesHalfRouted as fixtureRecords } from '../../test/helpers/decoded-fixtures.js';
import { Cleanups } from '../../test/helpers/cleanups.js';
import { httpRecord, networkRecord, uptimeRecord } from '../../test/helpers/records.js';
import { startAgent, waitFor } from '../../test/helpers/agent.js';
import { testRedis } from '../../test/helpers/redis.js';
import {
  datagramHarness, exporterContext, parseDogStatsdLine, udpServer, udsServer, type DatagramHarness, type DatagramServer, type ParsedLine,
} from '../../test/helpers/statsd-server.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Closed after the suite, even when a test fails (a Unix socket would keep the process alive). */
const cleanups = new Cleanups();

/** A started exporter with `over` as its config; `finish()` parses every line strictly. */
function harness(over: Record<string, unknown>, server?: DatagramServer): Promise<DatagramHarness<DogStatsdExporter>> {
  return datagramHarness({
    id: 'dogstatsd',
    make: (ctx, endpoint) => new DogStatsdExporter(ctx, dogstatsdConfigSchema.parse({ endpoint, ...over })),
    parse: parseDogStatsdLine,
    cleanups,
    ...(server ? { server } : {}),
  });
}

const statusClass = (c: number) => `${Math.floor(c / 100)}xx`;

/** The tags a record must carry with the default tag_set, sorted. */
function expectedTags(r: AnalyticsRecord, extra: readonly string[] = []): string {
  const tags = [
    `api_id:${r.apiId}`, `api_name:${r.apiName}`, `org_id:${r.orgId}`, `method:${r.method}`,
    `status_code:${r.responseCode}`, `status_class:${statusClass(r.responseCode)}`, ...extra,
  ];
  if (r.route !== '') tags.push(`route:${r.route}`);
  return tags.sort().join(',');
}

const key = (l: ParsedLine) => `${l.name}|${[...l.tags].sort().join(',')}`;

function sumCounts(lines: readonly ParsedLine[], name: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) {
    if (l.name !== name) continue;
    assert.equal(l.type, 'c');
    const k = [...l.tags].sort().join(',');
    m.set(k, (m.get(k) ?? 0) + l.value);
  }
  return m;
}

describe('dogstatsd exporter', () => {
  after(() => cleanups.run());

  it('sends every fixture record: counts per tag set, distribution values in seconds, datagrams within max_packet_bytes', async () => {
    const records = fixtureRecords();
    const h = await harness({ tags: ['env:test'], max_packet_bytes: 1432 });
    // Two pipelines' worth of batches, to prove counters aggregate across consume() calls.
    await h.exporter.consumeRecords(records.slice(0, 300), UNTRACKED);
    await h.exporter.consumeRecords(records.slice(300), UNTRACKED);
    const lines = await h.finish();

    for (const d of h.server.datagrams) assert.ok(d.length <= 1432, `datagram of ${d.length} bytes`);
    assert.ok(h.server.datagrams.length > 1);

    const http = records.filter((r): r is AnalyticsRecord => r.kind === 'http');
    const total = new Map<string, number>();
    const good = new Map<string, number>();
    const bad = new Map<string, number>();
    const values = new Map<string, number[]>();
    for (const r of http) {
      const k = expectedTags(r, ['env:test']);
      total.set(k, (total.get(k) ?? 0) + 1);
      const target = r.responseCode >= 500 ? bad : good;
      target.set(k, (target.get(k) ?? 0) + 1);
      for (const [kind, ms] of [['total', r.latency.total], ['upstream', r.latency.upstream], ['gateway', r.latency.gateway]] as const) {
        const vk = `tyk.request.duration.${kind}|${k}`;
        values.set(vk, [...(values.get(vk) ?? []), ms / 1000]);
      }
    }
    assert.deepEqual(sumCounts(lines, 'tyk.requests'), total);
    assert.deepEqual(sumCounts(lines, 'tyk.requests.good'), good);
    assert.deepEqual(sumCounts(lines, 'tyk.requests.bad'), bad);
    assert.ok(bad.size > 0 && good.size > 0, 'fixtures contain good and bad requests');
    // The aggregated counters: exactly one requests line per tag set (both batches within one flush).
    assert.equal(lines.filter((l) => l.name === 'tyk.requests').length, total.size);

    const got = new Map<string, number[]>();
    for (const l of lines.filter((x) => x.type === 'd' && x.name.startsWith('tyk.request.duration.'))) {
      assert.equal(l.rate, 1);
      got.set(key(l), [...(got.get(key(l)) ?? []), l.value]);
    }
    const sort = (m: Map<string, number[]>) => new Map([...m].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]));
    assert.deepEqual(sort(got), sort(values));

    // Network records are not requests: no request metrics, but connection and byte counters.
    const net = records.filter((r): r is AnalyticsRecord => r.kind === 'network');
    assert.ok(net.length > 0);
    const bytesIn = [...sumCounts(lines, 'tyk.network.bytes_in').values()].reduce((a, b) => a + b, 0);
    assert.equal(bytesIn, net.reduce((a, r) => a + r.network.bytesIn, 0));
    const opened = [...sumCounts(lines, 'tyk.network.connections.opened').values()].reduce((a, b) => a + b, 0);
    assert.equal(opened, net.reduce((a, r) => a + r.network.openConnections, 0));

    // Uptime checks: one duration value per check and up/down counters.
    const uptime = records.filter((r) => r.kind === 'uptime');
    assert.equal(lines.filter((l) => l.name === 'tyk.uptime.check.duration').length, uptime.length);
    const checks = sumCounts(lines, 'tyk.uptime.checks');
    assert.equal([...checks.values()].reduce((a, b) => a + b, 0), uptime.length);
    const down = uptime.filter((r) => r.tcpError || r.serverError).length;
    const downCounted = [...checks].filter(([k]) => k.split(',').includes('status:down')).reduce((a, [, v]) => a + v, 0);
    assert.equal(downCounted, down);

    // Self-telemetry: every line sent, nothing dropped.
    assert.equal(await h.t.counter('test_exporter_sent_items_total', { exporter: 'dogstatsd' }), lines.length);
    assert.equal(await h.t.counter('test_exporter_dropped_items_total'), 0);
    assert.equal(await h.t.counter('test_exporter_statsd_packets_sent_total', { exporter: 'dogstatsd' }), h.server.datagrams.length);
  });

  it('defaults max_packet_bytes to 8192 for a Unix socket or a loopback host, 1432 across a network', () => {
    assert.equal(defaultPacketBytes({ kind: 'uds' }), 8192);
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1']) assert.equal(defaultPacketBytes({ kind: 'udp', host }), 8192, host);
    for (const host of ['10.0.0.5', 'datadog-agent', '::ffff:10.0.0.1']) assert.equal(defaultPacketBytes({ kind: 'udp', host }), 1432, host);
  });

  it('sends over a Unix datagram socket, packing up to 8192 bytes per datagram', async () => {
    const server = await udsServer();
    const records = fixtureRecords().filter((r) => r.kind === 'http').slice(0, 200);
    const h = await harness({}, server);
    await h.exporter.consumeRecords(records, UNTRACKED);
    const lines = await h.finish();
    assert.equal(lines.filter((l) => l.name === 'tyk.request.duration.total').length, 200);
    assert.equal([...sumCounts(lines, 'tyk.requests').values()].reduce((a, b) => a + b, 0), 200);
    assert.ok(server.datagrams.every((d) => d.length <= 8192));
    assert.ok(server.datagrams.some((d) => d.length > 1432), 'uses the larger Unix-socket packet size');
  });

  it('never blocks or throws without an Agent: missing socket drops are counted, and sending resumes when it appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsd-missing-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'dsd.socket');
    const t = exporterContext('dogstatsd');
    cleanups.push(() => t.close());
    const exporter = new DogStatsdExporter(t.ctx, dogstatsdConfigSchema.parse({ endpoint: `unix://${path}`, flush_interval: '20ms' }));
    cleanups.push(() => exporter.shutdown());
    await exporter.start();
    const batch = Array.from({ length: 500 }, (_, i) => httpRecord({ apiId: `api-${i % 5}` }));
    const started = Date.now();
    for (let i = 0; i < 5; i++) await exporter.consumeRecords(batch, UNTRACKED);
    assert.ok(Date.now() - started < 2000, 'consume does not wait for the missing Agent');
    // Drops are counted when the flush finds no Agent: wait for the count rather than a fixed time.
    await waitFor('every dropped line counted', async () => (await t.counter('test_exporter_dropped_items_total', { exporter: 'dogstatsd' })) >= 5 * 500 * 3);
    assert.ok((await t.counter('test_exporter_statsd_packets_dropped_total', { reason: 'agent_unavailable' })) > 0);
    const warnings = t.logs.filter((l) => l.msg === 'statsd datagram dropped' || l.msg === 'statsd socket error');
    assert.ok(warnings.length >= 1 && warnings.length <= 3, `logged once per burst, not per datagram (${warnings.length})`);
    assert.equal(t.health.snapshot().ready, true, 'a missing Agent does not make the agent unready');

    // The Agent comes up: after the reconnect interval, lines flow again.
    const server = await udsServer(path);
    cleanups.push(() => server.close());
    await waitFor('lines after the Agent appears', async () => {
      await exporter.consumeRecords(batch.slice(0, 10), UNTRACKED);
      return server.lines().some((l) => l.startsWith('tyk.request.duration.total:'));
    }, 5000, 200);
    await exporter.shutdown();
    assert.ok(t.logs.some((l) => l.msg === 'statsd sends recovered'));
  });

  it('re-opens the Unix socket when the Agent restarts; datagrams lost meanwhile are counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsd-restart-'));
    const path = join(dir, 'dsd.socket');
    const first = await udsServer(path);
    const t = exporterContext('dogstatsd');
    const exporter = new DogStatsdExporter(t.ctx, dogstatsdConfigSchema.parse({ endpoint: first.endpoint, flush_interval: '20ms' }));
    // A Unix socket keeps the process alive: close it even when an assertion fails.
    cleanups.push(() => exporter.shutdown(), () => t.close(), () => first.close(), async () => rmSync(dir, { recursive: true, force: true }));
    await exporter.start();
    await exporter.consumeRecords([httpRecord()], UNTRACKED);
    await first.waitFor('first lines', (l) => l.some((x) => x.startsWith('tyk.request.duration.total:')));
    await first.close(); // the Agent stops: its socket file is gone
    for (let i = 0; i < 5; i++) {
      await exporter.consumeRecords(Array.from({ length: 100 }, () => httpRecord()), UNTRACKED);
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitFor('lost lines are counted', async () => (await t.counter('test_exporter_dropped_items_total', { exporter: 'dogstatsd' })) >= 100 * 3);
    const second = await udsServer(path); // the Agent is back on the same path
    cleanups.push(() => second.close());
    await waitFor('lines after the Agent restarted', async () => {
      await exporter.consumeRecords([httpRecord()], UNTRACKED);
      return second.lines().some((l) => l.startsWith('tyk.request.duration.total:'));
    }, 6000, 200);
    await exporter.shutdown();
  });

  it('keeps running when the Agent host does not resolve (drops counted as dns) or nothing listens on UDP', async () => {
    for (const endpoint of ['no-such-agent.invalid:8125', '127.0.0.1:9']) {
      const t = exporterContext('dogstatsd');
      cleanups.push(() => t.close());
      const exporter = new DogStatsdExporter(t.ctx, dogstatsdConfigSchema.parse({ endpoint }));
      await exporter.start();
      for (let i = 0; i < 3; i++) await exporter.consumeRecords(Array.from({ length: 200 }, () => httpRecord()), UNTRACKED);
      await exporter.shutdown();
      const sent = await t.counter('test_exporter_sent_items_total');
      const dropped = await t.counter('test_exporter_dropped_items_total');
      // 600 records × 3 distributions + the counters, each either sent or counted as dropped.
      assert.equal(sent + dropped, 600 * 3 + 2, endpoint);
      if (endpoint.endsWith('.invalid:8125')) assert.equal(await t.counter('test_exporter_dropped_items_total', { reason: 'dns' }), 600 * 3 + 2);
    }
  });

  it('turns adversarial record values into valid lines', async () => {
    const nasty = 'a|b:c#d,e@f\ng\r\u0000h — Ünïcödé 名前 🚀';
    const records = [
      httpRecord({ apiName: nasty, apiId: 'id|with,pipes#', orgId: 'org\n1', method: 'GE|T', route: `/x/{id}/${nasty}`, path: `/p/${nasty}/`, oauthId: 'c@d' }),
      httpRecord({ apiName: 'x'.repeat(300), route: `/${'y'.repeat(300)}` }),
      httpRecord({ apiName: '🚀'.repeat(150) }),
    ];
    const h = await harness({ tyk_compatible: true, tag_set: ['api_id', 'api_name', 'org_id', 'method', 'route', 'oauth_id', 'key_alias'] });
    await h.exporter.consumeRecords(records, UNTRACKED);
    const lines = await h.finish(); // parseDogStatsdLine throws on any malformed line
    assert.equal(lines.filter((l) => l.name === 'tyk.request.duration.total').length, 3);
    const first = lines.find((l) => l.name === 'tyk.request.duration.total' && l.tags.some((t) => t.startsWith('api_id:id')));
    assert.ok(first);
    assert.ok(first.tags.includes('api_id:id_with_pipes_'));
    assert.ok(first.tags.includes('org_id:org_1'));
    assert.ok(first.tags.some((t) => t.startsWith('route:/x/{id}/a_b:c_d_e_f_g__h — Ünïcödé 名前 🚀')), first.raw);
    for (const l of lines) for (const t of l.tags) assert.ok([...t].length <= 200);
    const long = lines.find((l) => l.name === 'tyk.request.duration.total' && l.tags.some((t) => t.startsWith('api_name:xxx')));
    assert.equal(long?.tags.find((t) => t.startsWith('api_name:'))?.length, 200);
    const rockets = lines.find((l) => l.name === 'tyk.request.duration.total' && l.tags.some((t) => t.startsWith('api_name:🚀')));
    assert.ok(rockets?.tags.find((t) => t.startsWith('api_name:'))?.endsWith('🚀'), 'no surrogate pair cut in half');
    const compat = lines.find((l) => l.name === 'tyk.request_time' && l.tags.includes('oauth_id:c_d'));
    assert.ok(compat?.tags.some((t) => t.startsWith('path:/p/a_b:c_d_e_f_g__h')));
  });

  it('sample_rate 0.1 flags |@0.1 on distributions, keeps counters exact, and is unbiased', async () => {
    const n = 20_000;
    const h = await harness({ sample_rate: 0.1, latencies: ['total'], tag_set: ['api_id'] });
    const batch = Array.from({ length: 1000 }, (_, i) => httpRecord({ apiId: `api-${i % 2}`, responseCode: i % 10 === 0 ? 500 : 200 }));
    for (let i = 0; i < n / batch.length; i++) await h.exporter.consumeRecords(batch, UNTRACKED);
    const lines = await h.finish();
    const dist = lines.filter((l) => l.name === 'tyk.request.duration.total');
    assert.ok(dist.every((l) => l.rateText === '0.1' && l.raw.includes('|d|@0.1|#')));
    // Binomial(20000, 0.1): sd ≈ 42; 5 sd = 212.
    assert.ok(Math.abs(dist.length - n * 0.1) < 212, `sampled ${dist.length} of ${n}`);
    const estimated = dist.reduce((a, l) => a + 1 / l.rate, 0);
    assert.ok(Math.abs(estimated - n) / n < 0.11, `estimated count ${estimated}`);
    const counted = [...sumCounts(lines, 'tyk.requests').values()].reduce((a, b) => a + b, 0);
    assert.equal(counted, n);
    assert.ok(lines.filter((l) => l.type === 'c').every((l) => l.rate === 1), 'counters are never sampled');
    assert.equal([...sumCounts(lines, 'tyk.requests.bad').values()].reduce((a, b) => a + b, 0), n / 10);
  });

  it('tyk_compatible adds Tyk Pump’s request_time histogram with its default tags, or the listed ones', async () => {
    const r = httpRecord({ path: '/orders/123/', responseCode: 201, requestTime: 42, oauthId: '', trackPath: true });
    const h = await harness({ tyk_compatible: true, namespace: 'pump' });
    await h.exporter.consumeRecords([r, httpRecord({ oauthId: 'client-7', requestTime: 7 })], UNTRACKED);
    const lines = await h.finish();
    const hist = lines.filter((l) => l.name === 'pump.request_time');
    assert.equal(hist.length, 2);
    assert.equal(hist[0]?.raw, 'pump.request_time:42|h|#path:/orders/123/,method:GET,response_code:201,api_version:v1,api_name:Orders API,api_id:orders-api,org_id:org-1,tracked:true,tyk-pump');
    assert.ok(hist[1]?.tags.includes('oauth_id:client-7'));
    assert.ok(lines.some((l) => l.name === 'pump.request.duration.total'), 'the native metrics are still sent');

    const h2 = await harness({ tyk_compatible: true, tyk_tags: ['path', 'response_code'], tags: ['env:prod'] });
    await h2.exporter.consumeRecords([r], UNTRACKED);
    const lines2 = await h2.finish();
    assert.equal(lines2.find((l) => l.name === 'tyk.request_time')?.raw, 'tyk.request_time:42|h|#path:/orders/123,response_code:201,tyk-pump,env:prod');
  });

  it('uses the error definition of the exporter when given, else the shared one', async () => {
    const h = await harness({ error_definition: { status_classes: ['5xx'], status_codes: [429], exclude_status_codes: [503] }, tag_set: [] });
    await h.exporter.consumeRecords([200, 429, 500, 503, 404].map((c) => httpRecord({ responseCode: c })), UNTRACKED);
    const lines = await h.finish();
    assert.equal(lines.find((l) => l.name === 'tyk.requests.bad')?.value, 2);
    assert.equal(lines.find((l) => l.name === 'tyk.requests.good')?.value, 3);
    assert.equal(lines.find((l) => l.name === 'tyk.requests')?.raw, 'tyk.requests:5|c');
  });

  it('milliseconds unit, chosen latencies and tag set', async () => {
    const h = await harness({ duration_unit: 'milliseconds', latencies: ['upstream'], tag_set: ['api_version', 'status_class'] });
    await h.exporter.consumeRecords([httpRecord({ latency: { total: 30, upstream: 21, gateway: 9 } })], UNTRACKED);
    const lines = await h.finish();
    assert.deepEqual(lines.filter((l) => l.type === 'd').map((l) => l.raw), ['tyk.request.duration.upstream:21|d|#api_version:v1,status_class:2xx']);
  });

  it('drops (and counts) a line longer than max_packet_bytes instead of sending an oversized datagram', async () => {
    const h = await harness({ max_packet_bytes: 512, tag_set: ['api_id', 'api_name', 'route'] });
    await h.exporter.consumeRecords([httpRecord({ apiName: 'n'.repeat(190), route: `/${'r'.repeat(190)}`, apiId: 'i'.repeat(190) }), httpRecord()], UNTRACKED);
    const lines = await h.finish();
    assert.ok(h.server.datagrams.every((d) => d.length <= 512));
    assert.equal(lines.filter((l) => l.name === 'tyk.request.duration.total').length, 1);
    // 3 distributions + requests + requests.good of the long tag set.
    assert.equal(await h.t.counter('test_exporter_dropped_items_total', { reason: 'line_too_long' }), 5);
  });

  it('keeps counts exact when more distinct tag sets arrive than the cache holds', async () => {
    const n = MAX_TAG_SETS + 5000;
    const h = await harness({ tag_set: ['api_id'], latencies: ['total'] });
    for (let i = 0; i < n; i += 1000) {
      await h.exporter.consumeRecords(Array.from({ length: 1000 }, (_, j) => httpRecord({ apiId: `api-${i + j}` })), UNTRACKED);
    }
    const lines = await h.finish();
    const counts = sumCounts(lines, 'tyk.requests');
    assert.equal(counts.size, n);
    assert.ok([...counts.values()].every((v) => v === 1));
    assert.equal(lines.filter((l) => l.name === 'tyk.request.duration.total').length, n);
    assert.ok(h.t.logs.some((l) => String(l.msg).includes('more distinct tag sets than the cache holds')));
  });

  it('exports gauges, delta sums and histograms of a metrics pipeline (e.g. the SLO processor)', async () => {
    const h = await harness({ tags: ['env:test'] });
    const desc = (name: string) => ({ name, description: '', unit: '', valueType: ValueType.DOUBLE, advice: {} });
    const time: [number, number] = [1, 0];
    const metrics: MetricData[] = [
      { descriptor: desc('tyk.slo.burn_rate'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
        dataPoints: [{ startTime: time, endTime: time, attributes: { 'tyk.slo.name': 'checkout', window: '1h' }, value: 2.5 }] },
      { descriptor: desc('tyk.api.requests'), aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.SUM, isMonotonic: true,
        dataPoints: [{ startTime: time, endTime: time, attributes: { 'http.route': '/a|b' }, value: 7 }] },
      { descriptor: desc('http.server.request.duration'), aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.HISTOGRAM,
        dataPoints: [{ startTime: time, endTime: time, attributes: {}, value: { buckets: { boundaries: [1], counts: [2, 1] }, count: 3, sum: 1.5, min: 0.1, max: 1.2 } }] },
      { descriptor: desc('tyk.cumulative'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true,
        dataPoints: [{ startTime: time, endTime: time, attributes: {}, value: 9 }] },
      { descriptor: desc('tyk.slo.alert'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
        dataPoints: [{ startTime: time, endTime: time, attributes: {}, value: Number.NaN }] },
    ];
    const batch: MetricsBatch = { resource: { 'service.name': 'tyk-otel-pump' }, scope: 'test', metrics };
    await h.exporter.consumeMetrics(batch, UNTRACKED);
    const lines = await h.finish();
    assert.deepEqual(lines.map((l) => l.raw).sort(), [
      'http.server.request.duration.count:3|c|#env:test',
      'http.server.request.duration.sum:1.5|c|#env:test',
      'tyk.api.requests:7|c|#http.route:/a_b,env:test',
      'tyk.slo.burn_rate:2.5|g|#tyk.slo.name:checkout,window:1h,env:test',
    ]);
    assert.equal(await h.t.counter('test_exporter_refused_items_total', { reason: 'cumulative_sum' }), 1);
    assert.equal(await h.t.counter('test_exporter_refused_items_total', { reason: 'not_finite' }), 1);
  });

  it('validates its config with our messages', () => {
    const bad = parseWithProblems(dogstatsdConfigSchema, {
      endpoint: 'unix://relative/path', namespace: '1tyk', sample_rate: 0, tags: ['env:a|b'], tag_set: ['api_id', 'api_id', 'path'], max_packet_bytes: 100,
    }, ['exporters', 'dogstatsd']);
    const byPath = Object.fromEntries(bad.problems.map((p) => [p.path, p.message]));
    assert.equal(byPath['exporters::dogstatsd::endpoint'], 'must be host:port (UDP) or unix:///path/to/dsd.socket');
    assert.match(byPath['exporters::dogstatsd::namespace'] ?? '', /^must be letters/);
    assert.equal(byPath['exporters::dogstatsd::sample_rate'], 'must be greater than 0');
    assert.match(byPath['exporters::dogstatsd::tags[0]'] ?? '', /^must be key:value/);
    assert.match(byPath['exporters::dogstatsd::tag_set[2]'] ?? '', /^must be one of api_id/);
    assert.equal(byPath['exporters::dogstatsd::max_packet_bytes'], 'must be at least 512');
    assert.deepEqual(parseWithProblems(dogstatsdConfigSchema, { endpoint: 'unix:///var/run/datadog/dsd.socket' }, []).problems, []);
    assert.equal(dogstatsdExporterFactory.type, 'dogstatsd');
    assert.deepEqual(dogstatsdExporterFactory.inputs, ['records', 'metrics']);
  });

  it('does not load dd-trace unless apm.enabled (importing and running the exporter)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'testdata', 'no-dd-trace.ts')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /dd-trace loaded: false/);
    assert.match(r.stdout, /lines: [1-9]/);
  });

  it('with apm.enabled, sends one span per exported batch to the Datadog trace intake (and no ioredis spans)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'testdata', 'apm-spans.ts')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { spans: { name: string; resource: string; service: string; items: number }[]; ddTraceInCache: boolean };
    assert.ok(result.spans.some((s) => s.name === 'test.export' && s.resource === 'dogstatsd records' && s.service === 'pump-under-test' && s.items === 3), JSON.stringify(result.spans));
    assert.equal(result.spans.filter((s) => s.name !== 'test.export').length, 0);
    assert.equal(result.ddTraceInCache, true, 'the loaded-module check of the previous test does see dd-trace when it is loaded');
  });

  it('end to end: Redis → tyk_redis receiver → dogstatsd, counts match the fixtures', async () => {
    const redis = await testRedis('dsd');
    const server = await udpServer();
    cleanups.push(() => redis.cleanup(), () => server.close());
    const fixtures = allFixtures().filter((f) => f.format === 'msgpack' || f.format === 'protobuf');
    await pushFixtures(redis, fixtures);
    const yaml = `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime: false
    poll_interval: 50ms
exporters:
  dogstatsd:
    endpoint: ${server.endpoint}
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      address: 127.0.0.1:0
  pipelines:
    records:
      receivers: [tyk_redis]
      exporters: [dogstatsd]
`;
    const agent = await startAgent(yaml);
    cleanups.push(() => agent.stop());
    const http = fixtures.filter((f) => f.expected['response_code'] !== -1).length;
    await server.waitFor('all requests counted', (lines) => {
      let n = 0;
      for (const l of lines) if (l.startsWith('tyk.requests:')) n += Number(l.slice('tyk.requests:'.length, l.indexOf('|')));
      return n >= http;
    });
    await agent.stop();
    await server.settle();
    const lines = server.lines().map(parseDogStatsdLine);
    assert.equal([...sumCounts(lines, 'tyk.requests').values()].reduce((a, b) => a + b, 0), http);
    assert.equal(lines.filter((l) => l.name === 'tyk.request.duration.total').length, http);
    const bad = fixtures.filter((f) => (f.expected['response_code'] as number) >= 500).length;
    assert.equal([...sumCounts(lines, 'tyk.requests.bad').values()].reduce((a, b) => a + b, 0), bad);
    assert.equal(await redis.client.llen(`${redis.prefix}analytics-tyk-system-analytics`), 0);
  });
});
