/**
 * Decodes Tyk analytics and uptime records exactly as the gateway leaves them in Redis (see
 * `shared/reference/tyk-analytics.md` §1.2–1.6 and `test/fixtures/README.md`):
 *
 * - msgpack (`gopkg.in/vmihailenco/msgpack.v2`): a map keyed by Go field names, in any order; unknown keys
 *   ignored, missing keys defaulted; any int code for any int field; `time.Time` as `[sec, nsec]` with Go's
 *   zero time → null; nil slices/maps; both the 35-key record and older ones (gateway ≤ 4.0 with a two-key
 *   `Latency` and `City` without `GeoNameID`, pump 1.8 with `APISchema`);
 * - protobuf (`serializer_type: protobuf`, keys with the `_protobuf` suffix): tyk-pump's `normalproto`
 *   schema (`analytics-proto.ts`) decoded with protobufjs;
 * - uptime records (`host-checker:tyk-uptime-analytics`, msgpack).
 *
 * Every failure is a `DecodeError` with a stable `reason`; no input makes these functions throw anything
 * else, allocate beyond the input's size, or loop without end.
 */
import protobuf from 'protobufjs';
import type { AnalyticsRecord, GeoData, GraphError, GraphQLStats, Latency, MCPStats, NetworkStats, UptimeRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { MsgpackReader, keyTable } from './msgpack-reader.js';
import { ANALYTICS_PROTO } from './analytics-proto.js';

/** Options of {@link decodeAnalytics}. */
export interface DecodeOptions {
  /**
   * Build `rawRequest`, `rawResponse` and `apiSchema` (default true). When false they are skipped
   * without building strings and decode as '': they are large base64 blobs most pipelines never read.
   */
  readonly raw?: boolean;
  /** Largest element accepted, in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}); larger → `too_large`. */
  readonly maxBytes?: number;
}

/** Default limit on one Redis list element: 16 MiB (a record with detailed recording is rarely above 1 MiB). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Shared empty tag list for nil/empty `Tags` (records are readonly, so sharing is safe). */
const NO_TAGS: readonly string[] = Object.freeze([]);

const reader = new MsgpackReader();

// ---------------------------------------------------------------------------------------------------
// msgpack analytics record

/** Top-level keys, in Go declaration order (the order the gateway writes them), plus pump 1.8's `APISchema`. */
const TOP_NAMES = [
  'Method', 'Host', 'Path', 'RawPath', 'ContentLength', 'UserAgent', 'Day', 'Month', 'Year', 'Hour',
  'ResponseCode', 'APIKey', 'TimeStamp', 'APIVersion', 'APIName', 'APIID', 'OrgID', 'OauthID', 'RequestTime',
  'RawRequest', 'RawResponse', 'IPAddress', 'Geo', 'Network', 'Latency', 'Tags', 'Alias', 'TrackPath',
  'ExpireAt', 'ApiSchema', 'OriginalPath', 'ListenPath', 'GraphQLStats', 'MCPStats', 'CollectionName',
  'APISchema',
] as const;
const TOP = keyTable(TOP_NAMES);
const LATENCY = keyTable(['Total', 'Upstream', 'Gateway']);
const NETWORK = keyTable(['OpenConnections', 'ClosedConnection', 'BytesIn', 'BytesOut']);
const GEO = keyTable(['Country', 'City', 'Location']);
const COUNTRY = keyTable(['ISOCode']);
const CITY = keyTable(['GeoNameID', 'Names']);
const LOCATION = keyTable(['Latitude', 'Longitude', 'TimeZone']);
const GRAPHQL_NAMES = ['Variables', 'RootFields', 'Types', 'Errors', 'OperationType', 'HasErrors', 'IsGraphQL'] as const;
const GRAPHQL = keyTable(GRAPHQL_NAMES);
const GRAPH_ERROR = keyTable(['Message', 'Path']);
const MCP = keyTable(['IsMCP', 'JSONRPCMethod', 'PrimitiveType', 'PrimitiveName']);

/**
 * Decodes one analytics record (an element of `analytics-tyk-system-analytics[_N][_protobuf]`).
 * `kind` is 'network' when `ResponseCode` is -1, else 'http'; `route` is ''.
 *
 * @throws DecodeError with `reason` `not_msgpack`, `not_protobuf`, `truncated`, `wrong_type`,
 *   `not_a_record` or `too_large`.
 */
export function decodeAnalytics(bytes: Buffer, encoding: 'msgpack' | 'protobuf', options?: DecodeOptions): AnalyticsRecord {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (bytes.length > maxBytes) {
    throw new DecodeError('too_large', `record of ${bytes.length} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  const raw = options?.raw ?? true;
  if (encoding === 'protobuf') return decodeProtobuf(bytes, raw);
  reader.reset(bytes, maxBytes);
  try {
    return decodeMsgpackAnalytics(raw);
  } finally {
    reader.release();
  }
}

/** Refuses a top-level value that is not a map: valid msgpack of another type → `not_a_record`, else `not_msgpack`. */
function notAMap(what: string): never {
  const r = reader;
  r.pos = 0;
  r.where = '';
  let wellFormed = false;
  if (r.end > 0) {
    try {
      r.skip();
      wellFormed = r.pos === r.end;
    } catch {
      wellFormed = false;
    }
  }
  if (wellFormed) throw new DecodeError('not_a_record', `msgpack: a ${what} is not a map`);
  throw new DecodeError(r.end === 0 ? 'truncated' : 'not_msgpack', r.end === 0 ? 'empty element' : 'msgpack: not a msgpack map');
}

function topMapHeader(what: string): number {
  const r = reader;
  if (r.end === 0) throw new DecodeError('truncated', 'empty element');
  const c = r.buf[0] as number;
  if ((c & 0xf0) !== 0x80 && c !== 0xde && c !== 0xdf) notAMap(`value of type ${describeTop(c)}`);
  return r.mapHeader();
}

function describeTop(c: number): string {
  if (c <= 0x7f || c >= 0xe0) return 'int';
  if (c <= 0x9f) return 'array';
  if (c <= 0xbf) return 'str';
  return `0x${c.toString(16)}`;
}

function decodeMsgpackAnalytics(raw: boolean): AnalyticsRecord {
  const r = reader;
  const n = topMapHeader(`${TOP_NAMES.length}-key analytics record`);
  let method = '', host = '', path = '', rawPath = '', contentLength = 0, userAgent = '';
  let day = 0, month = 0, year = 0, hour = 0, responseCode = 0, apiKey = '';
  let timestampMs: number | null = null, timestampNs = 0;
  let apiVersion = '', apiName = '', apiId = '', orgId = '', oauthId = '', requestTime = 0;
  let rawRequest = '', rawResponse = '', ipAddress = '';
  let geo: GeoData = EMPTY_GEO, network: NetworkStats = EMPTY_NETWORK;
  let latency: Latency | undefined;
  let tags: readonly string[] = NO_TAGS, alias = '', trackPath = false;
  let expireAtMs: number | null = null, expireAtNs = 0;
  let apiSchema = '', originalPath = '', listenPath = '';
  let graphqlStats: GraphQLStats = EMPTY_GRAPHQL, mcpStats: MCPStats = EMPTY_MCP;
  let known = 0;
  let hint = 0;
  for (let i = 0; i < n; i++) {
    r.where = '';
    const k = r.key(TOP, hint);
    if (k === -1) {
      r.skip();
      continue;
    }
    hint = k + 1;
    known++;
    r.where = TOP_NAMES[k] as string;
    switch (k) {
      case 0: method = r.str(); break;
      case 1: host = r.str(); break;
      case 2: path = r.str(); break;
      case 3: rawPath = r.str(); break;
      case 4: contentLength = r.int(); break;
      case 5: userAgent = r.str(); break;
      case 6: day = r.int(); break;
      case 7: month = r.int(); break;
      case 8: year = r.int(); break;
      case 9: hour = r.int(); break;
      case 10: responseCode = r.int(); break;
      case 11: apiKey = r.str(); break;
      case 12: r.readTime(); timestampMs = r.timeMs; timestampNs = r.timeNs; break;
      case 13: apiVersion = r.str(); break;
      case 14: apiName = r.str(); break;
      case 15: apiId = r.str(); break;
      case 16: orgId = r.str(); break;
      case 17: oauthId = r.str(); break;
      case 18: requestTime = r.int(); break;
      case 19: if (raw) rawRequest = r.str(); else r.skipStr(); break;
      case 20: if (raw) rawResponse = r.str(); else r.skipStr(); break;
      case 21: ipAddress = r.str(); break;
      case 22: geo = readGeo(); break;
      case 23: network = readNetwork(); break;
      case 24: latency = readLatency(); break;
      case 25: { const t = r.strArray(); tags = t === null || t.length === 0 ? NO_TAGS : t; break; }
      case 26: alias = r.str(); break;
      case 27: trackPath = r.bool(); break;
      case 28: r.readTime(); expireAtMs = r.timeMs; expireAtNs = r.timeNs; break;
      case 29: case 35: if (raw) apiSchema = r.str(); else r.skipStr(); break;
      case 30: originalPath = r.str(); break;
      case 31: listenPath = r.str(); break;
      case 32: graphqlStats = readGraphQL(); break;
      case 33: mcpStats = readMcp(); break;
      default: r.skip(); break; // CollectionName: always "" from the gateway, not part of the model
    }
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any analytics record field`);
  return {
    kind: responseCode === -1 ? 'network' : 'http',
    encoding: 'msgpack',
    method, host, path, rawPath, contentLength, userAgent, day, month, year, hour, responseCode, apiKey,
    timestampMs, timestampNs, apiVersion, apiName, apiId, orgId, oauthId, requestTime, rawRequest, rawResponse,
    ipAddress, geo, network,
    latency: latency ?? { total: 0, upstream: 0, gateway: 0 },
    tags, alias, trackPath, expireAtMs, expireAtNs, apiSchema, originalPath, listenPath, graphqlStats, mcpStats,
    timeZone: '',
    route: '',
  };
}

function readLatency(): Latency {
  const r = reader;
  const n = r.mapHeader();
  let total = 0, upstream = 0, gateway = 0, hasGateway = false;
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(LATENCY, hint);
    hint = k + 1;
    switch (k) {
      case 0: total = r.int(); break;
      case 1: upstream = r.int(); break;
      case 2: gateway = r.int(); hasGateway = true; break;
      default: r.skip();
    }
  }
  // Latency.Gateway is on the wire only since gateway ≈5.11; the gateway itself sets it to Total − Upstream.
  return { total, upstream, gateway: hasGateway ? gateway : total - upstream };
}

function readNetwork(): NetworkStats {
  const r = reader;
  const n = r.mapHeader();
  let open = 0, closed = 0, bytesIn = 0, bytesOut = 0;
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(NETWORK, hint);
    hint = k + 1;
    switch (k) {
      case 0: open = r.int(); break;
      case 1: closed = r.int(); break;
      case 2: bytesIn = r.int(); break;
      case 3: bytesOut = r.int(); break;
      default: r.skip();
    }
  }
  if (open === 0 && closed === 0 && bytesIn === 0 && bytesOut === 0) return EMPTY_NETWORK;
  return { openConnections: open, closedConnections: closed, bytesIn, bytesOut };
}

