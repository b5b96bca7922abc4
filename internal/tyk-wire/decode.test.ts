/**
 * The decoder against real gateway bytes: every record of every fixture file decodes to exactly its
 * `expected` values (every field), plus bad input of every kind (random bytes, every truncation of every
 * fixture, bit flips, wrong types, absurd sizes) yields only a `DecodeError` or a valid record.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import { allFixtures, FIXTURE_FILES, loadFixtures, type Fixture } from '../../test/helpers/fixtures.js';
import { toTykJson } from '../../src/tyk-json.js';
import { DecodeError } from '../../src/errors.js';
import type { AnalyticsRecord, TykRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import protobuf from 'protobufjs';
import { decodeAnalytics, decodeUptime, type DecodeOptions } from './decode.js';
import { PROTO_FIELD_NUMBERS } from './protobuf-record.js';
import { MSGPACK_TOP } from './projection.js';
import { NEUTRAL_FIELDS } from '../../src/record-reads.js';
import { ANALYTICS_PROTO } from './analytics-proto.js';

function decodeFixture(f: Fixture, options?: DecodeOptions): TykRecord {
  if (f.format === 'uptime') return decodeUptime(f.bytes);
  return decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack', options);
}

/** `expected` minus the hint, in the shape `toTykJson` produces (graphql_stats: only the keys the fixture carries). */
function comparable(decoded: TykRecord, expected: Record<string, unknown>): { actual: Record<string, unknown>; wanted: Record<string, unknown> } {
  const { route_template_hint: _hint, ...wanted } = expected;
  const actual = toTykJson(decoded);
  if ('graphql_stats' in wanted) {
    const want = wanted['graphql_stats'] as Record<string, unknown>;
    const got = actual['graphql_stats'] as Record<string, unknown>;
    actual['graphql_stats'] = Object.fromEntries(Object.keys(want).map((k) => [k, got[k]]));
  }
  return { actual, wanted };
}

const REASONS = new Set(['not_msgpack', 'not_protobuf', 'truncated', 'wrong_type', 'not_a_record', 'too_large']);

/** Runs `fn` and accepts only a DecodeError with a known reason or a structurally valid record. */
function assertSafe(fn: () => TykRecord, label: string): 'ok' | DecodeError['reason'] {
  let rec: TykRecord;
  try {
    rec = fn();
  } catch (err) {
    if (!(err instanceof DecodeError)) assert.fail(`${label}: threw ${String(err)} (${(err as Error)?.stack})`);
    if (!REASONS.has(err.reason)) assert.fail(`${label}: unknown reason ${err.reason}`);
    return err.reason;
  }
  // A record that decodes must be usable downstream: its Tyk JSON view builds and serialises.
  JSON.stringify(toTykJson(rec));
  if (rec.kind !== 'uptime' && (rec.kind !== (rec.responseCode === -1 ? 'network' : 'http') || !Array.isArray(rec.tags))) {
    assert.fail(`${label}: inconsistent record ${JSON.stringify(rec)}`);
  }
  return 'ok';
}

