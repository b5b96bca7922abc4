import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attributesKey, compareHrTime, sameBoundaries } from './metric-state.js';

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
