/**
 * Encodes records exactly as the Tyk gateway writes them to Redis with `gopkg.in/vmihailenco/msgpack.v2`
 * (tyk-pump `serializer/msgp.go`): structs as maps keyed by Go field name in declaration order
 * (35-key map16 for the analytics record, 14-key fixmap for uptime), every int in its smallest form
 * (unsigned forms for values ≥ 0), floats always as float64, strings as fixstr/str8/str16/str32,
 * `time.Time` as `[unix seconds, nanoseconds]` (Go's zero time for null), nil slices and maps as nil.
 *
 * Used by the `demo` command and by tests. msgpackr's `Packr` cannot produce this layout: it writes
 * integral floats (a latitude of 12.0) as ints, int64 values above 2^32 (a 100-year `ExpireAt`) as
 * float64 unless given BigInts, and has no notion of Go's time encoding.
 */
import type { AnalyticsRecord, UptimeRecord } from '../../src/model.js';
import { GO_ZERO_TIME_SECONDS } from './go-time.js';

/** A growable byte buffer with the msgpack v2 writers the Go encoder uses. */
class GoMsgpackWriter {
  private buf = Buffer.allocUnsafe(1024);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  /** The bytes written so far (a copy, so the writer can be reused). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  nil(): void {
    this.u8(0xc0);
  }

  bool(v: boolean): void {
    this.u8(v ? 0xc3 : 0xc2);
  }

  mapHeader(n: number): void {
    if (n < 16) this.u8(0x80 | n);
    else if (n < 0x10000) {
      this.room(3);
      this.buf[this.pos] = 0xde;
      this.buf.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      this.room(5);
      this.buf[this.pos] = 0xdf;
      this.buf.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
  }

  arrayHeader(n: number): void {
    if (n < 16) this.u8(0x90 | n);
    else if (n < 0x10000) {
      this.room(3);
      this.buf[this.pos] = 0xdc;
      this.buf.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      this.room(5);
      this.buf[this.pos] = 0xdd;
      this.buf.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.room(5 + n);
    const b = this.buf;
    if (n < 32) b[this.pos++] = 0xa0 | n;
    else if (n < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos] = 0xda;
      b.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      b[this.pos] = 0xdb;
      b.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
    this.pos += b.write(s, this.pos, n, 'utf8');
  }

  /** An integer in the smallest form, as Go's `EncodeInt64`/`EncodeUint64` choose it. */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${v}`);
    this.room(9);
    const b = this.buf;
    const p = this.pos;
    if (v >= 0) {
      if (v <= 0x7f) {
        b[p] = v;
        this.pos += 1;
      } else if (v <= 0xff) {
        b[p] = 0xcc;
        b[p + 1] = v;
        this.pos += 2;
      } else if (v <= 0xffff) {
        b[p] = 0xcd;
        b.writeUInt16BE(v, p + 1);
        this.pos += 3;
      } else if (v <= 0xffffffff) {
        b[p] = 0xce;
        b.writeUInt32BE(v, p + 1);
        this.pos += 5;
      } else {
        b[p] = 0xcf;
        b.writeUInt32BE(Math.floor(v / 4294967296), p + 1);
        b.writeUInt32BE(v % 4294967296, p + 5);
        this.pos += 9;
      }
    } else if (v >= -32) {
      b[p] = v & 0xff;
      this.pos += 1;
    } else if (v >= -0x80) {
      b[p] = 0xd0;
      b.writeInt8(v, p + 1);
      this.pos += 2;
    } else if (v >= -0x8000) {
      b[p] = 0xd1;
      b.writeInt16BE(v, p + 1);
      this.pos += 3;
    } else if (v >= -0x80000000) {
      b[p] = 0xd2;
      b.writeInt32BE(v, p + 1);
      this.pos += 5;
    } else {
      const hi = Math.floor(v / 4294967296);
      b[p] = 0xd3;
      b.writeInt32BE(hi, p + 1);
      b.writeUInt32BE(v - hi * 4294967296, p + 5);
      this.pos += 9;
    }
  }

  float64(v: number): void {
    this.room(9);
    this.buf[this.pos] = 0xcb;
    this.buf.writeDoubleBE(v, this.pos + 1);
    this.pos += 9;
  }

  /** A Go `time.Time`: `[unix seconds, nanoseconds]`; null is Go's zero time. */
  time(ms: number | null, ns: number): void {
    this.u8(0x92);
    if (ms === null) {
      this.int(GO_ZERO_TIME_SECONDS);
      this.int(0);
      return;
    }
    const sec = Math.floor(ms / 1000);
    this.int(sec);
    this.int((ms - sec * 1000) * 1_000_000 + ns);
  }

  /** A `[]string`; null and empty are written as nil (Go's nil slice). */
  strings(list: readonly string[] | null, emptyIsNil: boolean): void {
    if (list === null || (emptyIsNil && list.length === 0)) {
      this.nil();
      return;
    }
    this.arrayHeader(list.length);
    for (const s of list) this.str(s);
  }

  key(name: string): void {
    this.str(name);
  }
}

/**
 * Encodes an analytics record as the current gateway does (pump ≥ 1.16 `AnalyticsRecord`, 35 keys).
 * Empty `tags` are written as nil (a gateway builds them by appending to a nil slice).
 */
export function encodeAnalytics(r: AnalyticsRecord): Buffer {
  const w = new GoMsgpackWriter();
  w.mapHeader(35);
  w.key('Method'); w.str(r.method);
  w.key('Host'); w.str(r.host);
  w.key('Path'); w.str(r.path);
  w.key('RawPath'); w.str(r.rawPath);
  w.key('ContentLength'); w.int(r.contentLength);
  w.key('UserAgent'); w.str(r.userAgent);
  w.key('Day'); w.int(r.day);
  w.key('Month'); w.int(r.month);
  w.key('Year'); w.int(r.year);
  w.key('Hour'); w.int(r.hour);
  w.key('ResponseCode'); w.int(r.responseCode);
  w.key('APIKey'); w.str(r.apiKey);
  w.key('TimeStamp'); w.time(r.timestampMs, r.timestampNs);
  w.key('APIVersion'); w.str(r.apiVersion);
  w.key('APIName'); w.str(r.apiName);
  w.key('APIID'); w.str(r.apiId);
  w.key('OrgID'); w.str(r.orgId);
  w.key('OauthID'); w.str(r.oauthId);
  w.key('RequestTime'); w.int(r.requestTime);
  w.key('RawRequest'); w.str(r.rawRequest);
  w.key('RawResponse'); w.str(r.rawResponse);
  w.key('IPAddress'); w.str(r.ipAddress);
  w.key('Geo');
  w.mapHeader(3);
  w.key('Country'); w.mapHeader(1); w.key('ISOCode'); w.str(r.geo.country.isoCode);
  w.key('City'); w.mapHeader(2); w.key('GeoNameID'); w.int(r.geo.city.geoNameId);
  w.key('Names');
  const names = r.geo.city.names;
  if (names === null) w.nil();
  else {
    const entries = Object.entries(names);
    w.mapHeader(entries.length);
    for (const [k, v] of entries) {
      w.str(k);
      w.str(v);
    }
  }
  w.key('Location'); w.mapHeader(3);
  w.key('Latitude'); w.float64(r.geo.location.latitude);
  w.key('Longitude'); w.float64(r.geo.location.longitude);
  w.key('TimeZone'); w.str(r.geo.location.timeZone);
  w.key('Network'); w.mapHeader(4);
  w.key('OpenConnections'); w.int(r.network.openConnections);
  w.key('ClosedConnection'); w.int(r.network.closedConnections);
  w.key('BytesIn'); w.int(r.network.bytesIn);
  w.key('BytesOut'); w.int(r.network.bytesOut);
  w.key('Latency'); w.mapHeader(3);
  w.key('Total'); w.int(r.latency.total);
  w.key('Upstream'); w.int(r.latency.upstream);
  w.key('Gateway'); w.int(r.latency.gateway);
  w.key('Tags'); w.strings(r.tags, true);
  w.key('Alias'); w.str(r.alias);
  w.key('TrackPath'); w.bool(r.trackPath);
  w.key('ExpireAt'); w.time(r.expireAtMs, r.expireAtNs);
  w.key('ApiSchema'); w.str(r.apiSchema);
  w.key('OriginalPath'); w.str(r.originalPath);
  w.key('ListenPath'); w.str(r.listenPath);
  const g = r.graphqlStats;
  w.key('GraphQLStats'); w.mapHeader(7);
  w.key('Variables'); w.str(g.variables);
  w.key('RootFields'); w.strings(g.rootFields, false);
  w.key('Types');
  if (g.types === null) w.nil();
  else {
    const entries = Object.entries(g.types);
    w.mapHeader(entries.length);
    for (const [k, v] of entries) {
      w.str(k);
      w.strings(v, false);
    }
  }
  w.key('Errors');
  if (g.errors === null) w.nil();
  else {
    w.arrayHeader(g.errors.length);
    for (const e of g.errors) {
      w.mapHeader(2);
      w.key('Message'); w.str(e.message);
      w.key('Path');
      if (e.path === null) w.nil();
      else {
        w.arrayHeader(e.path.length);
        for (const p of e.path) {
          if (typeof p === 'string') w.str(p);
          else if (Number.isSafeInteger(p)) w.int(p);
          else w.float64(p);
        }
      }
    }
  }
  w.key('OperationType'); w.int(g.operationType);
  w.key('HasErrors'); w.bool(g.hasErrors);
  w.key('IsGraphQL'); w.bool(g.isGraphQL);
  const m = r.mcpStats;
  w.key('MCPStats'); w.mapHeader(4);
  w.key('IsMCP'); w.bool(m.isMCP);
  w.key('JSONRPCMethod'); w.str(m.jsonRpcMethod);
  w.key('PrimitiveType'); w.str(m.primitiveType);
  w.key('PrimitiveName'); w.str(m.primitiveName);
  w.key('CollectionName'); w.str('');
  return w.bytes();
}

/** Encodes an uptime record as the gateway's host checker does (14-key fixmap). */
export function encodeUptime(u: UptimeRecord): Buffer {
  const w = new GoMsgpackWriter();
  w.mapHeader(14);
  w.key('URL'); w.str(u.url);
  w.key('RequestTime'); w.int(u.requestTime);
  w.key('ResponseCode'); w.int(u.responseCode);
  w.key('TCPError'); w.bool(u.tcpError);
  w.key('ServerError'); w.bool(u.serverError);
  w.key('Day'); w.int(u.day);
  w.key('Month'); w.int(u.month);
  w.key('Year'); w.int(u.year);
  w.key('Hour'); w.int(u.hour);
  w.key('Minute'); w.int(u.minute);
  w.key('TimeStamp'); w.time(u.timestampMs, u.timestampNs);
  w.key('ExpireAt'); w.time(u.expireAtMs, u.expireAtNs);
  w.key('APIID'); w.str(u.apiId);
  w.key('OrgID'); w.str(u.orgId);
  return w.bytes();
}
