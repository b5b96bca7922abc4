/**
 * Turns incoming `MetricsBatch`es (delta sums and histograms, gauges) into cumulative state per series and
 * offers it as an OTel SDK `MetricProducer`, so the SDK's `PrometheusExporter` reader and
 * `PrometheusSerializer` do the exposition. Series idle for `expirationMs` are removed (as the Collector's
 * `metric_expiration`); a series that comes back restarts from 0 with a new start time.
 *
 * Names are translated here (see `naming.ts`), because the JS serializer adds no unit suffixes. Scope and
 * constant labels are put into each series' attributes here too (the serializer's own scope labels would
 * split one metric name into several families when two scopes emit it).
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import type { MetricsBatch } from '../../src/model.js';
import { attributesKey, compareHrTime, sameBoundaries } from '../../src/metric-state.js';
import { prometheusName, type NameKind } from './naming.js';

/** Tyk Pump's Prometheus families, exposed verbatim when `verbatimNames` is on (names as in `pumps/prometheus.go`). */
export const TYK_PUMP_FAMILIES: ReadonlySet<string> = new Set([
  'tyk_http_status',
  'tyk_http_status_per_path',
  'tyk_http_status_per_key',
  'tyk_http_status_per_oauth_client',
  'tyk_latency',
]);

/** Scope name of the collected metrics (not shown: scope labels are per series, see `extraFor`). */
export const COLLECT_SCOPE = 'tyk-otel-pump';

/** Why data was not accumulated. */
export type RejectReason = 'unsupported_type' | 'name_conflict' | 'bucket_change';

/** Accumulator options. */
export interface AccumulatorOptions {
  readonly expirationMs: number;
  readonly namespace: string;
  readonly constLabels: Readonly<Record<string, string>>;
  readonly withoutScopeInfo: boolean;
  /** Keep Tyk Pump's family names verbatim (see {@link TYK_PUMP_FAMILIES}). */
  readonly verbatimNames: boolean;
  /** Agent clock (epoch ms). */
  readonly now: () => number;
  /** Told about data that could not be accumulated (count of data points). */
  readonly onReject?: (reason: RejectReason, points: number, metric: string) => void;
}

interface HistState {
  boundaries: number[];
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

interface Series {
  readonly key: string;
  readonly scope: string;
  /** False once expired (a stale `byAttributes` entry then falls back to the key lookup). */
  live: boolean;
  readonly attributes: Attributes;
  startTime: HrTime;
  endTime: HrTime;
  /** Agent clock (ms) of the last update. */
  updated: number;
  value: number;
  hist: HistState | undefined;
}

interface Family {
  readonly promName: string;
  readonly descriptor: MetricDescriptor;
  readonly type: DataPointType.SUM | DataPointType.GAUGE | DataPointType.HISTOGRAM;
  readonly isMonotonic: boolean;
  readonly series: Map<string, Series>;
  /**
   * Series by the producer's attributes object: the sli processor reuses one frozen object per series,
   * so most data points find their series without building and hashing a key string.
   */
  readonly byAttributes: WeakMap<Attributes, Series>;
}

function later(a: HrTime, b: HrTime): HrTime {
  return compareHrTime(a, b) >= 0 ? a : b;
}

function kindOf(m: MetricData): NameKind {
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic) return 'counter';
  return 'gauge';
}

/** Cumulative state of every series, offered to the SDK as a `MetricProducer`. */
export class CumulativeAccumulator implements MetricProducer {
  private readonly families = new Map<string, Family>();
  /** Descriptor name+unit+kind → translated name. */
  private readonly names = new Map<string, string>();
  /** Per scope: extra labels (scope + const labels) merged into each new series. */
  private readonly extraLabels = new Map<string, Attributes>();
  /** Per scope: merged attributes by source attributes object, shared by every family (one label text per series). */
  private readonly merged = new Map<string, WeakMap<Attributes, Attributes>>();
  private readonly opts: AccumulatorOptions;
  private lastExpiry = 0;

  constructor(opts: AccumulatorOptions) {
    this.opts = opts;
  }

