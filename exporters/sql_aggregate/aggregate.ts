/**
 * Tyk's REST aggregation, step for step as tyk-pump `analytics/aggregate.go` (`AggregateData`,
 * `incrementAggregate`, `incrementOrSetUnit`, `Dimensions`) computes it, accidents included, because the
 * Dashboard's numbers are whatever these steps produce:
 * - one aggregate per org per written chunk, bucketed by the org's **first** record of the chunk: a chunk
 *   spanning an hour boundary puts every record in the first hour (see `exact_buckets` for the option);
 * - a dimension counter keeps the `last_time` of its first record in the chunk (only the total follows
 *   every record), and its minimum latency is lowered only by records without an error;
 * - a network-only record (`ResponseCode -1`) creates an `apiid` counter with 0 hits whose min latency and
 *   last time then stay 0 / Go's zero time when HTTP records of that API follow in the chunk;
 * - tags lose every `.`; `key-` tags and `ignore_tag_prefix_list` prefixes are left out (tested on the raw tag).
 */
import { Buffer } from 'node:buffer';
import type { AnalyticsRecord } from '../../src/model.js';
import { bucketStartSeconds, recordZone } from '../../internal/postgres/zone.js';

/** Tyk's `analytics.Counter`. Times are epoch ms + ns, `null` ms being Go's zero time. */
export interface Counter {
  hits: number;
  success: number;
  errorTotal: number;
  requestTime: number;
  totalRequestTime: number;
  identifier: string;
  humanIdentifier: string;
  lastTimeMs: number | null;
  lastTimeNs: number;
  openConnections: number;
  closedConnections: number;
  bytesIn: number;
  bytesOut: number;
  maxUpstreamLatency: number;
  minUpstreamLatency: number;
  totalUpstreamLatency: number;
  upstreamLatency: number;
  maxLatency: number;
  minLatency: number;
  totalLatency: number;
  latency: number;
  /** Response code → count (Tyk's ErrorMap). */
  errorMap: Map<string, number>;
}

/** A zero counter (Go's `Counter{}`). */
export function zeroCounter(): Counter {
  return {
    hits: 0, success: 0, errorTotal: 0, requestTime: 0, totalRequestTime: 0, identifier: '', humanIdentifier: '',
    lastTimeMs: null, lastTimeNs: 0, openConnections: 0, closedConnections: 0, bytesIn: 0, bytesOut: 0,
    maxUpstreamLatency: 0, minUpstreamLatency: 0, totalUpstreamLatency: 0, upstreamLatency: 0, maxLatency: 0,
    minLatency: 0, totalLatency: 0, latency: 0, errorMap: new Map(),
  };
}

/** One org's aggregate of one chunk (Tyk's `AnalyticsRecordAggregate`). */
export interface OrgAggregate {
  readonly orgId: string;
  /** Bucket start, epoch seconds (the row `timestamp`). */
  readonly bucket: number;
  readonly apiId: Map<string, Counter>;
  readonly errors: Map<string, Counter>;
  readonly versions: Map<string, Counter>;
  readonly apiKeys: Map<string, Counter>;
  readonly oauthIds: Map<string, Counter>;
  readonly geo: Map<string, Counter>;
  readonly tags: Map<string, Counter>;
  readonly endpoints: Map<string, Counter>;
  readonly keyEndpoint: Map<string, Map<string, Counter>>;
  readonly oauthEndpoint: Map<string, Map<string, Counter>>;
  readonly apiEndpoint: Map<string, Counter>;
  readonly total: Counter;
}

/** Aggregation settings (the `sql_aggregate` keys that change what is counted). */
export interface AggregateOptions {
  readonly trackAllPaths: boolean;
  readonly ignoreTagPrefixList: readonly string[];
  readonly perMinute: boolean;
  /** Configured zone (the pump's process zone). */
  readonly zone: string;
  /** Bucket every record by its own time instead of the org's first record (not Tyk's behaviour). */
  readonly exactBuckets: boolean;
}

