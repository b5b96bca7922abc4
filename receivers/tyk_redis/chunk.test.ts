/**
 * The chunk lifecycle on its own (no Redis): every path a chunk can take ends in exactly one end, the
 * ledger counts open chunks and ends, counters fire on the transitions that own them, and a transition
 * that is not allowed throws instead of acknowledging or counting twice.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chunk, ChunkLedger, isEnd, type ChunkEnd, type ChunkPart } from './chunk.js';
import { withWire, type TykRecord } from '../../src/model.js';

const source = { key: 'analytics-tyk-system-analytics', encoding: 'msgpack' as const };

/** A ledger whose hooks record every call. */
function recorder() {
  const calls: string[] = [];
  const ends: ChunkEnd[] = [];
  const ledger = new ChunkLedger({
    accepted: (_c, n) => calls.push(`accepted ${n}`),
    redelivered: (_c, n) => calls.push(`redelivered ${n}`),
    ended: (_c, end) => {
      calls.push(`ended ${end}`);
      ends.push(end);
    },
  });
  return { ledger, calls, ends };
}

function part(inflight: boolean, items = 3): ChunkPart {
  return { source, items: Array.from({ length: items }, (_, i) => Buffer.from([i])), inflightKey: inflight ? '{k}:inflight:0' : undefined, slot: inflight ? 0 : undefined };
}

const records = (n: number) => Array.from({ length: n }, () => ({}) as TykRecord);

