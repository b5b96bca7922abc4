/**
 * The status exporter's arithmetic and bounds with a pinned clock: rates, error ratios and p95 from
 * histogram points, slots cleared when reused (so memory never grows with time), APIs beyond max_apis
 * folded into one row, names escaped, SLO gauges, and the page served over real HTTP.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { HttpServers } from '../../src/http-server.js';
import { silentLogger } from '../../src/logger.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import type { MetricsBatch } from '../../src/model.js';
import { componentContext } from '../../test/helpers/context.js';
import { statusConfigSchema } from './config.js';
import { escapeHtml, renderStatusPage } from './page.js';
import { bucketQuantile, Ring, SlotClock } from './rings.js';
import { StatusExporter } from './status.js';

const BOUNDS = [0.1, 0.25, 0.5, 1];
const NO_DEFER = { chunkId: undefined, defer: () => () => undefined };

function point(api: string, counts: number[], errorType?: string): DataPoint<Histogram> {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    startTime: [0, 0], endTime: [0, 0],
    attributes: { 'tyk.api.name': api, ...(errorType ? { 'error.type': errorType } : {}) },
    value: { buckets: { boundaries: BOUNDS, counts }, count, sum: 0 },
  };
}

function durations(points: DataPoint<Histogram>[]): MetricsBatch {
  const m: MetricData = {
    descriptor: { name: 'http.server.request.duration', description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.HISTOGRAM, dataPoints: points,
  };
  return { resource: {}, scope: 'tyk-otel-pump/sli', metrics: [m] };
}

function gauge(name: string, points: { attributes: Record<string, string>; value: number }[]): MetricData {
  return {
    descriptor: { name, description: '', unit: '1', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
    dataPoints: points.map((p) => ({ startTime: [0, 0], endTime: [0, 0], attributes: p.attributes, value: p.value })),
  };
}

function exporter(config: Record<string, unknown>, clock: { t: number }, http?: HttpServers): StatusExporter {
  const ctx = componentContext({ id: 'status', telemetry: new SelfTelemetry('t').forComponent('exporter', 'status'), ...(http ? { http } : {}) });
  return new StatusExporter(ctx, statusConfigSchema.parse({ endpoint: '127.0.0.1:0', ...config }), { now: () => clock.t });
}

describe('status exporter', () => {
  it('config: defaults, and a resolution too fine for the window is refused', () => {
    const d = statusConfigSchema.parse({});
    assert.deepEqual({ endpoint: d.endpoint, path: d.path, window: d.window, resolution: d.resolution, max_apis: d.max_apis }, { endpoint: '0.0.0.0:9464', path: '/status', window: 900_000, resolution: 30_000, max_apis: 50 });
    const r = statusConfigSchema.safeParse({ window: '1h', resolution: '1s' });
    assert.equal(r.success, false);
    assert.equal(statusConfigSchema.safeParse({ path: 'status' }).success, false);
  });

  it('bucketQuantile interpolates like histogram_quantile', () => {
    assert.equal(bucketQuantile(0.5, [1, 2], [0, 10, 0]), 1.5);
    assert.equal(bucketQuantile(0.95, [1, 2], [0, 0, 5]), 2, 'in +Inf: the highest finite boundary');
    assert.ok(Number.isNaN(bucketQuantile(0.5, [1], [0, 0])));
  });

  it('rings reuse their slots: old values are cleared, the arrays never grow', () => {
    const clock = new SlotClock(10_000, 1000);
    const ring = new Ring(clock, 'sum');
    for (let t = 0; t < 100_000; t += 500) ring.record(clock.advance(t), 1);
    assert.equal(ring.values.length, 10);
    assert.deepEqual(ring.series(true), Array(9).fill(2));
    // A long pause clears everything.
    clock.advance(1_000_000);
    assert.ok(ring.series().every((v) => Number.isNaN(v)));
  });

  it('per API: rate, error ratio and p95 over the completed slots', async () => {
    const clock = { t: 1_000_000 };
    const e = exporter({ window: '1m', resolution: '10s' }, clock);
    // Slot 1: 100 good requests of Orders (p95 in the 0.25-0.5 bucket), 10 bad.
    await e.consumeMetrics(durations([point('Orders', [50, 40, 10, 0, 0]), point('Orders', [0, 0, 0, 10, 0], '500')]), NO_DEFER);
    clock.t += 10_000;
    // Slot 2 (still filling): not shown yet.
    await e.consumeMetrics(durations([point('Orders', [1000, 0, 0, 0, 0])]), NO_DEFER);
    const v = e.view();
    assert.equal(v.apis.length, 1);
    const a = v.apis[0];
    assert.ok(a);
    assert.equal(a.name, 'Orders');
    assert.equal(a.totalRate, 11);
    assert.equal(a.totalErrorRatio, 10 / 110);
    assert.ok(a.totalP95 > 0.5 && a.totalP95 <= 1, String(a.totalP95));
    assert.equal(a.rate.length, 5, 'window / resolution - 1 completed slots');
    assert.equal(a.rate[4], 11);
  });

  it('tracks at most max_apis APIs; the rest share one row', async () => {
    const clock = { t: 0 };
    const e = exporter({ window: '1m', resolution: '10s', max_apis: 3 }, clock);
    await e.consumeMetrics(durations(Array.from({ length: 50 }, (_, i) => point(`api-${i}`, [1, 0, 0, 0, 0]))), NO_DEFER);
    clock.t += 10_000;
    const v = e.view();
    assert.equal(v.apis.length, 3);
    assert.equal(v.otherApis?.name, '(other APIs)');
    assert.equal(v.otherApis?.totalRate, 4.7);
  });

  it('SLO gauges become rows with budget, burn rates and alert state', async () => {
    const clock = { t: 0 };
    const e = exporter({}, clock);
    const name = { 'tyk.slo.name': 'orders' };
    await e.consumeMetrics({
      resource: {}, scope: 'tyk-otel-pump/slo',
      metrics: [
        gauge('tyk.slo.objective', [{ attributes: name, value: 0.99 }]),
        gauge('tyk.slo.error_budget.remaining', [{ attributes: name, value: 0.4 }]),
        gauge('tyk.slo.burn_rate', [{ attributes: { ...name, window: '1h' }, value: 14.4 }, { attributes: { ...name, window: '30d' }, value: 0.6 }]),
        gauge('tyk.slo.alert', [{ attributes: { ...name, severity: 'page' }, value: 1 }, { attributes: { ...name, severity: 'ticket' }, value: 0 }]),
      ],
    }, NO_DEFER);
    const s = e.view().slos[0];
    assert.ok(s);
    assert.equal(s.objective, 0.99);
    assert.equal(s.budgetRemaining, 0.4);
    assert.equal(s.burnRates.find((b) => b.window === '1h')?.value, 14.4);
    assert.deepEqual(s.alerts, { page: true, ticket: false });
  });

  it('escapes names everywhere; the page holds no script and no external reference', async () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
    const clock = { t: 0 };
    const e = exporter({ window: '1m', resolution: '10s' }, clock);
    const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`;
    await e.consumeMetrics(durations([point(hostile, [1, 0, 0, 0, 0])]), NO_DEFER);
    clock.t += 10_000;
    const html = renderStatusPage(e.view());
    assert.ok(html.includes(escapeHtml(hostile)));
    assert.doesNotMatch(html, /<script|<img|https?:\/\//i);
  });

  it('serves the page over HTTP with a CSP, and lets go of the route on shutdown', async () => {
    const http = new HttpServers(silentLogger());
    const clock = { t: Date.now() };
    const e = exporter({}, clock, http);
    await e.start();
    const bound = await http.bound('127.0.0.1:0');
    const r = await fetch(`http://127.0.0.1:${bound?.port}/status`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src|default-src 'none'/);
    assert.match(await r.text(), /No HTTP traffic/);
    await e.shutdown();
    await e.shutdown();
    assert.equal((await fetch(`http://127.0.0.1:${bound?.port}/status`)).status, 404);
    await http.close();
  });
});
