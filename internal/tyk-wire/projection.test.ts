/**
 * Projected decoding against the real gateway bytes (test/fixtures, copied from shared/fixtures): for every
 * fixture of every gateway generation and encoding, decoding with a projection equals the full decode
 * with every undeclared field at its neutral value (`projectRecord`, the specification in
 * src/record-reads.ts) — for each single field, the metrics pipeline's set, random subsets and none.
 * With no field, an element is only checked: broken bytes are still refused, good ones give the shared
 * placeholder of the right kind and encoding.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import { allFixtures, loadFixtures, type Fixture } from '../../test/helpers/fixtures.js';
import { DecodeError } from '../../src/errors.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { ANALYTICS_FIELDS, NEUTRAL_FIELDS, projectRecord, type AnalyticsField, type RecordReads } from '../../src/record-reads.js';
import { decodeAnalytics, decodeUptime, wireTimestampMs } from './decode.js';
import { FULL_PROJECTION, UPTIME_PLACEHOLDER, projection } from './projection.js';

const gateway = allFixtures().filter((f) => f.format !== 'uptime');
const encodingOf = (f: Fixture): 'msgpack' | 'protobuf' => (f.format === 'protobuf' ? 'protobuf' : 'msgpack');

/** What `route → sli` (default configs) reads: the metrics pipeline of issue 12. */
const METRICS: readonly AnalyticsField[] = [
  'apiId', 'path', 'rawPath', 'originalPath', 'listenPath', 'trackPath',
  'timestampMs', 'responseCode', 'method', 'requestTime', 'latency', 'contentLength', 'network', 'apiName', 'orgId',
];

