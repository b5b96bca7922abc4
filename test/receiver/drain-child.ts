/**
 * A `tyk_redis` receiver in its own process, for multi-process tests (run with `fork`, `--import tsx`,
 * `serialization: 'advanced'`).
 *
 * Env: `DRAIN_CONFIG` (receiver config JSON), `DRAIN_INSTANCE` (instance id), optional `DRAIN_OUT` (a
 * file the consumer appends every accepted record id to, as little-endian u32, *before* accepting —
 * what survives a `kill -9`), optional `DRAIN_SLOW_MS` (the consumer writes half a batch, waits, writes
 * the rest: a kill lands mid-chunk).
 *
 * Messages to the parent: `{type:'ready'}`, `{type:'progress', count}` per batch, and on `'stop'`
 * `{type:'done', ids: Uint32Array}` after a clean shutdown.
 */
import { openSync, writeSync } from 'node:fs';
import type { Consumer } from '../../src/component.js';
import type { RecordBatch } from '../../src/model.js';
import { tykRedisReceiverFactory } from '../../receivers/tyk_redis/index.js';
import { lightContext } from '../helpers/light-context.js';

const config = JSON.parse(process.env['DRAIN_CONFIG'] ?? '{}') as Record<string, unknown>;
const outPath = process.env['DRAIN_OUT'];
const out = outPath ? openSync(outPath, 'a') : undefined;
const slowMs = Number(process.env['DRAIN_SLOW_MS'] ?? '0');
const send = (m: unknown) => process.send?.(m);
/** The id `uniqueMsgpack` (test/helpers/tyk-redis.ts) put into a record. */
const uniqueId = (r: { timestampMs: number | null; timestampNs: number }) => ((r.timestampMs ?? 0) % 1000) * 1e6 + r.timestampNs;

let ids = new Uint32Array(1 << 16);
let count = 0;

function encode(batch: RecordBatch, from: number, to: number): Buffer {
  const b = Buffer.alloc((to - from) * 4);
  for (let i = from; i < to; i++) b.writeUInt32LE(uniqueId(batch[i] as { timestampMs: number | null; timestampNs: number }), (i - from) * 4);
  return b;
}

const consumer: Consumer<'records'> = {
  async consume(batch) {
    if (out !== undefined) {
      const half = batch.length >> 1;
      writeSync(out, encode(batch, 0, half));
      if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
      writeSync(out, encode(batch, half, batch.length));
    }
    if (count + batch.length > ids.length) {
      const bigger = new Uint32Array(Math.max(ids.length * 2, count + batch.length));
      bigger.set(ids.subarray(0, count));
      ids = bigger;
    }
    for (const r of batch) ids[count++] = uniqueId(r as { timestampMs: number | null; timestampNs: number });
    send({ type: 'progress', count });
  },
};

// A light context (no self-telemetry SDK, no HTTP): these processes should start fast.
const ctx = lightContext('tyk_redis', process.env['DRAIN_INSTANCE'] ?? `child-${process.pid}`);
const receiver = tykRedisReceiverFactory.create(ctx, tykRedisReceiverFactory.configSchema.parse(config), consumer);
await receiver.start();
send({ type: 'ready' });
process.on('message', (m) => {
  if (m !== 'stop') return;
  void receiver.shutdown().then(() => {
    process.send?.({ type: 'done', ids: ids.slice(0, count) }, () => process.exit(0));
  });
});