describe('decode: every fixture record decodes to exactly its expected values', () => {
  for (const file of FIXTURE_FILES) {
    it(file, () => {
      const fixtures = loadFixtures(file);
      assert.ok(fixtures.length > 0);
      for (const [i, f] of fixtures.entries()) {
        const decoded = decodeFixture(f);
        const { actual, wanted } = comparable(decoded, f.expected);
        assert.deepEqual(actual, wanted, `${file} line ${i + 1}`);
        if (decoded.kind !== 'uptime') {
          assert.equal(decoded.encoding, f.format === 'protobuf' ? 'protobuf' : 'msgpack');
          assert.equal(decoded.route, '');
          assert.equal(decoded.kind, decoded.responseCode === -1 ? 'network' : 'http');
          if (f.format === 'protobuf') assert.equal(decoded.timeZone, 'UTC');
          else assert.equal(decoded.timeZone, '');
        }
      }
    });
  }

  it('covers the interesting cases (so the comparison above is not vacuous)', () => {
    const all = allFixtures().filter((f) => f.format !== 'uptime');
    const decoded = all.map((f) => decodeFixture(f) as AnalyticsRecord);
    assert.ok(decoded.some((r) => r.kind === 'network' && r.network.bytesIn > 0));
    assert.ok(decoded.some((r) => r.timestampMs === null || r.expireAtMs === null));
    assert.ok(decoded.some((r) => r.geo.city.names !== null));
    assert.ok(decoded.some((r) => r.graphqlStats.isGraphQL && r.graphqlStats.errors !== null));
    assert.ok(decoded.some((r) => r.mcpStats.isMCP));
    assert.ok(decoded.some((r) => r.rawRequest !== '' && r.rawResponse !== ''));
    assert.ok(decoded.some((r) => r.apiSchema !== '' && r.encoding === 'msgpack'));
    assert.ok(decoded.some((r) => r.latency.gateway !== r.latency.total - r.latency.upstream), 'a wire Latency.Gateway that is not total−upstream');
  });

  it('uses the shared EMPTY_* sub-records for all-zero parts', () => {
    for (const f of allFixtures().filter((x) => x.format !== 'uptime')) {
      const r = decodeFixture(f) as AnalyticsRecord;
      if (r.network.openConnections === 0 && r.network.bytesIn === 0 && r.network.bytesOut === 0 && r.network.closedConnections === 0) {
        assert.equal(r.network, EMPTY_NETWORK);
      }
      if (r.geo.country.isoCode === '' && r.geo.city.names === null && r.geo.location.timeZone === '') assert.equal(r.geo, EMPTY_GEO);
      if (!r.graphqlStats.isGraphQL && r.graphqlStats.rootFields === null && r.graphqlStats.types === null) assert.equal(r.graphqlStats, EMPTY_GRAPHQL);
      if (!r.mcpStats.isMCP && r.mcpStats.jsonRpcMethod === '') assert.equal(r.mcpStats, EMPTY_MCP);
    }
  });

  it('raw: false skips RawRequest/RawResponse/ApiSchema and changes nothing else', () => {
    let skipped = 0;
    for (const f of allFixtures().filter((x) => x.format !== 'uptime')) {
      const full = decodeFixture(f) as AnalyticsRecord;
      const lean = decodeFixture(f, { raw: false }) as AnalyticsRecord;
      assert.equal(lean.rawRequest, '');
      assert.equal(lean.rawResponse, '');
      assert.equal(lean.apiSchema, '');
      if (full.rawRequest !== '' || full.apiSchema !== '') skipped++;
      assert.deepEqual({ ...lean }, { ...full, rawRequest: '', rawResponse: '', apiSchema: '' });
    }
    assert.ok(skipped > 50);
  });
});

/** A Go-shaped record built with msgpackr (generic maps): for wrong-type and variant tests. */
function goRecord(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Method: 'GET', Host: 'h', Path: '/p', RawPath: '/p', ContentLength: 0, UserAgent: '', Day: 26, Month: 11, Year: 2026,
    Hour: 12, ResponseCode: 200, APIKey: '', TimeStamp: [1795694400, 5], APIVersion: 'v1', APIName: 'n', APIID: 'a',
    OrgID: 'o', OauthID: '', RequestTime: 10, RawRequest: '', RawResponse: '', IPAddress: '',
    Geo: { Country: { ISOCode: '' }, City: { GeoNameID: 0, Names: null }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } },
    Network: { OpenConnections: 0, ClosedConnection: 0, BytesIn: 0, BytesOut: 0 },
    Latency: { Total: 10, Upstream: 7, Gateway: 3 }, Tags: null, Alias: '', TrackPath: false, ExpireAt: [-62135596800n, 0],
    ...over,
  };
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DecodeError, String(err));
    return err.reason;
  }
  return 'ok';
}

