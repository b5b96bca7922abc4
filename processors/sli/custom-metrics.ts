/**
 * Tyk Pump's Prometheus `custom_metrics` (`pumps/prometheus.go` in TykTechnologies/tyk-pump), in the
 * `sli` processor's Tyk-compatible mode. Per HTTP record and metric:
 * - the label values are `fmt.Sprint` of the record fields the labels name (`code` = `response_code`,
 *   `key` = `api_key`, `api` = `api_id`, `client_id` = `oauth_id`), in the configured order, under the
 *   configured label names; `path` is "unknown" unless `track_all_paths` or the record's `TrackPath`;
 *   `api_key`/`key` obfuscated as Tyk does when `obfuscate_api_keys`;
 * - a counter counts the record; a histogram observes its request time (ms) with a first label
 *   `type="total"` (a configured `type` label is dropped, as Tyk does), into the configured `buckets`
 *   (Tyk ignores them and uses its defaults);
 * - `mcp_only` skips records that are not MCP.
 * Differences from Tyk, by design: an unknown label or metric type is a config error (Tyk fails at run
 * time), network-stats records are not counted (they are not requests), and each metric has the
 * processor's cardinality limit.
 */
import type { Attributes } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { AnalyticsRecord } from '../../src/model.js';
import { obfuscateApiKey } from '../../src/record-fields.js';
import { formatRfc3339Nano } from '../../src/tyk-json.js';
import { descriptor, histogramData, sumData } from '../../internal/metrics/data.js';
import { BucketIndex, HistogramState } from '../../internal/metrics/histogram.js';
import { SeriesTable, seriesBase, type SeriesBase } from './aggregate.js';
import type { TykCustomLabel, TykCustomMetric } from './config.js';

const SEP = '\u0001';

/** Go's `fmt.Sprint` of a `time.Time`, in UTC: `2026-11-26 12:00:00.0377 +0000 UTC`. */
export function goTimeString(ms: number | null, ns: number): string {
  const iso = formatRfc3339Nano(ms, ns);
  if (iso === null) return '0001-01-01 00:00:00 +0000 UTC';
  return `${iso.slice(0, -1).replace('T', ' ')} +0000 UTC`;
}

/** The value of one custom-metric label for a record (the path already "unknown" where Tyk hides it). */
function labelValue(r: AnalyticsRecord, label: TykCustomLabel, path: string, obfuscate: boolean): string {
  switch (label) {
    case 'host': return r.host;
    case 'method': return r.method;
    case 'path': return path;
    case 'response_code': case 'code': return String(r.responseCode);
    case 'api_key': case 'key': return obfuscate ? obfuscateApiKey(r.apiKey) : r.apiKey;
    case 'time_stamp': return goTimeString(r.timestampMs, r.timestampNs);
    case 'api_version': return r.apiVersion;
    case 'api_name': return r.apiName;
    case 'api_id': case 'api': return r.apiId;
    case 'org_id': return r.orgId;
    case 'oauth_id': case 'client_id': return r.oauthId;
    case 'request_time': return String(r.requestTime);
    case 'latency_total': return String(r.latency.total);
    case 'latency_upstream': return String(r.latency.upstream);
    case 'latency_gateway': return String(r.latency.gateway);
    case 'ip_address': return r.ipAddress;
    case 'alias': return r.alias;
    case 'mcp_method': return r.mcpStats.jsonRpcMethod;
    case 'mcp_primitive_type': return r.mcpStats.primitiveType;
    case 'mcp_primitive_name': return r.mcpStats.primitiveName;
  }
}

interface CustomSeries extends SeriesBase {
  count: number;
  readonly hist: HistogramState | undefined;
}

/** One configured custom metric. */
class CustomMetric {
  readonly table: SeriesTable<CustomSeries>;
  private readonly labels: readonly TykCustomLabel[];
  private readonly idx: BucketIndex | undefined;

  constructor(readonly config: TykCustomMetric, limit: number) {
    const histogram = config.metric_type === 'histogram';
    this.labels = config.labels.filter((l): l is TykCustomLabel => l !== 'type');
    const idx = histogram ? new BucketIndex(config.buckets, 1) : undefined;
    this.idx = idx;
    this.table = new SeriesTable<CustomSeries>(config.name, limit, (key, attributes) => ({
      ...seriesBase(key, attributes), count: 0, hist: idx ? new HistogramState(idx.boundaries) : undefined,
    }), false);
  }

  observe(r: AnalyticsRecord, path: string, ts: number, now: number): void {
    if (this.config.mcp_only && !r.mcpStats.isMCP) return;
    const obfuscate = this.config.obfuscate_api_keys;
    const labels = this.labels;
    let key = '';
    for (let i = 0; i < labels.length; i++) key += (i === 0 ? '' : SEP) + labelValue(r, labels[i] as TykCustomLabel, path, obfuscate);
    const table = this.table;
    const s = table.map.get(key) ?? table.add(key, () => this.attributes(r, path), false);
    table.touch(s, ts, now);
    if (s.hist !== undefined && this.idx !== undefined) {
      const v = r.requestTime > 0 ? r.requestTime : 0;
      s.hist.observe(this.idx.indexOf(v), v);
    } else {
      s.count++;
    }
  }

  /** Label names and values in Tyk's order (`type` first on a histogram). */
  private attributes(r: AnalyticsRecord, path: string): Attributes {
    const a: Attributes = {};
    if (this.idx !== undefined) a['type'] = 'total';
    for (const l of this.labels) a[l] = labelValue(r, l, path, this.config.obfuscate_api_keys);
    return a;
  }

  emit(out: MetricData[], now: number): void {
    const table = this.table;
    if (table.dirty.length === 0) return;
    const c = this.config;
    const d = descriptor(c.name, c.help !== '' ? c.help : (c.description ?? ''), '', this.idx ? ValueType.DOUBLE : ValueType.INT);
    if (this.idx !== undefined) {
      const points: DataPoint<Histogram>[] = [];
      for (const s of table.dirty) points.push({ ...table.interval(s, now), attributes: s.attributes, value: (s.hist as HistogramState).take() });
      out.push(histogramData(d, AggregationTemporality.DELTA, points));
    } else {
      const points: DataPoint<number>[] = [];
      for (const s of table.dirty) {
        points.push({ ...table.interval(s, now), attributes: s.attributes, value: s.count });
        s.count = 0;
      }
      out.push(sumData(d, AggregationTemporality.DELTA, true, points));
    }
    table.dirty.length = 0;
  }
}

/** The custom metrics of one `sli` processor. */
export class CustomMetrics {
  private readonly metrics: readonly CustomMetric[];
  /** Every table, for expiry, overflow reports and series counts. */
  readonly tables: readonly SeriesTable<SeriesBase>[];
  /** Their names (exposed verbatim by the `prometheus` exporter, as Tyk does). */
  readonly names: ReadonlySet<string>;

  constructor(configs: readonly TykCustomMetric[], private readonly trackAllPaths: boolean, limit: number) {
    this.metrics = configs.map((c) => new CustomMetric(c, limit));
    this.tables = this.metrics.map((m) => m.table);
    this.names = new Set(configs.map((c) => c.name));
  }

  /** Counts one HTTP record. */
  observe(r: AnalyticsRecord, ts: number, now: number): void {
    const path = this.trackAllPaths || r.trackPath ? r.path : 'unknown';
    for (const m of this.metrics) m.observe(r, path, ts, now);
  }

  /** Appends the deltas of the batch to `out`. */
  emit(out: MetricData[], now: number): void {
    for (const m of this.metrics) m.emit(out, now);
  }
}
