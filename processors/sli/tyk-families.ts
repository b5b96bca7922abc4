/**
 * Tyk Pump's Prometheus families, under their exact names and labels (`pumps/prometheus.go` in
 * TykTechnologies/tyk-pump), emitted when `tyk_compatible.enabled`: `tyk_http_status{code,api}`,
 * `tyk_http_status_per_path{code,api,path,method}`, `tyk_http_status_per_key{code,key}`,
 * `tyk_http_status_per_oauth_client{code,client_id}` and `tyk_latency{type,api}` (milliseconds). Minus
 * Tyk's bugs (see the README): configured buckets are honoured, network records are not requests.
 * Tyk's `custom_metrics` are in `custom-metrics.ts`.
 */
import type { Attributes } from '@opentelemetry/api';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import type { AnalyticsRecord } from '../../src/model.js';
import { BucketIndex, HistogramState } from '../../internal/metrics/histogram.js';
import { SeriesTable, seriesBase, type SeriesBase } from './aggregate.js';
import { histogramMetric, sumMetric } from './families.js';
import { CustomMetrics } from './custom-metrics.js';
import { TYK_PUMP_METRICS, type SliConfig, type TykPumpMetric } from './config.js';

/** Separator of label values inside a series key. */
const SEP = '\u0001';

/** A counter series. */
export interface CountSeries extends SeriesBase {
  value: number;
}

/** A histogram series. */
export interface HistSeries extends SeriesBase {
  readonly hist: HistogramState;
}

/** A new counter series. */
export function countSeries(key: string, attributes: Attributes): CountSeries {
  return { ...seriesBase(key, attributes), value: 0 };
}

/** The Tyk-compatible families of one `sli` processor. */
export class TykFamilies {
  /** Every table, for expiry, overflow reports and series counts. */
  readonly tables: readonly SeriesTable<SeriesBase>[];
  /** Names of every family emitted here, base and custom: Prometheus names, to be exposed verbatim. */
  readonly names: ReadonlySet<string>;
  private readonly custom: CustomMetrics;
  private readonly on: Readonly<Record<TykPumpMetric, boolean>>;
  private readonly allPaths: boolean;
  private readonly idx: BucketIndex;
  private readonly status: SeriesTable<CountSeries>;
  private readonly path: SeriesTable<CountSeries>;
  private readonly key: SeriesTable<CountSeries>;
  private readonly client: SeriesTable<CountSeries>;
  private readonly latency: SeriesTable<HistSeries>;

  constructor(config: SliConfig['tyk_compatible'], limit: number) {
    const off = new Set<string>(config.disabled_metrics);
    this.on = {
      tyk_http_status: !off.has('tyk_http_status'),
      tyk_http_status_per_path: !off.has('tyk_http_status_per_path'),
      tyk_http_status_per_key: !off.has('tyk_http_status_per_key'),
      tyk_http_status_per_oauth_client: !off.has('tyk_http_status_per_oauth_client'),
      tyk_latency: !off.has('tyk_latency'),
    };
    this.allPaths = config.track_all_paths;
    this.idx = new BucketIndex(config.latency_buckets_ms, 1);
    this.status = new SeriesTable<CountSeries>('tyk_http_status', limit, countSeries, false);
    this.path = new SeriesTable<CountSeries>('tyk_http_status_per_path', limit, countSeries, false);
    this.key = new SeriesTable<CountSeries>('tyk_http_status_per_key', limit, countSeries, false);
    this.client = new SeriesTable<CountSeries>('tyk_http_status_per_oauth_client', limit, countSeries, false);
    const boundaries = this.idx.boundaries;
    this.latency = new SeriesTable<HistSeries>('tyk_latency', limit, (k, a) => ({ ...seriesBase(k, a), hist: new HistogramState(boundaries) }), false);
    this.custom = new CustomMetrics(config.custom_metrics, config.track_all_paths, limit);
    this.tables = [this.status, this.path, this.key, this.client, this.latency, ...this.custom.tables];
    this.names = new Set([...TYK_PUMP_METRICS, ...this.custom.names]);
  }

  /** Counts one HTTP record at record time `ts`, agent time `now`. */
  observe(r: AnalyticsRecord, ts: number, now: number): void {
    const code = `${r.responseCode}`;
    const on = this.on;
    if (on.tyk_http_status) count(this.status, `${code}${SEP}${r.apiId}`, ts, now, () => ({ code, api: r.apiId }));
    if (on.tyk_http_status_per_path) {
      const path = this.allPaths || r.trackPath ? r.path : 'unknown';
      count(this.path, `${code}${SEP}${r.apiId}${SEP}${path}${SEP}${r.method}`, ts, now, () => ({ code, api: r.apiId, path, method: r.method }));
    }
    if (on.tyk_http_status_per_key) count(this.key, `${code}${SEP}${r.apiKey}`, ts, now, () => ({ code, key: r.apiKey }));
    if (on.tyk_http_status_per_oauth_client) count(this.client, `${code}${SEP}${r.oauthId}`, ts, now, () => ({ code, client_id: r.oauthId }));
    if (on.tyk_latency) {
      this.observeLatency('total', r, r.requestTime, ts, now);
      this.observeLatency('upstream', r, r.latency.upstream, ts, now);
      this.observeLatency('gateway', r, r.latency.gateway, ts, now);
    }
    this.custom.observe(r, ts, now);
  }

  private observeLatency(type: string, r: AnalyticsRecord, value: number, ts: number, now: number): void {
    const table = this.latency;
    const key = `${type}${SEP}${r.apiId}`;
    const s = table.map.get(key) ?? table.add(key, () => ({ type, api: r.apiId }), false);
    table.touch(s, ts, now);
    const v = value > 0 ? value : 0;
    s.hist.observe(this.idx.indexOf(v), v);
  }

  /** Appends the deltas of the batch to `out` and resets them. */
  emit(out: MetricData[], now: number): void {
    for (const table of [this.status, this.path, this.key, this.client]) {
      if (table.dirty.length === 0) continue;
      const points: DataPoint<number>[] = [];
      for (const s of table.dirty) {
        points.push({ ...table.interval(s, now), attributes: s.attributes, value: s.value });
        s.value = 0;
      }
      table.dirty.length = 0;
      out.push(sumMetric(table.name as TykPumpMetric, points));
    }
    const lat = this.latency;
    if (lat.dirty.length > 0) {
      const points: DataPoint<Histogram>[] = [];
      for (const s of lat.dirty) points.push({ ...lat.interval(s, now), attributes: s.attributes, value: s.hist.take() });
      lat.dirty.length = 0;
      out.push(histogramMetric('tyk_latency', points));
    }
    this.custom.emit(out, now);
  }
}

/** Adds 1 to the counter series under `key` (created with `attributes()` on first sight). */
export function count(table: SeriesTable<CountSeries>, key: string, ts: number, now: number, attributes: () => Attributes): void {
  const s = table.map.get(key) ?? table.add(key, attributes, false);
  table.touch(s, ts, now);
  s.value++;
}
