/**
 * Decodes a `serializer_type: protobuf` analytics record (tyk-pump's `normalproto.AnalyticsRecord`, schema
 * in `analytics-proto.ts`) straight into the typed record, reading the wire with protobufjs's `Reader`
 * (varints, zigzag, int64, doubles, skipping unknown fields).
 *
 * Why not `Type.decode` from the parsed `.proto`: protobufjs builds an intermediate message whose shape
 * depends on which fields Go happened to omit (proto3 leaves zero values off the wire), so mapping it is
 * megamorphic, every int64 becomes a `Long`, and a cut string is silently shortened by its Buffer reader.
 * Measured in `test/bench/decode.bench.ts` (BENCHMARKS.md, Decode): `Type.decode` + mapping is slower. The field
 * numbers below are checked against the parsed `.proto` by `decode.test.ts`, which also decodes every
 * fixture both ways and compares.
 */
import protobuf from 'protobufjs';
import type { AnalyticsRecord, GeoData, GraphError, GraphQLStats, MCPStats, NetworkStats } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { goTime, type TimeOut } from './go-time.js';
import { cachedStringAt, viewOf, type FastSlices } from './string-cache.js';
import { DECODE, SKIP, type Projection } from './projection.js';
import { draftRecord, finishDraft } from './draft-record.js';
import { latencyOf } from './latency-cache.js';

/** The field numbers this decoder uses, per message (checked against `analytics-proto.ts` in the tests). */
export const PROTO_FIELD_NUMBERS = {
  AnalyticsRecord: {
    Host: 1, Method: 2, Path: 3, RawPath: 4, ContentLength: 5, UserAgent: 6, Day: 7, Month: 8, Year: 9, Hour: 10,
    ResponseCode: 11, APIKey: 12, TimeStamp: 13, APIVersion: 14, APIName: 15, APIID: 16, OrgID: 17, RequestTime: 18,
    Latency: 19, RawRequest: 20, RawResponse: 21, IPAddress: 22, Geo: 23, Network: 24, Tags: 25, Alias: 26,
    TrackPath: 27, ExpireAt: 28, OauthID: 29, TimeZone: 30, ApiSchema: 31, GraphQLStats: 32, MCPStats: 33,
    OriginalPath: 34, ListenPath: 35,
  },
  Latency: { Total: 1, Upstream: 2 },
  Country: { ISOCode: 1 },
  City: { Names: 1, GeoNameID: 2 },
  Location: { Latitude: 1, Longitude: 2, TimeZone: 3 },
  GeoData: { Country: 1, City: 2, Location: 3 },
  NetworkStats: { OpenConnections: 1, ClosedConnections: 2, BytesIn: 3, BytesOut: 4 },
  RepeatedFields: { fields: 1 },
  GraphQLStats: { IsGraphQL: 1, Types: 2, OperationType: 3, Variables: 4, RootFields: 5, HasError: 6, GraphErrors: 7 },
  MCPStats: { IsMCP: 1, JSONRPCMethod: 2, PrimitiveType: 3, PrimitiveName: 4 },
  'google.protobuf.Timestamp': { seconds: 1, nanos: 2 },
} as const;

// Wire types.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** An int64 as protobufjs's Reader returns it (a `Long` when the `long` package is installed). */
type Int64 = number | { toNumber(): number };
function i64(r: protobuf.Reader): number {
  const v = r.int64() as unknown as Int64;
  return typeof v === 'number' ? v : v.toNumber();
}

const time: TimeOut = { timeMs: null, timeNs: 0 };

class Wire {
  r: protobuf.Reader;
  b: Buffer;
  /** A view of `b`'s ArrayBuffer and where `b` starts in it, for the string cache. */
  view: DataView;
  base: number;

  constructor(bytes: Buffer) {
    this.r = protobuf.Reader.create(bytes);
    this.b = bytes;
    this.view = viewOf(bytes);
    this.base = bytes.byteOffset;
  }

  /** Reads a LEN field's length and returns where it ends, refusing one that runs past `end`. */
  sub(end: number, what: string): number {
    const len = this.r.uint32();
    const stop = this.r.pos + len;
    if (stop > end) throw new DecodeError('truncated', `protobuf: ${what} of ${len} bytes runs past its end (${end - this.r.pos} left)`);
    return stop;
  }

  str(end: number, what: string): string {
    const stop = this.sub(end, what);
    const start = this.r.pos;
    this.r.pos = stop;
    return stop === start ? '' : (this.b as unknown as FastSlices).utf8Slice(start, stop);
  }

