/**
 * The claim script's edge cases on a real Redis (127.0.0.1:6379, a private key prefix; a private
 * redis-server where Redis' own memory is measured): the prefix it copies grows step by step, so every
 * count around a step boundary, the byte bound cut at and around the limit, an element larger than the
 * bound, a chunk far beyond Lua's `unpack` limit, an empty list, a list another consumer drains at the
 * same time, a reply lost after the claim ran, and a list of large records that Redis never copies whole.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkHeader, CLAIM_LUA, claimInflight, defineScripts, parseChunkHeader, readInflight } from './scripts.js';
import type { RedisClient } from '../../internal/redis/connection.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/tyk-redis.js';

const opened: TestRedis[] = [];
afterEach(async () => {
  for (const r of opened.splice(0)) await r.cleanup();
});
let privateRedis: PrivateRedis | undefined;
after(async () => {
  await privateRedis?.destroy();
});

async function redis() {
  const r = await testRedis('claim');
  opened.push(r);
  const client = defineScripts(r.client as unknown as RedisClient);
  const key = `${r.prefix}list`;
  let slots = 0;
  return {
    r,
    client,
    key,
    /** A fresh in-flight list of `key` (same hash tag). */
    inflight: () => `{${key}}:inflight:${slots++}`,
    /** Claims into a fresh in-flight list; checks the list holds the header and exactly the items. */
    async claim(n: number, maxBytes = 1 << 24) {
      const slot = slots++;
      const inflight = `{${key}}:inflight:${slot}`;
      const got = await claimInflight(client, key, inflight, n, maxBytes, `id-${slot}`);
      const stored = await r.client.lrangeBuffer(inflight, 0, -1);
      if (got.items.length === 0) assert.equal(stored.length, 0, 'an empty claim leaves no in-flight list');
      else {
        assert.equal(parseChunkHeader(stored[0]), `id-${slot}`);
        assert.deepEqual(stored.slice(1), got.items);
      }
      await r.client.del(inflight);
      return got;
    },
  };
}

/** `count` distinct elements of `size` bytes (the index in front, padded). */
function elements(count: number, size: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const b = Buffer.alloc(size, 0x61 + ((from + i) % 26));
    b.write(String(from + i).padEnd(Math.min(size, 8), '.'), 0, 'latin1');
    return b;
  });
}

/** How many elements the exact byte rule takes: up to and including the one that reaches `budget`. */
function exactCut(sizes: readonly number[], n: number, budget: number): number {
  let bytes = 0;
  let take = 0;
  while (take < Math.min(n, sizes.length) && bytes < budget) bytes += sizes[take++] as number;
  return take;
}

