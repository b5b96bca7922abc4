/**
 * The dead-letter list against the real Redis: bounded by entries and by bytes (oldest first), an
 * envelope larger than the byte bound is not written but counted, and what was written is counted as
 * dead-lettered — never as failed.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { waitFor } from '../../test/helpers/agent.js';
import { CollectingConsumer, receiverHarness, sample, type ReceiverHarness } from '../../test/helpers/tyk-redis.js';

const open: { redis: TestRedis[]; harness: ReceiverHarness[] } = { redis: [], harness: [] };
afterEach(async () => {
  for (const h of open.harness.splice(0)) await h.close();
  for (const r of open.redis.splice(0)) await r.cleanup();
});

describe('tyk_redis dead-letter list', () => {
  it('is bounded by bytes as well as entries; an envelope over the byte bound is counted, not written', async () => {
    const r = await testRedis('dlq');
    open.redis.push(r);
    const key = `${r.prefix}tyk-system-analytics`;
    const dlq = `${r.prefix}tyk-otel-pump-dead-letter`;
    // 40 undecodable elements of 2000 bytes (envelopes of ~3 KB), then one of 40 000 bytes.
    await r.client.rpush(key, ...Array.from({ length: 40 }, (_, i) => Buffer.alloc(2000, 0x61 + (i % 20))));
    await r.client.rpush(key, Buffer.alloc(40_000, 0x62));
    const h = receiverHarness({
      endpoint: r.url, key_prefix: r.prefix, uptime: false, poll_interval: '50ms', chunk_size: 10,
      dead_letter: { max_length: 1000, max_bytes: 32_768 },
    }, new CollectingConsumer());
    open.harness.push(h);
    await h.receiver.start();
    await waitFor('all refused', async () => sample(await h.scrape(), 'tyk_otel_pump_receiver_refused_items_total') === 41);
    await waitFor('drained', async () => (await r.client.llen(key)) === 0 && (await r.client.keys(`{${key}}*`)).length === 0);
    const text = await h.scrape();
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dead_lettered_items_total'), 40);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dropped_items_total', { reason: 'dead_letter_too_large' }), 1);
    assert.equal(sample(text, 'tyk_otel_pump_receiver_dropped_items_total', { reason: 'dead_letter_failed' }), 0);
    const entries = await r.client.lrange(dlq, 0, -1);
    const bytes = entries.reduce((n, e) => n + Buffer.byteLength(e), 0);
    assert.ok(entries.length > 0 && entries.length < 40, `${entries.length} entries kept`);
    assert.ok(Number(await r.client.call('MEMORY', 'USAGE', dlq, 'SAMPLES', '0')) <= 32_768, 'trimmed to the byte bound');
    assert.ok(bytes <= 32_768, `${bytes} bytes of envelopes`);
    // The newest entries are the ones kept, the oversize one is not among them.
    const last = JSON.parse(entries[entries.length - 1] as string) as { size_bytes: number; bytes_b64: string };
    assert.equal(last.size_bytes, 2000);
    assert.deepEqual(Buffer.from(last.bytes_b64, 'base64'), Buffer.alloc(2000, 0x61 + (39 % 20)));
  });
});