describe('decode: protobuf schema', () => {
  it('the decoder uses exactly the field numbers of analytics-proto.ts', () => {
    const root = new protobuf.Root();
    const common = protobuf.common as unknown as Record<string, { nested: protobuf.INamespace['nested'] }>;
    root.addJSON(common['google/protobuf/timestamp.proto']!.nested!);
    protobuf.parse(ANALYTICS_PROTO, root, { keepCase: true });
    root.resolveAll();
    for (const [message, fields] of Object.entries(PROTO_FIELD_NUMBERS)) {
      const type = root.lookupType(message.includes('.') ? message : `normalproto.${message}`);
      const fromProto = Object.fromEntries(Object.values(type.fields).map((f) => [f.name, f.id]));
      assert.deepEqual(fromProto, fields, message);
    }
  });

  it('a known field with the wrong wire type is skipped like an unknown one (as Go does)', () => {
    // field 11 (ResponseCode, varint) sent as LEN "x", then field 16 (APIID) = "a"
    const rec = decodeAnalytics(Buffer.from([0x5a, 0x01, 0x78, 0x82, 0x01, 0x01, 0x61]), 'protobuf');
    assert.equal(rec.responseCode, 0);
    assert.equal(rec.apiId, 'a');
  });
});

describe('decode: variants the gateway can produce', () => {
  it('accepts any int code for any int field, keys in any order, unknown keys, missing keys', () => {
    const rec = decodeAnalytics(pack({ Unknown: { deep: [1, 2, { x: 'y' }] }, ResponseCode: 503, Latency: { Upstream: 0, Total: 12 }, APIID: 'z' }), 'msgpack');
    assert.equal(rec.responseCode, 503);
    assert.equal(rec.apiId, 'z');
    assert.deepEqual(rec.latency, { total: 12, upstream: 0, gateway: 12 });
    assert.equal(rec.method, '');
    assert.deepEqual(rec.tags, []);
    assert.equal(rec.timestampMs, null);
    assert.equal(rec.geo, EMPTY_GEO);
    // ContentLength as int8/int16/int32/int64 and uint64 forms
    const forms: Array<[number[], number]> = [
      [[0xd0, 0xff], -1], [[0xd1, 0xff, 0xfe], -2], [[0xd2, 0xff, 0xff, 0xff, 0xfd], -3],
      [[0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc], -4], [[0xcf, 0, 0, 0, 1, 0, 0, 0, 0], 4294967296],
      [[0xcc, 200], 200], [[0xcd, 1, 0], 256], [[0xce, 0, 1, 0, 0], 65536], [[0xe0], -32], [[0x05], 5], [[0xc0], 0],
    ];
    for (const [code, value] of forms) {
      const bytes = Buffer.concat([Buffer.from([0x81, 0xad]), Buffer.from('ContentLength'), Buffer.from(code)]);
      assert.equal(decodeAnalytics(bytes, 'msgpack').contentLength, value, JSON.stringify(code));
    }
  });

  it('ResponseCode -1 is a network record', () => {
    const rec = decodeAnalytics(pack(goRecord({ ResponseCode: -1, Network: { OpenConnections: 1, ClosedConnection: 2, BytesIn: 3, BytesOut: 4 } })), 'msgpack');
    assert.equal(rec.kind, 'network');
    assert.deepEqual(rec.network, { openConnections: 1, closedConnections: 2, bytesIn: 3, bytesOut: 4 });
  });

  it('normalises out-of-range nanoseconds like Go time.Unix and treats the zero time as null', () => {
    const rec = decodeAnalytics(pack(goRecord({ TimeStamp: [10, 1_500_000_000], ExpireAt: [-62135596800n, 0] })), 'msgpack');
    assert.equal(rec.timestampMs, 11_500);
    assert.equal(rec.timestampNs, 0);
    assert.equal(rec.expireAtMs, null);
    const rec2 = decodeAnalytics(pack(goRecord({ TimeStamp: [10, 1_234_567] })), 'msgpack');
    assert.equal(rec2.timestampMs, 10_001);
    assert.equal(rec2.timestampNs, 234_567);
    // Beyond year 9999 (a bogus but decodable time) the Tyk JSON view keeps the extended-year form intact.
    const far = decodeAnalytics(pack(goRecord({ TimeStamp: [253402300800n, 5] })), 'msgpack');
    assert.equal(toTykJson(far)['timestamp'], '+010000-01-01T00:00:00.000000005Z');
  });

  it('an empty sub-record remembered by its bytes never hides a non-empty one that follows', () => {
    const emptyGeo = { Country: { ISOCode: '' }, City: { GeoNameID: 0, Names: null }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } };
    const berlin = { Country: { ISOCode: 'DE' }, City: { GeoNameID: 0, Names: null }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } };
    const emptyMcp = { IsMCP: false, JSONRPCMethod: '', PrimitiveType: '', PrimitiveName: '' };
    const tool = { IsMCP: true, JSONRPCMethod: 'tools/call', PrimitiveType: 'tool', PrimitiveName: 'x' };
    for (let i = 0; i < 3; i++) {
      const empty = decodeAnalytics(pack(goRecord({ Geo: emptyGeo, MCPStats: emptyMcp })), 'msgpack');
      assert.equal(empty.geo, EMPTY_GEO);
      assert.equal(empty.mcpStats, EMPTY_MCP);
      const full = decodeAnalytics(pack(goRecord({ Geo: berlin, MCPStats: tool })), 'msgpack');
      assert.equal(full.geo.country.isoCode, 'DE');
      assert.deepEqual(full.mcpStats, { isMCP: true, jsonRpcMethod: 'tools/call', primitiveType: 'tool', primitiveName: 'x' });
      // The remembered form cut short (here the record's last value) is not taken for the whole value.
      const { MCPStats: _last, ...rest } = goRecord();
      const bytes = pack({ ...rest, MCPStats: emptyMcp });
      assert.equal(reasonOf(() => decodeAnalytics(bytes.subarray(0, bytes.length - 1), 'msgpack')), 'truncated');
    }
  });

  it('a top-level key one byte off the expected one is an unknown key (its field stays neutral)', () => {
    // The key matcher compares a key's header and bytes four at a time against the expected key: a
    // difference in any byte, of keys of every length (3 to 14 bytes here), must make the key unknown.
    const names = MSGPACK_TOP.map(([k]) => k);
    for (const file of ['gateway-msgpack.jsonl', 'gateway-legacy-v4.jsonl', 'gateway-pump18.jsonl'] as const) {
      const f = loadFixtures(file)[0] as Fixture;
      const original = decodeAnalytics(f.bytes, 'msgpack', { tolerant: false });
      for (const [name, field] of MSGPACK_TOP) {
        const at = f.bytes.indexOf(Buffer.concat([Buffer.from([0xa0 | name.length]), Buffer.from(name)]));
        if (at < 0) continue;
        for (let i = 0; i < name.length; i++) {
          const bytes = Buffer.from(f.bytes);
          bytes[at + 1 + i] = (bytes[at + 1 + i] as number) ^ 0x01;
          if (names.includes(bytes.subarray(at + 1, at + 1 + name.length).toString())) continue;
          const got = decodeAnalytics(bytes, 'msgpack', { tolerant: false });
          const want: Record<string, unknown> = { ...original };
          if (field !== undefined) want[field] = NEUTRAL_FIELDS[field];
          if (field === 'timestampMs') want['timestampNs'] = 0;
          if (field === 'expireAtMs') want['expireAtNs'] = 0;
          if (field === 'responseCode') want['kind'] = 'http';
          assert.deepEqual(got, want, `${file}: ${name} with byte ${i} changed`);
        }
      }
    }
  });

  it('a cached (or repeated) string is never returned for bytes one byte off it', () => {
    // The string cache hashes a few words of the bytes and compares all of them: an id that differs from
    // the cached one in any byte (hashed or not) is a string of its own. RawPath and OriginalPath reuse
    // Path's string only when every byte is the same.
    const f = loadFixtures('gateway-msgpack.jsonl')[0] as Fixture;
    const fields = [['APIID', 'apiId'], ['OrgID', 'orgId'], ['APIName', 'apiName'], ['ListenPath', 'listenPath'], ['Method', 'method'], ['RawPath', 'rawPath'], ['OriginalPath', 'originalPath']] as const;
    for (const [key, field] of fields) {
      const at = f.bytes.indexOf(Buffer.concat([Buffer.from([0xa0 | key.length]), Buffer.from(key)])) + 1 + key.length;
      const h = f.bytes[at] as number;
      const start = (h & 0xe0) === 0xa0 ? at + 1 : at + 2;
      const n = (h & 0xe0) === 0xa0 ? h & 0x1f : (f.bytes[at + 1] as number);
      assert.ok(n >= 3, `${key} is long enough to test`);
      for (let i = 0; i < n; i++) {
        const bytes = Buffer.from(f.bytes);
        bytes[start + i] = (bytes[start + i] as number) ^ 0x01;
        assert.equal(decodeAnalytics(f.bytes, 'msgpack')[field], f.bytes.toString('utf8', start, start + n));
        assert.equal(decodeAnalytics(bytes, 'msgpack')[field], bytes.toString('utf8', start, start + n), `${key} with byte ${i} changed`);
      }
    }
  });

  it('keeps a __proto__ key in Geo names as plain data', () => {
    const geo = { Country: { ISOCode: 'DE' }, City: { GeoNameID: 1, Names: JSON.parse('{"__proto__":"x","en":"Berlin"}') }, Location: { Latitude: 1, Longitude: 2, TimeZone: 'Europe/Berlin' } };
    const rec = decodeAnalytics(pack(goRecord({ Geo: geo })), 'msgpack');
    assert.equal(Object.getPrototypeOf(rec.geo.city.names), Object.prototype);
    assert.deepEqual(Object.keys(rec.geo.city.names ?? {}), ['__proto__', 'en']);
  });
});