function readGeo(): GeoData {
  const r = reader;
  const n = r.mapHeader();
  let isoCode = '', geoNameId = 0, names: Record<string, string> | null = null;
  let latitude = 0, longitude = 0, timeZone = '';
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(GEO, hint);
    hint = k + 1;
    if (k === -1) {
      r.skip();
      continue;
    }
    const m = r.mapHeader();
    for (let j = 0, h = 0; j < m; j++) {
      if (k === 0) {
        if (r.key(COUNTRY, 0) === 0) isoCode = r.str();
        else r.skip();
      } else if (k === 1) {
        const c = r.key(CITY, h);
        h = c + 1;
        if (c === 0) geoNameId = r.int();
        else if (c === 1) names = readStringMap();
        else r.skip();
      } else {
        const c = r.key(LOCATION, h);
        h = c + 1;
        if (c === 0) latitude = r.float();
        else if (c === 1) longitude = r.float();
        else if (c === 2) timeZone = r.str();
        else r.skip();
      }
    }
  }
  if (isoCode === '' && geoNameId === 0 && names === null && latitude === 0 && longitude === 0 && timeZone === '') return EMPTY_GEO;
  return {
    country: { isoCode },
    city: { geoNameId, names },
    location: { latitude, longitude, timeZone },
  };
}

