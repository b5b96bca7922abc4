/** Which failures are retried: local resource failures never count as permanent. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExportError, isLocalResourceError, isRetryable } from './errors.js';

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('isRetryable', () => {
  it('local resource failures are retryable, never permanent', () => {
    let tooLong: unknown;
    try {
      'x'.repeat(2 ** 30).repeat(2 ** 3);
    } catch (err) {
      tooLong = err;
    }
    assert.ok(tooLong instanceof RangeError, 'V8 refuses the string');
    for (const err of [tooLong, errno('EIO'), errno('ENOSPC'), errno('EMFILE'), errno('ERR_STRING_TOO_LONG'), new RangeError('Array buffer allocation failed')]) {
      assert.equal(isLocalResourceError(err), true, String(err));
      assert.equal(isRetryable(err), true, String(err));
    }
  });

  it('our errors say so themselves; other plain errors (bugs) are permanent', () => {
    assert.equal(isRetryable(new ExportError('503', { retryable: true })), true);
    assert.equal(isRetryable(new ExportError('400', { retryable: false })), false);
    assert.equal(isRetryable(new TypeError('x is not a function')), false);
    assert.equal(isRetryable(new RangeError('Maximum call stack size exceeded')), false);
    assert.equal(isRetryable('a string'), false);
  });
});
