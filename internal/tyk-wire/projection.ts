/**
 * A projection: which analytics record fields the decoders build (the rest is skipped by length and left
 * at its neutral value, `src/record-reads.ts`), made once per receiver from the union of what its
 * pipelines read, as per-wire-key masks the decoders index without a lookup.
 *
 * With no field at all (a "drainer" `tyk_redis → redis_stream`, which forwards the original bytes) the
 * decoders only check each element: the size limit; well-formed msgpack (every value skipped by its
 * declared length, which must fit the element) or protobuf (every field's wire type and length); a
 * msgpack map or protobuf message with at least one analytics (or uptime) record field; and the response
 * code, which decides `kind`. They then return a shared placeholder record ({@link placeholder}) instead
 * of building one. What they do not check is each field's type (a string where the gateway writes an int):
 * the full decoder of a pipeline that reads the field refuses (or coerces) it.
 */
import type { AnalyticsRecord, RecordEncoding, UptimeRecord } from '../../src/model.js';
import { ANALYTICS_FIELDS, NEUTRAL_FIELDS, decodedFields, projectRecord, type AnalyticsField, type RecordReads } from '../../src/record-reads.js';
import { PROTO_FIELD_NUMBERS } from './protobuf-record.js';

/**
 * Top-level msgpack keys, in Go declaration order (the order the gateway writes them), plus pump 1.8's
 * `APISchema`, with the field each fills (tyk-pump `analytics/analytics.go` `AnalyticsRecord`).
 */
export const MSGPACK_TOP: readonly (readonly [wireKey: string, field: AnalyticsField | undefined])[] = [
  ['Method', 'method'], ['Host', 'host'], ['Path', 'path'], ['RawPath', 'rawPath'], ['ContentLength', 'contentLength'],
  ['UserAgent', 'userAgent'], ['Day', 'day'], ['Month', 'month'], ['Year', 'year'], ['Hour', 'hour'],
  ['ResponseCode', 'responseCode'], ['APIKey', 'apiKey'], ['TimeStamp', 'timestampMs'], ['APIVersion', 'apiVersion'],
  ['APIName', 'apiName'], ['APIID', 'apiId'], ['OrgID', 'orgId'], ['OauthID', 'oauthId'], ['RequestTime', 'requestTime'],
  ['RawRequest', 'rawRequest'], ['RawResponse', 'rawResponse'], ['IPAddress', 'ipAddress'], ['Geo', 'geo'],
  ['Network', 'network'], ['Latency', 'latency'], ['Tags', 'tags'], ['Alias', 'alias'], ['TrackPath', 'trackPath'],
  ['ExpireAt', 'expireAtMs'], ['ApiSchema', 'apiSchema'], ['OriginalPath', 'originalPath'], ['ListenPath', 'listenPath'],
  ['GraphQLStats', 'graphqlStats'], ['MCPStats', 'mcpStats'], ['CollectionName', undefined], ['APISchema', 'apiSchema'],
];

/** What a decoder does with a wire field: skip it as unknown, decode it, or skip a known one. */
export const UNKNOWN = 0;
export const DECODE = 1;
export const SKIP = 2;

/** Fields decoded whatever the declaration: `kind` is derived from the response code. */
const ALWAYS: ReadonlySet<AnalyticsField> = new Set(['responseCode']);

/** Which fields the decoders build; see the file comment. */
export interface Projection {
  /** Every field (full decoding). */
  readonly all: boolean;
  /** No field: check the element, return a shared placeholder. */
  readonly none: boolean;
  /** The fields built (`'all'` or a set in model order). */
  readonly fields: 'all' | ReadonlySet<AnalyticsField>;
  /** Whether `responseCode` was declared (it is read anyway, for `kind`; see `src/record-reads.ts`). */
  readonly responseCode: boolean;
  /** By index in {@link MSGPACK_TOP}: {@link DECODE} or {@link SKIP}. */
  readonly msgpack: Uint8Array;
  /** By protobuf field number (tyk-pump `analytics.proto`): {@link UNKNOWN}, {@link DECODE} or {@link SKIP}. */
  readonly protobuf: Uint8Array;
}

