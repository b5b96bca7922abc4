import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { FastPrometheusSerializer } from './serialize.js';

const times = { startTime: [1, 0] as [number, number], endTime: [2, 5] as [number, number] };

function point<T>(attributes: Attributes, value: T) {
  return { ...times, attributes, value };
}

const tricky: Attributes = {
  'tyk.api.name': 'we"ird\\ -- näme\nline',
  'http.response.status_code': 503,
  'otel.metric.overflow': true,
  'a..b--c': 'x',
  list: ['a', 'b'],
  '9lives': 'cat',
  'tyk.api.label': 'Orders — EU 📦',
};

const metrics: MetricData[] = [
  {
    descriptor: { name: 'tyk.api.requests', description: 'Requests.\nSecond line \\ done', unit: '{request}', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [point(tricky, 3), point({}, 4), point({ k: 'v' }, Infinity), point({ k: 'w' }, NaN)],
  },
  {
    descriptor: { name: 'already_total', description: '', unit: '', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [point({ k: 'v' }, 1)],
  },
  {
    descriptor: { name: 'updown', description: 'd', unit: '1', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: false,
    dataPoints: [point({ k: 'v' }, -2.5)],
  },
  {
    descriptor: { name: '2xx.ratio', description: 'g', unit: '1', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [point({ k: 'v' }, 0.1 + 0.2), point({}, -Infinity)],
  },
  {
    descriptor: { name: 'http_server_request_duration_seconds', description: 'Duration.', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [
      point(tricky, { buckets: { boundaries: [0.005, 0.01, 2.5], counts: [1, 0, 2, 3] }, sum: 12.3, count: 6, min: 0.001, max: 9 }),
      point({}, { buckets: { boundaries: [1, Infinity], counts: [1, 2, 0] }, sum: 5, count: 3 }),
      point({ k: 'nosum' }, { buckets: { boundaries: [1], counts: [0, 0] }, count: 0 }),
    ],
  },
  {
    descriptor: { name: 'empty.histogram', description: 'none yet', unit: 'By', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [],
  },
];

function rm(scopeMetrics: ResourceMetrics['scopeMetrics'], attributes: Attributes = { 'service.name': 'tyk-otel-pump', 'service.instance.id': 'i-1' }): ResourceMetrics {
  return { resource: resourceFromAttributes(attributes), scopeMetrics };
}

describe('FastPrometheusSerializer', () => {
  const cases: [string, ResourceMetrics, RegExp | undefined, boolean][] = [
    ['plain', rm([{ scope: { name: 's' }, metrics }]), undefined, false],
    ['two scopes, resource labels, no target_info', rm([{ scope: { name: 'a' }, metrics: metrics.slice(0, 2) }, { scope: { name: 'b' }, metrics: metrics.slice(2) }]), /^service\.instance\.id$/, true],
    ['nothing registered', rm([]), undefined, false],
    ['empty resource', rm([{ scope: { name: 's' }, metrics }], {}), /service/, false],
  ];
  for (const [name, input, labels, withoutTarget] of cases) {
    it(`writes exactly what the SDK's PrometheusSerializer writes: ${name}`, () => {
      const sdk = new PrometheusSerializer('', false, labels, withoutTarget, true).serialize(input);
      const fast = new FastPrometheusSerializer({ resourceLabels: labels, withoutTargetInfo: withoutTarget });
      assert.equal(fast.serialize(input), sdk);
      assert.equal(fast.serialize(input), sdk, 'again, from its label cache');
    });
    it(`writes the same bytes as chunks, in slices of 1 byte, 100 bytes and 1 MiB: ${name}`, async () => {
      const sdk = new PrometheusSerializer('', false, labels, withoutTarget, true).serialize(input);
      for (const slice of [1, 100, 1 << 20]) {
        const fast = new FastPrometheusSerializer({ resourceLabels: labels, withoutTargetInfo: withoutTarget });
        const chunks: Buffer[] = [];
        for await (const c of fast.chunks(input, { sliceBytes: slice, turnMs: 0 })) chunks.push(c);
        assert.ok(chunks.every((c) => c.length > 0), 'no empty chunk');
        assert.equal(Buffer.concat(chunks).toString('utf8'), sdk, `slice ${slice}`);
      }
    });
  }

  it('keeps names listed in keepNames without _total', () => {
    const counter = metrics[0] as MetricData;
    const m: MetricData = { ...counter, descriptor: { ...counter.descriptor, name: 'tyk_http_status' }, dataPoints: [point({ code: '200' }, 1)] } as MetricData;
    const text = new FastPrometheusSerializer({ withoutTargetInfo: true, keepNames: new Set(['tyk_http_status']) }).serialize(rm([{ scope: { name: 's' }, metrics: [m] }]));
    assert.match(text, /^# TYPE tyk_http_status counter$/m);
    assert.match(text, /^tyk_http_status\{code="200"\} 1$/m);
  });
});
