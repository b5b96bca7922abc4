import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { MetricsBatch, TykRecord } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { isRetryable } from '../../src/errors.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { componentContext, testSharedConfig } from '../../test/helpers/context.js';
import { httpRecord, networkRecord, uptimeRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { BucketIndex } from '../../internal/metrics/histogram.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, sliConfigSchema } from './config.js';
import { SliProcessor } from './sli.js';
import { sliProcessorFactory } from './index.js';

const T0 = Date.UTC(2026, 10, 26, 12);

function harness(over: Record<string, unknown> = {}, opts: { errorDefinition?: Record<string, unknown>; now?: () => number } = {}) {
  const self = new SelfTelemetry('tyk_otel_pump');
  const { logger, lines } = captureLogger('debug');
  const ctx = componentContext({
    id: 'sli@metrics',
    logger,
    telemetry: self.forComponent('processor', 'sli@metrics'),
    shared: testSharedConfig({ errorDefinition: opts.errorDefinition }),
    instanceId: 'test-instance',
  });
  const next = new RecordingConsumer<'metrics'>();
  const proc = new SliProcessor(ctx, sliConfigSchema.parse(over), next, { now: opts.now ?? (() => T0 + 60_000) });
  return {
    proc,
    next,
    lines,
    scrape: () => self.scrape(),
    async push(records: TykRecord[]): Promise<MetricsBatch | undefined> {
      const before = next.batches.length;
      const err = await tracked((c) => proc.consume(records, c));
      if (err) throw err;
      return next.batches.length > before ? next.batches[next.batches.length - 1] : undefined;
    },
    close: () => self.shutdown(),
  };
}

function metric(batch: MetricsBatch | undefined, name: string): MetricData | undefined {
  return batch?.metrics.find((m) => m.descriptor.name === name);
}

function points<T>(batch: MetricsBatch | undefined, name: string): DataPoint<T>[] {
  return (metric(batch, name)?.dataPoints ?? []) as DataPoint<T>[];
}

function find<T>(batch: MetricsBatch | undefined, name: string, match: Attributes): DataPoint<T> | undefined {
  return points<T>(batch, name).find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

/** Bucket counts an independent reading of the `le` rule gives for `valuesSeconds`. */
function expectedCounts(valuesSeconds: number[], bounds: readonly number[] = DEFAULT_DURATION_BUCKETS_SECONDS): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of valuesSeconds) {
    let i = bounds.findIndex((b) => v <= b);
    if (i < 0) i = bounds.length;
    counts[i]!++;
  }
  return counts;
}

