import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Attributes } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { MetricsBatch } from '../../src/model.js';
import { HttpServers, PROMETHEUS_CONTENT_TYPE } from '../../src/http-server.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { componentContext } from '../../test/helpers/context.js';
import { tracked } from '../../test/helpers/records.js';
import { VERSION } from '../../src/version.js';
import { prometheusConfigSchema } from './config.js';
import { prometheusName } from '../../src/prometheus-naming.js';
import { PrometheusMetricsExporter } from './prometheus.js';

const T = (s: number): [number, number] => [s, 0];

function sum(name: string, unit: string, points: [Attributes, number][], opts: { monotonic?: boolean; cumulative?: boolean } = {}): MetricData {
  return {
    descriptor: { name, description: `${name} help`, unit, valueType: ValueType.INT },
    aggregationTemporality: opts.cumulative ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA,
    dataPointType: DataPointType.SUM,
    isMonotonic: opts.monotonic ?? true,
    dataPoints: points.map(([attributes, value]) => ({ startTime: T(1), endTime: T(2), attributes, value })),
  };
}

function gauge(name: string, unit: string, points: [Attributes, number][]): MetricData {
  return {
    descriptor: { name, description: `${name} help`, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points.map(([attributes, value]) => ({ startTime: T(1), endTime: T(2), attributes, value })),
  };
}

function hist(name: string, unit: string, attributes: Attributes, boundaries: number[], counts: number[], sumValue: number): MetricData {
  const value: Histogram = { buckets: { boundaries, counts }, sum: sumValue, count: counts.reduce((a, b) => a + b, 0), min: 0.001, max: 9 };
  return {
    descriptor: { name, description: `${name} help`, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.DELTA,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: T(1), endTime: T(2), attributes, value }],
  };
}

function batch(metrics: MetricData[], scope = 'tyk-otel-pump/sli'): MetricsBatch {
  return { resource: { 'service.name': 'tyk-otel-pump', 'service.instance.id': 'agent-1' }, scope, metrics };
}

function harness(over: Record<string, unknown> = {}, now: () => number = Date.now) {
  const self = new SelfTelemetry('tyk_otel_pump');
  const { logger, lines } = captureLogger('debug');
  const http = new HttpServers(logger);
  const ctx = componentContext({ id: 'prometheus', logger, telemetry: self.forComponent('exporter', 'prometheus', 'metrics'), http, instanceId: 'agent-1' });
  const exp = new PrometheusMetricsExporter(ctx, prometheusConfigSchema.parse({ endpoint: '127.0.0.1:0', ...over }), { now });
  return {
    exp,
    http,
    lines,
    selfScrape: () => self.scrape(),
    async push(m: MetricData[], scope?: string): Promise<void> {
      const err = await tracked((c) => exp.consumeMetrics(batch(m, scope), c));
      if (err) throw err;
    },
    async close() {
      await exp.shutdown();
      await http.close();
      await self.shutdown();
    },
  };
}

