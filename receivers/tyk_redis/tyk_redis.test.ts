/**
 * The `tyk_redis` receiver against the real Redis on 127.0.0.1:6379 (a private key prefix per test):
 * config and connection translation, which lists are drained, every fixture record draining to exactly
 * its expected values, corrupt input (refused, counted, dead-lettered, capped), backpressure, Tyk Pump
 * draining the same list side by side, and at-least-once delivery (in-flight lists, retries, adoption,
 * re-delivery after a restart). Multi-process, crash, Redis-restart and connection tests live in
 * `test/receiver-*.test.ts`.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchContext, Consumer } from '../../src/component.js';
import type { RecordBatch, TykRecord } from '../../src/model.js';
import { ShuttingDownError, type DecodeError } from '../../src/errors.js';
import { PipelineFanOut } from '../../src/delivery.js';
import { parseWithProblems } from '../../src/config/load.js';
import { toTykJson } from '../../src/tyk-json.js';
import { allFixtures, loadFixtures } from '../../test/helpers/fixtures.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { waitFor } from '../../test/helpers/agent.js';
import { CollectingConsumer, receiverHarness, sample, smallTemplate, uniqueId, uniqueMsgpack, type ReceiverHarness } from '../../test/helpers/tyk-redis.js';
import { tykRedisConfigSchema } from './config.js';
import { BookkeepingKeys, drainKeys, hashTagOf } from './keys.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { chunkHeader, claimInflight, defineScripts, parseChunkHeader, readInflight } from './scripts.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const parse = (v: Record<string, unknown>) => tykRedisConfigSchema.parse(v);

/** Everything a test opened, closed after it. */
const open: { redis: TestRedis[]; harness: ReceiverHarness[] } = { redis: [], harness: [] };
afterEach(async () => {
  for (const h of open.harness.splice(0)) await h.close();
  for (const r of open.redis.splice(0)) await r.cleanup();
});

async function redis(): Promise<TestRedis> {
  const r = await testRedis('rcv');
  open.redis.push(r);
  return r;
}

function harness(r: TestRedis, config: Record<string, unknown>, next: Consumer<'records'>, opts: { id?: string; instanceId?: string } = {}): ReceiverHarness {
  const h = receiverHarness({ endpoint: r.url, key_prefix: r.prefix, uptime_key: `${r.prefix}uptime`, poll_interval: '50ms', ...config }, next, opts);
  open.harness.push(h);
  return h;
}

/** The test prefix's name of a fixture's Redis key. */
function keyOf(r: TestRedis, redisKey: string): string {
  return redisKey.startsWith('analytics-') ? `${r.prefix}${redisKey.slice('analytics-'.length)}` : `${r.prefix}uptime`;
}

/** `expected` of a fixture and the decoded record in the same shape (as the decoder's own test compares). */
function comparable(decoded: TykRecord, expected: Record<string, unknown>): { actual: Record<string, unknown>; wanted: Record<string, unknown> } {
  const { route_template_hint: _hint, ...wanted } = expected;
  const actual = toTykJson(decoded);
  if ('graphql_stats' in wanted) {
    const want = wanted['graphql_stats'] as Record<string, unknown>;
    const got = actual['graphql_stats'] as Record<string, unknown>;
    actual['graphql_stats'] = Object.fromEntries(Object.keys(want).map((k) => [k, got[k]]));
  }
  return { actual, wanted };
}

