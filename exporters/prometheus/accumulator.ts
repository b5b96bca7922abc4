/**
 * Turns incoming `MetricsBatch`es (delta sums and histograms, gauges) into cumulative state per series, read
 * by the exporter at each scrape (`collect()`) and serialized straight to the text format. Series idle for
 * `expirationMs` are removed (as the Collector's `metric_expiration`); a series that comes back restarts
 * from 0 with a new start time.
 *
 * Folding, Prometheus' way (the mechanics — series lookup, histogram state, metric data — are shared in
 * `internal/metrics/`): delta sums and histograms add up; cumulative input *replaces* the state (it is
 * already a total); a gauge keeps its latest value; a histogram whose boundaries change restarts from the
 * new point (reported as `bucket_change`); one Prometheus family spans every scope that emits the name.
 *
 * Names are translated here (see `naming.ts`), because the JS serializer adds no unit suffixes. Scope and
 * constant labels are put into each series' attributes here too (the serializer's own scope labels would
 * split one metric name into several families when two scopes emit it).
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';
import type { MetricsBatch } from '../../src/model.js';
import { metricData, type PointType } from '../../internal/metrics/data.js';
import { HistogramState, sameBoundaries } from '../../internal/metrics/histogram.js';
import { laterHrTime } from '../../internal/metrics/identity.js';
import { SeriesMap, type TrackedSeries } from '../../internal/metrics/series.js';
import { prometheusName, type NameKind } from '../../src/prometheus-naming.js';

/** Tyk Pump's Prometheus families, exposed verbatim when `verbatimNames` is on (names as in `pumps/prometheus.go`). */
export const TYK_PUMP_FAMILIES: ReadonlySet<string> = new Set([
  'tyk_http_status',
  'tyk_http_status_per_path',
  'tyk_http_status_per_key',
  'tyk_http_status_per_oauth_client',
  'tyk_latency',
]);

/** Why data was not accumulated. */
export type RejectReason = 'unsupported_type' | 'name_conflict' | 'bucket_change';

/** Accumulator options. */
export interface AccumulatorOptions {
  readonly expirationMs: number;
  readonly namespace: string;
  readonly constLabels: Readonly<Record<string, string>>;
  readonly withoutScopeInfo: boolean;
  /** Keep Tyk Pump's family names verbatim (see {@link TYK_PUMP_FAMILIES} and `MetricsBatch.verbatimNames`). */
  readonly verbatimNames: boolean;
  /** Agent clock (epoch ms). */
  readonly now: () => number;
  /** Told about data that could not be accumulated (count of data points). */
  readonly onReject?: (reason: RejectReason, points: number, metric: string) => void;
}

interface Series extends TrackedSeries {
  /** Scope and const labels merged in (label order: the series' own first). */
  readonly attributes: Attributes;
  startTime: HrTime;
  endTime: HrTime;
  value: number;
  hist: HistogramState | undefined;
}

interface Family {
  readonly promName: string;
  readonly descriptor: MetricDescriptor;
  readonly type: PointType;
  readonly isMonotonic: boolean;
  /** Series by scope × attribute set. */
  readonly series: SeriesMap<Series>;
}

function kindOf(m: MetricData): NameKind {
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic) return 'counter';
  return 'gauge';
}

/** Cumulative state of every series. */
export class CumulativeAccumulator {
  private readonly families = new Map<string, Family>();
  /** Descriptor name+unit+kind → translated name. */
  private readonly names = new Map<string, string>();
  /** Per scope: extra labels (scope + const labels) merged into each new series. */
  private readonly extraLabels = new Map<string, Attributes>();
  /** Per scope: merged attributes by source attributes object, shared by every family (one label text per series). */
  private readonly merged = new Map<string, WeakMap<Attributes, Attributes>>();
  private readonly opts: AccumulatorOptions;
  private lastExpiry = 0;
  /** Families exposed under their own names (the serializer adds no `_total` to them). */
  readonly verbatim = new Set<string>(TYK_PUMP_FAMILIES);

  constructor(opts: AccumulatorOptions) {
    this.opts = opts;
  }

