/**
 * The slow, tolerant path for analytics records whose shape the fast reader does not know: a future
 * gateway may turn an int into a float, a string into an array, or nest a new map where a scalar was.
 * The fast reader (`decode.ts`) refuses such a record with `wrong_type`; `decodeAnalytics` then hands the
 * bytes here. They are unpacked generically with `msgpackr` and mapped field by field onto the record,
 * coercing what can be coerced and leaving the rest at its zero value. Every coercion is reported to the
 * caller (field + reason) so it can be counted; nothing here logs.
 *
 * A record is still refused (→ dead letter) when it is not valid msgpack at all, is not a map, or when a
 * field every pipeline needs — `APIID`, `ResponseCode`, `TimeStamp` — is present but cannot be recovered.
 */
import { Unpackr } from 'msgpackr';
import type { AnalyticsRecord, GeoData, GraphError, GraphQLStats, Latency, MCPStats, NetworkStats } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { GO_ZERO_TIME_SECONDS } from './go-time.js';

/** Why a value was coerced (a label value of the coercion counter). */
export type CoercionReason =
  | 'float_to_int' | 'string_to_int' | 'bool_to_int'
  | 'number_to_string' | 'bool_to_string' | 'array_to_string' | 'bin_to_string'
  | 'number_to_bool' | 'string_to_bool'
  | 'number_to_time' | 'string_to_time' | 'timestamp_ext'
  | 'scalar_to_array'
  | 'unrecoverable';

/** Receives each coercion: the wire field path (`Latency.Total`) and why. */
export type CoercionSink = (field: string, reason: CoercionReason) => void;

/** Fields without which no pipeline can use a record: a present-but-unrecoverable one refuses the record. */
const REQUIRED = new Set(['APIID', 'ResponseCode', 'TimeStamp']);

// Generic unpacking: maps as plain objects, 64-bit ints as numbers (the fast path's own precision), no
// msgpackr record extension (the gateway never writes it).
const unpackr = new Unpackr({ mapsAsObjects: true, int64AsType: 'number', useRecords: false });

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/** Maps every value of one record, collecting coercions; `fail` names the first required field lost. */
class Mapper {
  fail = '';
  constructor(private readonly sink: CoercionSink | undefined) {}

  private note(field: string, reason: CoercionReason): void {
    if (reason === 'unrecoverable' && REQUIRED.has(field) && this.fail === '') this.fail = field;
    this.sink?.(field, reason);
  }