/** Sets `obj[key] = value` without letting a `__proto__` key touch the prototype. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A Go `map[string]string` (nil → null). */
function readStringMap(): Record<string, string> | null {
  const r = reader;
  const n = r.mapHeader();
  if (n === -1) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const key = r.str();
    put(out, key, r.str());
  }
  return out;
}

function readGraphQL(): GraphQLStats {
  const r = reader;
  const n = r.mapHeader();
  let variables = '', rootFields: string[] | null = null, types: Record<string, readonly string[]> | null = null;
  let errors: GraphError[] | null = null, operationType = 0, hasErrors = false, isGraphQL = false;
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(GRAPHQL, hint);
    hint = k + 1;
    switch (k) {
      case 0: variables = r.str(); break;
      case 1: rootFields = r.strArray(); break;
      case 2: {
        const m = r.mapHeader();
        if (m === -1) {
          types = null;
          break;
        }
        types = {};
        for (let j = 0; j < m; j++) {
          const name = r.str();
          put(types, name, r.strArray() ?? NO_TAGS);
        }
        break;
      }
      case 3: {
        const m = r.arrayHeader();
        if (m === -1) {
          errors = null;
          break;
        }
        errors = [];
        for (let j = 0; j < m; j++) errors.push(readGraphError());
        break;
      }
      case 4: operationType = r.int(); break;
      case 5: hasErrors = r.bool(); break;
      case 6: isGraphQL = r.bool(); break;
      default: r.skip();
    }
  }
  if (!isGraphQL && !hasErrors && operationType === 0 && variables === '' && rootFields === null && types === null && errors === null) {
    return EMPTY_GRAPHQL;
  }
  return { isGraphQL, hasErrors, operationType, variables, rootFields, types, errors };
}

