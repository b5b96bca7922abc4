/**
 * The `redis_stream` exporter at run time. Each batch becomes one pipeline of `XADD`s — one entry per
 * record with the fields `data` (the record's original bytes), `source` (the list it was drained from)
 * and `format` (`msgpack`, `protobuf` or `uptime`) — plus one `XTRIM MINID ~` when `max_age` is set.
 * `consumeRecords` resolves once Redis confirmed every `XADD` of the batch: the batch is then delivered,
 * so an at-least-once receiver upstream acknowledges it only once it is in the stream.
 *
 * The bytes come from the batch's `wire` (attached by the receiver, see `src/model.ts`); a batch rebuilt by
 * a processor has none, and its records are encoded again as msgpack (the gateway's default form).
 *
 * A pipeline whose `XADD`s partly failed (an `OOM` reply once `maxmemory` is reached, a failover mid-batch)
 * is refused (retryable), and the receiver re-delivers the same chunk (same `ctx.chunkId`). The exporter
 * remembers, per chunk id, which entries of it landed, and the retry appends only the others: a partial
 * failure costs no duplicate in the stream. (Explicit entry ids would make a retried `XADD` idempotent, but
 * two drainers appending to one stream would then have to agree on ids, and Redis answers a landed id and
 * another drainer's newer id with the same error.) Only a crash of the drainer between a partial failure
 * and its retry appends the landed entries again (at-least-once, at most one chunk).
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

/** Chunks whose last attempt partly landed, remembered at most (oldest forgotten: their retry appends all). */
const MAX_PARTIAL_CHUNKS = 256;

/** Which entries of a chunk's batch landed: the landed record's bytes by index (compared on retry). */
interface Landed {
  readonly length: number;
  readonly bytes: (Buffer | undefined)[];
  count: number;
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
  /** Per chunk id, the entries of a partly failed attempt that landed (insertion order = age). */
  private readonly partial = new Map<string, Landed>();
  private skippedOnRetry = 0;

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

  /** Entries skipped on retries because they had landed (for tests and diagnosis). */
  get entriesSkippedOnRetry(): number {
    return this.skippedOnRetry;
  }

  async consumeRecords(batch: RecordBatch, ctx?: BatchContext): Promise<void> {
    if (this.stopping || !this.client || !this.watch) throw new ShuttingDownError(this.ctx.id);
    if (batch.length === 0) return;
    const p = this.write(this.client, this.watch, batch, ctx?.chunkId);
    this.inFlight.add(p);
    try {
      await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async write(client: RedisClient, watch: ConnectionWatch, batch: RecordBatch, chunkId: string | undefined): Promise<void> {
    await watch.whenReady(this.config.command_timeout);
    const { stream, max_len: maxLen, max_age: maxAge } = this.config;
    const wire = wireOf(batch);
    const pipeline = client.pipeline() as Pipeline & { xadd(...args: (string | number | Buffer)[]): Pipeline };
    // A retry of a chunk whose previous attempt partly landed: skip what landed (same index, same bytes).
    const before = chunkId === undefined ? undefined : this.partial.get(chunkId);
    const landed: Landed | undefined = before && before.length === batch.length ? before : undefined;
    /** Record index of each queued XADD, in pipeline order. */
    const queued: number[] = [];
    const sent: Buffer[] = [];
    let skipped = 0;
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
      const was = landed?.bytes[i];
      if (was !== undefined && (was === e.bytes || was.equals(e.bytes))) {
        skipped++;
        continue;
      }
      queued.push(i);
      sent.push(e.bytes);
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
      let ok = 0;
      if (results && chunkId !== undefined && retryable) ok = this.remember(chunkId, batch.length, landed, queued, sent, results);
      this.ctx.telemetry.sendFailed(batch.length - skipped - ok, retryable ? 'redis_error' : 'refused');
      if (ok > 0) this.ctx.telemetry.sent(ok);
      this.burst.log('warn', { err: err.message, records: batch.length, landed: ok + skipped, stream }, 'could not append records to the stream');
      // The entries that landed are remembered by chunk id: the retry appends only the others.
      throw new ExportError(`XADD to ${stream} failed: ${err.message}`, { retryable, cause: err });
    }
    if (chunkId !== undefined) this.partial.delete(chunkId);
    if (skipped > 0) this.skippedOnRetry += skipped;
    this.ctx.telemetry.sent(batch.length - skipped);
  }

  /** Notes which XADDs of a failed pipeline landed; returns how many did. */
  private remember(chunkId: string, length: number, landed: Landed | undefined, queued: readonly number[], sent: readonly Buffer[], results: [Error | null, unknown][]): number {
    const l: Landed = landed ?? { length, bytes: new Array<Buffer | undefined>(length), count: 0 };
    let ok = 0;
    for (let k = 0; k < queued.length; k++) {
      if (results[k]?.[0] !== null) continue;
      l.bytes[queued[k] as number] = sent[k];
      l.count++;
      ok++;
    }
    this.partial.delete(chunkId);
    if (l.count > 0) this.partial.set(chunkId, l);
    while (this.partial.size > MAX_PARTIAL_CHUNKS) {
      const oldest = this.partial.keys().next().value as string;
      this.partial.delete(oldest);
    }
    return ok;
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