/** An empty aggregate. */
export function newAggregate(orgId: string, bucket: number): OrgAggregate {
  return {
    orgId, bucket, apiId: new Map(), errors: new Map(), versions: new Map(), apiKeys: new Map(), oauthIds: new Map(), geo: new Map(),
    tags: new Map(), endpoints: new Map(), keyEndpoint: new Map(), oauthEndpoint: new Map(), apiEndpoint: new Map(), total: zeroCounter(),
  };
}

/** Tyk's `incrementOrSetUnit(b, c)`: a copy of `b` when `c` is nil, else `b` merged into `c`. */
export function incrementOrSetUnit(b: Counter, c: Counter | undefined): Counter {
  if (c === undefined) return { ...b, errorMap: new Map(b.errorMap) };
  c.hits += b.hits;
  c.success += b.success;
  c.errorTotal += b.errorTotal;
  for (const [k, v] of b.errorMap) c.errorMap.set(k, (c.errorMap.get(k) ?? 0) + v);
  c.totalRequestTime += b.totalRequestTime;
  c.requestTime = c.totalRequestTime / c.hits;
  if (c.maxLatency < b.maxLatency) c.maxLatency = b.maxLatency;
  if (c.minLatency > b.minLatency && b.errorTotal === 0) c.minLatency = b.minLatency;
  if (c.maxUpstreamLatency < b.maxUpstreamLatency) c.maxUpstreamLatency = b.maxUpstreamLatency;
  if (c.minUpstreamLatency > b.minUpstreamLatency && b.errorTotal === 0) c.minUpstreamLatency = b.minUpstreamLatency;
  c.totalLatency += b.totalLatency;
  c.totalUpstreamLatency += b.totalUpstreamLatency;
  return c;
}

/** Tyk's `doHash`: standard base64 without the `=` padding. */
export function doHash(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64').replace(/=+$/, '');
}

/** Tyk's `TrimTag`: surrounding white space trimmed (Go's unicode.IsSpace), every `.` removed. */
export function trimTag(tag: string): string {
  return tag.replace(/^[\s\u0085]+|[\s\u0085]+$/g, '').replaceAll('.', '');
}

function ignoreTag(tag: string, prefixes: readonly string[]): boolean {
  if (tag.startsWith('key-')) return true;
  for (const p of prefixes) if (tag.startsWith(p)) return true;
  return false;
}

/** Tyk's `replaceUnsupportedChars`: each `.` becomes the 4 literal characters `\u2e` (Go `fmt.Sprintf("\\u%x", ".")`). */
export function replaceUnsupportedChars(path: string): string {
  return path.includes('.') ? path.replaceAll('.', '\\u2e') : path;
}

/** Stores `c` under `key` with identifiers (the pattern every Tyk dimension repeats). */
function put(map: Map<string, Counter>, key: string, c: Counter, identifier: string, human: string | undefined): void {
  map.set(key, c);
  c.identifier = identifier;
  if (human !== undefined) c.humanIdentifier = human;
}

function endpointUnit(outer: Map<string, Map<string, Counter>>, owner: string, r: AnalyticsRecord, counter: Counter): void {
  const keyStr = doHash(`${r.apiId}:${r.path}`);
  let data = outer.get(owner);
  if (data === undefined) {
    data = new Map();
    outer.set(owner, data);
  }
  const c = incrementOrSetUnit(counter, data.get(keyStr));
  c.identifier = keyStr;
  c.humanIdentifier = keyStr;
  data.set(keyStr, c);
}

/**
 * Tyk's `incrementAggregate` for one record; returns the record's own counter (Tyk's second return value,
 * which the GraphQL and MCP aggregations merge into their extra dimensions), undefined for a network record.
 */