function readGraphError(): GraphError {
  const r = reader;
  const n = r.mapHeader();
  let message = '', path: (string | number)[] | null = null;
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(GRAPH_ERROR, hint);
    hint = k + 1;
    if (k === 0) message = r.str();
    else if (k === 1) {
      const m = r.arrayHeader();
      if (m === -1) continue;
      path = [];
      for (let j = 0; j < m; j++) {
        // `[]interface{}` from the GraphQL engine's JSON: field names and indexes (ints, or float64 from JSON).
        const c = r.buf[r.pos] as number;
        if ((c & 0xe0) === 0xa0 || c === 0xd9 || c === 0xda || c === 0xdb) path.push(r.str());
        else path.push(r.float());
      }
    } else r.skip();
  }
  return { message, path };
}

function readMcp(): MCPStats {
  const r = reader;
  const n = r.mapHeader();
  let isMCP = false, jsonRpcMethod = '', primitiveType = '', primitiveName = '';
  for (let i = 0, hint = 0; i < n; i++) {
    const k = r.key(MCP, hint);
    hint = k + 1;
    switch (k) {
      case 0: isMCP = r.bool(); break;
      case 1: jsonRpcMethod = r.str(); break;
      case 2: primitiveType = r.str(); break;
      case 3: primitiveName = r.str(); break;
      default: r.skip();
    }
  }
  if (!isMCP && jsonRpcMethod === '' && primitiveType === '' && primitiveName === '') return EMPTY_MCP;
  return { isMCP, jsonRpcMethod, primitiveType, primitiveName };
}

// ---------------------------------------------------------------------------------------------------
// uptime record

const UPTIME_NAMES = [
  'URL', 'RequestTime', 'ResponseCode', 'TCPError', 'ServerError', 'Day', 'Month', 'Year', 'Hour', 'Minute',
  'TimeStamp', 'ExpireAt', 'APIID', 'OrgID',
] as const;
const UPTIME = keyTable(UPTIME_NAMES);