  /** A string that repeats across records (ids, names, tags): through the shared string cache. */
  strCached(end: number, what: string): string {
    const stop = this.sub(end, what);
    const start = this.r.pos;
    this.r.pos = stop;
    return cachedStringAt(this.b, this.view, this.base, start, stop - start);
  }

  skipLen(end: number, what: string): void {
    this.r.pos = this.sub(end, what);
  }

  /** Skips a field whose wire type is unknown or not the one the schema says (Go treats it as unknown). */
  skip(wire: number): void {
    this.r.skipType(wire);
  }

  /** Reads a google.protobuf.Timestamp into `time`. */
  timestamp(end: number, what: string): void {
    const stop = this.sub(end, what);
    let seconds = 0, nanos = 0;
    const r = this.r;
    while (r.pos < stop) {
      const tag = r.uint32();
      const wire = tag & 7;
      const f = tag >>> 3;
      if (f === 1 && wire === VARINT) seconds = i64(r);
      else if (f === 2 && wire === VARINT) nanos = r.int32();
      else this.skip(wire);
    }
    this.check(stop, what);
    if (!goTime(seconds, nanos, time)) throw new DecodeError('wrong_type', `protobuf: ${what} ${seconds}s is out of range`);
  }

  /** After a sub-message: the reader must have stopped exactly at its end. */
  check(stop: number, what: string): void {
    if (this.r.pos !== stop) throw new DecodeError('not_protobuf', `protobuf: ${what} overruns its length`);
  }
}

/** Field numbers whose wire type is VARINT (the others the decoder reads are LEN). */
const VARINT_FIELDS = new Uint8Array(64);
for (const n of [5, 7, 8, 9, 10, 11, 18, 27]) VARINT_FIELDS[n] = 1;

/** Decodes one protobuf analytics record with projection `p` (fields left out are skipped); see `decodeAnalytics`. */
export function decodeProtobufRecord(bytes: Buffer, p: Projection): AnalyticsRecord {
  if (bytes.length === 0) throw new DecodeError('truncated', 'empty element');
  try {
    return decode(new Wire(bytes), p);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new DecodeError(/index out of range/.test(msg) ? 'truncated' : 'not_protobuf', `protobuf: ${msg}`, { cause: err });
  }
}