export function increment(a: OrgAggregate, r: AnalyticsRecord, o: Pick<AggregateOptions, 'trackAllPaths' | 'ignoreTagPrefixList'>): Counter | undefined {
  const t = a.total;
  t.lastTimeMs = r.timestampMs;
  t.lastTimeNs = r.timestampNs;
  if (r.responseCode === -1) {
    t.openConnections += r.network.openConnections;
    t.closedConnections += r.network.closedConnections;
    t.bytesIn += r.network.bytesIn;
    t.bytesOut += r.network.bytesOut;
    if (r.apiId !== '') {
      let c = a.apiId.get(r.apiId);
      if (c === undefined) {
        c = { ...zeroCounter(), identifier: r.apiId, humanIdentifier: r.apiName };
        a.apiId.set(r.apiId, c);
      }
      c.bytesIn += r.network.bytesIn;
      c.bytesOut += r.network.bytesOut;
    }
    return undefined;
  }
  const code = r.responseCode;
  const codeStr = String(code);
  const counter: Counter = {
    ...zeroCounter(),
    hits: 1, requestTime: r.requestTime, totalRequestTime: r.requestTime, lastTimeMs: r.timestampMs, lastTimeNs: r.timestampNs,
    maxUpstreamLatency: r.latency.upstream, minUpstreamLatency: r.latency.upstream, totalUpstreamLatency: r.latency.upstream,
    maxLatency: r.latency.total, minLatency: r.latency.total, totalLatency: r.latency.total,
  };
  t.hits++;
  t.totalRequestTime += r.requestTime;
  t.requestTime = t.totalRequestTime / t.hits;
  if (code >= 400) {
    counter.errorTotal = 1;
    counter.errorMap.set(codeStr, 1);
    t.errorTotal++;
    t.errorMap.set(codeStr, (t.errorMap.get(codeStr) ?? 0) + 1);
  }
  const ok = code >= 200 && code < 300;
  if (ok) {
    counter.success = 1;
    t.success++;
  }
  t.totalLatency += r.latency.total;
  t.totalUpstreamLatency += r.latency.upstream;
  if (t.maxLatency < r.latency.total) t.maxLatency = r.latency.total;
  if (t.maxUpstreamLatency < r.latency.upstream) t.maxUpstreamLatency = r.latency.upstream;
  if (t.hits === 1) {
    t.minLatency = r.latency.total;
    t.minUpstreamLatency = r.latency.upstream;
  } else {
    if (t.minLatency > r.latency.total && ok) t.minLatency = r.latency.total;
    if (t.minUpstreamLatency > r.latency.upstream && ok) t.minUpstreamLatency = r.latency.upstream;
  }
  const trackPath = o.trackAllPaths || r.trackPath;

  // The dimensions, as the cases of Tyk's switch over structs.Map(record). Their order does not matter:
  // each merges the same unchanged record counter into its own map.
  {
    const c = incrementOrSetUnit(counter, a.apiId.get(r.apiId));
    if (r.apiId !== '') put(a.apiId, r.apiId, c, r.apiId, r.apiName);
  }
  {
    const c = incrementOrSetUnit(counter, a.errors.get(codeStr));
    if (c.errorTotal > 0) put(a.errors, codeStr, c, codeStr, undefined);
  }
  {
    const versionStr = doHash(`${r.apiId}:${r.apiVersion}`);
    const c = incrementOrSetUnit(counter, a.versions.get(versionStr));
    if (r.apiVersion !== '') put(a.versions, versionStr, c, r.apiVersion, r.apiVersion);
  }
  if (r.apiKey !== '') {
    put(a.apiKeys, r.apiKey, incrementOrSetUnit(counter, a.apiKeys.get(r.apiKey)), r.apiKey, r.alias);
    if (trackPath) endpointUnit(a.keyEndpoint, r.apiKey, r, counter);
  }
  if (r.oauthId !== '') {
    put(a.oauthIds, r.oauthId, incrementOrSetUnit(counter, a.oauthIds.get(r.oauthId)), r.oauthId, undefined);
    if (trackPath) endpointUnit(a.oauthEndpoint, r.oauthId, r, counter);
  }
  {
    const iso = r.geo.country.isoCode;
    const c = incrementOrSetUnit(counter, a.geo.get(iso));
    if (iso !== '') put(a.geo, iso, c, iso, iso);
  }
  for (const tag of r.tags) {
    const trimmed = trimTag(tag);
    if (trimmed !== '' && !ignoreTag(tag, o.ignoreTagPrefixList)) put(a.tags, trimmed, incrementOrSetUnit(counter, a.tags.get(trimmed)), trimmed, trimmed);
  }
  if (trackPath) {
    const fixed = replaceUnsupportedChars(r.path);
    put(a.endpoints, fixed, incrementOrSetUnit(counter, a.endpoints.get(fixed)), r.path, r.path);
    const keyStr = Buffer.from(`${r.apiId}:${r.apiVersion}:${r.path}`, 'utf8').toString('hex');
    put(a.apiEndpoint, keyStr, incrementOrSetUnit(counter, a.apiEndpoint.get(keyStr)), keyStr, r.path);
  }
  return counter;
}

