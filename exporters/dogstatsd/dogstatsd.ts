/**
 * The `dogstatsd` exporter runtime: Tyk records → DogStatsD lines → datagrams to a Datadog Agent.
 *
 * Per HTTP record: one `|d` distribution value per configured latency (sampled per record at
 * `sample_rate`, flagged `|@rate`). Counters (`requests`, `requests.good`, `requests.bad`, network and
 * uptime counts) are summed per tag set and sent once per `flush_interval`, never sampled. Tag strings
 * are built once per distinct tag set and cached, so the per-record work is a key lookup and a string
 * concatenation per line.
 */
import { DataPointType, AggregationTemporality, type MetricData } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { AnalyticsRecord, MetricsBatch, RecordBatch, UptimeRecord } from '../../src/model.js';
import { compileErrorDefinition, type ErrorDefinition } from '../../src/error-definition.js';
import { latencyAt, latencyIndex, recordFieldValue, redactUrl, requestTimeMs, type RecordField } from '../../src/record-fields.js';
import { CounterCache, RecordFieldTrie, type CounterEntry } from '../../internal/statsd/cache.js';
import { parseStatsdEndpoint, type StatsdEndpoint } from '../../internal/statsd/endpoint.js';
import { dogGlobalTag, dogTag, dogTagKey, formatValue, isAscii, metricName } from '../../internal/statsd/sanitize.js';
import { StatsdOutput, type RecordHandlers } from '../../internal/statsd/output.js';
import { defaultPacketBytes, type DogStatsdConfig, type TykTag } from './config.js';

/** Distinct tag sets kept per cache before it is emptied (bounds memory under runaway cardinality). */
export const MAX_TAG_SETS = 20_000;

const SEP = '\u0001';

/** A cached tag set and the counters summed for it since the last flush. */
interface TagSet extends CounterEntry {
  /** `|#tag,tag…` or '' when there are no tags. */
  readonly suffix: string;
  readonly suffixBytes: number;
}

/** A new tag set from per-record `tags` (mutated: the global tags are appended). */
function newTagSet(tags: string[], globalTags: readonly string[]): TagSet {
  for (const g of globalTags) tags.push(g);
  const suffix = tags.length === 0 ? '' : `|#${tags.join(',')}`;
  return { suffix, suffixBytes: isAscii(suffix) ? suffix.length : Buffer.byteLength(suffix), dirty: false, c0: 0, c1: 0, c2: 0, c3: 0 };
}

/** Tyk Pump's dogstatsd tag values (`pumps/dogstatsd.go`): `path` untrimmed in the default set, trailing `/` trimmed when listed. */
function tykTags(r: AnalyticsRecord, listed: readonly TykTag[]): string[] {
  const explicit = listed.length > 0;
  const names = explicit ? listed : (['path', 'method', 'response_code', 'api_version', 'api_name', 'api_id', 'org_id', 'tracked', 'oauth_id'] as const);
  const out: string[] = [];
  for (const n of names) {
    switch (n) {
      case 'path': out.push(dogTag('path', explicit ? r.path.replace(/\/+$/, '') : r.path)); break;
      case 'method': out.push(dogTag('method', r.method)); break;
      case 'response_code': out.push(dogTag('response_code', String(r.responseCode))); break;
      case 'api_version': out.push(dogTag('api_version', r.apiVersion)); break;
      case 'api_name': out.push(dogTag('api_name', r.apiName)); break;
      case 'api_id': out.push(dogTag('api_id', r.apiId)); break;
      case 'org_id': out.push(dogTag('org_id', r.orgId)); break;
      case 'tracked': out.push(dogTag('tracked', r.trackPath ? 'true' : 'false')); break;
      case 'oauth_id': if (r.oauthId !== '') out.push(dogTag('oauth_id', r.oauthId)); break;
    }
  }
  out.push('tyk-pump');
  return out;
}

/** dd-trace's tracer; a type-only reference, so importing this file never loads dd-trace. */
type Tracer = typeof import('dd-trace');

