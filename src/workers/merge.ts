/**
 * Self-telemetry of several worker threads as one: the copies of a component count into the same series
 * (a receiver's `accepted_items` is the sum over its copies), while a gauge describes one copy's own state
 * (its unacked chunks, the backlog it last sampled) and keeps a `worker` attribute to tell them apart.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';

function key(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}

function addHistogram(a: Histogram, b: Histogram): Histogram {
  const same = a.buckets.boundaries.length === b.buckets.boundaries.length && a.buckets.boundaries.every((x, i) => x === b.buckets.boundaries[i]);
  if (!same) return a; // copies of one instrument share boundaries; a mismatch keeps the first copy's
  return {
    buckets: { boundaries: a.buckets.boundaries, counts: a.buckets.counts.map((c, i) => c + (b.buckets.counts[i] ?? 0)) },
    sum: (a.sum ?? 0) + (b.sum ?? 0),
    count: a.count + b.count,
    min: a.min === undefined ? b.min : b.min === undefined ? a.min : Math.min(a.min, b.min),
    max: a.max === undefined ? b.max : b.max === undefined ? a.max : Math.max(a.max, b.max),
  };
}

/** Merges the collections of several workers (index i+1 for `perWorker[i]`) into one scope. */
export function mergeWorkerMetrics(perWorker: readonly (readonly ScopeMetrics[])[]): ScopeMetrics[] {
  const byName = new Map<string, { metric: MetricData; points: Map<string, DataPoint<unknown>> }>();
  perWorker.forEach((scopes, i) => {
    for (const scope of scopes) {
      for (const m of scope.metrics) {
        let entry = byName.get(m.descriptor.name);
        if (!entry) {
          entry = { metric: m, points: new Map() };
          byName.set(m.descriptor.name, entry);
        }
        if (entry.metric.dataPointType !== m.dataPointType) continue;
        for (const dp of m.dataPoints as DataPoint<unknown>[]) {
          if (m.dataPointType === DataPointType.GAUGE) {
            const attributes = { ...dp.attributes, worker: String(i + 1) };
            entry.points.set(key(attributes), { ...dp, attributes });
            continue;
          }
          const k = key(dp.attributes);
          const prev = entry.points.get(k);
          if (!prev) entry.points.set(k, dp);
          else if (m.dataPointType === DataPointType.HISTOGRAM) entry.points.set(k, { ...prev, value: addHistogram(prev.value as Histogram, dp.value as Histogram) });
          else entry.points.set(k, { ...prev, value: (prev.value as number) + (dp.value as number) });
        }
      }
    }
  });
  if (byName.size === 0) return [];
  const metrics = [...byName.values()].map(({ metric, points }) => ({ ...metric, dataPoints: [...points.values()] }) as MetricData);
  return [{ scope: { name: 'tyk-otel-pump/workers' }, metrics }];
}