function decode(w: Wire, p: Projection): AnalyticsRecord {
  const r = w.r;
  const want = p.protobuf;
  const end = w.b.length;
  const d = draftRecord('protobuf', p);
  let total = 0, upstream = 0;
  let tags: string[] | null = null;
  let known = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    const f = tag >>> 3;
    if (f === 0) throw new DecodeError('not_protobuf', `protobuf: field number 0 at offset ${r.pos}`);
    // A field of the record no pipeline reads (and of the wire type the schema gives it): skipped, counted as known.
    if (f < want.length && want[f] === SKIP && (wire === VARINT) === (VARINT_FIELDS[f] === 1) && (wire === VARINT || wire === LEN)) {
      known++;
      if (wire === LEN) w.skipLen(end, `field ${f}`);
      else w.skip(wire);
    // Each case checks the wire type the schema gives the field; a mismatch is skipped like an unknown field.
    } else if (wire === LEN) {
      known++;
      switch (f) {
        case 1: d.host = w.strCached(end, 'Host'); break;
        case 2: d.method = w.strCached(end, 'Method'); break;
        case 3: d.path = w.str(end, 'Path'); break;
        case 4: d.rawPath = w.str(end, 'RawPath'); break;
        case 6: d.userAgent = w.strCached(end, 'UserAgent'); break;
        case 12: d.apiKey = w.strCached(end, 'APIKey'); break;
        case 13: w.timestamp(end, 'TimeStamp'); d.timestampMs = time.timeMs; d.timestampNs = time.timeNs; break;
        case 14: d.apiVersion = w.strCached(end, 'APIVersion'); break;
        case 15: d.apiName = w.strCached(end, 'APIName'); break;
        case 16: d.apiId = w.strCached(end, 'APIID'); break;
        case 17: d.orgId = w.strCached(end, 'OrgID'); break;
        case 19: {
          const stop = w.sub(end, 'Latency');
          while (r.pos < stop) {
            const t = r.uint32();
            if (t === ((1 << 3) | VARINT)) total = i64(r);
            else if (t === ((2 << 3) | VARINT)) upstream = i64(r);
            else w.skip(t & 7);
          }
          w.check(stop, 'Latency');
          break;
        }
        case 20: d.rawRequest = w.str(end, 'RawRequest'); break;
        case 21: d.rawResponse = w.str(end, 'RawResponse'); break;
        case 22: d.ipAddress = w.strCached(end, 'IPAddress'); break;
        case 23: d.geo = readGeo(w, end); break;
        case 24: d.network = readNetwork(w, end); break;
        case 25: (tags ??= []).push(w.strCached(end, 'Tags')); break;
        case 26: d.alias = w.strCached(end, 'Alias'); break;
        case 28: w.timestamp(end, 'ExpireAt'); d.expireAtMs = time.timeMs; d.expireAtNs = time.timeNs; break;
        case 29: d.oauthId = w.strCached(end, 'OauthID'); break;
        case 30: d.timeZone = w.strCached(end, 'TimeZone'); break;
        case 31: d.apiSchema = w.str(end, 'ApiSchema'); break;
        case 32: d.graphqlStats = readGraphQL(w, end); break;
        case 33: d.mcpStats = readMcp(w, end); break;
        case 34: d.originalPath = w.str(end, 'OriginalPath'); break;
        case 35: d.listenPath = w.strCached(end, 'ListenPath'); break;
        default: known--; w.skipLen(end, `field ${f}`);
      }
    } else if (wire === VARINT) {
      known++;
      switch (f) {
        case 5: d.contentLength = i64(r); break;
        case 7: d.day = r.int32(); break;
        case 8: d.month = r.int32(); break;
        case 9: d.year = r.int32(); break;
        case 10: d.hour = r.int32(); break;
        case 11: d.responseCode = r.int32(); break;
        case 18: d.requestTime = i64(r); break;
        case 27: d.trackPath = r.bool(); break;
        default: known--; w.skip(wire);
      }
    } else if (wire === I64 || wire === I32) {
      w.skip(wire);
    } else {
      throw new DecodeError('not_protobuf', `protobuf: invalid wire type ${wire} at offset ${r.pos}`);
    }
    if (r.pos > end) throw new DecodeError('truncated', `protobuf: field ${f} runs past the end (${end} bytes)`);
  }
  if (known === 0) throw new DecodeError('not_a_record', 'protobuf: no analytics record field present');
  // The protobuf schema has no Latency.Gateway; the gateway defines it as Total − Upstream.
  if (want[19] === DECODE) d.latency = latencyOf(total, upstream, total - upstream);
  if (tags !== null) d.tags = tags;
  return finishDraft(d, p);
}