/** The exporter. */
export class DogStatsdExporter implements Exporter {
  private readonly ctx: ComponentContext;
  private readonly config: DogStatsdConfig;
  private readonly endpoint: StatsdEndpoint;
  private readonly maxPacketBytes: number;
  private readonly errors: ErrorDefinition;
  private readonly out: StatsdOutput;
  private readonly handlers: RecordHandlers;
  private readonly globalTags: readonly string[];
  private readonly tagSet: readonly RecordField[];
  private readonly httpTags = new CounterCache<TagSet>(MAX_TAG_SETS);
  private readonly netTags = new CounterCache<TagSet>(MAX_TAG_SETS);
  private readonly uptimeTags = new CounterCache<TagSet>(MAX_TAG_SETS);
  private readonly tykTagCache = new CounterCache<TagSet>(MAX_TAG_SETS);
  private readonly rateField: string;
  private readonly divisor: number;
  /** Per configured latency: 0 total, 1 upstream, 2 gateway, and its line prefix `<ns>.request.duration.<kind>:`. */
  private readonly latencyKinds: readonly number[];
  private readonly latencyPrefixes: readonly string[];
  /** HTTP tag sets by the record values of `tag_set` (their counters are on `httpTags`' list). */
  private readonly httpTrie: RecordFieldTrie<TagSet>;
  private readonly ns: string;
  private apm: Promise<Tracer | undefined> | undefined;
  private tracer: Tracer | undefined;

  constructor(ctx: ComponentContext, config: DogStatsdConfig) {
    this.ctx = ctx;
    this.config = config;
    const endpoint = parseStatsdEndpoint(config.endpoint, true);
    if (!endpoint) throw new Error(`invalid endpoint ${config.endpoint}`); // validated by the schema
    this.endpoint = endpoint;
    this.maxPacketBytes = config.max_packet_bytes ?? defaultPacketBytes(endpoint);
    this.errors = config.error_definition ? compileErrorDefinition(config.error_definition) : ctx.shared.errorDefinition;
    this.out = new StatsdOutput({
      ctx,
      endpoint,
      maxPacketBytes: this.maxPacketBytes,
      flushIntervalMs: config.flush_interval,
      label: 'dogstatsd',
      tooLongAdvice: 'raise max_packet_bytes or trim tag_set',
      cacheEmptiedMessage: 'dogstatsd: more distinct tag sets than the cache holds; cache emptied (consider a smaller tag_set or a route processor)',
      cacheLimit: MAX_TAG_SETS,
      flushCounters: () => this.flushCounters(),
    });
    this.handlers = {
      http: (r) => this.http(r),
      network: config.network ? (r) => this.networkRecord(r) : undefined,
      uptime: config.uptime ? (r) => this.uptime(r) : undefined,
    };
    this.globalTags = config.tags.map(dogGlobalTag);
    this.tagSet = config.tag_set;
    this.httpTrie = new RecordFieldTrie({
      fields: config.tag_set,
      limit: MAX_TAG_SETS,
      make: (r) => this.makeHttpTagSet(r),
      beforeClear: () => this.out.cacheFull(),
    });
    this.rateField = config.sample_rate < 1 ? `|@${config.sample_rate}` : '';
    this.divisor = config.duration_unit === 'seconds' ? 1000 : 1;
    this.ns = config.namespace;
    this.latencyKinds = config.latencies.map(latencyIndex);
    this.latencyPrefixes = config.latencies.map((k) => `${config.namespace}.request.duration.${k}:`);
  }

  async start(): Promise<void> {
    if (!this.out.start()) return;
    if (this.config.apm.enabled) this.apm = this.loadApm();
    this.ctx.logger.info(
      { endpoint: this.config.endpoint, namespace: this.ns, maxPacketBytes: this.maxPacketBytes, sampleRate: this.config.sample_rate, apm: this.config.apm.enabled },
      'dogstatsd exporter started',
    );
  }

  async consumeRecords(batch: RecordBatch, _ctx: BatchContext): Promise<void> {
    this.out.checkAccepting();
    const span = this.tracer?.startSpan(this.ctx.telemetry.name('export'), { tags: { 'resource.name': 'dogstatsd records', 'span.kind': 'producer', 'batch.items': batch.length } });
    const before = this.out.sender.pending;
    try {
      await this.out.consumeRecords(batch, this.handlers);
    } finally {
      span?.setTag('dogstatsd.in_flight', this.out.sender.pending - before);
      span?.finish();
    }
  }

  async consumeMetrics(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    this.out.checkAccepting();
    let points = 0;
    for (const m of batch.metrics) points += m.dataPoints.length;
    this.ctx.telemetry.accepted(points, 'metrics');
    const span = this.tracer?.startSpan(this.ctx.telemetry.name('export'), { tags: { 'resource.name': 'dogstatsd metrics', 'span.kind': 'producer', 'batch.items': points } });
    try {
      for (const m of batch.metrics) {
        this.metric(m);
        if (this.out.sender.congested) await this.out.sender.relieve();
      }
    } finally {
      span?.finish();
    }
  }

  /** Sends the summed counters and the partial datagram now. */
  flush(): void {
    this.out.flush();
  }