describe('tyk_redis claim script', () => {
  it('takes exactly the first min(chunk, length) elements, in order, for every count around the steps of the growing prefix', async () => {
    const t = await redis();
    for (const length of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000, 1001]) {
      const all = elements(length, 20);
      for (const n of [1, 2, 3, 4, 8, 9, 16, 17, 999, 1000, 5000]) {
        await t.r.client.del(t.key);
        await t.r.push(t.key, all);
        const got = await t.claim(n);
        const want = Math.min(n, length);
        assert.deepEqual(got.items, all.slice(0, want), `length ${length}, chunk ${n}`);
        assert.equal(got.left, length - want);
        assert.equal(got.bytes, want * 20);
        assert.deepEqual(await t.r.client.lrangeBuffer(t.key, 0, -1), all.slice(want));
      }
    }
  });

  it('cuts at the byte bound: the element that reaches it is the last, exactly at the limit too; never past the exact cut', async () => {
    const t = await redis();
    // 10 000-byte elements: a bound of exactly k elements takes k of them.
    for (const k of [1, 2, 3, 5, 8]) {
      await t.r.client.del(t.key);
      await t.r.push(t.key, elements(20, 10_000));
      const got = await t.claim(1000, k * 10_000);
      assert.equal(got.items.length, k, `bound of exactly ${k} elements`);
      assert.equal(got.left, 20 - k);
      // One byte less: the k-th element still reaches it.
      await t.r.client.del(t.key);
      await t.r.push(t.key, elements(20, 10_000));
      assert.equal((await t.claim(1000, k * 10_000 - 1)).items.length, k);
    }
    // Mixed sizes, many bounds: at least one element, everything but the last below the bound, never more
    // than the exact rule takes, and no less than what fits with Redis' few bytes per element of
    // bookkeeping counted (the bound counts what Redis stores).
    const sizes = Array.from({ length: 200 }, (_, i) => 300 + ((i * 7919) % 9000));
    const list = sizes.map((s, i) => elements(1, s, i)[0] as Buffer);
    for (const budget of [1024, 4096, 10_000, 33_333, 100_000, 250_000, 1 << 20]) {
      for (const n of [7, 64, 200]) {
        await t.r.client.del(t.key);
        await t.r.push(t.key, list);
        const got = await t.claim(n, budget);
        const take = got.items.length;
        const exact = exactCut(sizes, n, budget);
        assert.ok(take >= 1 && take <= exact, `budget ${budget}, chunk ${n}: took ${take}, the exact rule ${exact}`);
        assert.ok(got.bytes - (got.items[take - 1] as Buffer).length < budget, 'only the last element may cross the bound');
        if (take < exact) assert.ok(got.bytes >= budget * 0.75, `budget ${budget}, chunk ${n}: ${got.bytes} bytes is too early a cut`);
        assert.deepEqual(got.items, list.slice(0, take));
      }
    }
  });

  it('an element larger than the bound is claimed alone, or as the last element after smaller ones', async () => {
    const t = await redis();
    const big = Buffer.alloc(50_000, 0x62);
    const small = elements(3, 100);
    await t.r.push(t.key, [big, ...small]);
    assert.deepEqual((await t.claim(1000, 1024)).items, [big]);
    await t.r.client.del(t.key);
    await t.r.push(t.key, [...small, big, ...small]);
    assert.deepEqual((await t.claim(1000, 1024)).items, [...small, big]);
    assert.deepEqual((await t.claim(1000, 1024)).items, small);
  });

  it('claims 10 000 elements in one chunk (beyond Lua\'s unpack limit), and an empty or missing list takes nothing', async () => {
    const t = await redis();
    const all = elements(12_000, 50);
    await t.r.push(t.key, all);
    const got = await t.claim(10_000);
    assert.equal(got.items.length, 10_000);
    assert.deepEqual(got.items, all.slice(0, 10_000));
    assert.equal(got.left, 2_000);
    assert.equal((await t.claim(10_000)).items.length, 2_000);
    assert.equal(await t.r.client.exists(t.key), 0, 'the drained list is gone');
    const none = await t.claim(10);
    assert.deepEqual([none.items, none.bytes, none.left], [[], 0, 0]);
  });

  it('a list drained by other consumers at the same time (claims and Tyk Pump\'s MULTI LRANGE/LTRIM) gives every element to exactly one of them', async () => {
    const t = await redis();
    const all = elements(3_000, 40);
    await t.r.push(t.key, all);
    const seen: Buffer[] = [];
    const pump = async () => {
      for (;;) {
        const res = await t.r.client.multi().lrangeBuffer(t.key, 0, 99).ltrim(t.key, 100, -1).exec();
        const items = (res?.[0]?.[1] ?? []) as Buffer[];
        if (items.length === 0) return;
        seen.push(...items);
      }
    };
    // Chunk sizes larger than what is left once the others have taken their share: the script caps them.
    const claimer = async (n: number) => {
      for (;;) {
        const got = await t.claim(n);
        if (got.items.length === 0) return;
        seen.push(...got.items);
      }
    };
    await Promise.all([pump(), claimer(1000), claimer(37), claimer(2999), pump()]);
    assert.equal(seen.length, all.length);
    assert.deepEqual(seen.map(String).sort(), all.map(String).sort());
  });

  it('a claim whose reply is lost loses nothing: the in-flight list is read back with its id, and a re-run is refused until then', async () => {
    const t = await redis();
    const all = elements(500, 30);
    await t.r.push(t.key, all);
    const inflight = t.inflight();
    // The claim runs on the server and its reply never reaches the receiver (a timeout, a cut connection:
    // test/chaos/redis-faults.test.ts has the real thing); only the in-flight list remains.
    await t.r.client.eval(CLAIM_LUA, 2, t.key, inflight, 200, 1 << 24, chunkHeader('lost-id'));
    await assert.rejects(claimInflight(t.client, t.key, inflight, 200, 1 << 24, 'again'), /TYK_INFLIGHT_BUSY/);
    assert.equal(await t.r.client.llen(t.key), 300, 'a refused claim takes nothing');
    const back = await readInflight(t.client, inflight, 'new-id');
    assert.deepEqual(back, { id: 'lost-id', items: all.slice(0, 200) });
    assert.deepEqual(await t.r.client.lrangeBuffer(t.key, 0, -1), all.slice(200));
    await t.r.client.del(inflight);
  });

  it('claims a list of large records a few at a time: Redis never holds a copy of much more than the byte bound', async () => {
    privateRedis = await startPrivateRedis(['--maxmemory', '0']);
    const admin = await privateRedis.client();
    const client = defineScripts(admin as unknown as RedisClient);
    const key = 'large';
    const mb = 1 << 20;
    const budget = 4 * mb;
    // Small records first, then 1 MB ones, then both alternating: the prefix must not trust the small
    // ones' size for the large ones that follow.
    const list: Buffer[] = [...elements(8, 1000), ...elements(40, mb, 100), ...Array.from({ length: 20 }, (_, i) => (elements(1, i % 2 === 0 ? 1000 : mb, 200 + i)[0] as Buffer))];
    for (const b of list) await admin.rpush(key, b);
    const memory = async () => {
      const info = await admin.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1]);
    };
    const before = await memory();
    let claimed: Buffer[] = [];
    for (let i = 0; ; i++) {
      const inflight = `{${key}}:inflight:${i}`;
      const got = await claimInflight(client, key, inflight, 1000, budget, `c${i}`);
      if (got.items.length === 0) break;
      assert.ok(got.bytes - (got.items.at(-1) as Buffer).length < budget, 'only the last element may cross the bound');
      claimed = claimed.concat(got.items);
      await admin.del(inflight);
    }
    assert.deepEqual(claimed, list);
    // The list was ~50 MB; a claim that copied it whole would have raised the peak by as much.
    const peak = Number(/used_memory_peak:(\d+)/.exec(await admin.info('memory'))?.[1]);
    assert.ok(peak - before < 3 * budget, `Redis' memory peaked ${((peak - before) / mb).toFixed(1)} MiB above the filled list`);
    admin.disconnect();
  });
});