/** Sets `obj[key] = value` without letting a `__proto__` key touch the prototype. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function readGeo(w: Wire, end: number): GeoData {
  const r = w.r;
  const stop = w.sub(end, 'Geo');
  let isoCode = '', geoNameId = 0, names: Record<string, string> | null = null;
  let latitude = 0, longitude = 0, timeZone = '';
  while (r.pos < stop) {
    const t = r.uint32();
    if (t === ((1 << 3) | LEN)) {
      const s = w.sub(stop, 'Geo.Country');
      while (r.pos < s) {
        const u = r.uint32();
        if (u === ((1 << 3) | LEN)) isoCode = w.strCached(s, 'Geo.Country.ISOCode');
        else w.skip(u & 7);
      }
      w.check(s, 'Geo.Country');
    } else if (t === ((2 << 3) | LEN)) {
      const s = w.sub(stop, 'Geo.City');
      while (r.pos < s) {
        const u = r.uint32();
        if (u === ((1 << 3) | LEN)) {
          // one map<string,string> entry: {1: key, 2: value}
          const e = w.sub(s, 'Geo.City.Names');
          let k = '', v = '';
          while (r.pos < e) {
            const x = r.uint32();
            if (x === ((1 << 3) | LEN)) k = w.strCached(e, 'Geo.City.Names key');
            else if (x === ((2 << 3) | LEN)) v = w.strCached(e, 'Geo.City.Names value');
            else w.skip(x & 7);
          }
          w.check(e, 'Geo.City.Names');
          put((names ??= {}), k, v);
        } else if (u === ((2 << 3) | VARINT)) geoNameId = r.uint32();
        else w.skip(u & 7);
      }
      w.check(s, 'Geo.City');
    } else if (t === ((3 << 3) | LEN)) {
      const s = w.sub(stop, 'Geo.Location');
      while (r.pos < s) {
        const u = r.uint32();
        if (u === ((1 << 3) | I64)) latitude = r.double();
        else if (u === ((2 << 3) | I64)) longitude = r.double();
        else if (u === ((3 << 3) | LEN)) timeZone = w.strCached(s, 'Geo.Location.TimeZone');
        else w.skip(u & 7);
      }
      w.check(s, 'Geo.Location');
    } else w.skip(t & 7);
  }
  w.check(stop, 'Geo');
  if (isoCode === '' && geoNameId === 0 && names === null && latitude === 0 && longitude === 0 && timeZone === '') return EMPTY_GEO;
  return { country: { isoCode }, city: { geoNameId, names }, location: { latitude, longitude, timeZone } };
}

function readNetwork(w: Wire, end: number): NetworkStats {
  const r = w.r;
  const stop = w.sub(end, 'Network');
  let open = 0, closed = 0, bytesIn = 0, bytesOut = 0;
  while (r.pos < stop) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: open = i64(r); break;
      case (2 << 3) | VARINT: closed = i64(r); break;
      case (3 << 3) | VARINT: bytesIn = i64(r); break;
      case (4 << 3) | VARINT: bytesOut = i64(r); break;
      default: w.skip(t & 7);
    }
  }
  w.check(stop, 'Network');
  if (open === 0 && closed === 0 && bytesIn === 0 && bytesOut === 0) return EMPTY_NETWORK;
  return { openConnections: open, closedConnections: closed, bytesIn, bytesOut };
}

function readGraphQL(w: Wire, end: number): GraphQLStats {
  const r = w.r;
  const stop = w.sub(end, 'GraphQLStats');
  let isGraphQL = false, hasErrors = false, operationType = 0, variables = '';
  let rootFields: string[] | null = null, types: Record<string, string[]> | null = null, errors: GraphError[] | null = null;
  while (r.pos < stop) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: isGraphQL = r.bool(); break;
      case (2 << 3) | LEN: {
        // one map<string, RepeatedFields> entry: {1: key, 2: {1: repeated string fields}}
        const e = w.sub(stop, 'GraphQLStats.Types');
        let k = '';
        const fields: string[] = [];
        while (r.pos < e) {
          const x = r.uint32();
          if (x === ((1 << 3) | LEN)) k = w.strCached(e, 'GraphQLStats.Types key');
          else if (x === ((2 << 3) | LEN)) {
            const s = w.sub(e, 'GraphQLStats.Types value');
            while (r.pos < s) {
              const y = r.uint32();
              if (y === ((1 << 3) | LEN)) fields.push(w.strCached(s, 'GraphQLStats.Types fields'));
              else w.skip(y & 7);
            }
            w.check(s, 'GraphQLStats.Types value');
          } else w.skip(x & 7);
        }
        w.check(e, 'GraphQLStats.Types');
        put((types ??= {}), k, fields);
        break;
      }
      case (3 << 3) | VARINT: operationType = r.int32(); break;
      case (4 << 3) | LEN: variables = w.str(stop, 'GraphQLStats.Variables'); break;
      case (5 << 3) | LEN: (rootFields ??= []).push(w.strCached(stop, 'GraphQLStats.RootFields')); break;
      case (6 << 3) | VARINT: hasErrors = r.bool(); break;
      // Tyk's protobuf form keeps only the error messages; the paths are lost.
      case (7 << 3) | LEN: (errors ??= []).push({ message: w.strCached(stop, 'GraphQLStats.GraphErrors'), path: null }); break;
      default: w.skip(t & 7);
    }
  }
  w.check(stop, 'GraphQLStats');
  if (!isGraphQL && !hasErrors && operationType === 0 && variables === '' && rootFields === null && types === null && errors === null) {
    return EMPTY_GRAPHQL;
  }
  return { isGraphQL, hasErrors, operationType, variables, rootFields, types, errors };
}

function readMcp(w: Wire, end: number): MCPStats {
  const r = w.r;
  const stop = w.sub(end, 'MCPStats');
  let isMCP = false, jsonRpcMethod = '', primitiveType = '', primitiveName = '';
  while (r.pos < stop) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: isMCP = r.bool(); break;
      case (2 << 3) | LEN: jsonRpcMethod = w.strCached(stop, 'MCPStats.JSONRPCMethod'); break;
      case (3 << 3) | LEN: primitiveType = w.strCached(stop, 'MCPStats.PrimitiveType'); break;
      case (4 << 3) | LEN: primitiveName = w.strCached(stop, 'MCPStats.PrimitiveName'); break;
      default: w.skip(t & 7);
    }
  }
  w.check(stop, 'MCPStats');
  if (!isMCP && jsonRpcMethod === '' && primitiveType === '' && primitiveName === '') return EMPTY_MCP;
  return { isMCP, jsonRpcMethod, primitiveType, primitiveName };
}
