/**
 * Decodes Tyk analytics and uptime records exactly as the gateway leaves them in Redis (tyk-pump
 * `analytics/analytics.go`, `serializer/msgp.go`, `serializer/protobuf.go`; see `test/fixtures/README.md`):
 *
 * - msgpack (`gopkg.in/vmihailenco/msgpack.v2`): a map keyed by Go field names, in any order; unknown keys
 *   ignored, missing keys defaulted; any int code for any int field; `time.Time` as `[sec, nsec]` with Go's
 *   zero time → null; nil slices/maps; both the 35-key record and older ones (gateway ≤ 4.0 with a two-key
 *   `Latency` and `City` without `GeoNameID`, pump 1.8 with `APISchema`);
 * - protobuf (`serializer_type: protobuf`, keys with the `_protobuf` suffix): tyk-pump's `normalproto`
 *   schema (`analytics-proto.ts`), read with protobufjs's wire Reader (`protobuf-record.ts`);
 * - uptime records (`host-checker:tyk-uptime-analytics`, msgpack).
 *
 * Every failure is a `DecodeError` with a stable `reason`; no input makes these functions throw anything
 * else, allocate beyond the input's size, or loop without end.
 */
import type { AnalyticsRecord, GeoData, GraphError, GraphQLStats, Latency, MCPStats, NetworkStats, UptimeRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { EmptyForms, MsgpackReader, keyTable } from './msgpack-reader.js';
import { decodeProtobufRecord } from './protobuf-record.js';
import { decodeTolerant } from './tolerant.js';
import type { CoercionSink } from './tolerant.js';

/** Options of {@link decodeAnalytics}. */
export interface DecodeOptions {
  /**
   * Build `rawRequest`, `rawResponse` and `apiSchema` (default true). When false they are skipped
   * without building strings and decode as '': they are large base64 blobs most pipelines never read.
   */
  readonly raw?: boolean;
  /** Largest element accepted, in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}); larger → `too_large`. */
  readonly maxBytes?: number;
  /**
   * Hand msgpack records the fast reader refuses as `wrong_type` (a known key with an unexpected type) to
   * the tolerant slow path (`tolerant.ts`) instead of refusing them (default true).
   */
  readonly tolerant?: boolean;
  /** Receives every coercion the tolerant path makes (field path and reason), for counting. */
  readonly onCoercion?: CoercionSink;
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
 * A msgpack record with a known key of an unexpected type goes through the tolerant path (see
 * {@link DecodeOptions.tolerant}); `wrong_type` then means a required field could not be recovered.
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
  if (encoding === 'protobuf') return decodeProtobufRecord(bytes, raw);
  reader.reset(bytes, maxBytes);
  try {
    return decodeMsgpackAnalytics(raw);
  } catch (err) {
    // A shape we do not know yet (a future gateway's int → float, string → array, …): the slow path
    // coerces what it can. Only a type error goes there; broken msgpack stays refused.
    if (err instanceof DecodeError && err.reason === 'wrong_type' && options?.tolerant !== false) {
      reader.release();
      return decodeTolerant(bytes, raw, options?.onCoercion);
    }
    throw err;
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
  let pathStart = 0, pathLen = -1;
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
      case 0: method = r.strCached(); break;
      case 1: host = r.strCached(); break;
      case 2: path = r.str(); pathStart = r.lastStart; pathLen = path === '' ? -1 : r.pos - pathStart; break;
      case 3: rawPath = r.strOr(path, pathStart, pathLen); break;
      case 4: contentLength = r.int(); break;
      case 5: userAgent = r.strCached(); break;
      case 6: day = r.int(); break;
      case 7: month = r.int(); break;
      case 8: year = r.int(); break;
      case 9: hour = r.int(); break;
      case 10: responseCode = r.int(); break;
      case 11: apiKey = r.strCached(); break;
      case 12: r.readTime(); timestampMs = r.timeMs; timestampNs = r.timeNs; break;
      case 13: apiVersion = r.strCached(); break;
      case 14: apiName = r.strCached(); break;
      case 15: apiId = r.strCached(); break;
      case 16: orgId = r.strCached(); break;
      case 17: oauthId = r.strCached(); break;
      case 18: requestTime = r.int(); break;
      case 19: if (raw) rawRequest = r.str(); else r.skipStr(); break;
      case 20: if (raw) rawResponse = r.str(); else r.skipStr(); break;
      case 21: ipAddress = r.strCached(); break;
      case 22: geo = emptyGeo.skip(r) ? EMPTY_GEO : remembered(emptyGeo, r.pos, readGeo(), EMPTY_GEO); break;
      case 23: network = emptyNetwork.skip(r) ? EMPTY_NETWORK : remembered(emptyNetwork, r.pos, readNetwork(), EMPTY_NETWORK); break;
      case 24: latency = readLatency(); break;
      case 25: { const t = r.strArray(); tags = t === null || t.length === 0 ? NO_TAGS : t; break; }
      case 26: alias = r.strCached(); break;
      case 27: trackPath = r.bool(); break;
      case 28: r.readTime(); expireAtMs = r.timeMs; expireAtNs = r.timeNs; break;
      case 29: case 35: if (raw) apiSchema = r.str(); else r.skipStr(); break;
      case 30: originalPath = r.strOr(path, pathStart, pathLen); break;
      case 31: listenPath = r.strCached(); break;
      case 32: graphqlStats = emptyGraphQL.skip(r) ? EMPTY_GRAPHQL : remembered(emptyGraphQL, r.pos, readGraphQL(), EMPTY_GRAPHQL); break;
      case 33: mcpStats = emptyMcp.skip(r) ? EMPTY_MCP : remembered(emptyMcp, r.pos, readMcp(), EMPTY_MCP); break;
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

/** Wire forms of the all-empty sub-records (see {@link EmptyForms}). */
const emptyGeo = new EmptyForms();
const emptyNetwork = new EmptyForms();
const emptyGraphQL = new EmptyForms();
const emptyMcp = new EmptyForms();

/**
 * Returns `value`; when it is the shared `empty` value, remembers the bytes it was read from (from `start`,
 * evaluated before the read, to the reader's position after it) as a form of it.
 */
function remembered<T>(forms: EmptyForms, start: number, value: T, empty: T): T {
  if (value === empty) forms.remember(reader, start);
  return value;
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
        if (r.key(COUNTRY, 0) === 0) isoCode = r.strCached();
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
        else if (c === 2) timeZone = r.strCached();
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
    const key = r.strCached();
    put(out, key, r.strCached());
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
          const name = r.strCached();
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
    if (k === 0) message = r.strCached();
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
      case 1: jsonRpcMethod = r.strCached(); break;
      case 2: primitiveType = r.strCached(); break;
      case 3: primitiveName = r.strCached(); break;
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
      case 0: url = r.strCached(); break;
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
      case 12: apiId = r.strCached(); break;
      default: orgId = r.strCached(); break;
    }
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any uptime record field`);
  return {
    kind: 'uptime', url, requestTime, responseCode, tcpError, serverError, day, month, year, hour, minute,
    timestampMs, timestampNs, expireAtMs, expireAtNs, apiId, orgId,
  };
}