  shutdown(): Promise<void> {
    return this.out.shutdown(async () => {
      const tracer = this.apm ? await this.apm : undefined;
      if (!tracer) return;
      // dd-trace exports on an interval; give the last batch spans a chance to leave.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 2000);
        try {
          (tracer as unknown as { _tracer?: { _exporter?: { flush?: (cb: () => void) => void } } })._tracer?._exporter?.flush?.(() => { clearTimeout(t); r(); });
        } catch {
          clearTimeout(t);
          r();
        }
      });
    });
  }

  // ----------------------------------------------------------------------------------------------

  private line(line: string, suffix: TagSet): void {
    this.out.add(line, line.length - suffix.suffix.length + suffix.suffixBytes);
  }

  private http(r: AnalyticsRecord): void {
    const ts = this.httpTrie.get(r);
    ts.c0++;
    if (this.errors.isBad(r.responseCode)) ts.c2++;
    else ts.c1++;
    this.httpTags.touch(ts);

    const rate = this.config.sample_rate;
    if (rate < 1 && Math.random() >= rate) return;
    const suffix = this.rateField + ts.suffix;
    const kinds = this.latencyKinds;
    for (let i = 0; i < kinds.length; i++) {
      this.line(`${this.latencyPrefixes[i] as string}${latencyAt(r, kinds[i] as number) / this.divisor}|d${suffix}`, ts);
    }
    if (this.config.tyk_compatible) this.tykHistogram(r);
  }

  private makeHttpTagSet(r: AnalyticsRecord): TagSet {
    const tags: string[] = [];
    for (const t of this.tagSet) {
      if (t === 'route' && r.route === '') continue;
      tags.push(dogTag(t, recordFieldValue(r, t)));
    }
    return newTagSet(tags, this.globalTags);
  }

  private tykHistogram(r: AnalyticsRecord): void {
    const cache = this.tykTagCache;
    const listed = this.config.tyk_tags;
    const key = `${r.path}${SEP}${r.method}${SEP}${r.responseCode}${SEP}${r.apiVersion}${SEP}${r.apiName}${SEP}${r.apiId}${SEP}${r.orgId}${SEP}${r.trackPath ? 1 : 0}${SEP}${r.oauthId}`;
    let ts = cache.map.get(key);
    if (ts === undefined) {
      if (cache.full) cache.map.clear();
      ts = newTagSet(tykTags(r, listed), this.globalTags);
      cache.map.set(key, ts);
    }
    this.line(`${this.ns}.request_time:${r.requestTime}|h${this.rateField}${ts.suffix}`, ts);
  }

  private networkRecord(r: AnalyticsRecord): void {
    const cache = this.netTags;
    const key = `${r.apiId}${SEP}${r.apiName}${SEP}${r.orgId}`;
    let ts = cache.map.get(key);
    if (ts === undefined) {
      if (cache.full) this.resetCache(cache);
      const tags: string[] = [];
      for (const t of this.tagSet) {
        if (t === 'api_id' || t === 'api_name' || t === 'org_id') tags.push(dogTag(t, recordFieldValue(r, t)));
      }
      ts = newTagSet(tags, this.globalTags);
      cache.map.set(key, ts);
    }
    const n = r.network;
    ts.c0 += n.openConnections;
    ts.c1 += n.closedConnections;
    ts.c2 += n.bytesIn;
    ts.c3 += n.bytesOut;
    cache.touch(ts);
  }

  private uptime(r: UptimeRecord): void {
    const cache = this.uptimeTags;
    const down = r.tcpError || r.serverError;
    const key = `${r.apiId}${SEP}${r.orgId}${SEP}${r.url}${SEP}${r.responseCode}${SEP}${down ? 'd' : 'u'}`;
    let ts = cache.map.get(key);
    if (ts === undefined) {
      if (cache.full) this.resetCache(cache);
      const tags: string[] = [];
      if (this.tagSet.includes('api_id')) tags.push(dogTag('api_id', r.apiId));
      if (this.tagSet.includes('org_id')) tags.push(dogTag('org_id', r.orgId));
      tags.push(dogTag('url', redactUrl(r.url)), dogTag('status_code', String(r.responseCode)), dogTag('status', down ? 'down' : 'up'));
      ts = newTagSet(tags, this.globalTags);
      cache.map.set(key, ts);
    }
    ts.c0++;
    cache.touch(ts);
    this.line(`${this.ns}.uptime.check.duration:${requestTimeMs(r) / this.divisor}|d${ts.suffix}`, ts);
  }

  private resetCache(cache: CounterCache<TagSet>): void {
    this.out.cacheFull();
    cache.map.clear();
  }

  private flushCounters(): void {
    const ns = this.ns;
    this.httpTags.drain((t) => {
      this.line(`${ns}.requests:${t.c0}|c${t.suffix}`, t);
      if (t.c1 > 0) this.line(`${ns}.requests.good:${t.c1}|c${t.suffix}`, t);
      if (t.c2 > 0) this.line(`${ns}.requests.bad:${t.c2}|c${t.suffix}`, t);
    });
    this.netTags.drain((t) => {
      if (t.c0 > 0) this.line(`${ns}.network.connections.opened:${t.c0}|c${t.suffix}`, t);
      if (t.c1 > 0) this.line(`${ns}.network.connections.closed:${t.c1}|c${t.suffix}`, t);
      if (t.c2 > 0) this.line(`${ns}.network.bytes_in:${t.c2}|c${t.suffix}`, t);
      if (t.c3 > 0) this.line(`${ns}.network.bytes_out:${t.c3}|c${t.suffix}`, t);
    });
    this.uptimeTags.drain((t) => this.line(`${ns}.uptime.checks:${t.c0}|c${t.suffix}`, t));
  }

  /** One OTel metric of a metrics batch: gauges → `|g`, delta sums → `|c`, histograms → `.count`/`.sum` counts. */
  private metric(m: MetricData): void {
    const name = metricName(m.descriptor.name);
    switch (m.dataPointType) {
      case DataPointType.GAUGE:
        for (const dp of m.dataPoints) this.metricLine(name, dp.value, 'g', dp.attributes);
        return;
      case DataPointType.SUM:
        if (m.aggregationTemporality !== AggregationTemporality.DELTA && m.isMonotonic) {
          this.ctx.telemetry.refused(m.dataPoints.length, 'cumulative_sum', 'metrics');
          this.out.burst.log('warn', { metric: m.descriptor.name }, 'dogstatsd: cumulative sums are not sent (DogStatsD counts are deltas)');
          return;
        }
        // A non-monotonic cumulative sum is an up-down level: a gauge.
        for (const dp of m.dataPoints) this.metricLine(name, dp.value, m.aggregationTemporality === AggregationTemporality.DELTA ? 'c' : 'g', dp.attributes);
        return;
      case DataPointType.HISTOGRAM:
      case DataPointType.EXPONENTIAL_HISTOGRAM:
        if (m.aggregationTemporality !== AggregationTemporality.DELTA) {
          this.ctx.telemetry.refused(m.dataPoints.length, 'cumulative_histogram', 'metrics');
          this.out.burst.log('warn', { metric: m.descriptor.name }, 'dogstatsd: cumulative histograms are not sent');
          return;
        }
        for (const dp of m.dataPoints) {
          this.metricLine(`${name}.count`, dp.value.count, 'c', dp.attributes);
          if (dp.value.sum !== undefined) this.metricLine(`${name}.sum`, dp.value.sum, 'c', dp.attributes);
        }
        return;
    }
  }

  private metricLine(name: string, value: number, type: 'g' | 'c', attributes: Readonly<Record<string, unknown>>): void {
    const v = formatValue(value);
    if (v === undefined) {
      this.ctx.telemetry.refused(1, 'not_finite', 'metrics');
      return;
    }
    const tags: string[] = [];
    for (const k of Object.keys(attributes)) {
      const a = attributes[k];
      if (a === undefined || a === null) continue;
      tags.push(dogTag(dogTagKey(k), Array.isArray(a) ? a.join(';') : String(a)));
    }
    for (const g of this.globalTags) tags.push(g);
    const line = `${name}:${v}|${type}${tags.length > 0 ? `|#${tags.join(',')}` : ''}`;
    this.out.add(line, Buffer.byteLength(line));
  }

  private async loadApm(): Promise<Tracer | undefined> {
    const apm = this.config.apm;
    try {
      // Loaded only here: dd-trace patches modules globally when initialised.
      const mod = await import('dd-trace');
      const tracer = mod.default.init({
        service: apm.service,
        ...(apm.env !== '' ? { env: apm.env } : {}),
        url: apm.agent_url,
        plugins: false,
        startupLogs: false,
        logInjection: false,
        runtimeMetrics: apm.runtime_metrics,
        ingestion: { sampleRate: apm.sample_rate },
        ...(this.endpoint.kind === 'udp' ? { dogstatsd: { hostname: this.endpoint.host, port: this.endpoint.port } } : {}),
      });
      tracer.use('ioredis', false);
      if (this.out.isStopping) return tracer;
      this.tracer = tracer;
      this.ctx.logger.info({ agentUrl: apm.agent_url, service: apm.service }, 'dogstatsd: dd-trace APM spans enabled');
      return tracer;
    } catch (err) {
      this.ctx.logger.error({ err: (err as Error).message }, 'dogstatsd: dd-trace could not be loaded; APM spans disabled');
      return undefined;
    }
  }
}
