/**
 * The msgpack analytics record (tyk-pump `analytics/analytics.go` `AnalyticsRecord`, encoded by
 * `gopkg.in/vmihailenco/msgpack.v2`): a map keyed by Go field names, in any order; unknown keys ignored,
 * missing keys defaulted; any int code for any int field; `time.Time` as `[sec, nsec]`; nil slices/maps;
 * the 35-key record and the older ones (gateway ≤ 4.0 with a two-key `Latency` and `City` without
 * `GeoNameID`, pump 1.8 with `APISchema`). Only the fields of the projection are built.
 */
import type { AnalyticsRecord, GeoData, GraphError, GraphQLStats, Latency, MCPStats, NetworkStats } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { NO_TAGS } from '../../src/record-reads.js';
import { DecodeError } from '../../src/errors.js';
import { keyTable } from './key-table.js';
import { EmptyForms } from './empty-forms.js';
import { MSGPACK_TOP, SKIP, type Projection } from './projection.js';
import { draftRecord, finishDraft } from './draft-record.js';
import { latencyOf } from './latency-cache.js';
import { reader, topMapHeader } from './shared-reader.js';

const TOP_NAMES = MSGPACK_TOP.map(([k]) => k);
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
 * Decodes the analytics record at the shared reader (reset on the element) with projection `p`: the
 * fields it leaves out are skipped and stay neutral; with none, the element is only checked.
 */
export function decodeMsgpackAnalytics(p: Projection): AnalyticsRecord {
  const r = reader;
  const want = p.msgpack;
  const n = topMapHeader(`${TOP_NAMES.length}-key analytics record`);
  const d = draftRecord('msgpack', p);
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
    if (want[k] === SKIP) {
      // Not read by any pipeline: skipped by its declared lengths, nothing built (projection.ts).
      r.skip();
      continue;
    }
    r.where = TOP_NAMES[k] as string;
    switch (k) {
      case 0: d.method = r.strCached(); break;
      case 1: d.host = r.strCached(); break;
      case 2: d.path = r.str(); pathStart = r.lastStart; pathLen = d.path === '' ? -1 : r.pos - pathStart; break;
      case 3: d.rawPath = r.strOr(d.path, pathStart, pathLen); break;
      case 4: d.contentLength = r.int(); break;
      case 5: d.userAgent = r.strCached(); break;
      case 6: d.day = r.int(); break;
      case 7: d.month = r.int(); break;
      case 8: d.year = r.int(); break;
      case 9: d.hour = r.int(); break;
      case 10: d.responseCode = r.int(); break;
      case 11: d.apiKey = r.strCached(); break;
      case 12: r.readTime(); d.timestampMs = r.timeMs; d.timestampNs = r.timeNs; break;
      case 13: d.apiVersion = r.strCached(); break;
      case 14: d.apiName = r.strCached(); break;
      case 15: d.apiId = r.strCached(); break;
      case 16: d.orgId = r.strCached(); break;
      case 17: d.oauthId = r.strCached(); break;
      case 18: d.requestTime = r.int(); break;
      case 19: d.rawRequest = r.str(); break;
      case 20: d.rawResponse = r.str(); break;
      case 21: d.ipAddress = r.strCached(); break;
      case 22: d.geo = emptyGeo.skip(r) ? EMPTY_GEO : remembered(emptyGeo, r.pos, readGeo(), EMPTY_GEO); break;
      case 23: d.network = emptyNetwork.skip(r) ? EMPTY_NETWORK : remembered(emptyNetwork, r.pos, readNetwork(), EMPTY_NETWORK); break;
      case 24: d.latency = readLatency(); break;
      case 25: { const t = r.strArray(); d.tags = t === null || t.length === 0 ? NO_TAGS : t; break; }
      case 26: d.alias = r.strCached(); break;
      case 27: d.trackPath = r.bool(); break;
      case 28: r.readTime(); d.expireAtMs = r.timeMs; d.expireAtNs = r.timeNs; break;
      case 29: case 35: d.apiSchema = r.str(); break;
      case 30: d.originalPath = r.strOr(d.path, pathStart, pathLen); break;
      case 31: d.listenPath = r.strCached(); break;
      case 32: d.graphqlStats = emptyGraphQL.skip(r) ? EMPTY_GRAPHQL : remembered(emptyGraphQL, r.pos, readGraphQL(), EMPTY_GRAPHQL); break;
      case 33: d.mcpStats = emptyMcp.skip(r) ? EMPTY_MCP : remembered(emptyMcp, r.pos, readMcp(), EMPTY_MCP); break;
      default: r.skip(); break; // CollectionName: always "" from the gateway, not part of the model
    }
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any analytics record field`);
  return finishDraft(d, p);
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
  return latencyOf(total, upstream, hasGateway ? gateway : total - upstream);
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