  int(v: unknown, field: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return v;
      if (Number.isFinite(v)) {
        this.note(field, 'float_to_int');
        return Math.trunc(v);
      }
    } else if (typeof v === 'bigint') {
      return Number(v);
    } else if (typeof v === 'string') {
      const n = Number(v.trim());
      if (v.trim() !== '' && Number.isFinite(n)) {
        this.note(field, 'string_to_int');
        return Math.trunc(n);
      }
    } else if (typeof v === 'boolean') {
      this.note(field, 'bool_to_int');
      return v ? 1 : 0;
    }
    this.note(field, 'unrecoverable');
    return 0;
  }

  float(v: unknown, field: string): number {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (v === undefined || v === null) return 0;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) {
      this.note(field, 'string_to_int');
      return Number(v);
    }
    this.note(field, 'unrecoverable');
    return 0;
  }

  str(v: unknown, field: string): string {
    if (typeof v === 'string') return v;
    if (v === undefined || v === null) return '';
    if (typeof v === 'number' || typeof v === 'bigint') {
      this.note(field, 'number_to_string');
      return String(v);
    }
    if (typeof v === 'boolean') {
      this.note(field, 'bool_to_string');
      return String(v);
    }
    if (v instanceof Uint8Array) {
      this.note(field, 'bin_to_string');
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
    }
    if (Array.isArray(v) && v.every((e) => typeof e === 'string' || typeof e === 'number')) {
      this.note(field, 'array_to_string');
      return v.join(',');
    }
    this.note(field, 'unrecoverable');
    return '';
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v === 'boolean') return v;
    if (v === undefined || v === null) return false;
    if (typeof v === 'number') {
      this.note(field, 'number_to_bool');
      return v !== 0;
    }
    if (typeof v === 'string' && (v === 'true' || v === 'false')) {
      this.note(field, 'string_to_bool');
      return v === 'true';
    }
    this.note(field, 'unrecoverable');
    return false;
  }

  /** A Go `time.Time`: `[sec, nsec]` on the wire; also a msgpack timestamp, epoch seconds/ms, or RFC 3339. */
  time(v: unknown, field: string): { ms: number | null; ns: number } {
    if (v === undefined || v === null) return { ms: null, ns: 0 };
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') {
      const [sec, nsec] = v as [number, number];
      if (sec === GO_ZERO_TIME_SECONDS && nsec === 0) return { ms: null, ns: 0 };
      const total = sec * 1e9 + nsec;
      if (Number.isFinite(total)) {
        const ms = sec * 1000 + Math.floor(nsec / 1e6);
        if (Math.abs(ms) <= 8.64e15) return { ms, ns: nsec - Math.floor(nsec / 1e6) * 1e6 };
      }
    } else if (v instanceof Date && !Number.isNaN(v.getTime())) {
      this.note(field, 'timestamp_ext');
      return { ms: v.getTime(), ns: 0 };
    } else if (typeof v === 'number' && Number.isFinite(v)) {
      this.note(field, 'number_to_time');
      // Seconds unless it only makes sense as milliseconds (after the year 5138 in seconds).
      const ms = Math.abs(v) < 1e11 ? Math.floor(v * 1000) : Math.floor(v);
      if (Math.abs(ms) <= 8.64e15) return { ms, ns: 0 };
    } else if (typeof v === 'string') {
      const ms = Date.parse(v);
      if (!Number.isNaN(ms)) {
        this.note(field, 'string_to_time');
        return { ms, ns: 0 };
      }
    }
    this.note(field, 'unrecoverable');
    return { ms: null, ns: 0 };
  }

  strArray(v: unknown, field: string): string[] | null {
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return v.map((e, i) => this.str(e, `${field}[${i}]`));
    if (typeof v === 'string') {
      this.note(field, 'scalar_to_array');
      return [v];
    }
    this.note(field, 'unrecoverable');
    return null;
  }

  map(v: unknown, field: string): Obj | null {
    if (v === undefined || v === null) return null;
    if (isObj(v)) return v;
    this.note(field, 'unrecoverable');
    return null;
  }
}

/**
 * Decodes a msgpack analytics record the fast reader refused as `wrong_type`, tolerating unexpected
 * types. Reports each coercion to `sink`.
 *
 * @throws DecodeError `not_msgpack` (not valid msgpack), `not_a_record` (not a map / no known field) or
 *   `wrong_type` (a required field present but unrecoverable).
 */