describe('chunk lifecycle', () => {
  it('at-least-once: claimed → delivering → acking → acknowledged, one acceptance, one end', () => {
    const { ledger, calls } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c1', recovered: false });
    assert.equal(ledger.size, 1);
    c.decoded(records(3));
    assert.equal(c.itemCount, 0, 'raw elements released once decoded');
    c.handOver();
    c.accepted();
    assert.equal(c.settle('acknowledged'), true, 'the in-flight list must be deleted first');
    assert.equal(c.state, 'acking');
    assert.equal(ledger.size, 1, 'still open while acking');
    c.acked();
    assert.equal(c.state, 'acknowledged');
    assert.equal(ledger.size, 0);
    assert.deepEqual(calls, ['accepted 3', 'ended acknowledged']);
    assert.equal(c.inflightParts.length, 0);
  });

  it('retries count re-deliveries, acceptance only once', () => {
    const { ledger, calls } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c2', recovered: false });
    c.decoded(records(2));
    c.handOver();
    c.accepted();
    c.retry([]);
    assert.equal(c.state, 'retrying');
    assert.equal(c.attempts, 1);
    c.handOver();
    c.accepted();
    c.retry([]);
    c.handOver();
    c.accepted();
    c.settle('acknowledged');
    c.acked();
    assert.deepEqual(calls, ['accepted 2', 'redelivered 2', 'redelivered 2', 'ended acknowledged']);
  });

  it('accepted records are released when their bytes can give them back, and a re-delivery must decode them again first', () => {
    const { ledger, calls } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c9', recovered: false });
    const bytes = [Buffer.from([1]), Buffer.from([2])];
    c.decoded(withWire(records(2), { bytes, runs: [{ end: 2, source: source.key, format: 'msgpack' }] }), bytes);
    assert.equal(c.released, false);
    c.handOver();
    c.accepted();
    assert.equal(c.records, undefined, 'not kept alive while the chunk waits (an emission window, a queue)');
    assert.equal(c.released, true);
    assert.equal(c.recordCount, 2);
    assert.equal(c.recordBytes, bytes, 'the bytes stay (dead letters, decoding again)');
    assert.throws(() => c.redecoded(records(2)), /not allowed in state delivering/);
    c.retry([]);
    assert.throws(() => c.redecoded(records(1)), /decoded again to 1 records, not 2/);
    c.redecoded(records(2));
    assert.equal(c.released, false);
    c.handOver();
    c.accepted();
    c.settle('acknowledged');
    c.acked();
    assert.deepEqual(calls, ['accepted 2', 'redelivered 2', 'ended acknowledged']);
    assert.equal(c.wire, undefined, 'everything released at the end');
    assert.equal(c.recordBytes, undefined);

    // Without the bytes (a batch from elsewhere) the records are kept for the re-delivery.
    const kept = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c10', recovered: false });
    kept.decoded(records(3));
    kept.handOver();
    kept.accepted();
    assert.equal(kept.records?.length, 3);
    assert.equal(kept.released, false);
  });

  it('a permanent failure ends dropped with its reason (after the in-flight list is gone)', () => {
    const { ledger, ends } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c3', recovered: false });
    c.decoded(records(1));
    c.handOver();
    c.settle('dropped', 'delivery_failed_permanently');
    c.acked();
    assert.deepEqual(ends, ['dropped']);
    assert.equal(c.dropReason, 'delivery_failed_permanently');
  });

  it('at-most-once: claimed → taking → taken → delivering → end, no ack after delivery', () => {
    const { ledger, ends } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'c4', recovered: false });
    c.take();
    assert.equal(c.inflightParts.length, 1, 'still in redis until the removal is confirmed');
    c.taken();
    assert.equal(c.inflightParts.length, 0);
    c.decoded(records(3));
    c.handOver();
    c.accepted();
    assert.equal(c.settle('dropped', 'delivery_failed'), false, 'nothing left in redis to delete');
    assert.deepEqual(ends, ['dropped']);
    assert.throws(() => c.acked(), /not allowed in state dropped/);
  });

  it('a chunk without in-flight lists ends at once', () => {
    const { ledger, ends } = recorder();
    const c = new Chunk(ledger, [part(false), part(false)], { state: 'claimed', id: 'c5', recovered: false });
    c.decoded(records(6));
    c.handOver();
    c.accepted();
    assert.equal(c.settle('acknowledged'), false);
    assert.deepEqual(ends, ['acknowledged']);
  });

  it('read back: an unread list becomes a re-delivered chunk with the id it was claimed under, or ends empty', () => {
    const { ledger, calls, ends } = recorder();
    const c = new Chunk(ledger, [part(true, 0)], { state: 'unread', recovered: true });
    assert.equal(c.id, undefined);
    c.read([Buffer.from('a'), Buffer.from('b')], 'claimed-id');
    assert.equal(c.id, 'claimed-id');
    assert.equal(c.itemCount, 2);
    c.decoded(records(2));
    c.handOver();
    assert.deepEqual(calls, ['redelivered 2']);
    const empty = new Chunk(ledger, [part(true, 0)], { state: 'unread', recovered: true });
    empty.read([], 'x');
    assert.equal(empty.state, 'empty');
    assert.deepEqual(ends, ['empty']);
    assert.equal(ledger.size, 1);
  });

  it('every chunk open at shutdown ends left while Redis holds it, lost once it was taken out; an end cannot be left again', () => {
    const { ledger, ends } = recorder();
    const make = () => new Chunk(ledger, [part(true)], { state: 'claimed', id: 'x', recovered: false });
    const states: (() => Chunk)[] = [
      make,
      () => new Chunk(ledger, [part(true, 0)], { state: 'unread', recovered: true }),
      () => { const c = make(); c.take(); return c; },
      () => { const c = make(); c.take(); c.taken(); return c; },
      () => { const c = make(); c.decoded(records(1)); c.handOver(); return c; },
      () => { const c = make(); c.decoded(records(1)); c.handOver(); c.retry([]); return c; },
      () => { const c = make(); c.decoded(records(1)); c.handOver(); c.settle('acknowledged'); return c; },
    ];
    const chunks = states.map((f) => f());
    assert.deepEqual(chunks.map((c) => c.state), ['claimed', 'unread', 'taking', 'taken', 'delivering', 'retrying', 'acking']);
    for (const c of ledger.openChunks()) c.leave();
    assert.equal(ledger.size, 0);
    assert.deepEqual(ends, ['left', 'left', 'left', 'lost', 'left', 'left', 'left']);
    assert.equal(ledger.ended('left'), 6);
    assert.equal(ledger.ended('lost'), 1);
    const { ledger: l2, ends: e2 } = recorder();
    const taken = new Chunk(l2, [part(true)], { state: 'claimed', id: 't', recovered: false });
    taken.take();
    taken.taken();
    taken.decoded(records(1));
    taken.handOver();
    assert.equal(taken.leave(), 'lost');
    assert.deepEqual(e2, ['lost']);
    for (const c of chunks) assert.throws(() => c.leave(), /left after it ended/);
  });

  it('no double acknowledgement, no double end, no transition out of order', () => {
    const { ledger, ends } = recorder();
    const c = new Chunk(ledger, [part(true)], { state: 'claimed', id: 'd', recovered: false });
    assert.throws(() => c.acked(), /not allowed in state claimed/);
    assert.throws(() => c.retry([]), /not allowed in state claimed/);
    assert.throws(() => c.taken(), /not allowed/);
    assert.throws(() => c.read([], 'x'), /not allowed/);
    c.decoded(records(1));
    assert.throws(() => c.decoded(records(1)), /decoded twice/);
    c.handOver();
    assert.throws(() => c.handOver(), /not allowed in state delivering/);
    c.settle('acknowledged');
    assert.throws(() => c.settle('acknowledged'), /not allowed in state acking/);
    c.acked();
    assert.throws(() => c.acked(), /not allowed in state acknowledged/);
    assert.throws(() => c.handOver(), /not allowed/);
    assert.deepEqual(ends, ['acknowledged']);
    assert.equal(ledger.ended('acknowledged'), 1);
  });

  it('walks every path of the transition table: each ends exactly once', () => {
    // Random walks over the public transitions; whatever the order, a chunk ends once and only once.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 500; run++) {
      const { ledger, ends } = recorder();
      const inflight = rand(2) === 0;
      const c = new Chunk(ledger, [part(inflight)], rand(3) === 0 ? { state: 'unread', recovered: true } : { state: 'claimed', id: 'w', recovered: false });
      const moves: (() => void)[] = [
        () => c.read(rand(4) === 0 ? [] : [Buffer.from('x')], 'w'),
        () => c.take(),
        () => c.taken(),
        () => c.handOver(),
        () => c.accepted(),
        () => c.retry([]),
        () => c.settle((['acknowledged', 'dropped', 'dead_lettered'] as const)[rand(3)] ?? 'acknowledged'),
        () => c.acked(),
        () => c.leave(),
      ];
      for (let step = 0; step < 40 && !c.ended; step++) {
        try {
          (moves[rand(moves.length)] as () => void)();
        } catch (err) {
          assert.match((err as Error).message, /not allowed|not a transition|left after/);
        }
      }
      if (!c.ended) c.leave();
      assert.ok(isEnd(c.state));
      assert.equal(ends.length, 1, `run ${run}: ${ends.join(',')}`);
      assert.equal(ledger.size, 0);
      for (const m of moves) assert.throws(m);
    }
  });
});
