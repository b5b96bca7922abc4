import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { MetricsBatch } from '../model.js';
import { MetricsPacker, MetricsUnpacker, fromWire, toWire, toWireError, fromWireError } from './protocol.js';
import { isRetryable, PumpError } from '../errors.js';

const descriptor = (name: string) => ({ name, description: '', unit: 's', valueType: ValueType.DOUBLE, advice: {} });
const a1 = { route: '/a', code: 200 };
const a2 = { route: '/b', code: 503 };

function batch(): MetricsBatch {
  const hist: MetricData = {
    descriptor: descriptor('h'), aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [
      { attributes: a1, startTime: [1, 2], endTime: [3, 4], value: { count: 3, sum: 0.5, min: 0.1, max: 0.3, buckets: { boundaries: [0.1, 1], counts: [1, 2, 0] } } },
      { attributes: a2, startTime: [1, 2], endTime: [3, 5], value: { count: 1, sum: 2, min: undefined, max: undefined, buckets: { boundaries: [0.1, 1], counts: [0, 0, 1] } } },
    ],
  };
  const sum: MetricData = {
    descriptor: descriptor('c'), aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.SUM, isMonotonic: true,
    dataPoints: [{ attributes: a1, startTime: [1, 2], endTime: [3, 4], value: 7 }],
  };
  return { resource: { 'service.name': 'x' }, scope: 'tyk-otel-pump/sli', metrics: [hist, sum], verbatimNames: new Set(['c']) };
}

describe('workers protocol', () => {
  it('a metrics batch crosses in columns and comes back equal, attribute sets sent once and kept as one object', () => {
    const packer = new MetricsPacker();
    const unpacker = new MetricsUnpacker();
    const first = toWire('metrics', batch(), packer);
    assert.equal(first.transfer.length, 6, 'three buffers per metric transferred');
    const out1 = fromWire(structuredClone(first.payload, { transfer: first.transfer }), unpacker) as MetricsBatch;
    const expected = batch();
    assert.deepEqual(out1.metrics, expected.metrics);
    assert.deepEqual(out1.verbatimNames, expected.verbatimNames);
    const second = toWire('metrics', batch(), packer);
    assert.ok(second.payload.signal === 'metrics' && 'batch' in second.payload && second.payload.batch.defs.length === 0, 'known attribute sets are not sent again');
    const out2 = fromWire(structuredClone(second.payload, { transfer: second.transfer }), unpacker) as MetricsBatch;
    assert.equal(out2.metrics[0]?.dataPoints[0]?.attributes, out1.metrics[0]?.dataPoints[0]?.attributes, 'the same object for the same set');
  });

  it('a metric that does not fit the columns goes as it is', () => {
    const b = batch();
    const odd = { ...b, metrics: [{ ...b.metrics[0], dataPoints: [b.metrics[0]!.dataPoints[0]!, { ...b.metrics[0]!.dataPoints[1]!, value: { count: 1, sum: 1, buckets: { boundaries: [5], counts: [0, 1] } } }] } as MetricData] };
    const w = toWire('metrics', odd, new MetricsPacker());
    assert.ok('plain' in w.payload);
    assert.deepEqual(fromWire(w.payload, new MetricsUnpacker()), odd);
  });

  it('errors keep their retryability across threads', () => {
    assert.equal(isRetryable(fromWireError(toWireError(new PumpError('ERR_X', 'busy', { retryable: true })))), true);
    assert.equal(isRetryable(fromWireError(toWireError(new Error('bad')))), false);
  });
});
