/**
 * Tolerant decoding: every msgpack fixture record is unpacked, mutated into a shape a future gateway could
 * plausibly write (an int that becomes a float, a string that becomes an array, a scalar that becomes a
 * nested map, a time written as RFC 3339 text, a new nested key), packed again and decoded. The result must
 * equal the fixture's own decoding with only the mutated field changed as the coercion rule says, each
 * coercion is reported once with its field and reason, and a record whose required field cannot be
 * recovered is still refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr, unpack } from 'msgpackr';
import { allFixtures, type Fixture } from '../../test/helpers/fixtures.js';
import { toTykJson } from '../../src/tyk-json.js';
import { DecodeError } from '../../src/errors.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { decodeAnalytics } from './decode.js';
import type { CoercionReason } from './tolerant.js';

// Maps as msgpack maps with string keys, as the gateway's Go encoder writes them.
const packr = new Packr({ useRecords: false, variableMapSize: true });
const msgpackFixtures = allFixtures().filter((f) => f.format === 'msgpack' || f.format === 'legacy' || f.format === 'pump18');

interface Mutation {
  readonly name: string;
  /** Changes the unpacked wire map in place; returns false when the record lacks the field. */
  readonly mutate: (o: Record<string, unknown>) => boolean;
  /** What the decoded record's Tyk JSON must then differ in from the original's. */
  readonly expect: (json: Record<string, unknown>, original: AnalyticsRecord) => void;
  readonly coercions: readonly (readonly [string, CoercionReason])[];
}

const MUTATIONS: readonly Mutation[] = [
  {
    name: 'RequestTime int → float',
    mutate: (o) => { o['RequestTime'] = (o['RequestTime'] as number) + 0.25; return true; },
    expect: () => {},
    coercions: [['RequestTime', 'float_to_int']],
  },
  {
    name: 'ResponseCode int → numeric string',
    mutate: (o) => { o['ResponseCode'] = String(o['ResponseCode']); return true; },
    expect: () => {},
    coercions: [['ResponseCode', 'string_to_int']],
  },
  {
    name: 'Alias string → array of strings',
    mutate: (o) => { o['Alias'] = [o['Alias'], 'second']; return true; },
    expect: (j, r) => { j['alias'] = `${r.alias},second`; },
    coercions: [['Alias', 'array_to_string']],
  },
  {
    name: 'UserAgent string → nested map',
    mutate: (o) => { o['UserAgent'] = { Name: 'okhttp', Version: '4.12.0' }; return true; },
    expect: (j) => { j['user_agent'] = ''; },
    coercions: [['UserAgent', 'unrecoverable']],
  },
  {
    name: 'TimeStamp [sec, nsec] → RFC 3339 text (ms precision)',
    mutate: (o) => {
      const [sec, nsec] = o['TimeStamp'] as [number, number];
      o['TimeStamp'] = new Date(sec * 1000 + Math.floor(nsec / 1e6)).toISOString();
      return true;
    },
    expect: (j, r) => { j['timestamp'] = toTykJson({ ...r, timestampNs: 0 })['timestamp']; },
    coercions: [['TimeStamp', 'string_to_time']],
  },
  {
    name: 'Latency.Total int → float, plus a new nested key',
    mutate: (o) => {
      const l = o['Latency'] as Record<string, unknown> | undefined;
      if (!l) return false;
      l['Total'] = (l['Total'] as number) + 0.5;
      l['Breakdown'] = { dns: 1, tls: [1, 2] };
      return true;
    },
    expect: () => {},
    coercions: [['Latency.Total', 'float_to_int']],
  },
  {
    name: 'TrackPath bool → 0/1',
    mutate: (o) => { o['TrackPath'] = o['TrackPath'] ? 1 : 0; return 'TrackPath' in o; },
    expect: () => {},
    coercions: [['TrackPath', 'number_to_bool']],
  },
];

function decodeWith(bytes: Buffer): { rec: AnalyticsRecord; seen: [string, CoercionReason][] } {
  const seen: [string, CoercionReason][] = [];
  const rec = decodeAnalytics(bytes, 'msgpack', { onCoercion: (field, reason) => seen.push([field, reason]) });
  return { rec, seen };
}

function originalOf(f: Fixture): AnalyticsRecord {
  return decodeAnalytics(f.bytes, 'msgpack', { tolerant: false });
}

describe('tolerant decoding of future record shapes', () => {
  it('has msgpack fixtures to mutate', () => assert.ok(msgpackFixtures.length >= 3));

  for (const m of MUTATIONS) {
    it(m.name, () => {
      let applied = 0;
      for (const f of msgpackFixtures) {
        const o = unpack(f.bytes) as Record<string, unknown>;
        if (!m.mutate(o)) continue;
        applied++;
        const mutated = packr.pack(o);
        // The fast path refuses it: the record really does take the slow path.
        assert.throws(() => decodeAnalytics(mutated, 'msgpack', { tolerant: false }), DecodeError);
        const original = originalOf(f);
        const { rec, seen } = decodeWith(mutated);
        const want = toTykJson(original);
        m.expect(want, original);
        assert.deepEqual(toTykJson(rec), want, `${m.name} on ${f.format} ${f.expected['api_id']}`);
        assert.deepEqual(seen, m.coercions.map(([a, b]) => [a, b]));
      }
      assert.ok(applied > 0, 'the mutation applied to at least one fixture');
    });
  }

  it('a known shape never takes the slow path (no coercion reported)', () => {
    for (const f of msgpackFixtures) {
      const { seen } = decodeWith(f.bytes);
      assert.deepEqual(seen, []);
    }
  });

  it('a required field that cannot be recovered still refuses the record', () => {
    for (const [field, value] of [['APIID', { id: 'x' }], ['ResponseCode', 'two hundred'], ['TimeStamp', [1, 2, 3]]] as const) {
      const o = unpack(msgpackFixtures[0]!.bytes) as Record<string, unknown>;
      o[field] = value;
      assert.throws(() => decodeAnalytics(packr.pack(o), 'msgpack'), (e: unknown) => e instanceof DecodeError && e.reason === 'wrong_type' && e.message.includes(field));
    }
  });

  it('invalid msgpack is still refused as such, not coerced', () => {
    const bytes = Buffer.from(msgpackFixtures[0]!.bytes);
    const cut = bytes.subarray(0, bytes.length - 3);
    assert.throws(() => decodeAnalytics(cut, 'msgpack'), (e: unknown) => e instanceof DecodeError && e.reason === 'truncated');
  });
});