describe('sli processor: config', () => {
  it('defaults to the agreed buckets and attributes', () => {
    const c = sliConfigSchema.parse({});
    assert.deepEqual(c.buckets, [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    assert.deepEqual(c.attributes, ['http.request.method', 'http.response.status_code', 'http.route', 'error.type', 'tyk.api.id', 'tyk.api.name', 'tyk.org.id']);
    assert.equal(c.cardinality_limit, 2000);
    assert.equal(c.series_expiration, 300_000);
    assert.equal(c.tyk_compatible.enabled, false);
  });

  it('rejects bad buckets, attributes and metric names with path-prefixed messages', () => {
    const r = parseWithProblems(
      sliConfigSchema,
      { buckets: [0.5, 0.1], body_size_buckets_bytes: [-1], attributes: ['tyk.api.id'], disabled_metrics: ['nope'], tyk_compatible: { latency_buckets_ms: [0, 5] } },
      ['processors', 'sli'],
    );
    const lines = r.problems.map((p) => `${p.path}: ${p.message}${p.got === undefined ? '' : ` (got ${p.got})`}`);
    assert.ok(lines.includes('processors::sli::buckets: must be strictly increasing (got [0.5,0.1])'), lines.join('\n'));
    assert.ok(lines.includes('processors::sli::body_size_buckets_bytes: must contain only zero or positive finite numbers (got [-1])'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::sli::attributes: must include error.type')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::sli::disabled_metrics[0]: must be one of http.server.request.duration')), lines.join('\n'));
    assert.ok(lines.includes('processors::sli::tyk_compatible::latency_buckets_ms: must contain only positive finite numbers (got [0,5])'), lines.join('\n'));
    assert.deepEqual(parseWithProblems(sliConfigSchema, { buckets: [0.1, 0.1] }, ['p']).problems.map((p) => p.message), ['must be strictly increasing']);
    assert.deepEqual(parseWithProblems(sliConfigSchema, { buckets: [] }, ['p']).problems.map((p) => p.message), ['must list at least one boundary']);
  });

  it('the factory converts records to metrics', () => {
    assert.deepEqual(sliProcessorFactory.signatures, [{ input: 'records', output: 'metrics' }]);
  });
});

describe('sli processor: bucket lookup', () => {
  it('puts a value equal to a boundary into that bucket (le) and beyond the last into +Inf', () => {
    const idx = new BucketIndex(DEFAULT_DURATION_BUCKETS_SECONDS, 1000);
    for (let ms = 0; ms <= 12_000; ms++) {
      const want = expectedCounts([ms / 1000]).indexOf(1);
      assert.equal(idx.indexOf(ms), want, `ms=${ms}`);
    }
    assert.equal(idx.indexOf(1e9), DEFAULT_DURATION_BUCKETS_SECONDS.length);
    assert.equal(idx.indexOf(4.5), 0);
    assert.equal(idx.indexOf(5.5), 1);
  });
});

describe('sli processor: HTTP records', () => {
  it('aggregates duration, upstream and gateway histograms and the request counter per attribute set', async () => {
    const h = harness();
    const totals = [1, 5, 6, 24, 100, 101, 9000, 10_000, 12_345];
    const records = totals.map((t, i) => httpRecord({ requestTime: t, latency: { total: t, upstream: Math.floor(t / 2), gateway: t - Math.floor(t / 2) }, timestampMs: T0 + i }));
    records.push(httpRecord({ apiId: 'other', apiName: 'Other', requestTime: 7, latency: { total: 7, upstream: 6, gateway: 1 } }));
    const batch = await h.push(records);
    assert.ok(batch);
    assert.equal(batch.scope, 'tyk-otel-pump/sli');
    assert.equal(batch.resource['service.instance.id'], 'test-instance');

    const dur = metric(batch, 'http.server.request.duration');
    assert.ok(dur && dur.dataPointType === DataPointType.HISTOGRAM);
    assert.equal(dur.aggregationTemporality, AggregationTemporality.DELTA);
    assert.equal(dur.descriptor.unit, 's');
    const orders = find<Histogram>(batch, 'http.server.request.duration', { 'tyk.api.id': 'orders-api' });
    assert.ok(orders);
    assert.deepEqual(orders.value.buckets.boundaries, [...DEFAULT_DURATION_BUCKETS_SECONDS]);
    assert.deepEqual(orders.value.buckets.counts, expectedCounts(totals.map((t) => t / 1000)));
    assert.equal(orders.value.count, totals.length);
    assert.ok(Math.abs((orders.value.sum ?? 0) - totals.reduce((a, b) => a + b, 0) / 1000) < 1e-9);
    assert.equal(orders.value.min, 0.001);
    assert.equal(orders.value.max, 12.345);
    assert.deepEqual(orders.attributes, {
      'http.request.method': 'GET', 'http.response.status_code': 200, 'tyk.api.id': 'orders-api', 'tyk.api.name': 'Orders API', 'tyk.org.id': 'org-1',
    });

    const up = find<Histogram>(batch, 'tyk.upstream.request.duration', { 'tyk.api.id': 'orders-api' });
    assert.deepEqual(up?.value.buckets.counts, expectedCounts(totals.map((t) => Math.floor(t / 2) / 1000)));
    const gw = find<Histogram>(batch, 'tyk.gateway.request.duration', { 'tyk.api.id': 'orders-api' });
    assert.deepEqual(gw?.value.buckets.counts, expectedCounts(totals.map((t) => (t - Math.floor(t / 2)) / 1000)));

    const req = metric(batch, 'tyk.api.requests');
    assert.ok(req && req.dataPointType === DataPointType.SUM && req.isMonotonic);
    assert.equal(find<number>(batch, 'tyk.api.requests', { 'tyk.api.id': 'orders-api' })?.value, totals.length);
    assert.equal(find<number>(batch, 'tyk.api.requests', { 'tyk.api.id': 'other' })?.value, 1);
    await h.close();
  });

  it('emits only what each batch added (delta), reusing series across batches', async () => {
    const h = harness();
    await h.push([httpRecord(), httpRecord()]);
    const second = await h.push([httpRecord({ requestTime: 3000, latency: { total: 3000, upstream: 2000, gateway: 1000 } })]);
    const dp = find<Histogram>(second, 'http.server.request.duration', {});
    assert.equal(dp?.value.count, 1);
    assert.equal(find<number>(second, 'tyk.api.requests', {})?.value, 1);
    assert.equal(h.proc.seriesCount()['http'], 1);
    assert.equal(await h.push([]), undefined, 'an empty batch emits nothing');
    await h.close();
  });

  it('sets error.type exactly when the shared error definition says bad (codes outside 100–599 always)', async () => {
    const h = harness({}, { errorDefinition: { status_classes: ['5xx'], status_codes: [429], exclude_status_codes: [501] } });
    const codes = [0, 200, 201, 301, 404, 429, 500, 501, 503, 999];
    const batch = await h.push(codes.map((c) => httpRecord({ responseCode: c })));
    for (const code of codes) {
      const dp = find<number>(batch, 'tyk.api.requests', { 'http.response.status_code': code });
      assert.ok(dp, `series for ${code}`);
      const bad = code === 429 || code === 500 || code === 503 || code === 0 || code === 999;
      assert.equal(dp.attributes['error.type'], bad ? String(code) : undefined, `error.type of ${code}`);
      assert.equal('error.type' in dp.attributes, bad);
    }
    await h.close();
  });

  it('lets its own error_definition override the shared one', async () => {
    const h = harness({ error_definition: { status_classes: ['4xx'] } });
    const batch = await h.push([httpRecord({ responseCode: 404 }), httpRecord({ responseCode: 500 })]);
    assert.equal(find<number>(batch, 'tyk.api.requests', { 'http.response.status_code': 404 })?.attributes['error.type'], '404');
    assert.equal(find<number>(batch, 'tyk.api.requests', { 'http.response.status_code': 500 })?.attributes['error.type'], undefined);
    await h.close();
  });

  it('does not observe gateway-side rejections in the upstream histogram unless asked', async () => {
    const rejected = httpRecord({ responseCode: 401, requestTime: 2, latency: { total: 2, upstream: 0, gateway: 2 } });
    const fastOk = httpRecord({ responseCode: 200, requestTime: 1, latency: { total: 1, upstream: 0, gateway: 1 } });
    const h = harness();
    const b = await h.push([rejected, fastOk]);
    assert.equal(find<Histogram>(b, 'tyk.upstream.request.duration', { 'http.response.status_code': 401 }), undefined);
    assert.equal(find<Histogram>(b, 'tyk.upstream.request.duration', { 'http.response.status_code': 200 })?.value.count, 1);
    assert.equal(find<Histogram>(b, 'http.server.request.duration', { 'http.response.status_code': 401 })?.value.count, 1);
    assert.equal(find<Histogram>(b, 'tyk.gateway.request.duration', { 'http.response.status_code': 401 })?.value.count, 1);
    await h.close();

    const pump = harness({ upstream_include_rejections: true });
    const b2 = await pump.push([rejected]);
    const up = find<Histogram>(b2, 'tyk.upstream.request.duration', { 'http.response.status_code': 401 });
    assert.equal(up?.value.count, 1);
    assert.equal(up?.value.buckets.counts[0], 1);
    await pump.close();
  });

  it('observes request body sizes when Content-Length is known', async () => {
    const h = harness();
    const b = await h.push([httpRecord({ contentLength: -1 }), httpRecord({ contentLength: 0 }), httpRecord({ contentLength: 300 }), httpRecord({ contentLength: 5_000_000 })]);
    const dp = find<Histogram>(b, 'http.server.request.body.size', {});
    assert.equal(metric(b, 'http.server.request.body.size')?.descriptor.unit, 'By');
    assert.equal(dp?.value.count, 3);
    assert.equal(dp?.value.sum, 5_000_300);
    assert.deepEqual(dp?.value.buckets.counts, [1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
    await h.close();
  });

  it('carries the configured attributes: methods normalised, route only when set, optional ones opt-in', async () => {
    const h = harness({ attributes: ['http.request.method', 'http.route', 'error.type', 'tyk.api.id', 'tyk.api.version', 'tyk.oauth.client_id', 'tyk.key.alias'] });
    const b = await h.push([
      httpRecord({ method: 'PURGE', route: '/orders/{id}', oauthId: 'client-1', alias: 'alice' }),
      httpRecord({ method: 'BREW', route: '/orders/{id}', oauthId: 'client-1', alias: 'alice' }),
      httpRecord({ method: 'get', route: '' }),
      httpRecord({ method: 'QUERY', route: '', responseCode: 503 }),
    ]);
    const pts = points<number>(b, 'tyk.api.requests');
    assert.equal(pts.length, 3, 'PURGE and BREW share the _OTHER series');
    const other = pts.find((p) => p.attributes['http.route'] === '/orders/{id}');
    assert.deepEqual(other?.attributes, {
      'http.request.method': '_OTHER', 'http.route': '/orders/{id}', 'tyk.api.id': 'orders-api', 'tyk.api.version': 'v1', 'tyk.oauth.client_id': 'client-1', 'tyk.key.alias': 'alice',
    });
    assert.equal(other?.value, 2);
    const lower = pts.find((p) => p.attributes['http.route'] === undefined && p.attributes['error.type'] === undefined);
    assert.deepEqual(lower?.attributes, { 'http.request.method': '_OTHER', 'tyk.api.id': 'orders-api', 'tyk.api.version': 'v1' });
    // Without the status code attribute, bad requests still differ (error.type carries their code).
    const bad = pts.find((p) => p.attributes['error.type'] === '503');
    assert.equal(bad?.attributes['http.request.method'], 'QUERY');
    await h.close();
  });

  it('stamps data points with record time, each delta starting where the previous one ended', async () => {
    let now = T0 + 3_600_000;
    const h = harness({}, { now: () => now });
    const b1 = await h.push([httpRecord({ timestampMs: T0 + 2000 }), httpRecord({ timestampMs: T0 + 1000 }), httpRecord({ timestampMs: T0 + 5000 })]);
    const p1 = find<number>(b1, 'tyk.api.requests', {});
    assert.deepEqual(p1?.startTime, [Math.floor((T0 + 1000) / 1000), 0]);
    assert.deepEqual(p1?.endTime, [Math.floor((T0 + 5000) / 1000), 0]);
    const b2 = await h.push([httpRecord({ timestampMs: T0 + 7250 }), httpRecord({ timestampMs: null })]);
    const p2 = find<number>(b2, 'tyk.api.requests', {});
    assert.deepEqual(p2?.startTime, p1?.endTime, 'contiguous with the previous delta');
    assert.deepEqual(p2?.endTime, [Math.floor(now / 1000), 0], 'a record without a timestamp counts as now');
    now += 1000;
    const b3 = await h.push([httpRecord({ timestampMs: now + 86_400_000 })]);
    assert.deepEqual(find<number>(b3, 'tyk.api.requests', {})?.endTime, [Math.floor(now / 1000), 0], 'never after now');
    await h.close();
  });
});

describe('sli processor: network and uptime records', () => {
  it('turns network-stats records into connection and byte counters, never HTTP requests', async () => {
    const h = harness();
    const b = await h.push([networkRecord(), networkRecord({ network: { openConnections: 1, closedConnections: 4, bytesIn: 10, bytesOut: 20 } })]);
    assert.equal(metric(b, 'tyk.api.requests'), undefined);
    assert.equal(metric(b, 'http.server.request.duration'), undefined);
    assert.equal(find<number>(b, 'tyk.network.connections.opened', { 'tyk.api.id': 'tcp-echo-api' })?.value, 4);
    assert.equal(find<number>(b, 'tyk.network.connections.closed', { 'tyk.api.id': 'tcp-echo-api' })?.value, 5);
    assert.equal(find<number>(b, 'tyk.network.io', { 'network.io.direction': 'receive' })?.value, 1010);
    assert.equal(find<number>(b, 'tyk.network.io', { 'network.io.direction': 'transmit' })?.value, 2020);
    assert.deepEqual(find<number>(b, 'tyk.network.io', { 'network.io.direction': 'receive' })?.attributes, {
      'tyk.api.id': 'tcp-echo-api', 'tyk.api.name': 'TCP echo', 'tyk.org.id': 'org-1', 'network.io.direction': 'receive',
    });
    await h.close();
  });

  it('turns uptime records into a check duration histogram and up/down check counters', async () => {
    const h = harness();
    const b = await h.push([
      uptimeRecord({ requestTime: 12 }),
      uptimeRecord({ requestTime: 30 }),
      uptimeRecord({ responseCode: 521, tcpError: true, requestTime: 5000 }),
      uptimeRecord({ url: 'https://user:pa55@api.internal/health', serverError: true, responseCode: 503 }),
    ]);
    const up = find<number>(b, 'tyk.uptime.checks', { 'tyk.uptime.status': 'up' });
    assert.equal(up?.value, 2);
    assert.deepEqual(up?.attributes, {
      'tyk.api.id': 'orders-api', 'tyk.org.id': 'org-1', 'url.full': 'http://upstream.internal:8080/health', 'http.response.status_code': 200, 'tyk.uptime.status': 'up',
    });
    assert.equal(find<number>(b, 'tyk.uptime.checks', { 'tyk.uptime.status': 'down', 'http.response.status_code': 521 })?.value, 1);
    const redacted = find<number>(b, 'tyk.uptime.checks', { 'http.response.status_code': 503 });
    assert.equal(redacted?.attributes['url.full'], 'https://REDACTED:REDACTED@api.internal/health');
    const dur = find<Histogram>(b, 'tyk.uptime.check.duration', { 'tyk.uptime.status': 'up' });
    assert.deepEqual(dur?.value.buckets.counts, expectedCounts([0.012, 0.03]));
    assert.equal(metric(b, 'tyk.api.requests'), undefined);
    await h.close();
  });
});

describe('sli processor: cardinality', () => {
  it('caps series per metric, folding the rest into otel.metric.overflow (bad ones with error.type=_OTHER)', async () => {
    const h = harness({ cardinality_limit: 5 });
    const records = [];
    for (let i = 0; i < 20; i++) records.push(httpRecord({ apiId: `api-${i}`, responseCode: i % 4 === 0 ? 500 : 200 }));
    const b = await h.push(records);
    const pts = points<number>(b, 'tyk.api.requests');
    assert.equal(pts.length, 5, 'at most cardinality_limit series, overflow included');
    assert.equal(pts.reduce((a, p) => a + p.value, 0), 20, 'nothing lost');
    const over = pts.filter((p) => p.attributes['otel.metric.overflow'] === true);
    assert.equal(over.length, 2);
    const overBad = over.find((p) => p.attributes['error.type'] === '_OTHER');
    const badRegular = pts.filter((p) => p.attributes['error.type'] === '500').reduce((a, p) => a + p.value, 0);
    assert.equal((overBad?.value ?? 0) + badRegular, 5, 'every bad request stays countable as bad');
    assert.equal(points<Histogram>(b, 'http.server.request.duration').length, 5);

    const text = await h.scrape();
    assert.match(text, /tyk_otel_pump_processor_sli_overflow_records_total\{[^}]*metric="http"[^}]*\} 17/);
    const warns = h.lines.filter((l) => l.level === 'warn' && String(l.msg).startsWith('cardinality limit reached'));
    assert.equal(warns.length, 1, 'logged once per burst');
    await h.push([httpRecord({ apiId: 'api-99' })]);
    assert.equal(h.lines.filter((l) => l.level === 'warn' && String(l.msg).startsWith('cardinality limit reached')).length, 1);
    await h.close();
  });

  it('expires idle series so new attribute sets get room again', async () => {
    let now = T0;
    // Limit 4: two regular series plus the two overflow series (good, bad).
    const h = harness({ cardinality_limit: 4, series_expiration: '1m' }, { now: () => now });
    await h.proc.start();
    await h.push([httpRecord({ apiId: 'a' })]);
    now += 45_000;
    const full = await h.push([httpRecord({ apiId: 'b' }), httpRecord({ apiId: 'c' })]);
    assert.equal(h.proc.seriesCount()['http'], 3, 'a, b and the overflow series');
    assert.equal(find<number>(full, 'tyk.api.requests', { 'otel.metric.overflow': true })?.value, 1, 'c went to overflow');
    now += 30_000;
    const b = await h.push([httpRecord({ apiId: 'd' })]);
    assert.equal(find<number>(b, 'tyk.api.requests', { 'tyk.api.id': 'd' })?.value, 1, 'a expired, d got its place');
    now += 45_000;
    const back = await h.push([httpRecord({ apiId: 'd' }), httpRecord({ apiId: 'a' }), httpRecord({ apiId: 'a' })]);
    assert.equal(find<number>(back, 'tyk.api.requests', { 'tyk.api.id': 'a' })?.value, 2, 'a is back as a new series (b expired)');
    assert.equal(find<number>(back, 'tyk.api.requests', { 'tyk.api.id': 'd' })?.value, 1);
    assert.equal(h.proc.seriesCount()['http'], 2);
    await h.close();
  });
});

describe('sli processor: metric selection and Tyk Pump compatibility', () => {
  it('does not emit disabled metrics', async () => {
    const h = harness({ disabled_metrics: ['tyk.upstream.request.duration', 'tyk.gateway.request.duration', 'http.server.request.body.size', 'tyk.network.io'] });
    const b = await h.push([httpRecord(), networkRecord()]);
    assert.deepEqual(b?.metrics.map((m) => m.descriptor.name).sort(), [
      'http.server.request.duration', 'tyk.api.requests', 'tyk.network.connections.closed', 'tyk.network.connections.opened',
    ]);
    await h.close();
  });

  it('emits Tyk Pump families with its names, labels and ms buckets, "unknown" paths and no network records', async () => {
    const h = harness({ tyk_compatible: { enabled: true, latency_buckets_ms: [10, 100] } });
    const b = await h.push([
      httpRecord({ path: '/orders/1', trackPath: false, apiKey: 'k1', oauthId: 'c1', requestTime: 5, latency: { total: 5, upstream: 4, gateway: 1 } }),
      httpRecord({ path: '/orders/2', trackPath: true, apiKey: 'k1', oauthId: 'c1', requestTime: 50, latency: { total: 50, upstream: 0, gateway: 50 }, responseCode: 403 }),
      networkRecord(),
    ]);
    assert.deepEqual(find<number>(b, 'tyk_http_status', { code: '200' })?.attributes, { code: '200', api: 'orders-api' });
    assert.equal(find<number>(b, 'tyk_http_status', { code: '-1' }), undefined, 'network records are not HTTP statuses');
    assert.deepEqual(
      points<number>(b, 'tyk_http_status_per_path').map((p) => p.attributes).sort((x, y) => String(x['code']).localeCompare(String(y['code']))),
      [{ code: '200', api: 'orders-api', path: 'unknown', method: 'GET' }, { code: '403', api: 'orders-api', path: '/orders/2', method: 'GET' }],
    );
    assert.deepEqual(find<number>(b, 'tyk_http_status_per_key', { code: '403' })?.attributes, { code: '403', key: 'k1' });
    assert.deepEqual(find<number>(b, 'tyk_http_status_per_oauth_client', { code: '403' })?.attributes, { code: '403', client_id: 'c1' });
    const total = find<Histogram>(b, 'tyk_latency', { type: 'total' });
    assert.deepEqual(total?.value.buckets.boundaries, [10, 100]);
    assert.deepEqual(total?.value.buckets.counts, [1, 1, 0]);
    assert.equal(total?.value.sum, 55);
    assert.equal(metric(b, 'tyk_latency')?.descriptor.unit, 'ms');
    assert.equal(find<Histogram>(b, 'tyk_latency', { type: 'upstream' })?.value.count, 2, 'Tyk observes rejections upstream too');
    assert.equal(find<Histogram>(b, 'tyk_latency', { type: 'gateway' })?.value.sum, 51);
    await h.close();

    const all = harness({ tyk_compatible: { enabled: true, track_all_paths: true, disabled_metrics: ['tyk_http_status_per_key'] } });
    const b2 = await all.push([httpRecord({ path: '/orders/1', trackPath: false })]);
    assert.equal(points<number>(b2, 'tyk_http_status_per_path')[0]?.attributes['path'], '/orders/1');
    assert.equal(metric(b2, 'tyk_http_status_per_key'), undefined);
    await all.close();
  });
});

describe('sli processor: lifecycle', () => {
  it('refuses batches after shutdown with a retryable error', async () => {
    const h = harness();
    await h.proc.start();
    await h.proc.shutdown();
    await h.proc.shutdown();
    const err = await tracked((c) => h.proc.consume([httpRecord()], c));
    assert.ok(err && isRetryable(err));
    await h.close();
  });
});