/** A deterministic pseudo-random generator (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkAll(reads: RecordReads, label: string): void {
  const p = projection(reads);
  for (const f of gateway) {
    const full = decodeAnalytics(f.bytes, encodingOf(f));
    const got = decodeAnalytics(f.bytes, encodingOf(f), { projection: p });
    assert.deepEqual(got, projectRecord(full, reads), `${label}: ${f.format} ${String(f.expected['path'])}`);
  }
}

describe('projected decoding', () => {
  it('covers every generation and encoding of the fixtures', () => {
    assert.deepEqual(new Set(gateway.map((f) => f.format)), new Set(['msgpack', 'legacy', 'pump18', 'protobuf']));
  });

  it('all fields: the full decode itself', () => {
    for (const f of gateway) assert.deepEqual(decodeAnalytics(f.bytes, encodingOf(f), { projection: FULL_PROJECTION }), decodeAnalytics(f.bytes, encodingOf(f)));
  });

  it('each single field equals the full decode on that field, every other field neutral', () => {
    for (const field of ANALYTICS_FIELDS) checkAll([field], field);
  });

  it("the metrics pipeline's fields (route → sli)", () => {
    checkAll(METRICS, 'metrics');
    // And the fixtures do carry values there, so the comparison is not between empty records.
    const p = projection(METRICS);
    const decoded = gateway.map((f) => decodeAnalytics(f.bytes, encodingOf(f), { projection: p }));
    assert.ok(decoded.some((r) => r.latency.total > 0 && r.apiId !== '' && r.path !== ''));
    assert.ok(decoded.every((r) => r.userAgent === '' && r.rawRequest === '' && r.geo === NEUTRAL_FIELDS.geo && r.tags.length === 0));
    assert.ok(gateway.some((f) => decodeAnalytics(f.bytes, encodingOf(f)).rawRequest !== ''), 'some fixture has a raw request to skip');
  });

  it('random subsets of fields', () => {
    const next = rng(12);
    for (let i = 0; i < 60; i++) {
      const pick = ANALYTICS_FIELDS.filter(() => next() < 0.3);
      checkAll(pick, pick.join(','));
    }
  });

  it('an undeclared responseCode is -1 on network records and 0 on HTTP ones; kind stays exact', () => {
    const p = projection(['apiId']);
    let network = 0;
    for (const f of gateway) {
      const full = decodeAnalytics(f.bytes, encodingOf(f));
      const got = decodeAnalytics(f.bytes, encodingOf(f), { projection: p });
      assert.equal(got.kind, full.kind);
      assert.equal(got.responseCode, full.kind === 'network' ? -1 : 0);
      if (full.kind === 'network') network++;
    }
    assert.ok(network > 0, 'the fixtures hold network-stats records');
  });

  it('raw: false drops the raw blobs from any projection', () => {
    const p = projection('all', { raw: false });
    for (const f of gateway) {
      const got = decodeAnalytics(f.bytes, encodingOf(f), { projection: p });
      assert.deepEqual(got, { ...decodeAnalytics(f.bytes, encodingOf(f)), rawRequest: '', rawResponse: '', apiSchema: '' });
    }
  });
});

describe('no field read: the element is only checked', () => {
  const none = projection([]);

  it('good elements give the shared placeholder of their kind and encoding', () => {
    for (const f of gateway) {
      const full = decodeAnalytics(f.bytes, encodingOf(f));
      const got = decodeAnalytics(f.bytes, encodingOf(f), { projection: none });
      assert.deepEqual(got, projectRecord(full, []));
      assert.ok(Object.isFrozen(got));
      assert.equal(got, decodeAnalytics(f.bytes, encodingOf(f), { projection: none }), 'the same object every time');
    }
    for (const f of loadFixtures('uptime-msgpack.jsonl')) {
      assert.equal(decodeUptime(f.bytes, { projection: none }), UPTIME_PLACEHOLDER);
    }
  });

  it('refuses what is not a record: every truncation, non-maps, maps without a record field, oversized elements', () => {
    for (const f of allFixtures()) {
      const format = f.format === 'uptime' ? 'uptime' : encodingOf(f);
      const decode = (b: Buffer) => (format === 'uptime' ? decodeUptime(b, { projection: none }) : decodeAnalytics(b, format, { projection: none }));
      // Every proper prefix of a msgpack record is refused (a map declares its size); protobuf has no
      // framing, so a prefix that ends between two fields is a valid (shorter) message, as in Go.
      for (let n = 0; n < f.bytes.length; n++) {
        const cut = f.bytes.subarray(0, n);
        if (format === 'protobuf') {
          try {
            decode(cut);
          } catch (err) {
            assert.ok(err instanceof DecodeError, `protobuf prefix ${n}: ${String(err)}`);
          }
        } else {
          assert.throws(() => decode(cut), DecodeError, `${f.format} prefix of ${n} of ${f.bytes.length} bytes`);
        }
      }
      assert.throws(() => (format === 'uptime' ? decodeUptime(f.bytes, { projection: none, maxBytes: 8 }) : decodeAnalytics(f.bytes, format, { projection: none, maxBytes: 8 })), /too_large|exceeds/);
    }
    for (const bad of [pack('text'), pack([1, 2, 3]), pack({ Unknown: 1, Other: 'x' }), Buffer.from([0xc1]), Buffer.alloc(0)]) {
      assert.throws(() => decodeAnalytics(bad, 'msgpack', { projection: none }), DecodeError);
      assert.throws(() => decodeUptime(bad, { projection: none }), DecodeError);
    }
    assert.throws(() => decodeAnalytics(Buffer.from([0xff, 0xff, 0xff]), 'protobuf', { projection: none }), DecodeError);
  });

  it('does not check the types of fields it does not read (a pipeline that reads them does)', () => {
    const wrongType = pack({ Method: 'GET', ResponseCode: 200, RequestTime: 'slow', Path: '/x' });
    assert.equal(decodeAnalytics(wrongType, 'msgpack', { projection: none, tolerant: false }).kind, 'http');
    assert.throws(() => decodeAnalytics(wrongType, 'msgpack', { tolerant: false }), /wrong_type|RequestTime/);
  });
});

describe('the tolerant path under a projection', () => {
  it('coerces a mistyped field the projection reads, and keeps the rest neutral', () => {
    const base = decodeAnalytics(loadFixtures('gateway-msgpack.jsonl')[0]!.bytes, 'msgpack');
    const bytes = pack({ Method: base.method, Path: base.path, APIID: base.apiId, ResponseCode: 200, RequestTime: 12.0000001, UserAgent: 'ua' });
    const coerced: string[] = [];
    const got: AnalyticsRecord = decodeAnalytics(bytes, 'msgpack', { projection: projection(['requestTime', 'apiId']), onCoercion: (field) => coerced.push(field) });
    assert.equal(got.requestTime, 12);
    assert.equal(got.apiId, base.apiId);
    assert.equal(got.userAgent, '');
    assert.equal(got.path, '');
    assert.ok(coerced.includes('RequestTime'), coerced.join(','));
  });

  it('never reaches a mistyped field the projection skips', () => {
    const bytes = pack({ Method: 'GET', ResponseCode: 201, UserAgent: 42, Tags: 'not-a-list' });
    const coerced: string[] = [];
    const got = decodeAnalytics(bytes, 'msgpack', { projection: projection(['method']), onCoercion: (field) => coerced.push(field) });
    assert.equal(got.method, 'GET');
    assert.equal(got.responseCode, 0);
    assert.deepEqual(coerced, []);
  });
});

describe('wireTimestampMs', () => {
  it('reads the timestamp of every fixture as the full decode does, null for what does not decode', () => {
    for (const f of allFixtures()) {
      const format = f.format === 'uptime' ? 'uptime' : encodingOf(f);
      const full = format === 'uptime' ? decodeUptime(f.bytes) : decodeAnalytics(f.bytes, format);
      assert.equal(wireTimestampMs(f.bytes, format), full.timestampMs);
    }
    assert.equal(wireTimestampMs(Buffer.from([0xc1]), 'msgpack'), null);
  });
});
