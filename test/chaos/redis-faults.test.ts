/**
 * Chaos: a slow or unreachable Redis must never lose records. A private redis-server (debug commands on)
 * is made to stall with `DEBUG SLEEP` and `CLIENT PAUSE` longer than the receiver's `command_timeout`
 * (the commands run once the server wakes, after the client gave up on their replies), and has the
 * receiver's connections killed (`CLIENT KILL`), while a receiver drains a backlog through a slow
 * consumer. Every record must arrive — exactly once at-most-once —, every dead letter must land once and be
 * counted as such, and nothing may be counted lost.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { Consumer } from '../../src/component.js';
import type { RecordBatch } from '../../src/model.js';
import { waitFor } from '../helpers/agent.js';
import { pushUnique, receiverHarness, sample, smallTemplate, startPrivateRedis, uniqueId, type PrivateRedis, type ReceiverHarness } from '../helpers/tyk-redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects record ids; each consume takes `ms` (so a drain lasts long enough to be disturbed). */
class SlowConsumer implements Consumer<'records'> {
  readonly ids: number[] = [];
  constructor(private readonly ms: number) {}
  async consume(batch: RecordBatch): Promise<void> {
    await sleep(this.ms);
    for (const r of batch) this.ids.push(uniqueId(r));
  }
}

/**
 * Runs `fault` over and over (each run makes Redis stall or drops connections, then a pause) until `stop()`
 * says so. Returns a function that stops it and waits for the last run.
 */
function keepBreaking(fault: () => Promise<void>, pauseMs: number): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await fault();
      await sleep(pauseMs);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** Ids missing from `ids` (of 0…n-1) and ids seen twice. */
function tally(ids: readonly number[], n: number): { missing: number; duplicates: number } {
  const seen = new Uint8Array(n);
  let duplicates = 0;
  for (const id of ids) {
    if (seen[id] === 1) duplicates++;
    seen[id] = 1;
  }
  return { missing: seen.reduce((a, s) => a + (s === 0 ? 1 : 0), 0), duplicates };
}