export function decodeTolerant(bytes: Buffer, raw: boolean, sink?: CoercionSink): AnalyticsRecord {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    throw new DecodeError('not_msgpack', `msgpack: not valid msgpack (${(err as Error).message})`);
  }
  if (!isObj(value)) throw new DecodeError('not_a_record', 'msgpack: the element is not a map');
  const o = value;
  if (!('APIID' in o) && !('ResponseCode' in o) && !('TimeStamp' in o) && !('Path' in o)) {
    throw new DecodeError('not_a_record', 'msgpack: a map without any analytics record field');
  }
  const m = new Mapper(sink);
  const path = m.str(o['Path'], 'Path');
  const responseCode = m.int(o['ResponseCode'], 'ResponseCode');
  const ts = m.time(o['TimeStamp'], 'TimeStamp');
  const exp = m.time(o['ExpireAt'], 'ExpireAt');
  const lat = m.map(o['Latency'], 'Latency');
  const total = lat ? m.int(lat['Total'], 'Latency.Total') : 0;
  const upstream = lat ? m.int(lat['Upstream'], 'Latency.Upstream') : 0;
  const latency: Latency = {
    total,
    upstream,
    gateway: lat && lat['Gateway'] !== undefined ? m.int(lat['Gateway'], 'Latency.Gateway') : total - upstream,
  };
  const tags = m.strArray(o['Tags'], 'Tags');
  const rawOf = (k: string): string => (raw ? m.str(o[k], k) : '');
  const record: AnalyticsRecord = {
    kind: responseCode === -1 ? 'network' : 'http',
    encoding: 'msgpack',
    method: m.str(o['Method'], 'Method'),
    host: m.str(o['Host'], 'Host'),
    path,
    rawPath: o['RawPath'] === undefined ? '' : m.str(o['RawPath'], 'RawPath'),
    contentLength: m.int(o['ContentLength'], 'ContentLength'),
    userAgent: m.str(o['UserAgent'], 'UserAgent'),
    day: m.int(o['Day'], 'Day'),
    month: m.int(o['Month'], 'Month'),
    year: m.int(o['Year'], 'Year'),
    hour: m.int(o['Hour'], 'Hour'),
    responseCode,
    apiKey: m.str(o['APIKey'], 'APIKey'),
    timestampMs: ts.ms,
    timestampNs: ts.ns,
    apiVersion: m.str(o['APIVersion'], 'APIVersion'),
    apiName: m.str(o['APIName'], 'APIName'),
    apiId: m.str(o['APIID'], 'APIID'),
    orgId: m.str(o['OrgID'], 'OrgID'),
    oauthId: m.str(o['OauthID'], 'OauthID'),
    requestTime: m.int(o['RequestTime'], 'RequestTime'),
    rawRequest: rawOf('RawRequest'),
    rawResponse: rawOf('RawResponse'),
    ipAddress: m.str(o['IPAddress'], 'IPAddress'),
    geo: geo(m, o['Geo']),
    network: network(m, o['Network']),
    latency,
    tags: tags ?? [],
    alias: m.str(o['Alias'], 'Alias'),
    trackPath: m.bool(o['TrackPath'], 'TrackPath'),
    expireAtMs: exp.ms,
    expireAtNs: exp.ns,
    apiSchema: raw ? m.str(o['ApiSchema'] ?? o['APISchema'], 'ApiSchema') : '',
    originalPath: o['OriginalPath'] === undefined ? '' : m.str(o['OriginalPath'], 'OriginalPath'),
    listenPath: m.str(o['ListenPath'], 'ListenPath'),
    graphqlStats: graphql(m, o['GraphQLStats']),
    mcpStats: mcp(m, o['MCPStats']),
    timeZone: '',
    route: '',
  };
  if (m.fail !== '') {
    throw new DecodeError('wrong_type', `msgpack: ${m.fail}: a required field has a type that cannot be recovered`);
  }
  return record;
}

function network(m: Mapper, v: unknown): NetworkStats {
  const n = m.map(v, 'Network');
  if (n === null) return EMPTY_NETWORK;
  const out = {
    openConnections: m.int(n['OpenConnections'], 'Network.OpenConnections'),
    closedConnections: m.int(n['ClosedConnection'], 'Network.ClosedConnection'),
    bytesIn: m.int(n['BytesIn'], 'Network.BytesIn'),
    bytesOut: m.int(n['BytesOut'], 'Network.BytesOut'),
  };
  return out.openConnections === 0 && out.closedConnections === 0 && out.bytesIn === 0 && out.bytesOut === 0 ? EMPTY_NETWORK : out;
}