describe('tyk_redis config', () => {
  it('defaults drain a gateway on 127.0.0.1:6379 like Tyk Pump (at-most-once, 22 lists + uptime)', () => {
    const c = parse({});
    assert.equal(c.endpoint, 'redis://127.0.0.1:6379/0');
    assert.equal(c.key_prefix, 'analytics-');
    assert.equal(c.delivery, 'at_most_once');
    assert.equal(c.poll_interval, 1000);
    assert.ok(c.chunk_size >= 1000);
    const keys = drainKeys(c);
    assert.equal(keys.length, 23);
    assert.deepEqual(keys.slice(0, 4), [
      { key: 'analytics-tyk-system-analytics', encoding: 'msgpack' },
      { key: 'analytics-tyk-system-analytics_protobuf', encoding: 'protobuf' },
      { key: 'analytics-tyk-system-analytics_0', encoding: 'msgpack' },
      { key: 'analytics-tyk-system-analytics_0_protobuf', encoding: 'protobuf' },
    ]);
    assert.deepEqual(keys[22], { key: 'host-checker:tyk-uptime-analytics', encoding: 'uptime' });
  });

  it('toggles lists: base, shards (all, none or a list), msgpack, protobuf, uptime', () => {
    assert.deepEqual(drainKeys(parse({ protobuf: false, uptime: false, keys: { sharded: [3, 1, 3] } })).map((k) => k.key), [
      'analytics-tyk-system-analytics', 'analytics-tyk-system-analytics_1', 'analytics-tyk-system-analytics_3',
    ]);
    assert.deepEqual(drainKeys(parse({ msgpack: false, keys: { base: false, sharded: [9] }, uptime_key: 'u' })), [
      { key: 'analytics-tyk-system-analytics_9_protobuf', encoding: 'protobuf' },
      { key: 'u', encoding: 'uptime' },
    ]);
    assert.equal(drainKeys(parse({ keys: { sharded: false } })).length, 3);
  });

  it('reports every problem with its path, in our phrasing, never echoing a password', () => {
    const problems = (v: unknown) => parseWithProblems(tykRedisConfigSchema, v, ['receivers', 'tyk_redis']).problems;
    const p1 = problems({ endpoint: 'redis://u:s3cret@host:99999', delivery: 'exactly_once', chunk_size: 0, poll_interval: 5 });
    assert.deepEqual(p1.map((p) => p.path), [
      'receivers::tyk_redis::endpoint', 'receivers::tyk_redis::chunk_size', 'receivers::tyk_redis::poll_interval', 'receivers::tyk_redis::delivery',
    ].sort((a, b) => p1.findIndex((p) => p.path === a) - p1.findIndex((p) => p.path === b)));
    assert.ok(p1.every((p) => p.message.startsWith('must ')), JSON.stringify(p1));
    assert.ok(!JSON.stringify(p1).includes('s3cret'));
    assert.equal(problems({ sentinel: { master_name: 'm' } })[0]?.path, 'receivers::tyk_redis::sentinel::addrs');
    assert.equal(problems({ sentinel: { master_name: 'm', addrs: ['s:26379'] }, cluster: { addrs: ['c:7000'] } })[0]?.message, 'must not be combined with cluster.addrs (choose Sentinel or Cluster)');
    assert.equal(problems({ tls: { cert_file: 'c.pem' } })[0]?.path, 'receivers::tyk_redis::tls::key_file');
    assert.equal(problems({ at_least_once: { heartbeat_interval: '1m' } })[0]?.message, 'must be less than heartbeat_timeout (30s)');
    assert.equal(problems({ keys: { sharded: [10] } })[0]?.message, 'must be 0-9');
    assert.equal(problems({ msgpack: false, protobuf: false, uptime: false })[0]?.path, 'receivers::tyk_redis::msgpack');
    assert.equal(problems({ sentinel: { password: 'x' } }).length, 0);
  });
});

describe('tyk_redis keys', () => {
  it('in-flight lists carry their source key\'s hash tag (same Redis Cluster slot)', () => {
    assert.equal(hashTagOf('analytics-tyk-system-analytics_3'), 'analytics-tyk-system-analytics_3');
    assert.equal(hashTagOf('{tyk}analytics-tyk-system-analytics'), 'tyk');
    assert.equal(hashTagOf('a{}b{c}'), 'a{}b{c}');
    const b = new BookkeepingKeys('analytics-');
    assert.equal(b.inflight('analytics-tyk-system-analytics_3', 'pod-1/tyk_redis', '0'), '{analytics-tyk-system-analytics_3}:tyk-otel-pump-inflight:pod-1/tyk_redis:0');
    assert.equal(hashTagOf(b.inflight('{tyk}x', 'i', '1')), 'tyk');
  });
});

