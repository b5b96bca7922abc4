/**
 * The metrics accumulator: folds the DELTA sums/histograms and gauge values of incoming `MetricsBatch`es
 * into one state per series, and produces `ResourceMetrics` to export.
 *
 * - cumulative (default): every export carries each live series' running total since its first point; a
 *   failed export loses nothing (the next one carries the newer total), so nothing is ever queued.
 * - delta: every export carries what changed since the last *successful* export; after a failed export
 *   its deltas are merged back (`restore`), never queued.
 * Memory is bounded by series count (`max_series`, then folding into an `otel.metric.overflow` series per
 * metric), never by time; series idle for `metric_expiration` are forgotten.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, type DataPoint, type MetricData, type MetricDescriptor, type ResourceMetrics, type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricsBatch } from '../../src/model.js';
import { attributesKey, compareHrTime, sameBoundaries } from '../../src/metric-state.js';
import type { ResourceCache } from './encode.js';

/** Why an incoming data point was not accumulated. */
export type MetricRefusal = 'unsupported_metric_type' | 'unsupported_temporality' | 'type_conflict';

interface Series {
  readonly kind: DataPointType;
  readonly attributes: Attributes;
  startTime: HrTime;
  endTime: HrTime;
  /** Wall-clock ms of the last update (for expiry). */
  touchedAt: number;
  /** Changed since the last successful export (delta mode) / ever set (gauges). */
  dirty: boolean;
  value: number;
  // Histograms only.
  boundaries: number[];
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
  hasMinMax: boolean;
}

interface Stream {
  readonly resource: Resource;
  readonly resourceKey: string;
  readonly scope: string;
  readonly descriptor: MetricDescriptor;
  readonly type: DataPointType;
  readonly isMonotonic: boolean;
  readonly series: Map<string, Series>;
}

/** What an export took from delta state, to merge back if the export fails. */
export interface DeltaSnapshot {
  readonly entries: readonly { series: Series; copy: Series }[];
}

/** One export's worth of data. */
export interface Collected {
  /** One per resource. */
  readonly resourceMetrics: readonly ResourceMetrics[];
  /** Data points per entry of `resourceMetrics`. */
  readonly points: readonly number[];
  /** Delta mode: per entry of `resourceMetrics`, what to give back if sending it fails. */
  readonly snapshots: readonly DeltaSnapshot[] | undefined;
}

const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRS: Attributes = Object.freeze({ 'otel.metric.overflow': true });

function newSeries(kind: DataPointType, attributes: Attributes, startTime: HrTime, endTime: HrTime, now: number): Series {
  return {
    kind, attributes, startTime, endTime, touchedAt: now, dirty: false, value: 0,
    boundaries: [], counts: [], sum: 0, count: 0, min: Infinity, max: -Infinity, hasMinMax: false,
  };
}

function resetValues(s: Series): void {
  s.value = 0;
  s.counts.fill(0);
  s.sum = 0;
  s.count = 0;
  s.min = Infinity;
  s.max = -Infinity;
  s.hasMinMax = false;
}

/** Series state of every metric received, bounded by `maxSeries`. */
export class MetricsAccumulator {
  private readonly streams = new Map<string, Stream>();
  private seriesCount = 0;
  private readonly resourceKeys = new WeakMap<object, string>();

  constructor(
    private readonly options: {
      readonly temporality: 'cumulative' | 'delta';
      readonly maxSeries: number;
      readonly expirationMs: number;
      readonly resources: ResourceCache;
      /** Called for points not accumulated (counted by the exporter). */
      readonly onRefused: (points: number, reason: MetricRefusal, metric: string) => void;
      /** Called when new series were folded into the overflow series. */
      readonly onOverflow: (metric: string) => void;
    },
  ) {}

  /** Series currently held (for tests and health). */
  get series(): number {
    return this.seriesCount;
  }

