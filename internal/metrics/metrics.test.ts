import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HistogramState, BucketIndex, sameBoundaries } from './histogram.js';
import { OVERFLOW_ATTRIBUTES, attributesKey, compareHrTime, msToHrTime } from './identity.js';
import { SeriesMap } from './series.js';

describe('metric state building blocks', () => {
  it('attribute set keys: equal for equal sets in any key order, different for any other set', () => {
    assert.equal(attributesKey({ a: 'x', b: 1 }), attributesKey({ b: 1, a: 'x' }));
    assert.equal(attributesKey({ a: ['p', 'q'] }), attributesKey({ a: ['p', 'q'] }));
    const distinct = [
      {}, { a: 'x' }, { a: 'y' }, { b: 'x' }, { a: '1' }, { a: 1 }, { a: true }, { a: 'true' }, { a: ['x'] }, { a: 'x', b: 'y' },
      // A value that spells out a key boundary of another encoding must not meet that set.
      { a: 'x\u0002b\u0001sy' }, { a: 'x","b":"y' }, { a: '' }, { a: undefined },
    ];
    const keys = distinct.map(attributesKey);
    assert.equal(new Set(keys).size, distinct.length, keys.join('\n'));
  });

  it('caches the key per attributes object', () => {
    const a = Object.freeze({ 'http.route': '/orders/{id}' });
    assert.equal(attributesKey(a), attributesKey(a));
  });

  it('converts epoch ms (+ ns) to HrTime', () => {
    assert.deepEqual(msToHrTime(0), [0, 0]);
    assert.deepEqual(msToHrTime(1_764_158_400_074), [1_764_158_400, 74_000_000]);
    assert.deepEqual(msToHrTime(1_764_158_400_074, 150_800), [1_764_158_400, 74_150_800]);
    assert.deepEqual(msToHrTime(1999.5), [1, 999_500_000]);
  });

  it('compares boundaries and HrTimes', () => {
    const b = [0.1, 1];
    assert.ok(sameBoundaries(b, b));
    assert.ok(sameBoundaries(b, [0.1, 1]));
    assert.ok(!sameBoundaries(b, [0.1, 2]));
    assert.ok(!sameBoundaries(b, [0.1]));
    assert.ok(compareHrTime([1, 5], [1, 6]) < 0);
    assert.ok(compareHrTime([2, 0], [1, 999_999_999]) > 0);
    assert.equal(compareHrTime([3, 3], [3, 3]), 0);
  });

  it('buckets values with le semantics, in input units scaled to the boundaries', () => {
    const idx = new BucketIndex([0.005, 0.01, 0.5], 1000);
    // 5 ms is in the 0.005 s bucket (le), 6 ms in the next, 500 ms in the last finite one, beyond it +Inf.
    assert.deepEqual([0, 5, 6, 10, 11, 500, 501, 1e9, 5.5].map((v) => idx.indexOf(v)), [0, 0, 1, 1, 2, 2, 3, 3, 1]);
  });

  it('histogram state: observe, add, restart and hand over as a data point', () => {
    const b = Object.freeze([1, 10]) as number[];
    const h = new HistogramState(b);
    const idx = new BucketIndex(b);
    for (const v of [0.5, 3, 30]) h.observe(idx.indexOf(v), v);
    assert.deepEqual(h.point(), { buckets: { boundaries: b, counts: [1, 1, 1] }, sum: 33.5, count: 3, min: 0.5, max: 30 });
    h.add({ buckets: { boundaries: b, counts: [2, 0, 0] }, sum: 1, count: 2, min: 0.25, max: 0.75 });
    assert.deepEqual(h.take(10), { buckets: { boundaries: b, counts: [3, 1, 1] }, sum: 3.45, count: 5, min: 0.025, max: 3 });
    assert.deepEqual(h.point(), { buckets: { boundaries: b, counts: [0, 0, 0] }, sum: 0, count: 0 }, 'reset, and no min/max when empty');
    const c = HistogramState.of({ buckets: { boundaries: b, counts: [0, 4, 0] }, sum: 20, count: 4 });
    const copy = c.clone();
    c.addState(copy);
    assert.deepEqual(c.point().buckets.counts, [0, 8, 0]);
    assert.deepEqual(copy.point().buckets.counts, [0, 4, 0], 'a clone is independent');
    c.restart({ buckets: { boundaries: [5], counts: [1, 0] }, sum: 2, count: 1, min: 2, max: 2 });
    assert.deepEqual(c.point(), { buckets: { boundaries: [5], counts: [1, 0] }, sum: 2, count: 1, min: 2, max: 2 });
  });

  it('series map: finds a series by attributes object, by equal set, per namespace; overflow aside; expiry', () => {
    const m = new SeriesMap<{ live: boolean; lastSeen: number; n: number }>();
    const a = Object.freeze({ route: '/a' });
    const s1 = m.insert(a, { live: true, lastSeen: 10, n: 1 }, 'scope1');
    assert.equal(m.lookup(a, 'scope1'), s1);
    assert.equal(m.lookup({ route: '/a' }, 'scope1'), s1, 'an equal set in another object');
    assert.equal(m.lookup(a, 'scope2'), undefined, 'another namespace');
    const s2 = m.insert(a, { live: true, lastSeen: 20, n: 2 }, 'scope2');
    assert.equal(m.lookup(a, 'scope2'), s2);
    assert.equal(m.lookup(a, 'scope1'), s1);
    const o = m.overflow(0, () => ({ live: true, lastSeen: 5, n: 0 }));
    assert.equal(m.overflow(0, () => assert.fail('made twice')), o);
    assert.equal(m.size, 3);
    assert.equal(m.regularSize, 2);
    assert.equal(m.expire(15, (s) => s.n === 0), 1, 'keep() holds the overflow series');
    assert.equal(s1.live, false);
    assert.equal(m.lookup(a, 'scope1'), undefined, 'an expired series is not found through a stale cache entry');
    assert.deepEqual([...m.values()].map((s) => s.n), [2, 0]);
    assert.equal(m.expire(100), 2);
    assert.equal(m.size, 0);
    assert.equal(OVERFLOW_ATTRIBUTES['otel.metric.overflow'], true);
  });
});