/** Fields that only exist to carry large base64 blobs, dropped by `decode.raw: false`. */
const RAW_FIELDS: readonly AnalyticsField[] = ['rawRequest', 'rawResponse', 'apiSchema'];

/** The field a protobuf field name fills (same names as msgpack, plus `TimeZone`). */
function protoField(name: string): AnalyticsField | undefined {
  if (name === 'TimeZone') return 'timeZone';
  return MSGPACK_TOP.find(([k]) => k === name)?.[1];
}

/** Makes the projection of a declaration; `raw: false` also drops `rawRequest`, `rawResponse`, `apiSchema`. */
export function projection(reads: RecordReads, options?: { readonly raw?: boolean }): Projection {
  let d = decodedFields(reads);
  if (options?.raw === false) {
    const set = new Set(d === 'all' ? ANALYTICS_FIELDS : d);
    for (const f of RAW_FIELDS) set.delete(f);
    d = new Set(ANALYTICS_FIELDS.filter((f) => set.has(f)));
  }
  const has = (f: AnalyticsField | undefined): boolean => f !== undefined && (d === 'all' || d.has(f) || ALWAYS.has(f));
  const msgpack = new Uint8Array(MSGPACK_TOP.length);
  MSGPACK_TOP.forEach(([, f], i) => (msgpack[i] = has(f) ? DECODE : SKIP));
  const numbers = PROTO_FIELD_NUMBERS.AnalyticsRecord as Readonly<Record<string, number>>;
  const protobuf = new Uint8Array(Math.max(...Object.values(numbers)) + 1);
  for (const [name, n] of Object.entries(numbers)) protobuf[n] = has(protoField(name)) ? DECODE : SKIP;
  return {
    all: d === 'all',
    none: d !== 'all' && d.size === 0,
    fields: d,
    responseCode: d === 'all' || d.has('responseCode'),
    msgpack,
    protobuf,
  };
}

/** Full decoding. */
export const FULL_PROJECTION: Projection = projection('all');

/** Full decoding without the raw request, response and schema (`decode.raw: false`). */
export const NO_RAW_PROJECTION: Projection = projection('all', { raw: false });

function frozenPlaceholder(kind: 'http' | 'network', encoding: RecordEncoding): AnalyticsRecord {
  return Object.freeze({ kind, encoding, ...NEUTRAL_FIELDS, responseCode: kind === 'network' ? -1 : 0, route: '' });
}

const PLACEHOLDERS = {
  msgpack: { http: frozenPlaceholder('http', 'msgpack'), network: frozenPlaceholder('network', 'msgpack') },
  protobuf: { http: frozenPlaceholder('http', 'protobuf'), network: frozenPlaceholder('network', 'protobuf') },
} as const;

/**
 * The shared record a decoder returns for an element when no field is read: every field neutral, `kind`
 * and `encoding` exact. The same object for every such record (it is frozen).
 */
export function placeholder(responseCode: number, encoding: RecordEncoding): AnalyticsRecord {
  return PLACEHOLDERS[encoding][responseCode === -1 ? 'network' : 'http'];
}

/** The uptime counterpart of {@link placeholder} (uptime records are decoded in full otherwise). */
export const UPTIME_PLACEHOLDER: UptimeRecord = Object.freeze({
  kind: 'uptime', url: '', requestTime: 0, responseCode: 0, tcpError: false, serverError: false, day: 0, month: 0, year: 0,
  hour: 0, minute: 0, timestampMs: null, timestampNs: 0, expireAtMs: null, expireAtNs: 0, apiId: '', orgId: '',
});

/** A fully decoded record (the tolerant path) as the projection delivers it. */
export function applyProjection(r: AnalyticsRecord, p: Projection): AnalyticsRecord {
  if (p.all) return r;
  if (p.none) return placeholder(r.responseCode, r.encoding);
  return projectRecord(r, [...(p.fields as ReadonlySet<AnalyticsField>)]);
}
