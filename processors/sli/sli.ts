/**
 * The `sli` processor: aggregates each batch of Tyk records into OTel metric data (delta temporality) and
 * hands one `MetricsBatch` per batch downstream. Aggregation is hand-rolled for speed: one string key per
 * record (the values of the configured attributes), one Map lookup, O(1) bucket lookups on the integer
 * millisecond latencies; series state is reused across batches, attribute objects are built once per series.
 *
 * Time range of a data point: from the end of the series' previous delta (or the earliest record of the
 * batch for a new series) to the latest record timestamp of the batch, capped at "now" — record time, not
 * processing time, so a backlog drained late is stamped when it happened.
 *
 * Beside it: `aggregate.ts` (the series table: cardinality limit, overflow, delta intervals),
 * `series-cache.ts` (the HTTP series lookup cache), `families.ts` (names, units, metric data),
 * `tyk-families.ts` (Tyk Pump's Prometheus families).
 */
import type { Attributes, Counter } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, MetricsBatch, RecordBatch, ResourceAttributes, UptimeRecord } from '../../src/model.js';
import { compileErrorDefinition, type ErrorDefinition } from '../../src/error-definition.js';
import { ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { HTTP_METHOD_VALUES, httpMethodIndex, redactUrl, requestTimeMs } from '../../src/record-fields.js';
import { VERSION } from '../../src/version.js';
import { BucketIndex, HistogramState } from '../../internal/metrics/histogram.js';
import { SeriesTable, seriesBase, type SeriesBase } from './aggregate.js';
import { directionAttributes, histogramMetric, sumMetric } from './families.js';
import { HttpSeriesCache } from './series-cache.js';
import { TykFamilies } from './tyk-families.js';
import { EmitWindow } from './window.js';
import { SLI_METRICS, type SliConfig, type SliMetric } from './config.js';

/** Separator of attribute values inside a series key (cannot occur in HTTP methods, ids or numbers). */
const SEP = '\u0001';

interface HttpSeries extends SeriesBase {
  requests: number;
  readonly duration: HistogramState;
  readonly upstream: HistogramState;
  readonly gateway: HistogramState;
  readonly body: HistogramState;
}

interface NetworkSeries extends SeriesBase {
  opened: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

interface UptimeSeries extends SeriesBase {
  checks: number;
  readonly duration: HistogramState;
}

/** Options for tests. */
export interface SliOptions {
  /** Agent clock in epoch ms (expiry and the "not after now" cap). */
  readonly now?: () => number;
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
  /** Chunks aggregated and not yet emitted (see `window.ts`). */
  private readonly window: EmitWindow;

  private readonly durationIdx: BucketIndex;
  private readonly bodyIdx: BucketIndex;

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
  private readonly upstreamRejections: boolean;

  private readonly http: SeriesTable<HttpSeries>;
  private readonly network: SeriesTable<NetworkSeries>;
  private readonly uptime: SeriesTable<UptimeSeries>;
  /** Tyk Pump's families, when `tyk_compatible.enabled`. */
  private readonly tyk: TykFamilies | undefined;
  private readonly tables: readonly SeriesTable<SeriesBase>[];
  /** Set when the HTTP attribute set is the default one the lookup cache covers (no version/client/alias). */
  private readonly httpCache: HttpSeriesCache<HttpSeries> | undefined;

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
    this.httpCache = !this.aVersion && !this.aClient && !this.aAlias
      ? new HttpSeriesCache({ apiId: this.aApiId, apiName: this.aApiName, org: this.aOrg, route: this.aRoute })
      : undefined;

    const off = new Set<string>(config.disabled_metrics);
    const on = {} as Record<SliMetric, boolean>;
    for (const m of SLI_METRICS) on[m] = !off.has(m);
    this.on = on;
    this.upstreamRejections = config.upstream_include_rejections;

    const limit = config.cardinality_limit;
    const db = this.durationIdx.boundaries;
    const bb = this.bodyIdx.boundaries;
    this.http = new SeriesTable<HttpSeries>('http', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), requests: 0,
      duration: new HistogramState(db), upstream: new HistogramState(db), gateway: new HistogramState(db), body: new HistogramState(bb),
    }), true);
    this.network = new SeriesTable<NetworkSeries>('network', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), opened: 0, closed: 0, bytesIn: 0, bytesOut: 0,
    }), false);
    this.uptime = new SeriesTable<UptimeSeries>('uptime', limit, (key, attributes) => ({
      ...seriesBase(key, attributes), checks: 0, duration: new HistogramState(db),
    }), false);
    this.tyk = config.tyk_compatible.enabled ? new TykFamilies(config.tyk_compatible, limit) : undefined;
    this.tables = [this.http, this.network, this.uptime, ...(this.tyk?.tables ?? [])];
    const windowChunks = ctx.telemetry.meter.createHistogram('processor.sli.window_chunks', {
      description: 'Chunks an sli processor emitted together in one window (one data point per touched series per window), by what ended the window (chunks, records, interval, receiver_limit, redelivery, shutdown).',
      unit: '{chunk}',
      advice: { explicitBucketBoundaries: [1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 32] },
    });
    this.window = new EmitWindow(config.emit_interval, config.emit_max_chunks, config.emit_max_records, (c) => this.emitUnder(c), (chunks, trigger) => {
      windowChunks.record(chunks, { processor: ctx.id, trigger });
    });
  }

  async start(): Promise<void> {
    this.lastSweep = this.now();
  }

  beginShutdown(): void {
    this.window.drain();
  }

  async shutdown(): Promise<void> {
    // Batches consumed from now on are refused (retryable); what the window holds goes out now.
    this.stopped = true;
    await this.window.close();
  }

  /** Number of live series per table (for tests and diagnostics). */
  seriesCount(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tables) out[t.name] = t.size;
    return out;
  }

  async consume(batch: RecordBatch, ctx: BatchContext): Promise<void> {
    if (this.stopped) throw new ShuttingDownError(this.ctx.id);
    if (this.window.accepts(ctx)) {
      this.observeAll(batch);
      const full = this.window.hold(ctx, batch.length);
      if (full !== undefined) await full;
      return;
    }
    // Emitted on its own: the held chunks go first, so their deltas and this batch's never share a batch.
    while (this.window.pending) await this.window.flush('redelivery');
    if (this.stopped) throw new ShuttingDownError(this.ctx.id);
    this.observeAll(batch);
    await this.emitUnder(ctx);
  }

  /** Aggregates a batch into the series state. */
  private observeAll(batch: RecordBatch): void {
    const now = this.now();
    this.sweep(now);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as AnalyticsRecord | UptimeRecord;
      const ts = r.timestampMs ?? now;
      if (r.kind === 'http') {
        this.observeHttp(r, ts, now);
        this.tyk?.observe(r, ts, now);
      } else if (r.kind === 'network') {
        this.observeNetwork(r, ts, now);
      } else {
        this.observeUptime(r as UptimeRecord, ts, now);
      }
    }
    this.reportOverflow(now);
    this.ctx.telemetry.accepted(batch.length);
  }

  /** Emits the deltas aggregated since the last emission under `ctx` (the state is taken synchronously). */
  private async emitUnder(ctx: BatchContext): Promise<void> {
    const metrics = this.emit(this.now());
    if (metrics.length === 0) return;
    const out: MetricsBatch = this.tyk
      ? { resource: this.resource, scope: this.scope, metrics, verbatimNames: this.tyk.names }
      : { resource: this.resource, scope: this.scope, metrics };
    await this.next.consume(out, ctx);
  }

  private observeHttp(r: AnalyticsRecord, ts: number, now: number): void {
    const code = r.responseCode;
    const bad = this.errors.isBad(code);
    const mi = this.aMethod ? httpMethodIndex(r.method) : 0;
    // Status and method as one integer (the status only where it is an attribute, or carried by error.type).
    const small = (this.aStatus || bad ? code + 1 : 0) * 16 + mi;
    const s = this.httpCache?.find(r, small) ?? this.httpSeries(r, code, bad, mi, small);
    this.http.touch(s, ts, now);
    s.requests++;
    const total = requestTimeMs(r);
    s.duration.observe(this.durationIdx.indexOf(total), total);
    const lat = r.latency;
    const up = lat.upstream > 0 ? lat.upstream : 0;
    if (up > 0 || code < 400 || this.upstreamRejections) s.upstream.observe(this.durationIdx.indexOf(up), up);
    const gw = lat.gateway > 0 ? lat.gateway : 0;
    s.gateway.observe(this.durationIdx.indexOf(gw), gw);
    const len = r.contentLength;
    if (len >= 0) s.body.observe(this.bodyIdx.indexOf(len), len);
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
    this.httpCache?.remember(r, small, s);
    return s;
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
    s.duration.observe(this.durationIdx.indexOf(ms), ms);
  }

  /** Builds the delta metric data of everything the batch touched and resets the accumulators. */
  private emit(now: number): MetricData[] {
    const out: MetricData[] = [];
    const on = this.on;

    if (this.http.dirty.length > 0) {
      const dur: DataPoint<Histogram>[] = [];
      const up: DataPoint<Histogram>[] = [];
      const gw: DataPoint<Histogram>[] = [];
      const req: DataPoint<number>[] = [];
      const body: DataPoint<Histogram>[] = [];
      for (const s of this.http.dirty) {
        this.http.close(s, now);
        const { startTime, endTime } = s;
        const attributes = s.attributes;
        if (on['http.server.request.duration']) dur.push({ startTime, endTime, attributes, value: s.duration.take(1000) });
        if (on['tyk.upstream.request.duration'] && s.upstream.count > 0) up.push({ startTime, endTime, attributes, value: s.upstream.take(1000) });
        if (on['tyk.gateway.request.duration']) gw.push({ startTime, endTime, attributes, value: s.gateway.take(1000) });
        if (on['tyk.api.requests']) req.push({ startTime, endTime, attributes, value: s.requests });
        if (on['http.server.request.body.size'] && s.body.count > 0) body.push({ startTime, endTime, attributes, value: s.body.take() });
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
      if (req.length > 0) out.push(sumMetric('tyk.api.requests', req));
      if (body.length > 0) out.push(histogramMetric('http.server.request.body.size', body, ValueType.INT));
    }

    if (this.network.dirty.length > 0) {
      const opened: DataPoint<number>[] = [];
      const closed: DataPoint<number>[] = [];
      const io: DataPoint<number>[] = [];
      for (const s of this.network.dirty) {
        this.network.close(s, now);
        const { startTime, endTime } = s;
        opened.push({ startTime, endTime, attributes: s.attributes, value: s.opened });
        closed.push({ startTime, endTime, attributes: s.attributes, value: s.closed });
        io.push({ startTime, endTime, attributes: directionAttributes(s.attributes, 'receive'), value: s.bytesIn });
        io.push({ startTime, endTime, attributes: directionAttributes(s.attributes, 'transmit'), value: s.bytesOut });
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
        this.uptime.close(s, now);
        const { startTime, endTime } = s;
        if (on['tyk.uptime.check.duration']) dur.push({ startTime, endTime, attributes: s.attributes, value: s.duration.take(1000) });
        else s.duration.reset();
        checks.push({ startTime, endTime, attributes: s.attributes, value: s.checks });
        s.checks = 0;
      }
      this.uptime.dirty.length = 0;
      if (dur.length > 0) out.push(histogramMetric('tyk.uptime.check.duration', dur));
      if (on['tyk.uptime.checks']) out.push(sumMetric('tyk.uptime.checks', checks));
    }

    this.tyk?.emit(out, now);
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
      this.httpCache?.prune();
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
