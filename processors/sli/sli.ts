/**
 * The `sli` processor: aggregates each batch of Tyk records into OTel metric data (delta temporality) and
 * hands one `MetricsBatch` per batch downstream. Aggregation is hand-rolled for speed: one string key per
 * record (the values of the configured attributes), one Map lookup, O(1) bucket lookups on the integer
 * millisecond latencies; series state is reused across batches, attribute objects are built once per series.
 *
 * Time range of a data point: from the end of the series' previous delta (or the earliest record of the
 * batch for a new series) to the latest record timestamp of the batch, capped at "now" — record time, not
 * processing time, so a backlog drained late is stamped when it happened.
 */
import type { Attributes, Counter } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type HistogramMetricData,
  type MetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, MetricsBatch, RecordBatch, ResourceAttributes, UptimeRecord } from '../../src/model.js';
import { compileErrorDefinition, type ErrorDefinition } from '../../src/error-definition.js';
import { ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { HTTP_METHOD_VALUES, httpMethodIndex, redactUrl, requestTimeMs } from '../../src/record-fields.js';
import { VERSION } from '../../src/version.js';
import { BucketIndex, HistAcc, SeriesTable, seriesBase, type SeriesBase } from './aggregate.js';
import type { SliConfig, SliMetric, TykPumpMetric } from './config.js';

/** Separator of attribute values inside a series key (cannot occur in HTTP methods, ids or numbers). */
const SEP = '\u0001';

/**
 * Lookup cache of HTTP series for the default attribute set: API id → (name, org) → route → status and
 * method as one small integer. The decoder hands out the same string object for a repeated id or name and
 * the route processor has hashed each route string already, so every level is a Map hit on a cached hash:
 * no per-record key string to build and hash. Misses (and overflow) take the string-key path.
 */
interface ApiNode {
  readonly name: string;
  readonly org: string;
  readonly routes: Map<string, Map<number, HttpSeries>>;
  /** Another node with the same API id but a different name or org. */
  next: ApiNode | undefined;
}

interface HttpSeries extends SeriesBase {
  requests: number;
  readonly duration: HistAcc;
  readonly upstream: HistAcc;
  readonly gateway: HistAcc;
  readonly body: HistAcc;
}

interface NetworkSeries extends SeriesBase {
  opened: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

interface UptimeSeries extends SeriesBase {
  checks: number;
  readonly duration: HistAcc;
}

interface CountSeries extends SeriesBase {
  value: number;
}

interface HistSeries extends SeriesBase {
  readonly hist: HistAcc;
}

/** Options for tests. */
export interface SliOptions {
  /** Agent clock in epoch ms (expiry and the "not after now" cap). */
  readonly now?: () => number;
}

const DESCRIPTIONS: Readonly<Record<SliMetric | TykPumpMetric, string>> = {
  'http.server.request.duration': 'Duration of HTTP server requests, as measured by the Tyk gateway.',
  'tyk.upstream.request.duration': 'Time the upstream took to answer, as measured by the Tyk gateway.',
  'tyk.gateway.request.duration': 'Time added by the Tyk gateway (total minus upstream).',
  'tyk.http.requests': 'HTTP requests handled by the Tyk gateway; bad ones carry error.type.',
  'http.server.request.body.size': 'Size of HTTP request bodies (Content-Length), when known.',
  'tyk.network.connections.opened': 'TCP/TLS connections opened on Tyk TCP APIs.',
  'tyk.network.connections.closed': 'TCP/TLS connections closed on Tyk TCP APIs.',
  'tyk.network.io': 'Bytes received from (receive) and sent to (transmit) clients of Tyk TCP APIs.',
  'tyk.uptime.check.duration': 'Duration of Tyk host-checker uptime checks.',
  'tyk.uptime.checks': 'Tyk host-checker uptime checks, by outcome (tyk.uptime.status up or down).',
  tyk_http_status: 'HTTP status codes per API',
  tyk_http_status_per_path: 'HTTP status codes per API path and method',
  tyk_http_status_per_key: 'HTTP status codes per API key',
  tyk_http_status_per_oauth_client: 'HTTP status codes per oAuth client id',
  tyk_latency: 'Latency added by Tyk, Total Latency, upstream latency, and gateway latency per API',
};

const UNITS: Readonly<Record<SliMetric | TykPumpMetric, string>> = {
  'http.server.request.duration': 's',
  'tyk.upstream.request.duration': 's',
  'tyk.gateway.request.duration': 's',
  'tyk.http.requests': '{request}',
  'http.server.request.body.size': 'By',
  'tyk.network.connections.opened': '{connection}',
  'tyk.network.connections.closed': '{connection}',
  'tyk.network.io': 'By',
  'tyk.uptime.check.duration': 's',
  'tyk.uptime.checks': '{check}',
  tyk_http_status: '',
  tyk_http_status_per_path: '',
  tyk_http_status_per_key: '',
  tyk_http_status_per_oauth_client: '',
  tyk_latency: 'ms',
};

function histogramMetric(name: SliMetric | TykPumpMetric, points: DataPoint<Histogram>[], valueType = ValueType.DOUBLE): HistogramMetricData {
  return {
    descriptor: { name, description: DESCRIPTIONS[name], unit: UNITS[name], valueType },
    aggregationTemporality: AggregationTemporality.DELTA,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: points,
  };
}

function sumMetric(name: SliMetric | TykPumpMetric, points: DataPoint<number>[]): SumMetricData {
  return {
    descriptor: { name, description: DESCRIPTIONS[name], unit: UNITS[name], valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.DELTA,
    dataPointType: DataPointType.SUM,
    dataPoints: points,
    isMonotonic: true,
  };
}

/** The sli processor runtime. */
export class SliProcessor implements Processor<'records'> {
  private readonly ctx: ComponentContext;
  private readonly config: SliConfig;
  private readonly next: Consumer<'metrics'>;
  private readonly now: () => number;
  private readonly errors: ErrorDefinition;
  private readonly resource: ResourceAttributes;
  private readonly scope: string;
  private readonly burst: BurstLogger;
  private readonly overflowCounter: Counter;
  private stopped = false;
  private lastSweep = 0;

  private readonly durationIdx: BucketIndex;
  private readonly bodyIdx: BucketIndex;
  private readonly tykIdx: BucketIndex;

  // Which attributes go on the HTTP metrics.
  private readonly aMethod: boolean;
  private readonly aStatus: boolean;
  private readonly aRoute: boolean;
  private readonly aApiId: boolean;
  private readonly aApiName: boolean;
  private readonly aOrg: boolean;
  private readonly aVersion: boolean;
  private readonly aClient: boolean;
  private readonly aAlias: boolean;

  // Which metrics are on.
  private readonly on: Readonly<Record<SliMetric, boolean>>;
  private readonly tykOn: Readonly<Record<TykPumpMetric, boolean>>;
  private readonly tykEnabled: boolean;
  private readonly tykAllPaths: boolean;
  private readonly upstreamRejections: boolean;

  private readonly http: SeriesTable<HttpSeries>;
  private readonly network: SeriesTable<NetworkSeries>;
  private readonly uptime: SeriesTable<UptimeSeries>;
  private readonly tykStatus: SeriesTable<CountSeries>;
  private readonly tykPath: SeriesTable<CountSeries>;
  private readonly tykKey: SeriesTable<CountSeries>;
  private readonly tykClient: SeriesTable<CountSeries>;
  private readonly tykLatency: SeriesTable<HistSeries>;
  private readonly tables: readonly SeriesTable<SeriesBase>[];
  private readonly httpIndex = new Map<string, ApiNode>();
  /** Whether the HTTP attribute set is the default one the lookup cache covers (no version/client/alias). */
  private readonly fastHttp: boolean;

  constructor(ctx: ComponentContext, config: SliConfig, next: Consumer<'metrics'>, options: SliOptions = {}) {
    this.ctx = ctx;
    this.config = config;
    this.next = next;
    this.now = options.now ?? Date.now;
    this.errors = config.error_definition ? compileErrorDefinition(config.error_definition) : ctx.shared.errorDefinition;
    this.resource = Object.freeze({ 'service.name': 'tyk-otel-pump', 'service.version': VERSION, 'service.instance.id': ctx.instanceId });
    this.scope = `tyk-otel-pump/${ctx.id.split('@')[0] ?? ctx.id}`;
    this.burst = new BurstLogger(ctx.logger);
    this.overflowCounter = ctx.telemetry.meter.createCounter('processor.sli.overflow_records', {
      description: 'Records an sli processor folded into an otel.metric.overflow series because a metric reached its cardinality limit.',
      unit: '{record}',
    });

    this.durationIdx = new BucketIndex(config.buckets, 1000);
    this.bodyIdx = new BucketIndex(config.body_size_buckets_bytes, 1);
    this.tykIdx = new BucketIndex(config.tyk_compatible.latency_buckets_ms, 1);

    const attrs = new Set<string>(config.attributes);
    this.aMethod = attrs.has('http.request.method');
    this.aStatus = attrs.has('http.response.status_code');
    this.aRoute = attrs.has('http.route');
    this.aApiId = attrs.has('tyk.api.id');
    this.aApiName = attrs.has('tyk.api.name');
    this.aOrg = attrs.has('tyk.org.id');
    this.aVersion = attrs.has('tyk.api.version');
    this.aClient = attrs.has('tyk.oauth.client_id');
    this.aAlias = attrs.has('tyk.key.alias');
    this.fastHttp = !this.aVersion && !this.aClient && !this.aAlias;

    const off = new Set<string>(config.disabled_metrics);
    const on = {} as Record<SliMetric, boolean>;
    for (const m of Object.keys(UNITS)) if (!m.startsWith('tyk_')) on[m as SliMetric] = !off.has(m);
    this.on = on;
    const tyk = config.tyk_compatible;
    this.tykEnabled = tyk.enabled;
    this.tykAllPaths = tyk.track_all_paths;
    const tykOff = new Set<string>(tyk.disabled_metrics);
    this.tykOn = {
      tyk_http_status: tyk.enabled && !tykOff.has('tyk_http_status'),
      tyk_http_status_per_path: tyk.enabled && !tykOff.has('tyk_http_status_per_path'),
      tyk_http_status_per_key: tyk.enabled && !tykOff.has('tyk_http_status_per_key'),
      tyk_http_status_per_oauth_client: tyk.enabled && !tykOff.has('tyk_http_status_per_oauth_client'),
      tyk_latency: tyk.enabled && !tykOff.has('tyk_latency'),
    };
    this.upstreamRejections = config.upstream_include_rejections;

    const limit = config.cardinality_limit;
    const nd = this.durationIdx.boundaries.length;
    const nb = this.bodyIdx.boundaries.length;
    this.http = new SeriesTable<HttpSeries>('http', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), requests: 0, duration: new HistAcc(nd), upstream: new HistAcc(nd), gateway: new HistAcc(nd), body: new HistAcc(nb),
    }), true);
    this.network = new SeriesTable<NetworkSeries>('network', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), opened: 0, closed: 0, bytesIn: 0, bytesOut: 0,
    }), false);
    this.uptime = new SeriesTable<UptimeSeries>('uptime', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), checks: 0, duration: new HistAcc(nd),
    }), false);
    const counter = (key: string, attributes: Attributes): CountSeries => ({ ...seriesBase(key, attributes), value: 0 });
    this.tykStatus = new SeriesTable<CountSeries>('tyk_http_status', limit, counter, false);
    this.tykPath = new SeriesTable<CountSeries>('tyk_http_status_per_path', limit, counter, false);
    this.tykKey = new SeriesTable<CountSeries>('tyk_http_status_per_key', limit, counter, false);
    this.tykClient = new SeriesTable<CountSeries>('tyk_http_status_per_oauth_client', limit, counter, false);
    const nt = this.tykIdx.boundaries.length;
    this.tykLatency = new SeriesTable<HistSeries>('tyk_latency', limit, (key, attributes) => ({ ...seriesBase(key, attributes), hist: new HistAcc(nt) }), false);
    this.tables = [this.http, this.network, this.uptime, this.tykStatus, this.tykPath, this.tykKey, this.tykClient, this.tykLatency];
  }

  async start(): Promise<void> {
    this.lastSweep = this.now();
  }

  async shutdown(): Promise<void> {
    // Every batch is emitted before consume() resolves, so there is nothing to flush.
    this.stopped = true;
  }

  /** Number of live series per table (for tests and diagnostics). */
  seriesCount(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tables) out[t.name] = t.size;
    return out;
  }

  async consume(batch: RecordBatch, ctx: BatchContext): Promise<void> {
    if (this.stopped) throw new ShuttingDownError(this.ctx.id);
    const now = this.now();
    this.sweep(now);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as AnalyticsRecord | UptimeRecord;
      const ts = r.timestampMs ?? now;
      if (r.kind === 'http') {
        this.observeHttp(r, ts, now);
        if (this.tykEnabled) this.observeTyk(r, ts, now);
      } else if (r.kind === 'network') {
        this.observeNetwork(r, ts, now);
      } else {
        this.observeUptime(r as UptimeRecord, ts, now);
      }
    }
    const metrics = this.emit(now);
    this.reportOverflow(now);
    this.ctx.telemetry.accepted(batch.length);
    if (metrics.length === 0) return;
    const out: MetricsBatch = { resource: this.resource, scope: this.scope, metrics };
    await this.next.consume(out, ctx);
  }

  private observeHttp(r: AnalyticsRecord, ts: number, now: number): void {
    const code = r.responseCode;
    const bad = this.errors.isBad(code);
    const mi = this.aMethod ? httpMethodIndex(r.method) : 0;
    // Status and method as one integer (the status only where it is an attribute, or carried by error.type).
    const small = (this.aStatus || bad ? code + 1 : 0) * 16 + mi;
    let s: HttpSeries | undefined;
    if (this.fastHttp) {
      const name = this.aApiName ? r.apiName : '';
      const org = this.aOrg ? r.orgId : '';
      let node = this.httpIndex.get(this.aApiId ? r.apiId : '');
      while (node !== undefined && (node.name !== name || node.org !== org)) node = node.next;
      s = node?.routes.get(this.aRoute ? r.route : '')?.get(small);
      if (s !== undefined && !s.live) s = undefined;
    }
    s ??= this.httpSeries(r, code, bad, mi, small);
    if (!s.dirty) {
      s.dirty = true;
      s.lastSeen = now;
      s.minTs = ts;
      s.maxTs = ts;
      this.http.dirty.push(s);
    } else if (ts < s.minTs) s.minTs = ts;
    else if (ts > s.maxTs) s.maxTs = ts;
    s.requests++;
    const total = requestTimeMs(r);
    s.duration.add(this.durationIdx.indexOf(total), total);
    const lat = r.latency;
    const up = lat.upstream > 0 ? lat.upstream : 0;
    if (up > 0 || code < 400 || this.upstreamRejections) s.upstream.add(this.durationIdx.indexOf(up), up);
    const gw = lat.gateway > 0 ? lat.gateway : 0;
    s.gateway.add(this.durationIdx.indexOf(gw), gw);
    const len = r.contentLength;
    if (len >= 0) s.body.add(this.bodyIdx.indexOf(len), len);
  }

  /** The series of an HTTP record by its string key (holding exactly the configured attributes' values). */
  private httpSeries(r: AnalyticsRecord, code: number, bad: boolean, mi: number, small: number): HttpSeries {
    const method = HTTP_METHOD_VALUES[mi] as string;
    let key = this.aStatus ? `${code}` : bad ? `${code}` : '';
    if (this.aMethod) key += SEP + method;
    if (this.aRoute) key += SEP + r.route;
    if (this.aApiId) key += SEP + r.apiId;
    if (this.aApiName) key += SEP + r.apiName;
    if (this.aOrg) key += SEP + r.orgId;
    if (this.aVersion) key += SEP + r.apiVersion;
    if (this.aClient) key += SEP + r.oauthId;
    if (this.aAlias) key += SEP + r.alias;
    const table = this.http;
    let s = table.map.get(key);
    if (s === undefined) {
      s = table.add(key, () => this.httpAttributes(r, method, code), bad);
      if (table.map.get(key) !== s) return s; // an overflow series: never cached per attribute set
    }
    if (this.fastHttp) this.cacheHttp(r, small, s);
    return s;
  }

  private cacheHttp(r: AnalyticsRecord, small: number, s: HttpSeries): void {
    const id = this.aApiId ? r.apiId : '';
    const name = this.aApiName ? r.apiName : '';
    const org = this.aOrg ? r.orgId : '';
    const head = this.httpIndex.get(id);
    let node = head;
    while (node !== undefined && (node.name !== name || node.org !== org)) node = node.next;
    if (node === undefined) {
      node = { name, org, routes: new Map(), next: head };
      this.httpIndex.set(id, node);
    }
    const route = this.aRoute ? r.route : '';
    let byKey = node.routes.get(route);
    if (byKey === undefined) {
      byKey = new Map();
      node.routes.set(route, byKey);
    }
    byKey.set(small, s);
  }

  /** Drops expired series from the lookup cache. */
  private pruneHttpIndex(): void {
    for (const [id, head] of this.httpIndex) {
      let kept: ApiNode | undefined;
      for (let node: ApiNode | undefined = head; node !== undefined; node = node.next) {
        for (const [route, byKey] of node.routes) {
          for (const [k, s] of byKey) if (!s.live) byKey.delete(k);
          if (byKey.size === 0) node.routes.delete(route);
        }
        if (node.routes.size > 0) kept = { ...node, next: kept };
      }
      if (kept === undefined) this.httpIndex.delete(id);
      else this.httpIndex.set(id, kept);
    }
  }

  private httpAttributes(r: AnalyticsRecord, method: string, code: number): Attributes {
    const a: Attributes = {};
    if (this.aMethod) a['http.request.method'] = method;
    if (this.aStatus) a['http.response.status_code'] = code;
    if (this.aRoute && r.route !== '') a['http.route'] = r.route;
    const errorType = this.errors.errorType(code);
    if (errorType !== undefined) a['error.type'] = errorType;
    if (this.aApiId) a['tyk.api.id'] = r.apiId;
    if (this.aApiName) a['tyk.api.name'] = r.apiName;
    if (this.aOrg) a['tyk.org.id'] = r.orgId;
    if (this.aVersion && r.apiVersion !== '') a['tyk.api.version'] = r.apiVersion;
    if (this.aClient && r.oauthId !== '') a['tyk.oauth.client_id'] = r.oauthId;
    if (this.aAlias && r.alias !== '') a['tyk.key.alias'] = r.alias;
    return a;
  }

  private apiKey(r: AnalyticsRecord | UptimeRecord, withName: boolean): string {
    let key = this.aApiId ? r.apiId : '';
    if (withName && this.aApiName) key += SEP + (r as AnalyticsRecord).apiName;
    if (this.aOrg) key += SEP + r.orgId;
    return key;
  }

  private apiAttributes(r: AnalyticsRecord | UptimeRecord, withName: boolean): Attributes {
    const a: Attributes = {};
    if (this.aApiId) a['tyk.api.id'] = r.apiId;
    if (withName && this.aApiName) a['tyk.api.name'] = (r as AnalyticsRecord).apiName;
    if (this.aOrg) a['tyk.org.id'] = r.orgId;
    return a;
  }

  private observeNetwork(r: AnalyticsRecord, ts: number, now: number): void {
    const key = this.apiKey(r, true);
    const table = this.network;
    let s = table.map.get(key);
    if (s === undefined) s = table.add(key, () => this.apiAttributes(r, true), false);
    table.touch(s, ts, now);
    const n = r.network;
    s.opened += n.openConnections;
    s.closed += n.closedConnections;
    s.bytesIn += n.bytesIn;
    s.bytesOut += n.bytesOut;
  }

  private observeUptime(r: UptimeRecord, ts: number, now: number): void {
    const down = r.tcpError || r.serverError;
    const url = redactUrl(r.url);
    const key = `${this.apiKey(r, false)}${SEP}${url}${SEP}${r.responseCode}${SEP}${down ? 'd' : 'u'}`;
    const table = this.uptime;
    let s = table.map.get(key);
    if (s === undefined) {
      s = table.add(key, () => {
        const a = this.apiAttributes(r, false);
        a['url.full'] = url;
        a['http.response.status_code'] = r.responseCode;
        a['tyk.uptime.status'] = down ? 'down' : 'up';
        return a;
      }, false);
    }
    table.touch(s, ts, now);
    s.checks++;
    const ms = requestTimeMs(r);
    s.duration.add(this.durationIdx.indexOf(ms), ms);
  }

  /** Tyk Pump's Prometheus pump semantics (`pumps/prometheus.go`), minus its bugs: see README. */
  private observeTyk(r: AnalyticsRecord, ts: number, now: number): void {
    const code = `${r.responseCode}`;
    const on = this.tykOn;
    if (on.tyk_http_status) this.tykCount(this.tykStatus, `${code}${SEP}${r.apiId}`, ts, now, () => ({ code, api: r.apiId }));
    if (on.tyk_http_status_per_path) {
      const path = this.tykAllPaths || r.trackPath ? r.path : 'unknown';
      this.tykCount(this.tykPath, `${code}${SEP}${r.apiId}${SEP}${path}${SEP}${r.method}`, ts, now, () => ({ code, api: r.apiId, path, method: r.method }));
    }
    if (on.tyk_http_status_per_key) this.tykCount(this.tykKey, `${code}${SEP}${r.apiKey}`, ts, now, () => ({ code, key: r.apiKey }));
    if (on.tyk_http_status_per_oauth_client) {
      this.tykCount(this.tykClient, `${code}${SEP}${r.oauthId}`, ts, now, () => ({ code, client_id: r.oauthId }));
    }
    if (on.tyk_latency) {
      this.tykObserve(`total${SEP}${r.apiId}`, 'total', r, r.requestTime, ts, now);
      this.tykObserve(`upstream${SEP}${r.apiId}`, 'upstream', r, r.latency.upstream, ts, now);
      this.tykObserve(`gateway${SEP}${r.apiId}`, 'gateway', r, r.latency.gateway, ts, now);
    }
  }

  private tykCount(table: SeriesTable<CountSeries>, key: string, ts: number, now: number, attributes: () => Attributes): void {
    let s = table.map.get(key);
    if (s === undefined) s = table.add(key, attributes, false);
    table.touch(s, ts, now);
    s.value++;
  }

  private tykObserve(key: string, type: string, r: AnalyticsRecord, value: number, ts: number, now: number): void {
    const table = this.tykLatency;
    let s = table.map.get(key);
    if (s === undefined) s = table.add(key, () => ({ type, api: r.apiId }), false);
    table.touch(s, ts, now);
    const v = value > 0 ? value : 0;
    s.hist.add(this.tykIdx.indexOf(v), v);
  }

  /** Builds the delta metric data of everything the batch touched and resets the accumulators. */
  private emit(now: number): MetricData[] {
    const out: MetricData[] = [];
    const on = this.on;
    const sb = this.durationIdx.boundaries;

    if (this.http.dirty.length > 0) {
      const dur: DataPoint<Histogram>[] = [];
      const up: DataPoint<Histogram>[] = [];
      const gw: DataPoint<Histogram>[] = [];
      const req: DataPoint<number>[] = [];
      const body: DataPoint<Histogram>[] = [];
      for (const s of this.http.dirty) {
        const { startTime, endTime } = this.http.interval(s, now);
        const attributes = s.attributes;
        if (on['http.server.request.duration']) dur.push({ startTime, endTime, attributes, value: s.duration.take(sb, 1000) });
        if (on['tyk.upstream.request.duration'] && s.upstream.count > 0) up.push({ startTime, endTime, attributes, value: s.upstream.take(sb, 1000) });
        if (on['tyk.gateway.request.duration']) gw.push({ startTime, endTime, attributes, value: s.gateway.take(sb, 1000) });
        if (on['tyk.http.requests']) req.push({ startTime, endTime, attributes, value: s.requests });
        if (on['http.server.request.body.size'] && s.body.count > 0) body.push({ startTime, endTime, attributes, value: s.body.take(this.bodyIdx.boundaries, 1) });
        // Disabled metrics still accumulated (cheaper than branching per record): reset them here.
        s.requests = 0;
        if (s.duration.count > 0) s.duration.reset();
        if (s.upstream.count > 0) s.upstream.reset();
        if (s.gateway.count > 0) s.gateway.reset();
        if (s.body.count > 0) s.body.reset();
      }
      this.http.dirty.length = 0;
      if (dur.length > 0) out.push(histogramMetric('http.server.request.duration', dur));
      if (up.length > 0) out.push(histogramMetric('tyk.upstream.request.duration', up));
      if (gw.length > 0) out.push(histogramMetric('tyk.gateway.request.duration', gw));
      if (req.length > 0) out.push(sumMetric('tyk.http.requests', req));
      if (body.length > 0) out.push(histogramMetric('http.server.request.body.size', body, ValueType.INT));
    }

    if (this.network.dirty.length > 0) {
      const opened: DataPoint<number>[] = [];
      const closed: DataPoint<number>[] = [];
      const io: DataPoint<number>[] = [];
      for (const s of this.network.dirty) {
        const { startTime, endTime } = this.network.interval(s, now);
        opened.push({ startTime, endTime, attributes: s.attributes, value: s.opened });
        closed.push({ startTime, endTime, attributes: s.attributes, value: s.closed });
        io.push({ startTime, endTime, attributes: directionAttributes(s, 'receive'), value: s.bytesIn });
        io.push({ startTime, endTime, attributes: directionAttributes(s, 'transmit'), value: s.bytesOut });
        s.opened = 0;
        s.closed = 0;
        s.bytesIn = 0;
        s.bytesOut = 0;
      }
      this.network.dirty.length = 0;
      if (on['tyk.network.connections.opened']) out.push(sumMetric('tyk.network.connections.opened', opened));
      if (on['tyk.network.connections.closed']) out.push(sumMetric('tyk.network.connections.closed', closed));
      if (on['tyk.network.io']) out.push(sumMetric('tyk.network.io', io));
    }

    if (this.uptime.dirty.length > 0) {
      const dur: DataPoint<Histogram>[] = [];
      const checks: DataPoint<number>[] = [];
      for (const s of this.uptime.dirty) {
        const { startTime, endTime } = this.uptime.interval(s, now);
        if (on['tyk.uptime.check.duration']) dur.push({ startTime, endTime, attributes: s.attributes, value: s.duration.take(sb, 1000) });
        else s.duration.reset();
        checks.push({ startTime, endTime, attributes: s.attributes, value: s.checks });
        s.checks = 0;
      }
      this.uptime.dirty.length = 0;
      if (dur.length > 0) out.push(histogramMetric('tyk.uptime.check.duration', dur));
      if (on['tyk.uptime.checks']) out.push(sumMetric('tyk.uptime.checks', checks));
    }

    if (this.tykEnabled) {
      for (const [table, name] of [
        [this.tykStatus, 'tyk_http_status'],
        [this.tykPath, 'tyk_http_status_per_path'],
        [this.tykKey, 'tyk_http_status_per_key'],
        [this.tykClient, 'tyk_http_status_per_oauth_client'],
      ] as const) {
        if (table.dirty.length === 0) continue;
        const points: DataPoint<number>[] = [];
        for (const s of table.dirty) {
          points.push({ ...table.interval(s, now), attributes: s.attributes, value: s.value });
          s.value = 0;
        }
        table.dirty.length = 0;
        out.push(sumMetric(name, points));
      }
      if (this.tykLatency.dirty.length > 0) {
        const points: DataPoint<Histogram>[] = [];
        for (const s of this.tykLatency.dirty) {
          points.push({ ...this.tykLatency.interval(s, now), attributes: s.attributes, value: s.hist.take(this.tykIdx.boundaries, 1) });
        }
        this.tykLatency.dirty.length = 0;
        out.push(histogramMetric('tyk_latency', points));
      }
    }
    return out;
  }

  /** Drops idle series (at most every 1/4 of `series_expiration`) so the cardinality limit frees up again. */
  private sweep(now: number): void {
    const ttl = this.config.series_expiration;
    if (now - this.lastSweep < ttl / 4) return;
    this.lastSweep = now;
    let dropped = 0;
    for (const t of this.tables) dropped += t.expire(now - ttl);
    if (dropped > 0) {
      this.pruneHttpIndex();
      this.ctx.logger.debug({ dropped }, 'expired idle series');
    }
  }

  private reportOverflow(now: number): void {
    for (const t of this.tables) {
      const n = t.takeOverflowed();
      if (n === 0) continue;
      this.overflowCounter.add(n, { processor: this.ctx.id, metric: t.name });
      this.burst.log(
        'warn',
        { metric: t.name, records: n, cardinalityLimit: this.config.cardinality_limit },
        'cardinality limit reached: new attribute sets are folded into the otel.metric.overflow series (check the route processor or drop attributes)',
        now,
      );
    }
  }
}

const directionCache = new WeakMap<Attributes, { receive: Attributes; transmit: Attributes }>();

/** The series' attributes plus `network.io.direction`, built once per series. */
function directionAttributes(s: NetworkSeries, direction: 'receive' | 'transmit'): Attributes {
  let d = directionCache.get(s.attributes);
  if (!d) {
    d = {
      receive: Object.freeze({ ...s.attributes, 'network.io.direction': 'receive' }),
      transmit: Object.freeze({ ...s.attributes, 'network.io.direction': 'transmit' }),
    };
    directionCache.set(s.attributes, d);
  }
  return d[direction];
}