function geo(m: Mapper, v: unknown): GeoData {
  const g = m.map(v, 'Geo');
  if (g === null) return EMPTY_GEO;
  const country = m.map(g['Country'], 'Geo.Country');
  const city = m.map(g['City'], 'Geo.City');
  const loc = m.map(g['Location'], 'Geo.Location');
  const namesMap = city ? m.map(city['Names'], 'Geo.City.Names') : null;
  let names: Record<string, string> | null = null;
  if (namesMap !== null) {
    names = {};
    for (const [k, val] of Object.entries(namesMap)) {
      Object.defineProperty(names, k, { value: m.str(val, `Geo.City.Names.${k}`), enumerable: true, writable: true, configurable: true });
    }
  }
  const out: GeoData = {
    country: { isoCode: country ? m.str(country['ISOCode'], 'Geo.Country.ISOCode') : '' },
    city: { geoNameId: city ? m.int(city['GeoNameID'], 'Geo.City.GeoNameID') : 0, names },
    location: {
      latitude: loc ? m.float(loc['Latitude'], 'Geo.Location.Latitude') : 0,
      longitude: loc ? m.float(loc['Longitude'], 'Geo.Location.Longitude') : 0,
      timeZone: loc ? m.str(loc['TimeZone'], 'Geo.Location.TimeZone') : '',
    },
  };
  const empty = out.country.isoCode === '' && out.city.geoNameId === 0 && names === null
    && out.location.latitude === 0 && out.location.longitude === 0 && out.location.timeZone === '';
  return empty ? EMPTY_GEO : out;
}

function graphql(m: Mapper, v: unknown): GraphQLStats {
  const g = m.map(v, 'GraphQLStats');
  if (g === null) return EMPTY_GRAPHQL;
  const typesMap = m.map(g['Types'], 'GraphQLStats.Types');
  let types: Record<string, readonly string[]> | null = null;
  if (typesMap !== null) {
    types = {};
    for (const [k, val] of Object.entries(typesMap)) {
      Object.defineProperty(types, k, { value: m.strArray(val, `GraphQLStats.Types.${k}`) ?? [], enumerable: true, writable: true, configurable: true });
    }
  }
  let errors: GraphError[] | null = null;
  const errs = g['Errors'];
  if (Array.isArray(errs)) {
    errors = errs.map((e, i) => {
      const em = m.map(e, `GraphQLStats.Errors[${i}]`);
      const p = em?.['Path'];
      return {
        message: em ? m.str(em['Message'], 'GraphQLStats.Errors.Message') : '',
        path: Array.isArray(p) ? p.map((x) => (typeof x === 'number' ? x : m.str(x, 'GraphQLStats.Errors.Path'))) : null,
      };
    });
  } else if (errs !== undefined && errs !== null) m.str(errs, 'GraphQLStats.Errors');
  const out: GraphQLStats = {
    isGraphQL: m.bool(g['IsGraphQL'], 'GraphQLStats.IsGraphQL'),
    hasErrors: m.bool(g['HasErrors'], 'GraphQLStats.HasErrors'),
    operationType: m.int(g['OperationType'], 'GraphQLStats.OperationType'),
    variables: m.str(g['Variables'], 'GraphQLStats.Variables'),
    rootFields: m.strArray(g['RootFields'], 'GraphQLStats.RootFields'),
    types,
    errors,
  };
  const empty = !out.isGraphQL && !out.hasErrors && out.operationType === 0 && out.variables === ''
    && out.rootFields === null && types === null && errors === null;
  return empty ? EMPTY_GRAPHQL : out;
}

function mcp(m: Mapper, v: unknown): MCPStats {
  const x = m.map(v, 'MCPStats');
  if (x === null) return EMPTY_MCP;
  const out: MCPStats = {
    isMCP: m.bool(x['IsMCP'], 'MCPStats.IsMCP'),
    jsonRpcMethod: m.str(x['JSONRPCMethod'], 'MCPStats.JSONRPCMethod'),
    primitiveType: m.str(x['PrimitiveType'], 'MCPStats.PrimitiveType'),
    primitiveName: m.str(x['PrimitiveName'], 'MCPStats.PrimitiveName'),
  };
  return !out.isMCP && out.jsonRpcMethod === '' && out.primitiveType === '' && out.primitiveName === '' ? EMPTY_MCP : out;
}