  /** Adds a batch. Returns the number of data points accumulated. */
  accumulate(batch: MetricsBatch): number {
    const now = this.opts.now();
    if (now - this.lastExpiry >= this.opts.expirationMs / 4) this.expire(now);
    const extra = this.extraFor(batch.scope);
    let n = 0;
    for (const m of batch.metrics) {
      if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        this.opts.onReject?.('unsupported_type', m.dataPoints.length, m.descriptor.name);
        continue;
      }
      const family = this.family(m);
      if (family === undefined) {
        this.opts.onReject?.('name_conflict', m.dataPoints.length, m.descriptor.name);
        continue;
      }
      const cumulative = m.aggregationTemporality === AggregationTemporality.CUMULATIVE;
      for (const dp of m.dataPoints as DataPoint<number | Histogram>[]) {
        let s = family.byAttributes.get(dp.attributes);
        if (s === undefined || !s.live || s.scope !== batch.scope) {
          const key = `${batch.scope}\u0003${attributesKey(dp.attributes)}`;
          s = family.series.get(key);
          if (s === undefined) {
            s = {
              key,
              scope: batch.scope,
              live: true,
              attributes: this.mergedAttributes(batch.scope, dp.attributes, extra),
              startTime: dp.startTime,
              endTime: dp.endTime,
              updated: now,
              value: 0,
              hist: undefined,
            };
            family.series.set(key, s);
          }
          family.byAttributes.set(dp.attributes, s);
        }
        s.updated = now;
        s.endTime = later(dp.endTime, s.endTime);
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

  /** Folds a histogram point into `s`; false when its boundaries changed (the series then restarts from it). */
  private mergeHistogram(s: Series, h: Histogram, cumulative: boolean): boolean {
    const cur = s.hist;
    if (cur === undefined || cumulative || !sameBoundaries(cur.boundaries, h.buckets.boundaries)) {
      s.hist = {
        boundaries: h.buckets.boundaries,
        counts: h.buckets.counts.slice(),
        sum: h.sum ?? 0,
        count: h.count,
        min: h.min ?? Infinity,
        max: h.max ?? -Infinity,
      };
      return cur === undefined || cumulative || false;
    }
    const counts = h.buckets.counts;
    for (let i = 0; i < counts.length; i++) cur.counts[i]! += counts[i] as number;
    cur.sum += h.sum ?? 0;
    cur.count += h.count;
    if (h.min !== undefined && h.min < cur.min) cur.min = h.min;
    if (h.max !== undefined && h.max > cur.max) cur.max = h.max;
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
  private family(m: MetricData): Family | undefined {
    const kind = kindOf(m);
    const d = m.descriptor;
    const nameKey = `${d.name}\u0001${d.unit}\u0001${kind}`;
    let promName = this.names.get(nameKey);
    const verbatim = this.opts.verbatimNames && TYK_PUMP_FAMILIES.has(d.name);
    if (promName === undefined) {
      promName = verbatim ? d.name : prometheusName(d.name, d.unit, kind, this.opts.namespace);
      this.names.set(nameKey, promName);
    }
    let f = this.families.get(promName);
    if (f === undefined) {
      f = {
        promName,
        descriptor: { name: promName, description: d.description, unit: d.unit, valueType: d.valueType },
        type: m.dataPointType as Family['type'],
        isMonotonic: m.dataPointType === DataPointType.SUM && m.isMonotonic,
        series: new Map(),
        byAttributes: new WeakMap(),
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
      for (const [key, s] of f.series) {
        if (s.updated <= cutoff) {
          s.live = false;
          f.series.delete(key);
          n++;
        }
      }
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

  /** MetricProducer: the current cumulative state, after expiry. */
  async collect(): Promise<CollectionResult> {
    this.expire();
    const metrics: MetricData[] = [];
    for (const f of this.families.values()) metrics.push(this.metricData(f));
    const scopeMetrics: ScopeMetrics[] = [{ scope: { name: COLLECT_SCOPE }, metrics }];
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics }, errors: [] };
  }

  private metricData(f: Family): MetricData {
    const base = { descriptor: f.descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
    if (f.type === DataPointType.HISTOGRAM) {
      const dataPoints: DataPoint<Histogram>[] = [];
      for (const s of f.series.values()) {
        const h = s.hist;
        if (!h) continue;
        dataPoints.push({
          startTime: s.startTime,
          endTime: s.endTime,
          attributes: s.attributes,
          value: {
            buckets: { boundaries: h.boundaries, counts: h.counts },
            sum: h.sum,
            count: h.count,
            ...(h.count > 0 && Number.isFinite(h.min) ? { min: h.min, max: h.max } : {}),
          },
        });
      }
      return { ...base, dataPointType: DataPointType.HISTOGRAM, dataPoints };
    }
    const dataPoints: DataPoint<number>[] = [];
    for (const s of f.series.values()) dataPoints.push({ startTime: s.startTime, endTime: s.endTime, attributes: s.attributes, value: s.value });
    if (f.type === DataPointType.SUM) return { ...base, dataPointType: DataPointType.SUM, dataPoints, isMonotonic: f.isMonotonic };
    return { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
  }
}