describe('chaos: a slow or unreachable Redis loses nothing', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const harnesses: ReceiverHarness[] = [];
  before(async () => {
    redis = await startPrivateRedis(['--enable-debug-command', 'yes']);
    admin = await redis.client();
  });
  after(async () => {
    for (const h of harnesses) await h.close();
    admin.disconnect();
    await redis.destroy();
  });

  function drain(prefix: string, config: Record<string, unknown>, consumer: Consumer<'records'>): ReceiverHarness {
    const h = receiverHarness({
      endpoint: redis.url, key_prefix: prefix, uptime: false, poll_interval: '20ms', chunk_size: 250, command_timeout: '250ms',
      reconnect: { initial_interval: '20ms', max_interval: '200ms' }, ...config,
    }, consumer, { instanceId: prefix });
    harnesses.push(h);
    return h;
  }

  /** Until the list and every in-flight list are empty and `done()` holds. */
  async function drained(prefix: string, done: () => boolean): Promise<void> {
    await waitFor('drained', async () => done() && (await admin.llen(`${prefix}tyk-system-analytics`)) === 0 && (await admin.keys(`{${prefix}*`)).length === 0, 60_000, 50);
  }

  it('at_most_once: claims whose replies come after command_timeout (DEBUG SLEEP) are read back — every record exactly once', async () => {
    const prefix = 'sleep-amo-';
    const n = 10_000;
    await pushUnique(admin, `${prefix}tyk-system-analytics`, smallTemplate(), 0, n);
    const c = new SlowConsumer(15);
    const h = drain(prefix, { delivery: 'at_most_once' }, c);
    // Each sleep outlasts command_timeout: the claims sent meanwhile time out on the client, then run.
    const stop = keepBreaking(async () => void (await admin.call('DEBUG', 'SLEEP', '0.6')), 300);
    await h.receiver.start();
    try {
      await drained(prefix, () => c.ids.length >= n);
    } finally {
      await stop();
    }
    await sleep(200);
    assert.deepEqual(tally(c.ids, n), { missing: 0, duplicates: 0 });
    const text = await h.scrape();
    assert.equal(sample(text, 'tyk_otel_pump_receiver_lost_items_total'), 0);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dropped_items_total'), 0);
    // Every Redis complaint of the receiver shares one burst logger, so the first stall may be reported by
    // whichever command it hit (a claim, the in-flight delete, the heartbeat) and the rest are suppressed.
    assert.ok(h.logs.some((l) => /retrying|could not|unreachable/.test(l.msg ?? '')), 'the stalls were noticed');
  });

  it('dead letters: writes whose replies are lost (DEBUG SLEEP) land once and count as dead-lettered, never as failed', async () => {
    const prefix = 'sleep-dlq-';
    const key = `${prefix}tyk-system-analytics`;
    const bad = 3000;
    for (let i = 0; i < bad; i += 500) await admin.rpush(key, ...Array.from({ length: 500 }, (_, j) => Buffer.from(`not a record ${i + j}`)));
    const c = new SlowConsumer(0);
    // Slow the claims down a little so that the stalls land while dead letters are being written.
    const h = drain(prefix, { delivery: 'at_most_once', chunk_size: 50, dead_letter: { max_length: 100_000 } }, c);
    const stop = keepBreaking(async () => void (await admin.call('DEBUG', 'SLEEP', '0.6')), 300);
    await h.receiver.start();
    try {
      await drained(prefix, () => true);
    } finally {
      await stop();
    }
    await waitFor('every dead letter counted', async () => sample(await h.scrape(), 'tyk_otel_pump_receiver_dead_lettered_items_total') >= bad, 20_000);
    const envelopes = await admin.lrange(`${prefix}tyk-otel-pump-dead-letter`, 0, -1);
    const texts = envelopes.map((e) => Buffer.from((JSON.parse(e) as { bytes_b64: string }).bytes_b64, 'base64').toString());
    assert.equal(new Set(texts).size, bad, 'every refused element is in the dead-letter list');
    assert.equal(texts.length, bad, 'each one once');
    const text = await h.scrape();
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dead_lettered_items_total'), bad);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dropped_items_total', { reason: 'dead_letter_failed' }), 0);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_refused_items_total'), bad);
  });

  for (const delivery of ['at_most_once', 'at_least_once'] as const) {
    it(`${delivery}: paused writes (slow replies) and killed connections mid-drain — every record arrives${delivery === 'at_most_once' ? ' exactly once' : ''}`, async () => {
      const prefix = `kill-${delivery}-`;
      const n = 10_000;
      await pushUnique(admin, `${prefix}tyk-system-analytics`, smallTemplate(), 0, n);
      const c = new SlowConsumer(15);
      const h = drain(prefix, { delivery }, c);
      let round = 0;
      const stop = keepBreaking(async () => {
        // Writes (claims, deletes) are held past command_timeout, then run; every other round the
        // receiver's connections are cut as the pause ends.
        await admin.call('CLIENT', 'PAUSE', '600', 'WRITE');
        await sleep(600);
        if (round++ % 2 === 1) await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      }, 300);
      await h.receiver.start();
      try {
        await drained(prefix, () => c.ids.length >= n);
      } finally {
        await stop();
      }
      await sleep(200);
      const t = tally(c.ids, n);
      assert.equal(t.missing, 0, 'no record lost');
      if (delivery === 'at_most_once') assert.equal(t.duplicates, 0, 'none delivered twice');
      const text = await h.scrape();
      assert.equal(sample(text, 'tyk_otel_pump_receiver_lost_items_total'), 0);
      assert.ok(h.logs.some((l) => l.msg === 'redis reachable again; resuming'), 'the kills were noticed');
      // Every Redis complaint of the receiver shares one burst logger, so the first stall may be reported by
    // whichever command it hit (a claim, the in-flight delete, the heartbeat) and the rest are suppressed.
    assert.ok(h.logs.some((l) => /retrying|could not|unreachable/.test(l.msg ?? '')), 'the stalls were noticed');
    });
  }
});