/**
 * Tyk's `AggregateData` over one written chunk (one shard run when sharding): records without an org,
 * GraphQL and MCP records are skipped. With `exactBuckets` an org gets one aggregate per bucket its
 * records fall in, instead of Tyk's one per org.
 */
export function aggregateRecords(records: readonly AnalyticsRecord[], o: AggregateOptions): OrgAggregate[] {
  const byKey = new Map<string, OrgAggregate>();
  for (const r of records) {
    if (r.orgId === '' || r.graphqlStats.isGraphQL || r.mcpStats.isMCP) continue;
    let key = r.orgId;
    let bucket: number | undefined;
    if (o.exactBuckets) {
      bucket = bucketOf(r, o);
      key = `${bucket}\u0000${r.orgId}`;
    }
    let a = byKey.get(key);
    if (a === undefined) {
      a = newAggregate(r.orgId, bucket ?? bucketOf(r, o));
      byKey.set(key, a);
    }
    increment(a, r, o);
  }
  return [...byKey.values()];
}

/** Tyk's `setAggregateTimestamp` (dbIdentifier ""): the record's local hour, or minute, as epoch seconds. */
export function bucketOf(r: AnalyticsRecord, o: Pick<AggregateOptions, 'perMinute' | 'zone'>): number {
  return bucketStartSeconds(r.timestampMs ?? -62135596800000, recordZone(r, o.zone), o.perMinute);
}

/** One output row's dimension. */
export interface Dimension {
  readonly name: string;
  readonly value: string;
  readonly counter: Counter;
}

/** Tyk's `fnLatencySetter`: the averages from the totals when there were hits. */
export function withLatency(c: Counter): Counter {
  if (c.hits > 0) {
    c.latency = c.totalLatency / c.hits;
    c.upstreamLatency = c.totalUpstreamLatency / c.hits;
  }
  return c;
}

/** Tyk's `Dimensions()`: every dimension entry, then the total (`''` / `total`). */
export function dimensions(a: OrgAggregate): Dimension[] {
  const out: Dimension[] = [];
  const add = (name: string, m: Map<string, Counter>) => {
    for (const [value, c] of m) out.push({ name, value, counter: withLatency(c) });
  };
  add('apiid', a.apiId);
  add('errors', a.errors);
  add('versions', a.versions);
  add('apikeys', a.apiKeys);
  add('oauthids', a.oauthIds);
  add('geo', a.geo);
  add('tags', a.tags);
  add('endpoints', a.endpoints);
  for (const [key, m] of a.keyEndpoint) for (const [k, c] of m) out.push({ name: 'keyendpoints', value: `${key}.${k}`, counter: withLatency(c) });
  for (const [key, m] of a.oauthEndpoint) for (const [k, c] of m) out.push({ name: 'oauthendpoints', value: `${key}.${k}`, counter: withLatency(c) });
  add('apiendpoints', a.apiEndpoint);
  out.push({ name: '', value: 'total', counter: withLatency(a.total) });
  return out;
}
