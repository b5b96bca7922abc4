/**
 * `decodeWire`: a batch decoded again from the bytes it carries equals the first decoding — across runs of
 * every wire format (msgpack, protobuf, uptime), with the receiver's projection — and the tolerant path's
 * coercions are not counted twice.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { withWire, type TykRecord, type WireRun } from '../../src/model.js';
import { loadFixtures } from '../../test/helpers/fixtures.js';
import { decodeAnalytics, decodeUptime, type DecodeOptions } from './decode.js';
import { projection } from './projection.js';
import { decodeWire } from './redecode.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

describe('decodeWire', () => {
  for (const [name, opts] of [
    ['every field', {}],
    ['the metrics pipeline\'s projection', { projection: projection(['method', 'responseCode', 'path', 'apiId', 'apiName', 'orgId', 'latency', 'requestTime', 'timestampMs', 'contentLength']) }],
  ] as const) {
    it(`decodes runs of msgpack, protobuf and uptime records again to the same records (${name})`, () => {
      const o: DecodeOptions = opts;
      const parts = [
        { format: 'msgpack' as const, bytes: loadFixtures('gateway-msgpack.jsonl').slice(0, 20).map((f) => f.bytes) },
        { format: 'protobuf' as const, bytes: loadFixtures('gateway-protobuf.jsonl').slice(0, 5).map((f) => f.bytes) },
        { format: 'uptime' as const, bytes: loadFixtures('uptime-msgpack.jsonl').slice(0, 3).map((f) => f.bytes) },
        { format: 'msgpack' as const, bytes: loadFixtures('gateway-legacy-v4.jsonl').slice(0, 5).map((f) => f.bytes) },
      ];
      const records: TykRecord[] = [];
      const bytes: Buffer[] = [];
      const runs: WireRun[] = [];
      for (const p of parts) {
        for (const b of p.bytes) {
          records.push(p.format === 'uptime' ? decodeUptime(b, o) : decodeAnalytics(b, p.format, o));
          bytes.push(b);
        }
        runs.push({ end: records.length, source: `list-${runs.length}`, format: p.format });
      }
      const first = withWire(records, { bytes, runs });
      const again = decodeWire(first.wire as NonNullable<typeof first.wire>, o);
      assert.deepEqual([...again], [...first]);
      assert.equal(again.wire, first.wire, 'the same bytes travel with the records');
    });
  }

  it('refuses runs that do not cover the bytes (a bug, not input)', () => {
    const b = loadFixtures('gateway-msgpack.jsonl')[0]?.bytes as Buffer;
    assert.throws(() => decodeWire({ bytes: [b, b], runs: [{ end: 1, source: 'l', format: 'msgpack' }] }, {}), /cover 1 of 2/);
  });

  it('does not count the tolerant path\'s coercions again', () => {
    let coerced = 0;
    const o: DecodeOptions = { onCoercion: () => coerced++ };
    // RequestTime as a float: the fast reader refuses the type, the tolerant path coerces it.
    const patched = packr.pack({ Method: 'GET', Path: '/x', APIID: 'a', ResponseCode: 200, RequestTime: 12.0000001 });
    const first = decodeAnalytics(patched, 'msgpack', o);
    const n = coerced;
    assert.ok(n > 0, 'the first decoding coerced');
    const again = decodeWire({ bytes: [patched], runs: [{ end: 1, source: 'l', format: 'msgpack' }] }, o);
    assert.deepEqual(again[0], first);
    assert.equal(coerced, n);
  });
});
