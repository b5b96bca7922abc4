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
 *
 * The mechanics (series lookup, histogram state, metric data) are shared in `internal/metrics/`; the
 * folding is OTLP's own: cumulative sums and histograms are refused (we only re-aggregate deltas), a gauge
 * keeps the value latest by its own time, new histogram boundaries start the series over, and series are
 * grouped by resource × scope × name.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type MetricDescriptor, type ResourceMetrics, type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricsBatch } from '../../src/model.js';
import { metricData, type PointType } from '../../internal/metrics/data.js';
import { HistogramState, sameBoundaries } from '../../internal/metrics/histogram.js';
import { OVERFLOW_ATTRIBUTES, attributesKey, compareHrTime } from '../../internal/metrics/identity.js';
import { SeriesMap, type TrackedSeries } from '../../internal/metrics/series.js';
import type { ResourceCache } from './encode.js';

/** Why an incoming data point was not accumulated. */
export type MetricRefusal = 'unsupported_metric_type' | 'unsupported_temporality' | 'type_conflict';

interface Series extends TrackedSeries {
  readonly kind: PointType;
  readonly attributes: Attributes;
  startTime: HrTime;
  endTime: HrTime;
  /** Changed since the last successful export (delta mode) / ever set (gauges). */
  dirty: boolean;
  /** Sums and gauges. */
  value: number;
  /** Histograms: created by the first point. */
  hist: HistogramState | undefined;
}

interface Stream {
  readonly resource: Resource;
  readonly resourceKey: string;
  readonly scope: string;
  readonly descriptor: MetricDescriptor;
  readonly type: PointType;
  readonly isMonotonic: boolean;
  readonly series: SeriesMap<Series>;
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

function newSeries(kind: PointType, attributes: Attributes, startTime: HrTime, endTime: HrTime, now: number): Series {
  return { kind, attributes, startTime, endTime, lastSeen: now, live: true, dirty: false, value: 0, hist: undefined };
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
          type: m.dataPointType, isMonotonic: m.dataPointType === DataPointType.SUM ? m.isMonotonic : false, series: new SeriesMap(),
        };
        this.streams.set(skey, stream);
      } else if (stream.type !== m.dataPointType) {
        this.options.onRefused(m.dataPoints.length, 'type_conflict', name);
        continue;
      }
      for (const p of m.dataPoints) {
        const s = this.seriesFor(stream, p.attributes, p.startTime, p.endTime, now);
        if (m.dataPointType === DataPointType.HISTOGRAM) {
          this.mergeHistogram(s, p.value as Histogram);
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
        s.lastSeen = now;
        s.dirty = true;
        accepted++;
      }
    }
    return accepted;
  }

  private seriesFor(stream: Stream, attributes: Attributes, start: HrTime, end: HrTime, now: number): Series {
    const found = stream.series.lookup(attributes);
    if (found) return found;
    if (this.seriesCount >= this.options.maxSeries) {
      const before = stream.series.size;
      const o = stream.series.overflow(0, () => newSeries(stream.type, OVERFLOW_ATTRIBUTES, start, end, now));
      if (stream.series.size > before) this.options.onOverflow(stream.descriptor.name);
      return o;
    }
    this.seriesCount++;
    return stream.series.insert(attributes, newSeries(stream.type, attributes, start, end, now));
  }

  /** Folds a delta histogram point in; new boundaries cannot be merged with the old state: start over (a reset). */
  private mergeHistogram(s: Series, h: Histogram): void {
    if (s.hist === undefined) s.hist = HistogramState.of(h);
    else if (!sameBoundaries(s.hist.boundaries, h.buckets.boundaries)) s.hist.restart(h);
    else s.hist.add(h);
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
      const points: DataPoint<number>[] | DataPoint<Histogram>[] = [];
      const taken: { series: Series; copy: Series }[] = [];
      // Idle series go, except (delta) one holding data not exported yet.
      const regular = stream.series.regularSize;
      stream.series.expire(now - this.options.expirationMs, delta ? (s) => s.dirty : undefined);
      this.seriesCount -= regular - stream.series.regularSize;
      if (stream.series.size === 0) {
        this.streams.delete(skey);
        continue;
      }
      for (const s of stream.series.values()) {
        if (!s.dirty) continue;
        if (s.hist !== undefined) (points as DataPoint<Histogram>[]).push({ attributes: s.attributes, startTime: s.startTime, endTime: s.endTime, value: s.hist.point() });
        else (points as DataPoint<number>[]).push({ attributes: s.attributes, startTime: s.startTime, endTime: s.endTime, value: s.value });
        if (delta) {
          taken.push({ series: s, copy: { ...s, hist: s.hist?.clone() } });
          s.value = 0;
          s.hist?.reset();
          s.dirty = false;
        }
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
      list.push(metricData(stream.type, stream.descriptor, temporality, stream.isMonotonic, points));
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
        s.hist = copy.hist;
        s.startTime = copy.startTime;
        s.endTime = copy.endTime;
        s.dirty = true;
        continue;
      }
      // New data arrived meanwhile: add the old delta to it; the window now starts at the old start.
      // (A gauge keeps its newer value; a histogram whose boundaries changed keeps only the new data.)
      if (s.kind === DataPointType.SUM) s.value += copy.value;
      else if (s.hist !== undefined && copy.hist !== undefined && sameBoundaries(s.hist.boundaries, copy.hist.boundaries)) s.hist.addState(copy.hist);
      if (s.kind !== DataPointType.GAUGE && compareHrTime(copy.startTime, s.startTime) < 0) s.startTime = copy.startTime;
    }
  }
}
