/** The `redis_stream` exporter against a real Redis: original bytes, re-encoding, length and age retention. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SelfTelemetry } from '../../src/telemetry.js';
import { withWire, type RecordBatch, type TykRecord } from '../../src/model.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { componentContext } from '../../test/helpers/context.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { syntheticRecord } from '../../test/helpers/synthetic-records.js';
import { startPrivateRedis } from '../../test/helpers/tyk-redis.js';
import type { BatchContext } from '../../src/component.js';
import { redisStreamExporterConfigSchema } from './config.js';
import { RedisStreamExporter } from './redis_stream.js';


function batch(from: number, n: number, wire: boolean): RecordBatch {
  const bytes = Array.from({ length: n }, (_, i) => syntheticRecord(from + i));
  const records: TykRecord[] = bytes.map((b) => decodeAnalytics(b, 'msgpack'));
  return wire ? withWire(records, { bytes, runs: [{ end: n, source: 'list-a', format: 'msgpack' }] }) : records;
}

describe('redis_stream exporter', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await testRedis('rsx');
  });
  after(async () => {
    await redis.cleanup();
  });

  function exporter(extra: Record<string, unknown>): RedisStreamExporter {
    const config = redisStreamExporterConfigSchema.parse({ endpoint: redis.url, ...extra });
    return new RedisStreamExporter(componentContext({ id: 'redis_stream', telemetry: new SelfTelemetry('t').forComponent('exporter', 'redis_stream') }), config);
  }

  it('appends each record\'s original bytes with its source and format; a rebuilt batch is encoded again', async () => {
    const stream = `${redis.prefix}s1`;
    const e = exporter({ stream });
    await e.start();
    try {
      const b = batch(0, 10, true);
      await e.consumeRecords(b);
      const rebuilt = batch(10, 3, false);
      await e.consumeRecords(rebuilt);
      const entries = (await redis.client.xrangeBuffer(stream, '-', '+')) as [Buffer, Buffer[]][];
      assert.equal(entries.length, 13);
      for (let i = 0; i < 10; i++) {
        const f = entries[i]?.[1] ?? [];
        assert.ok((f[1] as Buffer).equals(b.wire?.bytes[i] as Buffer), `entry ${i} holds the original bytes`);
        assert.equal(String(f[3]), 'list-a');
        assert.equal(String(f[5]), 'msgpack');
      }
      const f = entries[10]?.[1] ?? [];
      assert.equal(String(f[3]), '');
      // Compared with the record the exporter was given (a second syntheticRecord(10) may carry another second).
      assert.deepEqual(decodeAnalytics(f[1] as Buffer, 'msgpack'), rebuilt[0]);
    } finally {
      await e.shutdown();
    }
  });

  it('bounds the stream by max_len (approximately, whole nodes) and by max_age', async () => {
    const byLen = `${redis.prefix}s2`;
    const e = exporter({ stream: byLen, max_len: 100 });
    await e.start();
    try {
      for (let i = 0; i < 20; i++) await e.consumeRecords(batch(i * 100, 100, true));
      const len = await redis.client.xlen(byLen);
      assert.ok(len >= 100 && len < 300, `2000 records appended, ${len} kept`);
    } finally {
      await e.shutdown();
    }
    const byAge = `${redis.prefix}s3`;
    const a = exporter({ stream: byAge, max_len: 0, max_age: '200ms' });
    await a.start();
    try {
      await a.consumeRecords(batch(0, 300, true));
      await new Promise((r) => setTimeout(r, 300));
      await a.consumeRecords(batch(300, 10, true));
      const len = await redis.client.xlen(byAge);
      assert.ok(len <= 110, `entries older than max_age trimmed (${len} kept)`);
    } finally {
      await a.shutdown();
    }
  });

  it('a partly failed XADD pipeline (OOM at maxmemory) is retried for the failed entries only: no duplicate in the stream', async () => {
    const server = await startPrivateRedis();
    const admin = await server.client();
    const config = redisStreamExporterConfigSchema.parse({ endpoint: server.url, stream: 'oom', max_len: 0 });
    const e = new RedisStreamExporter(componentContext({ id: 'redis_stream', telemetry: new SelfTelemetry('t').forComponent('exporter', 'redis_stream') }), config);
    await e.start();
    try {
      await e.consumeRecords(batch(0, 10, true)); // the stream exists: what follows measures entries only
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
      // Room for part of the batch: Redis refuses every write command once used_memory passes maxmemory.
      await admin.config('SET', 'maxmemory', String(used + 150_000));
      const b = batch(10, 2000, true);
      const ctx: BatchContext = { chunkId: 'chunk-1', defer: () => () => undefined };
      await assert.rejects(e.consumeRecords(b, ctx), /OOM/);
      const landed = await admin.xlen('oom');
      assert.ok(landed > 10 && landed < 2010, `part of the batch landed before OOM (${landed - 10} of 2000)`);
      await admin.config('SET', 'maxmemory', '0');
      await e.consumeRecords(b, ctx);
      assert.equal(e.entriesSkippedOnRetry, landed - 10, 'the retry skipped exactly the entries that had landed');
      const entries = (await admin.xrangeBuffer('oom', '-', '+')) as [Buffer, Buffer[]][];
      const seen = new Map<string, number>();
      for (const [, f] of entries) seen.set((f[1] as Buffer).toString('base64'), (seen.get((f[1] as Buffer).toString('base64')) ?? 0) + 1);
      assert.equal(entries.length, 2010, 'every record once: no duplicate, none missing');
      for (let i = 0; i < 2000; i++) assert.equal(seen.get((b.wire?.bytes[i] as Buffer).toString('base64')), 1, `record ${i} once`);
    } finally {
      await e.shutdown();
      admin.disconnect();
      await server.destroy();
    }
  });
});
