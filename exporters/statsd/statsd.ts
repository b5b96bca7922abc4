/**
 * The `statsd` exporter runtime: Tyk records → plain StatsD lines (Graphite-style names from a template,
 * or Telegraf tags) → UDP datagrams.
 *
 * Per HTTP record: one `|ms` timer per configured latency (sampled per record at `sample_rate`, flagged
 * `|@rate`). `requests`, `requests.good`, `requests.bad`, network and uptime counters are summed per name
 * and sent once per `flush_interval`, never sampled. Every value that reaches a name is sanitised (see
 * `internal/statsd/sanitize.ts`), so no record can break the line protocol.
 */
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch, UptimeRecord } from '../../src/model.js';
import { compileErrorDefinition, type ErrorDefinition } from '../../src/error-definition.js';
import { formatRfc3339Nano } from '../../src/tyk-json.js';
import { latencyAt, latencyIndex, recordFieldValue, requestTimeMs, type RecordField } from '../../src/record-fields.js';
import { CounterCache, RecordFieldTrie, type CounterEntry } from '../../internal/statsd/cache.js';
import { parseStatsdEndpoint } from '../../internal/statsd/endpoint.js';
import { isAscii, statsdNameSafe, statsdSegment, telegrafTagValue } from '../../internal/statsd/sanitize.js';
import { StatsdOutput, type RecordHandlers } from '../../internal/statsd/output.js';
import type { StatsdConfig, TykTag } from './config.js';

/** Distinct names kept per cache before it is emptied (bounds memory under runaway cardinality). */
export const MAX_NAMES = 20_000;

/**
 * A cached name: a line is `${pre}${metric}${post}:${value}|${type}` — the template form puts the
 * record values in `pre` (`tyk.Orders_API.GET.orders_id.`), the Telegraf form puts tags in `post`
 * (`,api_id=orders,method=GET`). Counters since the last flush ride along.
 */
interface Name extends CounterEntry {
  readonly pre: string;
  readonly post: string;
  /** UTF-8 bytes minus UTF-16 length of `post` (0 when ASCII). */
  readonly extraBytes: number;
}

function makeName(pre: string, post: string): Name {
  return { pre, post, extraBytes: isAscii(post) ? 0 : Buffer.byteLength(post) - post.length, dirty: false, c0: 0, c1: 0, c2: 0, c3: 0 };
}

/** Go's `json.Marshal` of a string (HTML-safe escapes, invalid UTF-16 → U+FFFD escape), as Tyk Pump uses. */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + (s[i + 1] as string);
        i++;
      } else out += '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\\ufffd';
    else out += s[i];
  }
  return `${out}"`;
}