/** Sample lines of a scrape: `name{labels} value`, by exact series text. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('prometheus exporter: naming', () => {
  it('translates names the way the Collector does', () => {
    const cases: [string, string, 'counter' | 'gauge' | 'histogram', string][] = [
      ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
      ['tyk.upstream.request.duration', 's', 'histogram', 'tyk_upstream_request_duration_seconds'],
      ['tyk.api.requests', '{request}', 'counter', 'tyk_api_requests_total'],
      ['http.server.request.body.size', 'By', 'histogram', 'http_server_request_body_size_bytes'],
      ['tyk.network.io', 'By', 'counter', 'tyk_network_io_bytes_total'],
      ['tyk.slo.error_ratio', '1', 'gauge', 'tyk_slo_error_ratio'],
      ['tyk.slo.objective', '1', 'gauge', 'tyk_slo_objective_ratio'],
      ['tyk.slo.burn_rate', '1', 'gauge', 'tyk_slo_burn_rate_ratio'],
      ['requests.total', '1', 'counter', 'requests_total'],
      ['duration_seconds', 's', 'histogram', 'duration_seconds'],
      ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
      ['latency', 'ms', 'histogram', 'latency_milliseconds'],
      ['foo..bar__baz', '', 'gauge', 'foo_bar_baz'],
      ['2xx.count', '', 'counter', '_2xx_count_total'],
    ];
    for (const [name, unit, kind, want] of cases) assert.equal(prometheusName(name, unit, kind), want, `${name} [${unit}] ${kind}`);
    assert.equal(prometheusName('tyk.api.requests', '{request}', 'counter', 'edge'), 'edge_tyk_api_requests_total');
  });
});

describe('prometheus exporter: config', () => {
  it('defaults like the Collector and validates label names', () => {
    const c = prometheusConfigSchema.parse({});
    assert.equal(c.endpoint, '0.0.0.0:9464');
    assert.equal(c.metric_expiration, 300_000);
    assert.equal(c.tyk_compatible_names, true);
    const r = parseWithProblems(prometheusConfigSchema, { namespace: '9x', const_labels: { 'bad-label': 'x', __x: 'y' }, metric_expiration: '10ms' }, ['exporters', 'prometheus']);
    assert.deepEqual(r.problems.map((p) => p.path).sort(), [
      'exporters::prometheus::const_labels::__x',
      'exporters::prometheus::const_labels::bad-label',
      'exporters::prometheus::metric_expiration',
      'exporters::prometheus::namespace',
    ]);
  });
});

describe('prometheus exporter: accumulation', () => {
  it('sums delta counters and histograms into cumulative series, keeps last gauge values', async () => {
    const h = harness();
    const a = { 'tyk.api.id': 'a', 'http.response.status_code': 200 };
    await h.push([sum('tyk.api.requests', '{request}', [[a, 3], [{ 'tyk.api.id': 'b' }, 1]]), gauge('tyk.slo.error_ratio', '1', [[{ w: '5m' }, 0.5]])]);
    await h.push([sum('tyk.api.requests', '{request}', [[{ ...a }, 4]]), gauge('tyk.slo.error_ratio', '1', [[{ w: '5m' }, 0.25]])]);
    await h.push([hist('http.server.request.duration', 's', a, [0.1, 1], [1, 2, 0], 1.5)]);
    await h.push([hist('http.server.request.duration', 's', a, [0.1, 1], [0, 1, 3], 40)]);
    const s = samples(await h.exp.scrape());
    assert.equal(s.get('tyk_api_requests_total{tyk_api_id="a",http_response_status_code="200",otel_scope_name="tyk-otel-pump/sli"}'), 7);
    assert.equal(s.get('tyk_api_requests_total{tyk_api_id="b",otel_scope_name="tyk-otel-pump/sli"}'), 1);
    assert.equal(s.get('tyk_slo_error_ratio{w="5m",otel_scope_name="tyk-otel-pump/sli"}'), 0.25);
    const l = 'tyk_api_id="a",http_response_status_code="200",otel_scope_name="tyk-otel-pump/sli"';
    assert.equal(s.get(`http_server_request_duration_seconds_count{${l}}`), 7);
    assert.equal(s.get(`http_server_request_duration_seconds_sum{${l}}`), 41.5);
    assert.equal(s.get(`http_server_request_duration_seconds_bucket{${l},le="0.1"}`), 1);
    assert.equal(s.get(`http_server_request_duration_seconds_bucket{${l},le="1"}`), 4);
    assert.equal(s.get(`http_server_request_duration_seconds_bucket{${l},le="+Inf"}`), 7);
    assert.equal(h.exp.accumulator.total('tyk_api_requests_total'), 8);
    await h.close();
  });

  it('replaces cumulative sums instead of adding them', async () => {
    const h = harness();
    await h.push([sum('c', '', [[{}, 10]], { cumulative: true })]);
    await h.push([sum('c', '', [[{}, 12]], { cumulative: true })]);
    assert.equal(h.exp.accumulator.total('c_total'), 12);
    await h.close();
  });

  it('keeps one family per name across scopes, telling them apart by otel_scope_name', async () => {
    const h = harness();
    await h.push([sum('tyk.api.requests', '{request}', [[{ k: 'v' }, 1]])], 'tyk-otel-pump/sli');
    await h.push([sum('tyk.api.requests', '{request}', [[{ k: 'v' }, 2]])], 'tyk-otel-pump/sli/edge');
    const text = await h.exp.scrape();
    assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE tyk_api_requests_total')).length, 1);
    const s = samples(text);
    assert.equal(s.get('tyk_api_requests_total{k="v",otel_scope_name="tyk-otel-pump/sli"}'), 1);
    assert.equal(s.get('tyk_api_requests_total{k="v",otel_scope_name="tyk-otel-pump/sli/edge"}'), 2);
    assert.equal(promtool(text).status, 0);
    await h.close();
  });

  it('without_scope_info: no otel_scope_name, and two scopes emitting one series make one series, summed', async () => {
    const h = harness({ without_scope_info: true });
    await h.push([sum('tyk.api.requests', '{request}', [[{ k: 'v' }, 1]])], 'tyk-otel-pump/sli');
    await h.push([sum('tyk.api.requests', '{request}', [[{ k: 'v' }, 2]])], 'tyk-otel-pump/sli/edge');
    await h.push([hist('http.server.request.duration', 's', { k: 'v' }, [0.1, 1], [1, 0, 0], 0.05)], 'tyk-otel-pump/sli');
    await h.push([hist('http.server.request.duration', 's', { k: 'v' }, [0.1, 1], [0, 1, 0], 0.5)], 'tyk-otel-pump/sli/edge');
    const text = await h.exp.scrape();
    assert.doesNotMatch(text, /otel_scope/);
    const s = samples(text);
    assert.equal(s.get('tyk_api_requests_total{k="v"}'), 3);
    assert.equal(s.get('http_server_request_duration_seconds_count{k="v"}'), 2);
    assert.equal(s.get('http_server_request_duration_seconds_bucket{k="v",le="1"}'), 2);
    assert.equal(text.split('\n').filter((l) => l.startsWith('tyk_api_requests_total{')).length, 1, 'no duplicate series');
    assert.equal(promtool(text).status, 0, promtool(text).output);
    await h.close();
  });

  it('expires idle series after metric_expiration; a returning series restarts from 0', async () => {
    let now = 1_000_000;
    const h = harness({ metric_expiration: '1m' }, () => now);
    await h.push([sum('tyk.api.requests', '{request}', [[{ api: 'idle' }, 5], [{ api: 'busy' }, 1]])]);
    now += 40_000;
    await h.push([sum('tyk.api.requests', '{request}', [[{ api: 'busy' }, 1]])]);
    now += 30_000;
    let s = samples(await h.exp.scrape());
    assert.equal(s.get('tyk_api_requests_total{api="idle",otel_scope_name="tyk-otel-pump/sli"}'), undefined, 'idle for 70s > 1m');
    assert.equal(s.get('tyk_api_requests_total{api="busy",otel_scope_name="tyk-otel-pump/sli"}'), 2);
    await h.push([sum('tyk.api.requests', '{request}', [[{ api: 'idle' }, 1]])]);
    s = samples(await h.exp.scrape());
    assert.equal(s.get('tyk_api_requests_total{api="idle",otel_scope_name="tyk-otel-pump/sli"}'), 1, 'restarted from 0');
    now += 61_000;
    assert.equal(samples(await h.exp.scrape()).size, 1, 'only target_info left');
    assert.equal(h.exp.accumulator.seriesCount, 0);
    await h.close();
  });

  it('restarts a histogram whose boundaries changed, and refuses exponential histograms', async () => {
    const h = harness();
    await h.push([hist('d', 's', {}, [1], [1, 0], 0.5)]);
    await h.push([hist('d', 's', {}, [1, 2], [0, 1, 0], 1.5)]);
    let s = samples(await h.exp.scrape());
    assert.equal(s.get('d_seconds_count{otel_scope_name="tyk-otel-pump/sli"}'), 1);
    assert.equal(s.get('d_seconds_bucket{otel_scope_name="tyk-otel-pump/sli",le="2"}'), 1);
    await h.push([{
      descriptor: { name: 'e', description: '', unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.DELTA,
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: [{ startTime: T(1), endTime: T(2), attributes: {}, value: { count: 1, sum: 1, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] } } }],
    }]);
    s = samples(await h.exp.scrape());
    assert.ok(![...s.keys()].some((k) => k.startsWith('e_')));
    assert.match(await h.selfScrape(), /tyk_otel_pump_exporter_refused_items_total\{[^}]*reason="unsupported_type"[^}]*\} 1/);
    assert.equal(h.lines.filter((l) => l.level === 'warn').length, 1, 'one burst of warnings');
    await h.close();
  });
});

describe('prometheus exporter: exposition', () => {
  it('serves /metrics with the text 0.0.4 Content-Type, promtool-clean, with target_info', async (t) => {
    const h = harness();
    t.after(() => h.close());
    await h.exp.start();
    await h.push([
      sum('tyk.api.requests', '{request}', [[{ 'tyk.api.name': 'we"ird\\ -- näme\n', 'error.type': '500' }, 2]]),
      hist('http.server.request.duration', 's', { 'tyk.api.id': 'x' }, [0.005, 0.01], [1, 0, 0], 0.001),
      gauge('tyk.slo.objective', '1', [[{ 'tyk.slo.name': 'orders' }, 0.999]]),
    ]);
    const bound = await h.http.bound('127.0.0.1:0');
    const res = await fetch(`http://127.0.0.1:${bound?.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.ok(text.includes(`\ntarget_info{service_name="tyk-otel-pump",service_version="${VERSION}",service_instance_id="agent-1"} 1\n`), text);
    assert.match(text, /^tyk_api_requests_total\{tyk_api_name="we\\"ird\\\\ -- näme\\n",error_type="500",otel_scope_name="tyk-otel-pump\/sli"\} 2$/m);
    assert.match(text, /^# TYPE http_server_request_duration_seconds histogram$/m);
    assert.match(text, /^tyk_slo_objective_ratio\{tyk_slo_name="orders",otel_scope_name="tyk-otel-pump\/sli"\} 0.999$/m);
    const lint = promtool(text);
    assert.equal(lint.status, 0, lint.output);
    assert.equal(lint.output.trim(), '');
  });

  it('applies namespace, const_labels, resource_to_labels, without_scope_info and without_target_info', async () => {
    const h = harness({ namespace: 'edge', const_labels: { region: 'eu', k: 'const' }, resource_to_labels: ['service.instance.id'], without_scope_info: true, without_target_info: true });
    await h.push([sum('tyk.api.requests', '{request}', [[{ k: 'attr' }, 1]])]);
    const text = await h.exp.scrape();
    assert.doesNotMatch(text, /target_info/);
    assert.doesNotMatch(text, /otel_scope_name/);
    assert.equal(samples(text).get('edge_tyk_api_requests_total{k="attr",region="eu",service_instance_id="agent-1"}'), 1);
    await h.close();
  });

  it('keeps Tyk Pump family names verbatim (no _total) unless tyk_compatible_names is off', async () => {
    const tyk = [
      sum('tyk_http_status', '', [[{ code: '200', api: 'a' }, 3]]),
      sum('tyk_http_status_per_path', '', [[{ code: '200', api: 'a', path: 'unknown', method: 'GET' }, 3]]),
      hist('tyk_latency', 'ms', { type: 'total', api: 'a' }, [1, 2], [1, 1, 1], 30),
      sum('tyk.api.requests', '{request}', [[{}, 3]]),
    ];
    const h = harness({ namespace: 'ns' });
    await h.push(tyk);
    const text = await h.exp.scrape();
    const s = samples(text);
    assert.equal(s.get('tyk_http_status{code="200",api="a",otel_scope_name="tyk-otel-pump/sli"}'), 3);
    assert.equal(s.get('tyk_http_status_per_path{code="200",api="a",path="unknown",method="GET",otel_scope_name="tyk-otel-pump/sli"}'), 3);
    assert.equal(s.get('tyk_latency_count{type="total",api="a",otel_scope_name="tyk-otel-pump/sli"}'), 3);
    assert.equal(s.get('ns_tyk_api_requests_total{otel_scope_name="tyk-otel-pump/sli"}'), 3);
    assert.match(text, /^# TYPE tyk_http_status counter$/m);
    // promtool's only complaint is the missing _total Tyk Pump never had.
    const lint = promtool(text);
    assert.deepEqual(lint.output.trim().split('\n').sort(), [
      'tyk_http_status counter metrics should have "_total" suffix',
      'tyk_http_status_per_path counter metrics should have "_total" suffix',
    ]);
    await h.close();

    const plain = harness({ tyk_compatible_names: false });
    await plain.push(tyk);
    const s2 = samples(await plain.exp.scrape());
    assert.equal(s2.get('tyk_http_status_total{code="200",api="a",otel_scope_name="tyk-otel-pump/sli"}'), 3);
    assert.equal(s2.get('tyk_latency_milliseconds_count{type="total",api="a",otel_scope_name="tyk-otel-pump/sli"}'), 3);
    await plain.close();
  });

  it('releases /metrics on shutdown (idempotent) and refuses batches afterwards', async (t) => {
    const h = harness();
    t.after(() => h.close());
    await h.exp.start();
    const bound = await h.http.bound('127.0.0.1:0');
    assert.equal((await fetch(`http://127.0.0.1:${bound?.port}/metrics`)).status, 200);
    await h.exp.shutdown();
    await h.exp.shutdown();
    assert.equal((await fetch(`http://127.0.0.1:${bound?.port}/metrics`)).status, 404);
    await assert.rejects(h.exp.consumeMetrics(batch([sum('x', '', [[{}, 1]])]), { chunkId: undefined, defer: () => () => undefined }), /shutting down/);
  });
});