describe('tyk_redis draining', () => {
  it('a claim moves exactly the head of the list into an in-flight list atomically, bounded by count and bytes; a failed claim takes nothing', async () => {
    const r = await redis();
    const client = defineScripts(r.client);
    const key = `${r.prefix}claim`;
    const inf = (i: number | string) => `{${key}}:inflight:${i}`;
    const take = async (n: number, slot: number | string, maxBytes = 1 << 24) => {
      const got = await claimInflight(client, key, inf(slot), n, maxBytes, `id-${slot}`);
      return got.items.map(String);
    };
    await r.client.rpush(key, ...['a', 'b', 'c', 'd', 'e'].map((s) => Buffer.from(s)));
    assert.deepEqual(await take(2, 0), ['a', 'b']);
    assert.deepEqual(await r.client.lrange(key, 0, -1), ['c', 'd', 'e']);
    // The in-flight list holds the chunk-id header, then the elements.
    assert.deepEqual((await r.client.lrangeBuffer(inf(0), 0, -1)).map((b, i) => (i === 0 ? parseChunkHeader(b) : String(b))), ['id-0', 'a', 'b']);
    // A slot that still holds a chunk is never appended to.
    await assert.rejects(take(2, 0), /TYK_INFLIGHT_BUSY/);
    assert.deepEqual(await r.client.lrange(key, 0, -1), ['c', 'd', 'e']);
    // Fewer than asked: all of them, and the list is gone (as Tyk Pump leaves it).
    assert.deepEqual(await take(10, 1), ['c', 'd', 'e']);
    assert.equal(await r.client.exists(key), 0);
    assert.deepEqual(await take(10, 2), []);
    assert.equal(await r.client.exists(inf(2)), 0, 'an empty claim leaves no in-flight list');
    // Bytes: the claim stops after the element that reaches the bound (always at least one element).
    await r.client.rpush(key, 'x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600), 'w');
    assert.deepEqual((await take(10, 3, 1000)).map((s) => s[0]), ['x', 'y']);
    assert.deepEqual((await take(10, 4, 10)).map((s) => s[0]), ['z']);
    const left = await claimInflight(client, key, inf(5), 10, 10, 'id-5');
    assert.deepEqual([left.items.map(String), left.bytes, left.left], [['w'], 1, 0]);
    // Claims racing on one list never share an element.
    const many = Array.from({ length: 500 }, (_, i) => Buffer.from(String(i)));
    await r.client.rpush(key, ...many);
    const got = (await Promise.all(Array.from({ length: 12 }, (_, i) => take(50, `race-${i}`)))).flat();
    assert.deepEqual(got.sort((a, b) => Number(a) - Number(b)), many.map(String));
    // A key of another type: the Redis error, and the key untouched, no in-flight list made.
    await r.client.set(key, 'x');
    await assert.rejects(take(10, 6), /WRONGTYPE/);
    assert.equal(await r.client.get(key), 'x');
    assert.equal(await r.client.exists(inf(6)), 0);
    // Reading a list back: its id, its elements; a header-only list is deleted.
    assert.deepEqual(await readInflight(client, inf(0), 'new'), { id: 'id-0', items: [Buffer.from('a'), Buffer.from('b')] });
    await r.client.rpush(inf(7), Buffer.from('legacy'));
    const legacy = await readInflight(client, inf(7), 'given');
    assert.deepEqual(legacy, { id: 'given', items: [Buffer.from('legacy')] });
    assert.equal((await readInflight(client, inf(7), 'other')).id, 'given', 'a legacy list keeps the id it was given');
    await r.client.rpush(inf(8), chunkHeader('only'));
    assert.deepEqual(await readInflight(client, inf(8), 'x'), { id: 'x', items: [] });
    assert.equal(await r.client.exists(inf(8)), 0);
    await r.client.del(...Array.from({ length: 9 }, (_, i) => inf(i)), ...Array.from({ length: 12 }, (_, i) => inf(`race-${i}`)));
  });

  it('every record of every fixture file drains and decodes to exactly its expected values', async () => {
    const r = await redis();
    const fixtures = allFixtures();
    for (const f of fixtures) await r.client.rpush(keyOf(r, f.redisKey), f.bytes);
    const c = new CollectingConsumer();
    const h = harness(r, { chunk_size: 100 }, c);
    await h.receiver.start();
    await waitFor('all fixtures', () => c.count === fixtures.length);
    // One list per stream (msgpack, protobuf, uptime), each drained in order.
    const got = c.batches.flat();
    const stream = (rec: TykRecord) => (rec.kind === 'uptime' ? 'uptime' : rec.encoding);
    const want = (f: (typeof fixtures)[number]) => (f.format === 'uptime' ? 'uptime' : f.format === 'protobuf' ? 'protobuf' : 'msgpack');
    for (const s of ['msgpack', 'protobuf', 'uptime']) {
      const decoded = got.filter((rec) => stream(rec) === s);
      const expected = fixtures.filter((f) => want(f) === s);
      assert.equal(decoded.length, expected.length, s);
      decoded.forEach((rec, i) => {
        const { actual, wanted } = comparable(rec, (expected[i] as (typeof fixtures)[number]).expected);
        assert.deepEqual(actual, wanted, `${s} #${i}`);
      });
    }
    for (const key of new Set(fixtures.map((f) => keyOf(r, f.redisKey)))) assert.equal(await r.client.exists(key), 0, key);
    assert.equal(sample(await h.scrape(), 'tyk_otel_pump_receiver_accepted_items_total', { receiver: 'tyk_redis' }), fixtures.length);
  });

  it('drains all 23 lists with the right decoder, and only the enabled ones', async () => {
    const r = await redis();
    const msgpack = smallTemplate();
    const proto = (loadFixtures('gateway-protobuf.jsonl')[0] as { bytes: Buffer }).bytes;
    const uptime = (loadFixtures('uptime-msgpack.jsonl')[0] as { bytes: Buffer }).bytes;
    const all = drainKeys(parse({ key_prefix: r.prefix, uptime_key: `${r.prefix}uptime` }));
    for (const k of all) await r.client.rpush(k.key, k.encoding === 'msgpack' ? msgpack : k.encoding === 'protobuf' ? proto : uptime);
    const c = new CollectingConsumer();
    const h = harness(r, { protobuf: false, keys: { sharded: [0, 5] } }, c);
    await h.receiver.start();
    await waitFor('4 records', () => c.count === 4);
    await sleep(200);
    assert.equal(c.count, 4);
    assert.deepEqual(c.batches.flat().map((x) => (x.kind === 'uptime' ? 'uptime' : x.encoding)).sort(), ['msgpack', 'msgpack', 'msgpack', 'uptime']);
    const left = await Promise.all(all.map(async (k) => [k.key.slice(r.prefix.length), await r.client.llen(k.key)] as const));
    assert.deepEqual(left.filter(([, n]) => n === 0).map(([k]) => k).sort(), ['tyk-system-analytics', 'tyk-system-analytics_0', 'tyk-system-analytics_5', 'uptime']);
    await h.close();
    open.harness.pop();
    const c2 = new CollectingConsumer();
    const h2 = harness(r, {}, c2);
    await h2.receiver.start();
    await waitFor('the other 19', () => c2.count === all.length - 4);
    assert.equal(c2.batches.flat().filter((x) => x.kind !== 'uptime' && x.encoding === 'protobuf').length, 11);
  });

  it('lists with little data share one chunk (one batch per poll for a sharded gateway)', async () => {
    const r = await redis();
    const t = smallTemplate();
    for (let s = 0; s < 10; s++) await r.push(`${r.prefix}tyk-system-analytics_${s}`, Array.from({ length: 7 }, (_, i) => uniqueMsgpack(t, s * 100 + i)));
    const c = new CollectingConsumer();
    const h = harness(r, { chunk_size: 1000 }, c);
    await h.receiver.start();
    await waitFor('70 records', () => c.count === 70);
    assert.equal(c.batches.length, 1);
    assert.equal(new Set(c.batches.flat().map((x) => uniqueId(x as { timestampMs: number; timestampNs: number }))).size, 70);
  });

  it('keeps claiming while a list has data: chunk by chunk, in order, no record lost or repeated', async () => {
    const r = await redis();
    const t = smallTemplate();
    const n = 5000;
    await r.push(`${r.prefix}tyk-system-analytics`, Array.from({ length: n }, (_, i) => uniqueMsgpack(t, i)));
    const c = new CollectingConsumer();
    const h = harness(r, { chunk_size: 300, poll_interval: '1h' }, c);
    await h.receiver.start();
    // With a one-hour poll interval, only continuous claiming (not one chunk per tick) drains it all.
    await waitFor('all records', () => c.count === n);
    assert.deepEqual(c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number })), Array.from({ length: n }, (_, i) => i));
    assert.ok(c.batches.every((b) => b.length <= 300));
  });

  it('runs side by side with Tyk Pump draining the same list (MULTI LRANGE/LTRIM EXEC): every record exactly once', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const t = smallTemplate();
    const n = 20_000;
    await r.push(key, Array.from({ length: n }, (_, i) => uniqueMsgpack(t, i)));
    const c = new CollectingConsumer();
    const h = harness(r, { chunk_size: 200 }, c);
    const pumpGot: number[] = [];
    const pump = (async () => {
      // What Tyk Pump does per key with purge_chunk = 100.
      for (;;) {
        const res = await r.client.multi().lrangeBuffer(key, 0, 99).ltrim(key, 100, -1).exec();
        const items = (res?.[0]?.[1] ?? []) as Buffer[];
        if (items.length === 0 && (await r.client.llen(key)) === 0) return;
        for (const b of items) pumpGot.push(uniqueId(decodeAnalytics(b, 'msgpack')));
      }
    })();
    await h.receiver.start();
    await pump;
    await waitFor('everything drained', async () => (await r.client.llen(key)) === 0 && c.count + pumpGot.length === n);
    const ours = c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number }));
    assert.ok(ours.length > 0 && pumpGot.length > 0, `both drained (ours ${ours.length}, pump ${pumpGot.length})`);
    const seen = new Set([...ours, ...pumpGot]);
    assert.equal(seen.size, n);
    assert.equal(ours.length + pumpGot.length, n);
  });

  it('refuses corrupt elements (counted by reason, dead-lettered, capped) and delivers every good one', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const t = smallTemplate();
    const bad = [Buffer.from('not msgpack at all'), t.subarray(0, t.length - 20), Buffer.from([0xa3, 0x61, 0x62, 0x63]), Buffer.alloc(0), Buffer.from([0xc1])];
    const elements: Buffer[] = [];
    let good = 0;
    for (let i = 0; i < 10_000; i++) {
      elements.push(bad[i % bad.length] as Buffer);
      if (i % 2 === 0) elements.push(uniqueMsgpack(t, good++));
    }
    await r.push(key, elements);
    const c = new CollectingConsumer();
    const h = harness(r, { chunk_size: 2000, dead_letter: { max_length: 1000 } }, c);
    await h.receiver.start();
    await waitFor('good records', () => c.count === good);
    const dlq = `${r.prefix}tyk-otel-pump-dead-letter`;
    await waitFor('dead letters', async () => sample(await h.scrape(), 'tyk_otel_pump_receiver_dead_lettered_items_total') === 10_000);
    const text = await h.scrape();
    assert.equal(sample(text, 'tyk_otel_pump_receiver_refused_items_total'), 10_000);
    const byReason = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      try {
        decodeAnalytics(bad[i % bad.length] as Buffer, 'msgpack');
        assert.fail('a bad element decoded');
      } catch (err) {
        const reason = (err as DecodeError).reason;
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      }
    }
    assert.ok(byReason.size >= 3);
    for (const [reason, n] of byReason) {
      assert.equal(sample(text, 'tyk_otel_pump_receiver_refused_items_total', { reason }), n, reason);
      assert.equal(sample(text, 'tyk_otel_pump_receiver_dead_lettered_items_total', { reason }), n, reason);
    }
    assert.equal(sample(text, 'tyk_otel_pump_receiver_accepted_items_total'), good);
    assert.equal(await r.client.llen(dlq), 1000);
    const last = JSON.parse((await r.client.lindex(dlq, -1)) as string) as Record<string, unknown>;
    assert.equal(last['source_key'], key);
    assert.equal(typeof last['reason'], 'string');
    assert.deepEqual(Buffer.from(last['bytes_b64'] as string, 'base64'), bad[9999 % bad.length]);
    assert.deepEqual(c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number })), Array.from({ length: good }, (_, i) => i));
    // Logged once per burst, not per record.
    assert.equal(h.logs.filter((l) => l.msg === 'refused undecodable records').length, 1);
  });

  it('backpressure: a blocked consumer stops the claiming (LLEN stays) until it is released', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const t = smallTemplate();
    await r.push(key, Array.from({ length: 5000 }, (_, i) => uniqueMsgpack(t, i)));
    const c = new CollectingConsumer();
    c.block();
    const h = harness(r, { chunk_size: 500 }, c);
    await h.receiver.start();
    await waitFor('first consume', () => c.entered === 1);
    await sleep(300);
    const len = await r.client.llen(key);
    // The chunk being consumed plus at most one claimed ahead.
    assert.ok(len >= 4000, `claimed too much while blocked: ${5000 - len}`);
    await sleep(300);
    assert.equal(await r.client.llen(key), len);
    assert.equal(c.entered, 1);
    c.release();
    await waitFor('all records', () => c.count === 5000);
    assert.equal(await r.client.llen(key), 0);
  });

  it('reports backlog (LLEN per list) and drain lag (age of claimed records) gauges', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics_4`;
    const t = smallTemplate();
    await r.push(key, Array.from({ length: 300 }, (_, i) => uniqueMsgpack(t, i)));
    const c = new CollectingConsumer();
    c.block();
    const h = harness(r, { chunk_size: 100, max_unacked_chunks: 1 }, c);
    await h.receiver.start();
    await waitFor('blocked', () => c.entered === 1);
    const text = await h.scrape();
    assert.equal(sample(text, 'tyk_otel_pump_receiver_backlog_records', { key }), 300);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_backlog_records', { key: `${r.prefix}tyk-system-analytics` }), 0);
    const oldest = sample(text, 'tyk_otel_pump_receiver_drain_lag_seconds', { key, record: 'oldest' });
    assert.ok(oldest > 0, text);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_unacked_chunks', { receiver: 'tyk_redis' }), 1);
    c.release();
    await waitFor('drained', () => c.count === 300);
    await waitFor('backlog 0 on the next idle poll', async () => sample(await h.scrape(), 'tyk_otel_pump_receiver_backlog_records', { key }) === 0);
  });

  it('skips a key that is not a list and drains the others', async () => {
    const r = await redis();
    await r.client.set(`${r.prefix}tyk-system-analytics`, 'a string');
    await r.client.rpush(`${r.prefix}tyk-system-analytics_1`, smallTemplate());
    const c = new CollectingConsumer();
    const h = harness(r, {}, c);
    await h.receiver.start();
    await waitFor('the good list', () => c.count === 1);
    await waitFor('a log line', () => h.logs.some((l) => l.msg === 'a drained key is not a list; skipping it'));
    assert.equal(await r.client.get(`${r.prefix}tyk-system-analytics`), 'a string');
  });

  it('shutdown: safe without start, idempotent, finishes the consume in progress, bounded when a consumer hangs', async () => {
    const r = await redis();
    const idle = harness(r, {}, new CollectingConsumer());
    await idle.receiver.shutdown();
    await idle.receiver.shutdown();
    const key = `${r.prefix}tyk-system-analytics`;
    await r.push(key, Array.from({ length: 1000 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const c = new CollectingConsumer();
    c.block();
    const h = harness(r, { chunk_size: 100, shutdown_timeout: '300ms' }, c);
    await h.receiver.start();
    await waitFor('blocked', () => c.entered === 1);
    const t0 = Date.now();
    setTimeout(() => c.release(), 100);
    await h.receiver.shutdown();
    // The blocked chunk and the one claimed ahead were delivered; nothing else was claimed.
    assert.equal(c.count, 200);
    assert.equal(await r.client.llen(key), 800);
    assert.ok(Date.now() - t0 < 2000);
    await h.receiver.shutdown();
    const hang = new CollectingConsumer();
    hang.block();
    const h2 = harness(r, { chunk_size: 100, shutdown_timeout: '300ms' }, hang);
    await h2.receiver.start();
    await waitFor('blocked', () => hang.entered === 1);
    const t1 = Date.now();
    await h2.receiver.shutdown();
    assert.ok(Date.now() - t1 < 2000, 'shutdown is bounded');
    hang.release();
  });
});

/** A consumer that fails (or defers) as told, recording what it accepted. */
class ScriptedConsumer implements Consumer<'records'> {
  readonly accepted: RecordBatch[] = [];
  calls = 0;
  constructor(private readonly behave: (call: number, data: RecordBatch, ctx: BatchContext) => Promise<void> | void) {}
  async consume(data: RecordBatch, ctx: BatchContext): Promise<void> {
    const call = ++this.calls;
    await this.behave(call, data, ctx);
    this.accepted.push(data);
  }
  get ids(): number[] {
    return this.accepted.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number }));
  }
}

describe('tyk_redis at-least-once', () => {
  it('keeps a chunk in an in-flight list until its delivery settles, then deletes it', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    await r.push(key, Array.from({ length: 50 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const settles: ((e?: Error) => void)[] = [];
    const c = new ScriptedConsumer((_call, _d, ctx) => void settles.push(ctx.defer()));
    const h = harness(r, { delivery: 'at_least_once', chunk_size: 50 }, c, { instanceId: 'pod-x' });
    await h.receiver.start();
    await waitFor('deferred', () => settles.length === 1);
    const inflight = `{${key}}:tyk-otel-pump-inflight:pod-x/tyk_redis:0`;
    assert.equal(await r.client.llen(key), 0);
    // The chunk-id header, then the 50 records.
    assert.equal(await r.client.llen(inflight), 51);
    assert.match(parseChunkHeader((await r.client.lrangeBuffer(inflight, 0, 0))[0]) ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(await r.client.hgetall(`${r.prefix}tyk-otel-pump-inflight:pod-x/tyk_redis`), { [inflight]: `msgpack|${key}` });
    assert.ok(await r.client.pttl(`${r.prefix}tyk-otel-pump-heartbeat:pod-x/tyk_redis`) > 0);
    assert.deepEqual(await r.client.smembers(`${r.prefix}tyk-otel-pump-instances`), ['pod-x/tyk_redis']);
    (settles[0] as (e?: Error) => void)();
    await waitFor('acknowledged', async () => (await r.client.exists(inflight)) === 0);
    await h.close();
    open.harness.pop();
    // A clean shutdown with nothing in flight leaves no bookkeeping behind.
    assert.deepEqual(await r.client.keys(`*${r.prefix}tyk-otel-pump*`), []);
  });

  it('four receivers on one list: every record exactly once, nothing left in flight', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const n = 20_000;
    const consumers = [0, 1, 2, 3].map(() => new CollectingConsumer());
    const hs = consumers.map((c, i) => harness(r, { delivery: 'at_least_once', chunk_size: 500 }, c, { instanceId: `agent-${i}` }));
    await Promise.all(hs.map((h) => h.receiver.start()));
    await r.push(key, Array.from({ length: n }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    await waitFor('all drained', () => consumers.reduce((a, c) => a + c.count, 0) >= n, 30_000);
    const ids = consumers.flatMap((c) => c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number })));
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n);
    assert.ok(consumers.filter((c) => c.count > 0).length >= 2, `shares ${consumers.map((c) => c.count).join('/')}`);
    await waitFor('nothing in flight', async () => (await r.client.keys(`{${key}}*`)).length === 0);
  });

  it('max_unacked_bytes bounds the open chunks by the bytes of their elements, as max_unacked_chunks does by count', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const elements = Array.from({ length: 200 }, (_, i) => uniqueMsgpack(smallTemplate(), i));
    await r.push(key, elements);
    const chunkBytes = elements.slice(0, 10).reduce((n, b) => n + b.length, 0);
    const settles: ((e?: Error) => void)[] = [];
    const c = new ScriptedConsumer((_call, _d, ctx) => void settles.push(ctx.defer()));
    // Room for two and a half chunks of 10: the third claim passes the bound, then nothing more is claimed.
    const h = harness(r, { delivery: 'at_least_once', chunk_size: 10, max_unacked_chunks: 100, max_unacked_bytes: Math.floor(chunkBytes * 2.5) }, c);
    await h.receiver.start();
    await waitFor('three chunks open', () => settles.length === 3);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(settles.length, 3, 'no fourth chunk claimed while the first three are open');
    assert.equal(await r.client.llen(key), 170);
    assert.equal(sample(await h.scrape(), 'tyk_otel_pump_receiver_unacked_chunks'), 3);
    // Each acknowledgement makes room for one more: every record is delivered in the end.
    for (let i = 0; i < 20; i++) {
      await waitFor(`chunk ${i + 1}`, () => settles.length > i);
      (settles[i] as (e?: Error) => void)();
    }
    await waitFor('drained', async () => c.ids.length === 200 && sample(await h.scrape(), 'tyk_otel_pump_receiver_unacked_chunks') === 0);
    assert.deepEqual([...c.ids].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  });

  it('re-delivers after a retryable failure (with backoff) and dead-letters what is refused for good', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    await r.push(key, Array.from({ length: 30 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const c = new ScriptedConsumer((call) => {
      if (call <= 2) throw new ShuttingDownError('exporter');
    });
    const h = harness(r, { delivery: 'at_least_once', chunk_size: 100, at_least_once: { retry_initial_interval: '20ms', retry_max_interval: '50ms' } }, c);
    await h.receiver.start();
    await waitFor('delivered', () => c.accepted.length === 1);
    assert.deepEqual(c.ids, Array.from({ length: 30 }, (_, i) => i));
    assert.equal(c.calls, 3);
    await waitFor('acknowledged', async () => sample(await h.scrape(), 'tyk_otel_pump_receiver_unacked_chunks') === 0);
    assert.equal(sample(await h.scrape(), 'tyk_otel_pump_receiver_redelivered_items_total'), 60);

    await h.close();
    open.harness.splice(open.harness.indexOf(h), 1);
    await r.push(key, Array.from({ length: 10 }, (_, i) => uniqueMsgpack(smallTemplate(), 100 + i)));
    const permanent = new ScriptedConsumer(() => {
      throw new Error('bad data');
    });
    const h2 = harness(r, { delivery: 'at_least_once', chunk_size: 100 }, permanent, { id: 'tyk_redis/perm' });
    await h2.receiver.start();
    // Refused for good: the records go to the dead-letter list with their exact bytes, never to nothing.
    await waitFor('dead-lettered', async () => sample(await h2.scrape(), 'tyk_otel_pump_receiver_dead_lettered_items_total', { reason: 'delivery_failed_permanently' }) === 10);
    assert.equal(permanent.calls, 1);
    await waitFor('in-flight deleted', async () => (await r.client.keys(`{${key}}*`)).length === 0);
    const envelopes = (await r.client.lrange(`${r.prefix}tyk-otel-pump-dead-letter`, 0, -1)).map((e) => JSON.parse(e) as Record<string, unknown>);
    assert.equal(envelopes.length, 10);
    assert.ok(envelopes.every((e) => e['reason'] === 'delivery_failed_permanently' && e['error'] === 'bad data' && typeof e['chunk_id'] === 'string'));
    assert.deepEqual(envelopes.map((e) => uniqueId(decodeAnalytics(Buffer.from(e['bytes_b64'] as string, 'base64'), 'msgpack'))), Array.from({ length: 10 }, (_, i) => 100 + i));
    assert.equal(sample(await h2.scrape(), 'tyk_otel_pump_receiver_dropped_items_total'), 0);
  });

  it('re-delivers only to the pipeline that failed: the others count the chunk once', async () => {
    const r = await redis();
    await r.push(`${r.prefix}tyk-system-analytics`, Array.from({ length: 25 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const metrics = new ScriptedConsumer(() => undefined);
    const logs = new ScriptedConsumer((call, _d, ctx) => {
      // Accepted, then the (queued) export fails twice with a retryable error.
      const settle = ctx.defer();
      setTimeout(() => settle(call <= 2 ? new ShuttingDownError('otlp_http') : undefined), 5);
    });
    const h = harness(r, { delivery: 'at_least_once', at_least_once: { retry_initial_interval: '20ms', retry_max_interval: '40ms' } }, new PipelineFanOut([metrics, logs]));
    await h.receiver.start();
    await waitFor('delivered to logs', () => logs.calls === 3);
    await waitFor('acknowledged', async () => (await r.client.keys(`{${r.prefix}*`)).length === 0);
    assert.equal(metrics.calls, 1);
    assert.deepEqual(metrics.ids, Array.from({ length: 25 }, (_, i) => i));
    assert.equal(sample(await h.scrape(), 'tyk_otel_pump_receiver_accepted_items_total'), 25);
  });

  it('adopts the in-flight lists of an instance whose heartbeat expired, exactly once', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const book = new BookkeepingKeys(r.prefix);
    const dead = 'dead-pod/tyk_redis';
    const lists = [book.inflight(key, dead, '0'), book.inflight(`${key}_protobuf`, dead, '1')];
    await r.client.rpush(lists[0] as string, ...Array.from({ length: 20 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    await r.client.rpush(lists[1] as string, (loadFixtures('gateway-protobuf.jsonl')[0] as { bytes: Buffer }).bytes);
    await r.client.hset(book.registry(dead), lists[0] as string, `msgpack|${key}`, lists[1] as string, `protobuf|${key}_protobuf`, book.inflight(key, dead, '2'), `msgpack|${key}`);
    await r.client.sadd(book.instances, dead);
    const a = new CollectingConsumer();
    const b = new CollectingConsumer();
    const cfg = { delivery: 'at_least_once', at_least_once: { heartbeat_interval: '50ms', heartbeat_timeout: '200ms' } };
    const ha = harness(r, cfg, a, { instanceId: 'a' });
    const hb = harness(r, cfg, b, { instanceId: 'b' });
    await Promise.all([ha.receiver.start(), hb.receiver.start()]);
    await waitFor('adopted', () => a.count + b.count === 21);
    await sleep(400);
    assert.equal(a.count + b.count, 21);
    const ids = [...a.batches, ...b.batches].flat().filter((x) => x.kind !== 'uptime' && x.encoding === 'msgpack').map((x) => uniqueId(x as TykRecord & { timestampMs: number }));
    assert.deepEqual(ids.sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
    for (const k of [...lists, book.registry(dead), book.heartbeat(dead)]) assert.equal(await r.client.exists(k), 0, k);
    assert.deepEqual((await r.client.smembers(book.instances)).sort(), ['a/tyk_redis', 'b/tyk_redis']);
    assert.ok([...ha.logs, ...hb.logs].some((l) => l.msg?.startsWith('adopted the in-flight records')));
  });

  it('a restart with the same instance_id re-delivers what the previous run left in flight', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    await r.push(key, Array.from({ length: 40 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const never = new ScriptedConsumer((_c, _d, ctx) => void ctx.defer());
    const cfg = { delivery: 'at_least_once', chunk_size: 10, max_unacked_chunks: 2, shutdown_timeout: '100ms', at_least_once: { instance_id: 'pod-7' } };
    const h1 = harness(r, cfg, never);
    await h1.receiver.start();
    await waitFor('two chunks in flight', () => never.accepted.length === 2);
    await h1.close();
    open.harness.splice(open.harness.indexOf(h1), 1);
    assert.equal(await r.client.llen(key), 20);
    assert.ok(h1.logs.some((l) => l.msg?.startsWith('shut down with undelivered chunks')));
    const c = new CollectingConsumer();
    const h2 = harness(r, cfg, c);
    await h2.receiver.start();
    await waitFor('all 40', () => c.count === 40);
    assert.deepEqual(c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number })).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
    assert.ok(h2.logs.some((l) => l.msg?.startsWith('found in-flight records of a previous run')));
  });

  it('gives every chunk an id of its own (identical records too) that stays the same on a retry, after a restart and after an adoption', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    // Four chunks of byte-identical records: content cannot tell them apart, their ids must.
    await r.push(key, Array.from({ length: 40 }, () => uniqueMsgpack(smallTemplate(), 7)));
    const cfg = { delivery: 'at_least_once', chunk_size: 10, max_unacked_chunks: 4, shutdown_timeout: '100ms', at_least_once: { instance_id: 'pod-id', retry_initial_interval: '10ms', retry_max_interval: '20ms' } };
    // 1. First delivery fails (retryable) once per chunk, then every chunk is held (never settled).
    const first = new Map<string, number>();
    const held = new ScriptedConsumer((_call, _d, ctx) => {
      const id = ctx.chunkId as string;
      first.set(id, (first.get(id) ?? 0) + 1);
      if (first.get(id) === 1) throw new ShuttingDownError('exporter');
      void ctx.defer();
    });
    const h1 = harness(r, cfg, held);
    await h1.receiver.start();
    await waitFor('4 chunks, each delivered twice', () => first.size === 4 && [...first.values()].every((n) => n === 2));
    assert.ok([...first.keys()].every((id) => typeof id === 'string' && id.length > 0));
    await h1.close();
    open.harness.splice(open.harness.indexOf(h1), 1);
    // 2. A restart with the same instance id re-delivers them under the same ids.
    const again = new Set<string>();
    const holdAgain = new ScriptedConsumer((_call, _d, ctx) => {
      again.add(ctx.chunkId as string);
      void ctx.defer();
    });
    const h2 = harness(r, cfg, holdAgain);
    await h2.receiver.start();
    await waitFor('4 chunks again', () => again.size === 4);
    assert.deepEqual([...again].sort(), [...first.keys()].sort());
    // Shutting down drops the heartbeat: a peer adopts (RENAMEs) the lists at once.
    await h2.close();
    open.harness.splice(open.harness.indexOf(h2), 1);
    // 3. Adopted by another instance: still the same ids.
    const adopted = new Map<string, number>();
    const c = new ScriptedConsumer((_call, data, ctx) => void adopted.set(ctx.chunkId as string, data.length));
    const h3 = harness(r, { ...cfg, at_least_once: { instance_id: 'peer', heartbeat_interval: '50ms', heartbeat_timeout: '200ms' } }, c);
    await h3.receiver.start();
    await waitFor('adopted and delivered', () => adopted.size === 4);
    assert.deepEqual([...adopted.keys()].sort(), [...first.keys()].sort());
    assert.deepEqual([...adopted.values()], [10, 10, 10, 10]);
    await waitFor('nothing in flight', async () => (await r.client.keys(`{${key}}*`)).length === 0);
  });

  it('never appends to an in-flight list that still exists (a lost claim reply): reads it back and delivers it first', async () => {
    const r = await redis();
    const key = `${r.prefix}tyk-system-analytics`;
    const book = new BookkeepingKeys(r.prefix);
    const me = 'pod-9/tyk_redis';
    // Slot lists filled by claims whose replies never arrived (not in the registry, so not "recovered").
    for (let s = 0; s < 2; s++) await r.client.rpush(book.inflight(key, me, String(s)), ...Array.from({ length: 5 }, (_, i) => uniqueMsgpack(smallTemplate(), 1000 + s * 10 + i)));
    await r.push(key, Array.from({ length: 30 }, (_, i) => uniqueMsgpack(smallTemplate(), i)));
    const c = new CollectingConsumer();
    const h = harness(r, { delivery: 'at_least_once', chunk_size: 10, max_unacked_chunks: 2, at_least_once: { instance_id: 'pod-9' } }, c);
    await h.receiver.start();
    await waitFor('all 40', () => c.count === 40);
    const ids = c.batches.flat().map((x) => uniqueId(x as TykRecord & { timestampMs: number })).sort((a, b) => a - b);
    assert.deepEqual(ids, [...Array.from({ length: 30 }, (_, i) => i), 1000, 1001, 1002, 1003, 1004, 1010, 1011, 1012, 1013, 1014]);
    await waitFor('nothing in flight', async () => (await r.client.keys(`{${key}}*`)).length === 0);
  });
});