/**
 * Decodes one host-checker uptime record (an element of `host-checker:tyk-uptime-analytics`, always msgpack).
 *
 * @throws DecodeError as {@link decodeAnalytics}.
 */
export function decodeUptime(bytes: Buffer, options?: Pick<DecodeOptions, 'maxBytes'>): UptimeRecord {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (bytes.length > maxBytes) {
    throw new DecodeError('too_large', `record of ${bytes.length} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  reader.reset(bytes, maxBytes);
  try {
    return decodeMsgpackUptime();
  } finally {
    reader.release();
  }
}

function decodeMsgpackUptime(): UptimeRecord {
  const r = reader;
  const n = topMapHeader('uptime record');
  let url = '', requestTime = 0, responseCode = 0, tcpError = false, serverError = false;
  let day = 0, month = 0, year = 0, hour = 0, minute = 0;
  let timestampMs: number | null = null, timestampNs = 0, expireAtMs: number | null = null, expireAtNs = 0;
  let apiId = '', orgId = '';
  let known = 0;
  for (let i = 0, hint = 0; i < n; i++) {
    r.where = '';
    const k = r.key(UPTIME, hint);
    if (k === -1) {
      r.skip();
      continue;
    }
    hint = k + 1;
    known++;
    r.where = UPTIME_NAMES[k] as string;
    switch (k) {
      case 0: url = r.str(); break;
      case 1: requestTime = r.int(); break;
      case 2: responseCode = r.int(); break;
      case 3: tcpError = r.bool(); break;
      case 4: serverError = r.bool(); break;
      case 5: day = r.int(); break;
      case 6: month = r.int(); break;
      case 7: year = r.int(); break;
      case 8: hour = r.int(); break;
      case 9: minute = r.int(); break;
      case 10: r.readTime(); timestampMs = r.timeMs; timestampNs = r.timeNs; break;
      case 11: r.readTime(); expireAtMs = r.timeMs; expireAtNs = r.timeNs; break;
      case 12: apiId = r.str(); break;
      default: orgId = r.str(); break;
    }
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any uptime record field`);
  return {
    kind: 'uptime', url, requestTime, responseCode, tcpError, serverError, day, month, year, hour, minute,
    timestampMs, timestampNs, expireAtMs, expireAtNs, apiId, orgId,
  };
}

// ---------------------------------------------------------------------------------------------------
// protobuf analytics record

const protoRoot = new protobuf.Root();
protoRoot.addJSON((protobuf.common as unknown as Record<string, { nested: protobuf.INamespace['nested'] }>)['google/protobuf/timestamp.proto']!.nested!);
protobuf.parse(ANALYTICS_PROTO, protoRoot, { keepCase: true });
protoRoot.resolveAll();
/** The reflected `normalproto.AnalyticsRecord` type (parsed once at module load). */
const ProtoRecord = protoRoot.lookupType('normalproto.AnalyticsRecord');

/** An int64 as protobufjs returns it (a `Long` when the `long` package is present) → number. */
type Int64 = number | { toNumber(): number } | null | undefined;
function num(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

interface PbTimestamp { seconds?: Int64; nanos?: number }
interface PbRecord {
  Host?: string; Method?: string; Path?: string; RawPath?: string; ContentLength?: Int64; UserAgent?: string;
  Day?: number; Month?: number; Year?: number; Hour?: number; ResponseCode?: number; APIKey?: string;
  TimeStamp?: PbTimestamp | null; APIVersion?: string; APIName?: string; APIID?: string; OrgID?: string;
  RequestTime?: Int64; Latency?: { Total?: Int64; Upstream?: Int64 } | null; RawRequest?: string; RawResponse?: string;
  IPAddress?: string;
  Geo?: {
    Country?: { ISOCode?: string } | null;
    City?: { Names?: Record<string, string>; GeoNameID?: number } | null;
    Location?: { Latitude?: number; Longitude?: number; TimeZone?: string } | null;
  } | null;
  Network?: { OpenConnections?: Int64; ClosedConnections?: Int64; BytesIn?: Int64; BytesOut?: Int64 } | null;
  Tags?: string[]; Alias?: string; TrackPath?: boolean; ExpireAt?: PbTimestamp | null; OauthID?: string;
  TimeZone?: string; ApiSchema?: string;
  GraphQLStats?: {
    IsGraphQL?: boolean; Types?: Record<string, { fields?: string[] }>; OperationType?: number; Variables?: string;
    RootFields?: string[]; HasError?: boolean; GraphErrors?: string[];
  } | null;
  MCPStats?: { IsMCP?: boolean; JSONRPCMethod?: string; PrimitiveType?: string; PrimitiveName?: string } | null;
  OriginalPath?: string; ListenPath?: string;
}

function pbTime(t: PbTimestamp | null | undefined): void {
  // An absent Timestamp is Go's zero time, as is an explicit 0001-01-01 (seconds -62135596800).
  if (t === null || t === undefined) {
    reader.timeMs = null;
    reader.timeNs = 0;
    return;
  }
  reader.where = 'Timestamp';
  reader.end = 0;
  reader.pos = 0;
  try {
    reader.setTime(num(t.seconds), t.nanos ?? 0);
  } catch (err) {
    throw new DecodeError('wrong_type', `protobuf: ${(err as Error).message.replace(/^msgpack: /, '').replace(/ \(at byte.*$/, '')}`);
  }
}

/**
 * Walks the top-level fields of a protobuf message without decoding them: every tag has a valid wire type
 * and every length fits in the buffer. protobufjs alone does not catch a cut element: its Buffer reader
 * clamps a string that runs past the end and returns it shortened.
 */
function checkProtobufFraming(b: Buffer): void {
  const end = b.length;
  let p = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (p >= end) throw new DecodeError('truncated', `protobuf: varint runs past the end (${end} bytes)`);
      const c = b[p++] as number;
      if (shift < 35) v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
    throw new DecodeError('not_protobuf', `protobuf: varint longer than 10 bytes at offset ${p}`);
  };
  while (p < end) {
    const tag = varint();
    const wire = tag % 8;
    if (tag < 8) throw new DecodeError('not_protobuf', `protobuf: field number 0 at offset ${p}`);
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint();
      p += len;
    } else throw new DecodeError('not_protobuf', `protobuf: invalid wire type ${wire} at offset ${p}`);
    if (p > end) throw new DecodeError('truncated', `protobuf: field ${Math.floor(tag / 8)} runs past the end (${end} bytes)`);
  }
}