  /** Adds a batch. Returns the number of data points accumulated. */
  accumulate(batch: MetricsBatch): number {
    const now = this.opts.now();
    if (now - this.lastExpiry >= this.opts.expirationMs / 4) this.expire(now);
    const extra = this.extraFor(batch.scope);
    // Without the scope label, two scopes emitting one attribute set are one series (else the scrape would
    // hold the same series twice, which Prometheus refuses as a duplicate sample): they add up into one.
    const ns = this.opts.withoutScopeInfo ? '' : batch.scope;
    let n = 0;
    for (const m of batch.metrics) {
      if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        this.opts.onReject?.('unsupported_type', m.dataPoints.length, m.descriptor.name);
        continue;
      }
      const family = this.family(m, batch.verbatimNames);
      if (family === undefined) {
        this.opts.onReject?.('name_conflict', m.dataPoints.length, m.descriptor.name);
        continue;
      }
      const cumulative = m.aggregationTemporality === AggregationTemporality.CUMULATIVE;
      for (const dp of m.dataPoints as DataPoint<number | Histogram>[]) {
        let s = family.series.lookup(dp.attributes, ns);
        if (s === undefined) {
          s = family.series.insert(dp.attributes, {
            live: true,
            lastSeen: now,
            attributes: this.mergedAttributes(batch.scope, dp.attributes, extra),
            startTime: dp.startTime,
            endTime: dp.endTime,
            value: 0,
            hist: undefined,
          }, ns);
        }
        s.lastSeen = now;
        s.endTime = laterHrTime(dp.endTime, s.endTime);
        if (family.type === DataPointType.HISTOGRAM) {
          if (!this.mergeHistogram(s, dp.value as Histogram, cumulative)) this.opts.onReject?.('bucket_change', 1, m.descriptor.name);
        } else if (family.type === DataPointType.GAUGE || cumulative) {
          s.value = dp.value as number;
        } else {
          s.value += dp.value as number;
        }
        n++;
      }
    }
    return n;
  }

  /**
   * Folds a histogram point into `s`: a delta adds up; a cumulative point is the new total; new boundaries
   * restart the series from the point (false: the caller reports it).
   */
  private mergeHistogram(s: Series, h: Histogram, cumulative: boolean): boolean {
    const cur = s.hist;
    if (cur === undefined) {
      s.hist = HistogramState.of(h);
      return true;
    }
    if (cumulative) {
      cur.restart(h);
      return true;
    }
    if (!sameBoundaries(cur.boundaries, h.buckets.boundaries)) {
      cur.restart(h);
      return false;
    }
    cur.add(h);
    return true;
  }

  /** Series attributes first (label order), then scope/const labels; a series attribute wins a clash. */
  private mergedAttributes(scope: string, attributes: Attributes, extra: Attributes): Attributes {
    let byObject = this.merged.get(scope);
    if (byObject === undefined) {
      byObject = new WeakMap();
      this.merged.set(scope, byObject);
    }
    let m = byObject.get(attributes);
    if (m === undefined) {
      m = Object.freeze({ ...attributes, ...extra, ...attributes });
      byObject.set(attributes, m);
    }
    return m;
  }

  private extraFor(scope: string): Attributes {
    let e = this.extraLabels.get(scope);
    if (e === undefined) {
      e = { ...this.opts.constLabels };
      if (!this.opts.withoutScopeInfo) e['otel.scope.name'] = scope;
      this.extraLabels.set(scope, e);
    }
    return e;
  }

  /** The family of `m`, created on first sight; undefined when its name is taken by a metric of another type. */
  private family(m: MetricData, verbatimNames: ReadonlySet<string> | undefined): Family | undefined {
    const kind = kindOf(m);
    const d = m.descriptor;
    const nameKey = `${d.name}\u0001${d.unit}\u0001${kind}`;
    let promName = this.names.get(nameKey);
    if (promName === undefined) {
      const verbatim = this.opts.verbatimNames && (TYK_PUMP_FAMILIES.has(d.name) || verbatimNames?.has(d.name) === true);
      promName = verbatim ? d.name : prometheusName(d.name, d.unit, kind, this.opts.namespace);
      if (verbatim) this.verbatim.add(promName);
      this.names.set(nameKey, promName);
    }
    let f = this.families.get(promName);
    if (f === undefined) {
      f = {
        promName,
        descriptor: { name: promName, description: d.description, unit: d.unit, valueType: d.valueType },
        type: m.dataPointType as PointType,
        isMonotonic: m.dataPointType === DataPointType.SUM && m.isMonotonic,
        series: new SeriesMap(),
      };
      this.families.set(promName, f);
    } else if (f.type !== m.dataPointType || f.isMonotonic !== (m.dataPointType === DataPointType.SUM && m.isMonotonic)) {
      return undefined;
    }
    return f;
  }

  /** Removes series not updated since `now - expiration`, and families left empty. Returns how many series. */
  expire(now = this.opts.now()): number {
    this.lastExpiry = now;
    const cutoff = now - this.opts.expirationMs;
    let n = 0;
    for (const [name, f] of this.families) {
      // A series updated exactly `expirationMs` ago is gone.
      n += f.series.expire(cutoff + 1);
      if (f.series.size === 0) this.families.delete(name);
    }
    return n;
  }

  /** Number of series held. */
  get seriesCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.series.size;
    return n;
  }

  /** The cumulative value of a counter or gauge series (tests, benchmarks): sum over series matching `match`. */
  total(promName: string, match: (a: Attributes) => boolean = () => true): number {
    const f = this.families.get(promName);
    if (!f) return 0;
    let t = 0;
    for (const s of f.series.values()) if (match(s.attributes)) t += s.hist ? s.hist.count : s.value;
    return t;
  }

  /** The current cumulative state of every family, after expiry. */
  collect(): MetricData[] {
    this.expire();
    const metrics: MetricData[] = [];
    for (const f of this.families.values()) {
      if (f.type === DataPointType.HISTOGRAM) {
        const points: DataPoint<Histogram>[] = [];
        for (const s of f.series.values()) if (s.hist) points.push({ startTime: s.startTime, endTime: s.endTime, attributes: s.attributes, value: s.hist.point() });
        metrics.push(metricData(f.type, f.descriptor, AggregationTemporality.CUMULATIVE, false, points));
      } else {
        const points: DataPoint<number>[] = [];
        for (const s of f.series.values()) points.push({ startTime: s.startTime, endTime: s.endTime, attributes: s.attributes, value: s.value });
        metrics.push(metricData(f.type, f.descriptor, AggregationTemporality.CUMULATIVE, f.isMonotonic, points));
      }
    }
    return metrics;
  }
}
