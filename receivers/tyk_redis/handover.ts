/**
 * Decoding a claimed chunk and handing it to the pipelines. Refused elements go to the dead-letter list
 * (confirmed before the chunk leaves Redis); at-most-once then removes the chunk from Redis, at-least-once
 * keeps it there until delivery settled. Good records go to every pipeline (a re-delivery only where
 * delivery failed); once delivery settles the chunk is acknowledged — its in-flight list deleted — or
 * re-delivered with backoff, and records a destination refused for good go to the dead-letter list.
 */
import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ComponentContext } from '../../src/component.js';
import { withWire, type RecordWire, type TykRecord, type WireRun } from '../../src/model.js';
import type { PipelineOutcome, Pipelines } from '../../src/delivery.js';
import { DecodeError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { TykRedisConfig } from './config.js';
import { backoffDelay, type RedisClient } from '../../internal/redis/connection.js';
import { decodeAnalytics, decodeUptime, wireTimestampMs, type DecodeOptions } from '../../internal/tyk-wire/decode.js';
import { decodeWire } from '../../internal/tyk-wire/redecode.js';
import type { Projection } from '../../internal/tyk-wire/projection.js';
import type { CoercionSink } from '../../internal/tyk-wire/tolerant.js';
import { DeadLetterBatch, deadLetterEnvelope, type DeadLetters } from './dead-letter.js';
import type { Chunk, DropReason, SettledEnd } from './chunk.js';
import type { InflightTracker } from './inflight.js';
import { message, type Background, type Wakeup } from '../../internal/async/wakeup.js';

/** Age of the oldest and newest record of the last chunk claimed from each list (seconds). */
export type LagByKey = Map<string, { oldest: number; newest: number }>;

/** What the hand-over needs from the receiver. */
export interface HandoverDeps {
  readonly ctx: ComponentContext;
  readonly config: TykRedisConfig;
  readonly pipelines: Pipelines;
  readonly deadLetters: DeadLetters;
  readonly lag: LagByKey;
  readonly wake: Wakeup;
  /** Deliveries whose outcome is pending. */
  readonly deliveries: Background;
  /** Acknowledgements. */
  readonly background: Background;
  /** Logs Redis failures once per burst (shared with the connection state). */
  readonly redisBurst: BurstLogger;
  readonly instance: string;
  readonly client: RedisClient;
  /** Counts the tolerant decoder's coercions (`receiver.decode_coercions`). */
  readonly coercions: Counter;
  readonly tracker: InflightTracker;
  /** The record fields the pipelines read (the rest is skipped; none: elements are only checked). */
  readonly projection: Projection;
  stopping(): boolean;
}

/** Whether some pipeline (or exporter) refused the batch for good on this attempt. */
function refusedForGood(o: PipelineOutcome): boolean {
  return o.failed.length > 0 || o.retry.some((t) => t.failed.length > 0);
}

/** Decodes, delivers, re-delivers and acknowledges chunks. */
export class Handover {
  private readonly log: Logger;
  private readonly decodeBurst: BurstLogger;
  private readonly coercionBurst: BurstLogger;
  /** The tolerant decoder's callback: counts each coercion, logs once per burst (never per record). */
  private readonly onCoercion: CoercionSink;
  private readonly deliveryBurst: BurstLogger;
  private readonly atLeastOnce: boolean;
  private readonly retryReady: Chunk[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly decodeOptions: DecodeOptions;

  constructor(private readonly d: HandoverDeps) {
    this.log = d.ctx.logger;
    this.decodeBurst = new BurstLogger(this.log);
    this.coercionBurst = new BurstLogger(this.log);
    this.onCoercion = (field, reason) => {
      d.coercions.add(1, { receiver: d.ctx.id, field, reason });
      this.coercionBurst.log('warn', { field, reason }, 'records of an unexpected shape: coerced values on the tolerant decoding path');
    };
    this.deliveryBurst = new BurstLogger(this.log);
    this.atLeastOnce = d.config.delivery === 'at_least_once';
    this.decodeOptions = { projection: d.projection, maxBytes: d.config.decode.max_record_bytes, onCoercion: this.onCoercion };
  }

  /** A chunk whose re-delivery backoff has passed, if any. */
  nextRetry(): Chunk | undefined {
    return this.retryReady.shift();
  }

  /**
   * The receiver is at `max_unacked_chunks`: has every chunk a processor holds to emit together with later
   * ones (the `sli` emission window) emitted now (`Pipelines.release`). Returns how many were held.
   */
  release(): number {
    return this.d.pipelines.release();
  }

  /** Shutdown: no more re-deliveries (the chunks waiting for one are left in Redis). */
  stop(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
  }

  /** Decodes (once) and hands a chunk to the pipelines; resolves once they accepted it (backpressure). */
  async deliver(chunk: Chunk): Promise<void> {
    if (chunk.recordCount === undefined) {
      const refused = this.decode(chunk);
      if (refused && !(await this.deadLetter(chunk, refused))) return;
    }
    if (!this.atLeastOnce && chunk.state === 'claimed' && !(await this.take(chunk))) return;
    // A re-delivery: the records were released once accepted (see Chunk.records); decode them again.
    if (chunk.released) {
      try {
        chunk.redecoded(decodeWire(chunk.wire as RecordWire, this.decodeOptions));
      } catch (err) {
        // Cannot happen (the same bytes decoded before): should it, the chunk stays in Redis for the next start.
        this.log.error({ err, chunk: chunk.id }, 'could not decode a chunk again for its re-delivery; it stays in redis');
        chunk.leave();
        return;
      }
    }
    const records = chunk.records ?? [];
    if (records.length === 0) {
      this.finish(chunk, 'acknowledged');
      return;
    }
    chunk.handOver();
    // A re-delivery goes only to the pipelines that have not taken the chunk yet.
    const { accepted, outcome } = this.d.pipelines.deliver(records, { only: chunk.targets, chunkId: chunk.id });
    await accepted; // the next claim waits for this
    if (chunk.ended) return; // left in Redis by a shutdown that did not wait
    chunk.accepted();
    this.d.deliveries.add(outcome.then((o) => this.settle(chunk, o)));
  }

  /** Decodes every element; returns the refused ones' dead-letter batch, if any. */
  private decode(chunk: Chunk): DeadLetterBatch | undefined {
    const out: TykRecord[] = [];
    const bytesOut: Buffer[] = [];
    const runs: WireRun[] = [];
    const opts = this.decodeOptions;
    const dead = this.d.deadLetters;
    let bad: DeadLetterBatch | undefined;
    const now = Date.now();
    let index = 0;
    for (const part of chunk.parts) {
      const items = part.items;
      const enc = part.source.encoding;
      const first = out.length;
      for (let i = 0; i < items.length; i++, index++) {
        const bytes = items[i] as Buffer;
        try {
          out.push(enc === 'uptime' ? decodeUptime(bytes, opts) : decodeAnalytics(bytes, enc, opts));
          bytesOut.push(bytes);
        } catch (err) {
          const reason = err instanceof DecodeError ? err.reason : 'decoder_error';
          const firstOfChunk = bad === undefined;
          bad ??= new DeadLetterBatch();
          bad.add(dead.enabled ? deadLetterEnvelope({ source: part.source.key, reason, error: message(err), bytes, receiver: this.d.ctx.id, instance: this.d.instance, chunkId: chunk.id, index }) : undefined, reason);
          if (firstOfChunk) {
            this.decodeBurst.log('warn', { key: part.source.key, reason, err: message(err), deadLetter: dead.enabled ? dead.key : undefined }, 'refused undecodable records');
          }
        }
      }
      if (out.length > first) {
        this.noteLag(part.source.key, this.timeOf(out, bytesOut, first, enc), this.timeOf(out, bytesOut, out.length - 1, enc), now);
        runs.push({ end: out.length, source: part.source.key, format: enc });
      }
    }
    // The original bytes travel with the batch (the array is kept for dead letters anyway): an exporter
    // that forwards records unchanged (redis_stream) writes them instead of encoding again.
    chunk.decoded(withWire(out, { bytes: bytesOut, runs }), bytesOut);
    if (bad) for (const [reason, n] of bad.byReason) this.d.ctx.telemetry.refused(n, reason);
    return bad;
  }

  /** The timestamp of record `i`: decoded, or read from its bytes when no pipeline reads it (two per part). */
  private timeOf(records: readonly TykRecord[], bytes: readonly Buffer[], i: number, enc: 'msgpack' | 'protobuf' | 'uptime'): number | null {
    const p = this.d.projection;
    const r = records[i] as TykRecord;
    if (r.kind === 'uptime' ? !p.none : p.all || (p.fields as ReadonlySet<string>).has('timestampMs')) return r.timestampMs;
    return wireTimestampMs(bytes[i] as Buffer, enc, this.d.config.decode.max_record_bytes);
  }

  private noteLag(key: string, oldest: number | null, newest: number | null, now: number): void {
    const l = this.d.lag.get(key) ?? { oldest: 0, newest: 0 };
    if (oldest !== null) l.oldest = Math.max(0, (now - oldest) / 1000);
    if (newest !== null) l.newest = Math.max(0, (now - newest) / 1000);
    this.d.lag.set(key, l);
  }

  /** Writes dead letters before the chunk leaves Redis. False when the chunk was left (shutdown). */
  private async deadLetter(chunk: Chunk, batch: DeadLetterBatch): Promise<boolean> {
    const result = await this.d.deadLetters.write(this.d.client, batch);
    if (result !== 'stopped') return true;
    if (!chunk.ended) chunk.leave();
    return false;
  }

  /** At-most-once: removes the chunk's in-flight lists before delivery. False when the chunk was left (shutdown). */
  private async take(chunk: Chunk): Promise<boolean> {
    chunk.take();
    if (!(await this.removeInflight(chunk))) return false;
    chunk.taken();
    return true;
  }

  private async settle(chunk: Chunk, o: PipelineOutcome): Promise<void> {
    if (chunk.ended) return; // left in Redis by a shutdown that did not wait
    const n = chunk.recordCount ?? 0;
    if (refusedForGood(o)) chunk.permanentError ??= o.error ?? new Error('refused');
    if (o.retry.length > 0 && this.atLeastOnce) {
      if (this.d.stopping()) {
        chunk.leave(); // stays in its in-flight list(s) for the next start or a peer
        return;
      }
      chunk.retry(o.retry);
      const delay = backoffDelay(chunk.attempts, this.d.config.at_least_once.retry_initial_interval, this.d.config.at_least_once.retry_max_interval);
      this.deliveryBurst.log('warn', { err: o.error?.message, records: n, pipelines: o.retry.length, attempt: chunk.attempts, retryInMs: delay }, 'delivery failed; the chunk stays in redis and is re-delivered to the failed pipelines with backoff');
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.retryReady.push(chunk);
        this.d.wake.notify();
      }, delay);
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    if (chunk.permanentError && this.d.deadLetters.enabled) {
      // A destination refused the records for good: they go to the dead-letter list, never to nothing.
      this.deliveryBurst.log('error', { err: chunk.permanentError.message, records: n, deadLetter: this.d.deadLetters.key }, 'a destination refused records for good; they go to the dead-letter list');
      const result = await this.d.deadLetters.write(this.d.client, this.refusedBatch(chunk, chunk.permanentError));
      if (chunk.ended) return;
      if (result === 'stopped') chunk.leave();
      else if (result === 'written') this.finish(chunk, 'dead_lettered');
      else this.finish(chunk, 'dropped', 'delivery_failed_permanently');
      return;
    }
    if (o.retry.length > 0 || chunk.permanentError) {
      this.deliveryBurst.log('error', { err: o.error?.message ?? chunk.permanentError?.message, records: n, pipelines: o.retry.length + o.failed.length, delivery: this.d.config.delivery }, this.atLeastOnce
        ? 'delivery failed permanently; the records are dropped in the failed pipelines'
        : 'delivery failed; the records are dropped in the failed pipelines (delivery: at_most_once)');
      this.finish(chunk, 'dropped', o.retry.length > 0 ? 'delivery_failed' : 'delivery_failed_permanently');
      return;
    }
    this.finish(chunk, 'acknowledged');
  }

  /** Dead-letter envelopes of every record of a chunk a destination refused for good. */
  private refusedBatch(chunk: Chunk, err: Error): DeadLetterBatch {
    const batch = new DeadLetterBatch();
    const bytes = chunk.recordBytes ?? [];
    const source = chunk.parts.map((p) => p.source.key).join(',');
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (!b) continue;
      batch.add(deadLetterEnvelope({ source, reason: 'delivery_failed_permanently', error: err.message, bytes: b, receiver: this.d.ctx.id, instance: this.d.instance, chunkId: chunk.id, index: i }), 'delivery_failed_permanently');
    }
    return batch;
  }

  /** Ends a chunk; while its in-flight lists exist, deletes them first (retrying until Redis takes it). */
  private finish(chunk: Chunk, end: SettledEnd, reason?: DropReason): void {
    if (!chunk.settle(end, reason)) return;
    this.d.background.add(this.removeInflight(chunk).then((ok) => {
      if (ok && !chunk.ended) chunk.acked();
    }));
  }

  /**
   * Deletes a chunk's in-flight lists, retrying until Redis confirms (deleting twice is harmless). On a
   * shutdown meanwhile the chunk is left in Redis; returns false then.
   */
  private async removeInflight(chunk: Chunk): Promise<boolean> {
    const lists = chunk.inflightParts.map((p) => ({ key: p.inflightKey as string, adopted: p.slot === undefined }));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.tracker.ack(lists);
        return true;
      } catch (err) {
        if (this.d.stopping()) {
          if (!chunk.ended) chunk.leave();
          return false;
        }
        this.d.redisBurst.log('warn', { err: message(err) }, this.atLeastOnce
          ? 'could not acknowledge a delivered chunk; retrying (it may be delivered again)'
          : 'could not remove a claimed chunk from its in-flight list; retrying before delivering it');
        await this.d.wake.wait(backoffDelay(attempt, this.d.config.reconnect.initial_interval, this.d.config.reconnect.max_interval));
      }
    }
  }
}