/** Go's `time.Unix(ts, 0).String()` in UTC (`2026-11-26 12:00:00 +0000 UTC`); Go's zero time for null. */
function goTimeString(ms: number | null): string {
  const iso = formatRfc3339Nano(ms === null ? null : Math.floor(ms / 1000) * 1000, 0);
  if (iso === null) return '0001-01-01 00:00:00 +0000 UTC';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/**
 * One Tyk Pump statsd tag value (`pumps/statsd.go` `getMappings`): JSON of the mapped value, lower-cased;
 * the caller removes quotes and spaces from the joined name. `path` is METHOD+path (trailing `/` trimmed),
 * or the path alone with `separated_method`.
 */
function tykTagValue(r: AnalyticsRecord, tag: TykTag | 'method', separated: boolean): string {
  const path = r.path.replace(/\/+$/, '');
  switch (tag) {
    case 'path': return goJsonString(separated ? path : r.method + path).toLowerCase();
    case 'method': return goJsonString(r.method).toLowerCase();
    case 'response_code': return String(r.responseCode);
    case 'api_key': return goJsonString(r.apiKey).toLowerCase();
    case 'time_stamp': return goJsonString(goTimeString(r.timestampMs).replace(/:/g, '-')).toLowerCase();
    case 'api_version': return goJsonString(r.apiVersion).toLowerCase();
    case 'api_name': return goJsonString(r.apiName).toLowerCase();
    case 'api_id': return goJsonString(r.apiId).toLowerCase();
    case 'org_id': return goJsonString(r.orgId).toLowerCase();
    case 'oauth_id': return goJsonString(r.oauthId).toLowerCase();
    case 'raw_request': return goJsonString(r.rawRequest).toLowerCase();
    case 'raw_response': return goJsonString(r.rawResponse).toLowerCase();
    case 'request_time': return String(r.requestTime);
    case 'latency_total': return String(r.latency.total);
    case 'latency_upstream': return String(r.latency.upstream);
    case 'latency_gateway': return String(r.latency.gateway);
    case 'ip_address': return goJsonString(r.ipAddress).toLowerCase();
  }
}

/** The exporter. */
export class StatsdExporter implements Exporter {
  private readonly ctx: ComponentContext;
  private readonly config: StatsdConfig;
  private readonly errors: ErrorDefinition;
  private readonly out: StatsdOutput;
  private readonly handlers: RecordHandlers;
  private readonly prefix: string;
  /** Template parts: literal segments (strings) and record fields. */
  private readonly template: readonly ({ literal: string } | { field: RecordField })[];
  private readonly globalTags: string;
  private readonly httpNames = new CounterCache<Name>(MAX_NAMES);
  private readonly netNames = new CounterCache<Name>(MAX_NAMES);
  private readonly uptimeNames = new CounterCache<Name>(MAX_NAMES);
  private readonly tykNames = new CounterCache<Name>(MAX_NAMES);
  private readonly rateField: string;
  /** Per configured latency: 0 total, 1 upstream, 2 gateway, and its metric `request.duration.<kind>`. */
  private readonly latencyKinds: readonly number[];
  private readonly latencyMetrics: readonly string[];
  /** HTTP names by the record values of the template (or tag_set) (their counters are on `httpNames`' list). */
  private readonly httpTrie: RecordFieldTrie<Name>;

  constructor(ctx: ComponentContext, config: StatsdConfig) {
    this.ctx = ctx;
    this.config = config;
    const endpoint = parseStatsdEndpoint(config.endpoint, false);
    if (!endpoint) throw new Error(`invalid endpoint ${config.endpoint}`); // validated by the schema
    this.errors = config.error_definition ? compileErrorDefinition(config.error_definition) : ctx.shared.errorDefinition;
    this.out = new StatsdOutput({
      ctx,
      endpoint,
      maxPacketBytes: config.max_packet_bytes,
      flushIntervalMs: config.flush_interval,
      label: 'statsd',
      tooLongAdvice: 'raise max_packet_bytes or shorten the name',
      cacheEmptiedMessage: 'statsd: more distinct names than the cache holds; cache emptied (consider a smaller template or a route processor)',
      cacheLimit: MAX_NAMES,
      flushCounters: () => this.flushCounters(),
    });
    this.handlers = {
      http: (r) => this.http(r),
      network: config.network ? (r) => this.networkRecord(r) : undefined,
      uptime: config.uptime ? (r) => this.uptime(r) : undefined,
    };
    this.prefix = config.prefix === '' ? '' : `${config.prefix}.`;
    this.template = config.name_template === ''
      ? []
      : config.name_template.split('.').map((s) => (s.startsWith('{') ? { field: s.slice(1, -1) as RecordField } : { literal: s }));
    this.httpTrie = new RecordFieldTrie({
      fields: config.telegraf ? config.tag_set : this.template.flatMap((p) => ('field' in p ? [p.field] : [])),
      limit: MAX_NAMES,
      make: (r) => this.makeHttpName(r),
      beforeClear: () => this.out.cacheFull(),
    });
    this.globalTags = config.tags.map((t) => {
      const i = t.indexOf(':');
      return `,${t.slice(0, i)}=${telegrafTagValue(t.slice(i + 1))}`;
    }).join('');
    this.rateField = config.sample_rate < 1 ? `|@${config.sample_rate}` : '';
    this.latencyKinds = config.latencies.map(latencyIndex);
    this.latencyMetrics = config.latencies.map((k) => `request.duration.${k}`);
  }

  async start(): Promise<void> {
    if (!this.out.start()) return;
    this.ctx.logger.info(
      { endpoint: this.config.endpoint, prefix: this.config.prefix, telegraf: this.config.telegraf, template: this.config.name_template, sampleRate: this.config.sample_rate },
      'statsd exporter started',
    );
  }

  consumeRecords(batch: RecordBatch, _ctx: BatchContext): Promise<void> {
    return this.out.consumeRecords(batch, this.handlers);
  }

  /** Sends the summed counters and the partial datagram now. */
  flush(): void {
    this.out.flush();
  }

  shutdown(): Promise<void> {
    return this.out.shutdown();
  }

  // ----------------------------------------------------------------------------------------------

  private line(n: Name, metric: string, value: string, type: 'ms' | 'c', rate: string): void {
    const line = `${n.pre}${metric}${n.post}:${value}|${type}${rate}`;
    this.out.add(line, line.length + n.extraBytes);
  }

  private makeHttpName(r: AnalyticsRecord): Name {
    if (this.config.telegraf) {
      let post = '';
      for (const f of this.config.tag_set) {
        if (f === 'route' && r.route === '') continue;
        post += `,${f}=${telegrafTagValue(recordFieldValue(r, f))}`;
      }
      return makeName(this.prefix, post + this.globalTags);
    }
    let pre = this.prefix;
    for (const p of this.template) pre += `${'literal' in p ? p.literal : statsdSegment(recordFieldValue(r, p.field))}.`;
    return makeName(pre, '');
  }

  private http(r: AnalyticsRecord): void {
    const n = this.httpTrie.get(r);
    n.c0++;
    if (this.errors.isBad(r.responseCode)) n.c2++;
    else n.c1++;
    this.httpNames.touch(n);

    const rate = this.config.sample_rate;
    if (rate < 1 && Math.random() >= rate) return;
    const kinds = this.latencyKinds;
    for (let i = 0; i < kinds.length; i++) {
      this.line(n, this.latencyMetrics[i] as string, String(latencyAt(r, kinds[i] as number)), 'ms', this.rateField);
    }
    if (this.config.tyk_compatible) this.tykTimers(r);
  }

  private tykTimers(r: AnalyticsRecord): void {
    const cache = this.tykNames;
    const sep = this.config.separated_method;
    let joined = '';
    for (let i = 0; i < this.config.tyk_tags.length; i++) {
      joined += (i === 0 ? '' : '.') + tykTagValue(r, this.config.tyk_tags[i] as TykTag, sep);
    }
    const tagPart = joined.replace(/["\s]/g, '');
    if (cache.full && !cache.map.has(tagPart)) cache.map.clear();
    // Tyk Pump writes `request_time.` when tags is empty; we leave the dangling dot out.
    let n = cache.map.get(tagPart);
    if (n === undefined) {
      n = makeName('', tagPart === '' ? '' : `.${statsdNameSafe(tagPart)}`);
      cache.map.set(tagPart, n);
    }
    for (const f of this.config.tyk_fields) {
      const v = f === 'request_time' ? r.requestTime : f === 'latency_total' ? r.latency.total : f === 'latency_upstream' ? r.latency.upstream : r.latency.gateway;
      this.line(n, f, String(v), 'ms', this.rateField);
    }
  }

  private apiName(cache: CounterCache<Name>, key: string, apiId: string, group: string): Name {
    let n = cache.map.get(key);
    if (n === undefined) {
      if (cache.full) this.resetCache(cache);
      n = this.config.telegraf
        ? makeName(`${this.prefix}${group}.`, `,api_id=${telegrafTagValue(apiId)}${this.globalTags}`)
        : makeName(`${this.prefix}${group}.${statsdSegment(apiId)}.`, '');
      cache.map.set(key, n);
    }
    return n;
  }

  private networkRecord(r: AnalyticsRecord): void {
    const n = this.apiName(this.netNames, r.apiId, r.apiId, 'network');
    n.c0 += r.network.openConnections;
    n.c1 += r.network.closedConnections;
    n.c2 += r.network.bytesIn;
    n.c3 += r.network.bytesOut;
    this.netNames.touch(n);
  }

  private uptime(r: UptimeRecord): void {
    const down = r.tcpError || r.serverError;
    const n = this.apiName(this.uptimeNames, r.apiId, r.apiId, 'uptime');
    if (down) n.c1++;
    else n.c0++;
    this.uptimeNames.touch(n);
    this.line(n, 'check.duration', String(requestTimeMs(r)), 'ms', '');
  }

  private resetCache(cache: CounterCache<Name>): void {
    this.out.cacheFull();
    cache.map.clear();
  }

  private flushCounters(): void {
    this.httpNames.drain((n) => {
      this.line(n, 'requests', String(n.c0), 'c', '');
      if (n.c1 > 0) this.line(n, 'requests.good', String(n.c1), 'c', '');
      if (n.c2 > 0) this.line(n, 'requests.bad', String(n.c2), 'c', '');
    });
    this.netNames.drain((n) => {
      if (n.c0 > 0) this.line(n, 'connections.opened', String(n.c0), 'c', '');
      if (n.c1 > 0) this.line(n, 'connections.closed', String(n.c1), 'c', '');
      if (n.c2 > 0) this.line(n, 'bytes_in', String(n.c2), 'c', '');
      if (n.c3 > 0) this.line(n, 'bytes_out', String(n.c3), 'c', '');
    });
    this.uptimeNames.drain((n) => {
      if (n.c0 > 0) this.line(n, 'checks.up', String(n.c0), 'c', '');
      if (n.c1 > 0) this.line(n, 'checks.down', String(n.c1), 'c', '');
    });
  }
}
