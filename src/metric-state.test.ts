import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attributesKey, compareHrTime, msToHrTime, sameBoundaries } from './metric-state.js';

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
});