describe('decode: bad input is a DecodeError with a reason, never a crash', () => {
  // Hundreds of thousands of rejections below: capturing a stack for each would dominate the run time.
  let stackLimit = Error.stackTraceLimit;
  before(() => {
    stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  });
  after(() => {
    Error.stackTraceLimit = stackLimit;
  });

  it('wrong types (strict: the tolerant path switched off)', () => {
    const strict = { tolerant: false } as const;
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ ResponseCode: '200' })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ APIID: { a: 1 } })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ Tags: 'x' })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ TimeStamp: [1, 2, 3] })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ TimeStamp: [1000000000000000n, 0] })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ TrackPath: 1 })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ Latency: [1, 2] })), 'msgpack', strict)), 'wrong_type');
    assert.equal(reasonOf(() => decodeUptime(pack({ URL: 5 }))), 'wrong_type');
    const err = (() => { try { decodeAnalytics(pack(goRecord({ ResponseCode: 'x' })), 'msgpack', strict); } catch (e) { return e as Error; } return undefined; })();
    assert.match(err?.message ?? '', /ResponseCode: expected an integer, got str/);
  });

  it('wrong types (default): only a required field that cannot be recovered refuses the record', () => {
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ APIID: { a: 1 } })), 'msgpack')), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ TimeStamp: [1, 2, 3] })), 'msgpack')), 'wrong_type');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord({ ResponseCode: 'x' })), 'msgpack')), 'wrong_type');
    assert.equal((decodeAnalytics(pack(goRecord({ ResponseCode: '200' })), 'msgpack') as AnalyticsRecord).responseCode, 200);
    assert.equal((decodeAnalytics(pack(goRecord({ TrackPath: 1 })), 'msgpack') as AnalyticsRecord).trackPath, true);
  });

  it('not a record / not msgpack / truncated / too large', () => {
    assert.equal(reasonOf(() => decodeAnalytics(pack('hello'), 'msgpack')), 'not_a_record');
    assert.equal(reasonOf(() => decodeAnalytics(pack([1, 2, 3]), 'msgpack')), 'not_a_record');
    assert.equal(reasonOf(() => decodeAnalytics(pack({ foo: 1 }), 'msgpack')), 'not_a_record');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from('{"api_id":"x"}'), 'msgpack')), 'not_msgpack');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0xc1]), 'msgpack')), 'not_msgpack');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.alloc(0), 'msgpack')), 'truncated');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.alloc(0), 'protobuf')), 'truncated');
    assert.equal(reasonOf(() => decodeUptime(Buffer.alloc(0))), 'truncated');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0xde, 0x00, 0x23]), 'msgpack')), 'truncated');
    // map32 / str32 / array32 declaring ~4 billion entries in a few bytes
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x41]), 'msgpack')), 'too_large');
    const hugeStr = Buffer.concat([Buffer.from([0x81, 0xa4]), Buffer.from('Path'), Buffer.from([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x41])]);
    assert.equal(reasonOf(() => decodeAnalytics(hugeStr, 'msgpack')), 'too_large');
    const hugeTags = Buffer.concat([Buffer.from([0x81, 0xa4]), Buffer.from('Tags'), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xa0])]);
    assert.equal(reasonOf(() => decodeAnalytics(hugeTags, 'msgpack')), 'too_large');
    const big = allFixtures().find((f) => f.format === 'msgpack')!;
    assert.equal(reasonOf(() => decodeAnalytics(big.bytes, 'msgpack', { maxBytes: 100 })), 'too_large');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0xff, 0xff, 0xff]), 'protobuf')), 'truncated');
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0x0f, 0x01]), 'protobuf')), 'not_protobuf'); // wire type 7
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0xa7, 0x06, 0x01]), 'protobuf')), 'not_protobuf');
    // a string field declaring 5 bytes with none left: protobufjs alone would silently return a short string
    assert.equal(reasonOf(() => decodeAnalytics(Buffer.from([0x12, 0x05]), 'protobuf')), 'truncated');
    assert.equal(reasonOf(() => decodeAnalytics(pack(goRecord()), 'protobuf')).length > 0, true);
  });

  it('every truncation of every fixture', () => {
    const counts = new Map<string, number>();
    for (const f of allFixtures()) {
      for (let len = 0; len < f.bytes.length; len++) {
        const cut = f.bytes.subarray(0, len);
        const reason = assertSafe(() => decodeFixture({ ...f, bytes: cut }), `${f.format} cut at ${len}`);
        counts.set(reason, (counts.get(reason) ?? 0) + 1);
        // msgpack has no way to end early: every proper prefix of a map is incomplete.
        if (reason === 'ok' && f.format !== 'protobuf') assert.fail(`${f.format} cut at ${len} decoded`);
      }
    }
    assert.ok((counts.get('truncated') ?? 0) > 10_000, JSON.stringify([...counts]));
  });

  it('bit flips and random bytes (seeded)', () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const fixtures = allFixtures();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const f = fixtures[Math.floor(rand() * fixtures.length)]!;
      const bytes = Buffer.from(f.bytes);
      const flips = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < flips; j++) {
        const at = Math.floor(rand() * bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(rand() * 8));
      }
      seen.add(assertSafe(() => decodeFixture({ ...f, bytes }), `flip #${i} of ${f.format}`));
    }
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.alloc(Math.floor(rand() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      if (bytes.length > 0 && i % 2 === 0) bytes[0] = 0xde; // make it look like a record to reach the field readers
      seen.add(assertSafe(() => decodeAnalytics(bytes, 'msgpack'), `random #${i} msgpack`));
      seen.add(assertSafe(() => decodeAnalytics(bytes, 'protobuf'), `random #${i} protobuf`));
      seen.add(assertSafe(() => decodeUptime(bytes), `random #${i} uptime`));
    }
    for (const reason of ['ok', 'truncated', 'wrong_type', 'not_msgpack', 'not_protobuf']) assert.ok(seen.has(reason), `${reason} in ${[...seen]}`);
  });
});