  /** Folds a batch in. Returns the number of data points accumulated. */
  add(batch: MetricsBatch, now = Date.now()): number {
    const { resources } = this.options;
    let rkey = this.resourceKeys.get(batch.resource);
    if (rkey === undefined) {
      rkey = attributesKey(resources.merged(batch.resource) as Attributes);
      this.resourceKeys.set(batch.resource, rkey);
    }
    let accepted = 0;
    for (const m of batch.metrics) {
      const name = m.descriptor.name;
      if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        this.options.onRefused(m.dataPoints.length, 'unsupported_metric_type', name);
        continue;
      }
      if (m.dataPointType !== DataPointType.GAUGE && m.aggregationTemporality !== AggregationTemporality.DELTA) {
        this.options.onRefused(m.dataPoints.length, 'unsupported_temporality', name);
        continue;
      }
      const skey = `${rkey}\u0000${batch.scope}\u0000${name}`;
      let stream = this.streams.get(skey);
      if (!stream) {
        stream = {
          resource: resources.resource(batch.resource), resourceKey: rkey, scope: batch.scope, descriptor: m.descriptor,
          type: m.dataPointType, isMonotonic: m.dataPointType === DataPointType.SUM ? m.isMonotonic : false, series: new Map(),
        };
        this.streams.set(skey, stream);
      } else if (stream.type !== m.dataPointType) {
        this.options.onRefused(m.dataPoints.length, 'type_conflict', name);
        continue;
      }
      for (const p of m.dataPoints) {
        const s = this.seriesFor(stream, p.attributes, p.startTime, p.endTime, now);
        if (m.dataPointType === DataPointType.HISTOGRAM) {
          this.mergeHistogram(s, p.value as { buckets: { boundaries: number[]; counts: number[] }; sum?: number; count: number; min?: number; max?: number });
        } else if (m.dataPointType === DataPointType.SUM) {
          s.value += p.value as number;
        } else {
          // Gauge: the latest value by its own time wins.
          if (s.dirty && compareHrTime(p.endTime, s.endTime) < 0) continue;
          s.value = p.value as number;
          s.startTime = p.startTime;
        }
        if (!s.dirty && m.dataPointType !== DataPointType.GAUGE && this.options.temporality === 'delta') s.startTime = p.startTime;
        else if (compareHrTime(p.startTime, s.startTime) < 0 && m.dataPointType !== DataPointType.GAUGE) s.startTime = p.startTime;
        if (compareHrTime(p.endTime, s.endTime) > 0 || !s.dirty) s.endTime = p.endTime;
        s.touchedAt = now;
        s.dirty = true;
        accepted++;
      }
    }
    return accepted;
  }

  private seriesFor(stream: Stream, attributes: Attributes, start: HrTime, end: HrTime, now: number): Series {
    const key = attributesKey(attributes);
    let s = stream.series.get(key);
    if (s) return s;
    if (this.seriesCount >= this.options.maxSeries) {
      s = stream.series.get(OVERFLOW_KEY);
      if (s) return s;
      this.options.onOverflow(stream.descriptor.name);
      s = newSeries(stream.type, OVERFLOW_ATTRS, start, end, now);
      stream.series.set(OVERFLOW_KEY, s);
      return s;
    }
    s = newSeries(stream.type, attributes, start, end, now);
    stream.series.set(key, s);
    this.seriesCount++;
    return s;
  }

  private mergeHistogram(s: Series, h: { buckets: { boundaries: number[]; counts: number[] }; sum?: number; count: number; min?: number; max?: number }): void {
    if (!sameBoundaries(s.boundaries, h.buckets.boundaries)) {
      // New boundaries: the old state cannot be merged, start over (a reset).
      s.boundaries = [...h.buckets.boundaries];
      s.counts = new Array<number>(h.buckets.counts.length).fill(0);
      resetValues(s);
    }
    const c = h.buckets.counts;
    for (let i = 0; i < c.length; i++) s.counts[i] = (s.counts[i] ?? 0) + (c[i] ?? 0);
    s.sum += h.sum ?? 0;
    s.count += h.count;
    if (h.min !== undefined && h.max !== undefined && h.count > 0) {
      s.min = Math.min(s.min, h.min);
      s.max = Math.max(s.max, h.max);
      s.hasMinMax = true;
    }
  }

  /**
   * The data to export now. Cumulative: every live series. Delta: series changed since the last successful
   * export, which are reset (give them back with `restore` if the export fails).
   */
  collect(now = Date.now()): Collected {
    const delta = this.options.temporality === 'delta';
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const byResource = new Map<string, { resource: Resource; scopes: Map<string, MetricData[]>; points: number; taken: { series: Series; copy: Series }[] }>();
    for (const [skey, stream] of this.streams) {
      const points: DataPoint<unknown>[] = [];
      const taken: { series: Series; copy: Series }[] = [];
      for (const [key, s] of stream.series) {
        if (now - s.touchedAt > this.options.expirationMs && !(delta && s.dirty)) {
          stream.series.delete(key);
          if (key !== OVERFLOW_KEY) this.seriesCount--;
          continue;
        }
        if (!s.dirty) continue;
        if (stream.type === DataPointType.HISTOGRAM) {
          points.push({
            attributes: s.attributes, startTime: s.startTime, endTime: s.endTime,
            value: {
              buckets: { boundaries: s.boundaries.slice(), counts: s.counts.slice() }, sum: s.sum, count: s.count,
              min: s.hasMinMax ? s.min : undefined, max: s.hasMinMax ? s.max : undefined,
            },
          });
        } else {
          points.push({ attributes: s.attributes, startTime: s.startTime, endTime: s.endTime, value: s.value });
        }
        if (delta) {
          taken.push({ series: s, copy: { ...s, counts: s.counts.slice(), boundaries: s.boundaries } });
          resetValues(s);
          s.dirty = false;
        }
      }
      if (stream.series.size === 0) {
        this.streams.delete(skey);
        continue;
      }
      if (points.length === 0) continue;
      let r = byResource.get(stream.resourceKey);
      if (!r) {
        r = { resource: stream.resource, scopes: new Map(), points: 0, taken: [] };
        byResource.set(stream.resourceKey, r);
      }
      let list = r.scopes.get(stream.scope);
      if (!list) {
        list = [];
        r.scopes.set(stream.scope, list);
      }
      r.points += points.length;
      for (const t of taken) r.taken.push(t);
      const base = { descriptor: stream.descriptor, aggregationTemporality: temporality };
      if (stream.type === DataPointType.SUM) list.push({ ...base, dataPointType: DataPointType.SUM, isMonotonic: stream.isMonotonic, dataPoints: points } as MetricData);
      else if (stream.type === DataPointType.HISTOGRAM) list.push({ ...base, dataPointType: DataPointType.HISTOGRAM, dataPoints: points } as MetricData);
      else list.push({ ...base, dataPointType: DataPointType.GAUGE, dataPoints: points } as MetricData);
    }
    const resourceMetrics: ResourceMetrics[] = [];
    const counts: number[] = [];
    const snapshots: DeltaSnapshot[] = [];
    for (const r of byResource.values()) {
      snapshots.push({ entries: r.taken });
      const scopeMetrics: ScopeMetrics[] = [];
      for (const [scope, metrics] of r.scopes) scopeMetrics.push({ scope: this.options.resources.scope(scope), metrics });
      resourceMetrics.push({ resource: r.resource, scopeMetrics });
      counts.push(r.points);
    }
    return { resourceMetrics, points: counts, snapshots: delta ? snapshots : undefined };
  }

  /** Delta mode: merges what a failed export took back into the state, so the next export carries it. */
  restore(snapshot: DeltaSnapshot): void {
    for (const { series: s, copy } of snapshot.entries) {
      if (!s.dirty) {
        s.value = copy.value;
        s.boundaries = copy.boundaries;
        s.counts = copy.counts;
        s.sum = copy.sum;
        s.count = copy.count;
        s.min = copy.min;
        s.max = copy.max;
        s.hasMinMax = copy.hasMinMax;
        s.startTime = copy.startTime;
        s.endTime = copy.endTime;
        s.dirty = true;
        continue;
      }
      // New data arrived meanwhile: add the old delta to it; the window now starts at the old start.
      // (A gauge keeps its newer value.)
      if (s.kind === DataPointType.SUM) s.value += copy.value;
      else if (s.kind === DataPointType.HISTOGRAM && sameBoundaries(s.boundaries, copy.boundaries)) {
        for (let i = 0; i < copy.counts.length; i++) s.counts[i] = (s.counts[i] ?? 0) + (copy.counts[i] ?? 0);
        s.sum += copy.sum;
        s.count += copy.count;
        if (copy.hasMinMax) {
          s.min = Math.min(s.min, copy.min);
          s.max = Math.max(s.max, copy.max);
          s.hasMinMax = true;
        }
      }
      if (s.kind !== DataPointType.GAUGE && compareHrTime(copy.startTime, s.startTime) < 0) s.startTime = copy.startTime;
    }
  }
}