function decodeProtobuf(bytes: Buffer, raw: boolean): AnalyticsRecord {
  if (bytes.length === 0) throw new DecodeError('truncated', 'empty element');
  checkProtobufFraming(bytes);
  let m: PbRecord;
  try {
    m = ProtoRecord.decode(bytes) as unknown as PbRecord;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new DecodeError(/index out of range/.test(msg) ? 'truncated' : 'not_protobuf', `protobuf: ${msg}`, { cause: err });
  }
  // protobufjs sets only the fields present on the wire as own properties (plus an empty `Tags` array
  // its constructor always creates); none at all is not a record.
  const own = Object.keys(m);
  if (own.length === 0 || (own.length === 1 && own[0] === 'Tags' && m.Tags?.length === 0)) {
    throw new DecodeError('not_a_record', 'protobuf: no analytics record field present');
  }

  pbTime(m.TimeStamp);
  const timestampMs = reader.timeMs, timestampNs = reader.timeNs;
  pbTime(m.ExpireAt);
  const expireAtMs = reader.timeMs, expireAtNs = reader.timeNs;

  const lat = m.Latency;
  const total = num(lat?.Total), upstream = num(lat?.Upstream);

  let geo: GeoData = EMPTY_GEO;
  const g = m.Geo;
  if (g) {
    const isoCode = g.Country?.ISOCode ?? '';
    const geoNameId = g.City?.GeoNameID ?? 0;
    const rawNames = g.City?.Names;
    // protobufjs gives an empty map object for an absent map field; Go's nil map is null here.
    let names: Record<string, string> | null = null;
    if (rawNames) for (const k in rawNames) { names ??= {}; put(names, k, rawNames[k] as string); }
    const latitude = g.Location?.Latitude ?? 0, longitude = g.Location?.Longitude ?? 0, timeZone = g.Location?.TimeZone ?? '';
    if (isoCode !== '' || geoNameId !== 0 || names !== null || latitude !== 0 || longitude !== 0 || timeZone !== '') {
      geo = { country: { isoCode }, city: { geoNameId, names }, location: { latitude, longitude, timeZone } };
    }
  }

  let network: NetworkStats = EMPTY_NETWORK;
  const nw = m.Network;
  if (nw) {
    const openConnections = num(nw.OpenConnections), closedConnections = num(nw.ClosedConnections);
    const bytesIn = num(nw.BytesIn), bytesOut = num(nw.BytesOut);
    if (openConnections !== 0 || closedConnections !== 0 || bytesIn !== 0 || bytesOut !== 0) {
      network = { openConnections, closedConnections, bytesIn, bytesOut };
    }
  }

  let graphqlStats: GraphQLStats = EMPTY_GRAPHQL;
  const q = m.GraphQLStats;
  if (q) {
    let types: Record<string, readonly string[]> | null = null;
    if (q.Types) for (const k in q.Types) { types ??= {}; put(types, k, q.Types[k]?.fields ?? NO_TAGS); }
    const rootFields = q.RootFields && q.RootFields.length > 0 ? q.RootFields : null;
    // Tyk's protobuf form keeps only the error messages; the paths are lost.
    const errors = q.GraphErrors && q.GraphErrors.length > 0 ? q.GraphErrors.map((message) => ({ message, path: null })) : null;
    const stats: GraphQLStats = {
      isGraphQL: q.IsGraphQL ?? false, hasErrors: q.HasError ?? false, operationType: q.OperationType ?? 0,
      variables: q.Variables ?? '', rootFields, types, errors,
    };
    if (stats.isGraphQL || stats.hasErrors || stats.operationType !== 0 || stats.variables !== '' || rootFields || types || errors) {
      graphqlStats = stats;
    }
  }

  let mcpStats: MCPStats = EMPTY_MCP;
  const c = m.MCPStats;
  if (c && (c.IsMCP || c.JSONRPCMethod || c.PrimitiveType || c.PrimitiveName)) {
    mcpStats = { isMCP: c.IsMCP ?? false, jsonRpcMethod: c.JSONRPCMethod ?? '', primitiveType: c.PrimitiveType ?? '', primitiveName: c.PrimitiveName ?? '' };
  }

  const responseCode = m.ResponseCode ?? 0;
  return {
    kind: responseCode === -1 ? 'network' : 'http',
    encoding: 'protobuf',
    method: m.Method ?? '', host: m.Host ?? '', path: m.Path ?? '', rawPath: m.RawPath ?? '',
    contentLength: num(m.ContentLength), userAgent: m.UserAgent ?? '',
    day: m.Day ?? 0, month: m.Month ?? 0, year: m.Year ?? 0, hour: m.Hour ?? 0, responseCode, apiKey: m.APIKey ?? '',
    timestampMs, timestampNs, apiVersion: m.APIVersion ?? '', apiName: m.APIName ?? '', apiId: m.APIID ?? '',
    orgId: m.OrgID ?? '', oauthId: m.OauthID ?? '', requestTime: num(m.RequestTime),
    rawRequest: raw ? (m.RawRequest ?? '') : '', rawResponse: raw ? (m.RawResponse ?? '') : '',
    ipAddress: m.IPAddress ?? '', geo, network,
    // The protobuf schema has no Latency.Gateway; derive it as the gateway does.
    latency: { total, upstream, gateway: total - upstream },
    tags: m.Tags && m.Tags.length > 0 ? m.Tags : NO_TAGS,
    alias: m.Alias ?? '', trackPath: m.TrackPath ?? false, expireAtMs, expireAtNs,
    apiSchema: raw ? (m.ApiSchema ?? '') : '', originalPath: m.OriginalPath ?? '', listenPath: m.ListenPath ?? '',
    graphqlStats, mcpStats, timeZone: m.TimeZone ?? '',
    route: '',
  };
}

