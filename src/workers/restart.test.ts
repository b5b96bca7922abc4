/**
 * The worker restart policy: the backoff doubles per crash in a row up to its cap and starts over after a
 * stable run, and the pool never restarts more than `perMinute` workers in any minute.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy, WORKER_RESTART_LIMITS } from './restart.js';

const limits = { initialMs: 1000, maxMs: 8000, perMinute: 3, stableMs: 60_000 };

describe('worker restart policy', () => {
  it('doubles the backoff per crash in a row, up to the cap, per worker; a stable run starts over', () => {
    const p = new RestartPolicy(limits);
    const t = 1_000_000;
    assert.deepEqual([1, 2, 3, 4, 5].map((i) => p.backoff(1, t + i, t + i - 10)), [1000, 2000, 4000, 8000, 8000]);
    assert.equal(p.backoff(2, t, undefined), 1000, 'each worker has its own');
    assert.equal(p.backoff(1, t + 100_000, t + 100_000 - 60_000), 1000, 'after a run of stableMs');
    assert.equal(p.backoff(1, t + 100_001, t + 100_000), 2000);
  });

  it('admits at most perMinute restarts in any minute, and says how long to wait', () => {
    const p = new RestartPolicy(limits);
    const t = 5_000_000;
    assert.equal(p.admit(t), 0);
    assert.equal(p.admit(t + 10_000), 0);
    assert.equal(p.admit(t + 20_000), 0);
    assert.equal(p.admit(t + 30_000), 30_000, 'the fourth waits until the first is a minute old');
    assert.equal(p.admit(t + 59_999), 1);
    assert.equal(p.admit(t + 60_000), 0, 'the first left the window');
    assert.equal(p.admit(t + 60_001), 9_999, 'and the one just admitted counts');
    assert.equal(p.admit(t + 70_000), 0);
    // Over a long crash loop: never more than perMinute in any window of a minute.
    const q = new RestartPolicy(limits);
    const done: number[] = [];
    for (let now = 0; now < 600_000;) {
      const wait = q.admit(now);
      if (wait === 0) done.push(now);
      now += wait === 0 ? 1000 : wait;
    }
    for (const a of done) assert.ok(done.filter((b) => b >= a && b < a + 60_000).length <= limits.perMinute);
    assert.ok(done.length >= 30, `${done.length} restarts in 10 minutes`);
  });

  it('the pool\'s limits: 1 s first, 30 s at most, 5 a minute', () => {
    assert.deepEqual(WORKER_RESTART_LIMITS, { initialMs: 1000, maxMs: 30_000, perMinute: 5, stableMs: 60_000 });
  });
});
