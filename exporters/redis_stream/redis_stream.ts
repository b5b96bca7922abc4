/**
 * The `redis_stream` exporter at run time. Each batch becomes one pipeline of `XADD`s — one entry per
 * record with the fields `data` (the record's original bytes), `source` (the list it was drained from)
 * and `format` (`msgpack`, `protobuf` or `uptime`) — plus one `XTRIM MINID ~` when `max_age` is set.
 * `consumeRecords` resolves once Redis confirmed every `XADD` of the batch: the batch is then delivered,
 * so an at-least-once receiver upstream acknowledges it only once it is in the stream.
 *
 * The bytes come from the batch's `wire` (attached by the receiver, see `src/model.ts`); a batch rebuilt by
 * a processor has none, and its records are encoded again as msgpack (the gateway's default form).
 */
import type { Pipeline } from 'ioredis';
import type { BatchContext, ComponentContext, Exporter, ShutdownDeadline } from '../../src/component.js';
import { wireOf, type RecordBatch, type TykRecord, type WireFormat } from '../../src/model.js';
import { ExportError, ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { connectionPlan, createClient, type RedisClient } from '../../internal/redis/connection.js';
import { ConnectionWatch } from '../../internal/redis/watch.js';
import { encodeAnalytics, encodeUptime } from '../../internal/tyk-wire/encode.js';
import type { RedisStreamExporterConfig } from './config.js';

/** One stream entry's fields. */
interface Entry {
  readonly bytes: Buffer;
  readonly source: string;
  readonly format: WireFormat;
}

/** The record's bytes when the batch carries none: encoded again, as msgpack. */
function encoded(r: TykRecord): Entry {
  return r.kind === 'uptime'
    ? { bytes: encodeUptime(r), source: '', format: 'uptime' }
    : { bytes: encodeAnalytics(r), source: '', format: 'msgpack' };
}

/** Reply errors that retrying cannot fix (the key is not a stream, the user may not write it). */
function permanentReply(err: Error): boolean {
  return /^(WRONGTYPE|NOPERM)/.test(err.message);
}

/** The exporter. */
export class RedisStreamExporter implements Exporter {
  private client: RedisClient | undefined;
  private watch: ConnectionWatch | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly burst: BurstLogger;
  private reencoded = 0;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: RedisStreamExporterConfig,
  ) {
    this.burst = new BurstLogger(ctx.logger);
  }

  async start(): Promise<void> {
    if (this.client || this.stopping) return;
    const plan = connectionPlan(this.config, this.ctx.configDir, { component: this.ctx.id });
    const client = createClient(plan);
    const watch = new ConnectionWatch(client, plan.describe);
    this.client = client;
    this.watch = watch;
    const report = () => {
      if (this.stopping) return;
      this.ctx.health.set(watch.ready ? { ready: true, facts: { stream: this.config.stream } } : { ready: false, detail: watch.problem ?? 'connecting' });
    };
    client.on('ready', report);
    client.on('error', report);
    client.on('end', report);
    report();
    client.connect().catch(() => undefined); // failures arrive as 'error' events and are retried with backoff
    this.ctx.logger.info({ redis: plan.describe, stream: this.config.stream, maxLen: this.config.max_len, maxAgeMs: this.config.max_age }, 'appending records to a redis stream');
  }

  async consumeRecords(batch: RecordBatch, _ctx?: BatchContext): Promise<void> {
    if (this.stopping || !this.client || !this.watch) throw new ShuttingDownError(this.ctx.id);
    if (batch.length === 0) return;
    const p = this.write(this.client, this.watch, batch);
    this.inFlight.add(p);
    try {
      await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async write(client: RedisClient, watch: ConnectionWatch, batch: RecordBatch): Promise<void> {
    await watch.whenReady(this.config.command_timeout);
    const { stream, max_len: maxLen, max_age: maxAge } = this.config;
    const wire = wireOf(batch);
    const pipeline = client.pipeline() as Pipeline & { xadd(...args: (string | number | Buffer)[]): Pipeline };
    let run = 0;
    for (let i = 0; i < batch.length; i++) {
      let e: Entry;
      if (wire) {
        while ((wire.runs[run]?.end ?? Infinity) <= i) run++;
        const r = wire.runs[run];
        e = { bytes: wire.bytes[i] as Buffer, source: r?.source ?? '', format: r?.format ?? 'msgpack' };
      } else {
        e = encoded(batch[i] as TykRecord);
      }
      if (maxLen > 0) pipeline.xadd(stream, 'MAXLEN', '~', maxLen, '*', 'data', e.bytes, 'source', e.source, 'format', e.format);
      else pipeline.xadd(stream, '*', 'data', e.bytes, 'source', e.source, 'format', e.format);
    }
    if (!wire) {
      this.reencoded += batch.length;
      this.burst.log('warn', { records: batch.length, total: this.reencoded }, 'a batch reached the exporter without its original bytes (a processor rebuilt it); its records were encoded again as msgpack');
    }
    if (maxAge > 0) pipeline.xtrim(stream, 'MINID', '~', `${Math.max(0, Date.now() - maxAge)}-0`);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (err) {
      this.ctx.telemetry.sendFailed(batch.length, 'redis_unavailable');
      throw new ExportError(`XADD to ${stream} failed: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    const failed = (results ?? []).find(([err]) => err !== null)?.[0];
    if (failed || !results) {
      const err = failed ?? new Error('pipeline discarded');
      const retryable = !permanentReply(err);
      this.ctx.telemetry.sendFailed(batch.length, retryable ? 'redis_error' : 'refused');
      this.burst.log('warn', { err: err.message, records: batch.length, stream }, 'could not append records to the stream');
      // Some XADDs of the batch may have landed: a retry appends them again (at-least-once).
      throw new ExportError(`XADD to ${stream} failed: ${err.message}`, { retryable, cause: err });
    }
    this.ctx.telemetry.sent(batch.length);
  }

  async shutdown(deadline?: ShutdownDeadline): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const until = deadline?.at ?? Date.now() + this.config.command_timeout;
    while (this.inFlight.size > 0 && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
      clearTimeout(timer);
    }
    const client = this.client;
    this.ctx.health.set({ ready: false, detail: 'stopped' });
    if (!client) return;
    if (client.status === 'ready') await client.quit().catch(() => undefined);
    client.disconnect();
  }
}
