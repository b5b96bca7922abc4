/**
 * Handing a batch to the pipelines and finishing it: re-delivery with backoff only to the pipelines and
 * exporters that failed (`deliver({ only })`, the same chunk id every time), dead letters for what a
 * destination refused for good, and `XACK` once delivery is decided — never before, so a crash leaves
 * the entries pending in the group for this consumer's next start or a peer's claim.
 */
import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ComponentContext } from '../../src/component.js';
import type { PipelineOutcome, Pipelines } from '../../src/delivery.js';
import { BurstLogger } from '../../src/logger.js';
import { backoffDelay, type RedisClient } from '../../internal/redis/connection.js';
import { message, type Background, type Wakeup } from '../../internal/async/wakeup.js';
import type { DecodeOptions } from '../../internal/tyk-wire/decode.js';
import { decodeWire } from '../../internal/tyk-wire/redecode.js';
import type { RecordWire } from '../../src/model.js';
import type { RedisStreamReceiverConfig } from './config.js';
import type { StreamBatch } from './batch.js';
import { envelope, type RefusedEntry } from './entries.js';
import type { ReadRanges } from './ranges.js';

/** What the hand-over needs from the receiver. */
export interface HandoverDeps {
  readonly ctx: ComponentContext;
  readonly config: RedisStreamReceiverConfig;
  readonly pipelines: Pipelines;
  readonly client: RedisClient;
  readonly consumer: string;
  readonly deadLetterKey: string;
  readonly wake: Wakeup;
  /** Registered reads: a batch's read is forgotten once it is acknowledged. */
  readonly ranges: ReadRanges;
  /** Deliveries whose outcome is pending. */
  readonly deliveries: Background;
  /** Acknowledgements and dead-letter writes. */
  readonly background: Background;
  readonly redelivered: Counter;
  readonly deadLettered: Counter;
  /** How the receiver decodes entries (a re-delivery decodes a batch's bytes again with them). */
  readonly decodeOptions: DecodeOptions;
  stopping(): boolean;
}

function refusedForGood(o: PipelineOutcome): boolean {
  return o.failed.length > 0 || o.retry.some((t) => t.failed.length > 0);
}

/** Delivers, re-delivers, dead-letters and acknowledges batches. */
export class Handover {
  private readonly log: Logger;
  private readonly deliveryBurst: BurstLogger;
  private readonly redisBurst: BurstLogger;
  private readonly retryReady: StreamBatch[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly d: HandoverDeps) {
    this.log = d.ctx.logger;
    this.deliveryBurst = new BurstLogger(this.log);
    this.redisBurst = new BurstLogger(this.log);
  }

  /** A batch whose re-delivery backoff has passed, if any. */
  nextRetry(): StreamBatch | undefined {
    return this.retryReady.shift();
  }

  /**
   * The receiver is at `max_unacked_reads`: has every read a processor holds to emit together with later
   * ones (the `sli` emission window) emitted now (`Pipelines.release`). Returns how many were held.
   */
  release(): number {
    return this.d.pipelines.release();
  }

  /** Shutdown: no more re-deliveries (their entries stay pending in the group). */
  stop(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const b of this.retryReady.splice(0)) if (!b.ended) b.leave();
  }

  /** Hands a batch to the pipelines; resolves once they accepted it (backpressure). */
  async deliver(b: StreamBatch): Promise<void> {
    const n = b.count;
    if (n === 0) {
      b.settle('acknowledged');
      this.ack(b);
      return;
    }
    // A re-delivery: the records were released once accepted (see StreamBatch.records); decode them again.
    if (b.released) {
      try {
        b.redecoded(decodeWire(b.wire as RecordWire, this.d.decodeOptions));
      } catch (err) {
        // Cannot happen (the same bytes decoded before): should it, the entries stay pending in the group.
        this.log.error({ err, batch: b.id }, 'could not decode a read again for its re-delivery; its entries stay pending');
        b.leave();
        return;
      }
    }
    const first = b.attempts === 0 && !b.recovered;
    if (b.handOver()) this.d.redelivered.add(n, { receiver: this.d.ctx.id });
    const { accepted, outcome } = this.d.pipelines.deliver(b.records ?? [], { only: b.targets, chunkId: b.id });
    await accepted;
    if (b.ended) return;
    b.accepted();
    if (first) this.d.ctx.telemetry.accepted(n);
    this.d.deliveries.add(outcome.then((o) => this.settle(b, o)));
  }

  private async settle(b: StreamBatch, o: PipelineOutcome): Promise<void> {
    if (b.ended) return;
    const n = b.count;
    if (refusedForGood(o)) b.permanentError ??= o.error ?? new Error('refused');
    if (o.retry.length > 0) {
      if (this.d.stopping()) {
        b.leave();
        return;
      }
      b.retry(o.retry);
      const delay = backoffDelay(b.attempts, this.d.config.retry_initial_interval, this.d.config.retry_max_interval);
      this.deliveryBurst.log('warn', { err: o.error?.message, records: n, pipelines: o.retry.length, attempt: b.attempts, retryInMs: delay }, 'delivery failed; the entries stay pending in the group and are re-delivered to the failed pipelines with backoff');
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.retryReady.push(b);
        this.d.wake.notify();
      }, delay);
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    if (b.permanentError) {
      const err = b.permanentError;
      this.deliveryBurst.log('error', { err: err.message, records: n, deadLetter: this.d.config.dead_letter.enabled ? this.d.deadLetterKey : undefined }, 'a destination refused records for good');
      const runs = b.wire?.runs ?? [];
      const refused = b.bytes.map((bytes, i): RefusedEntry => ({ id: b.id, reason: 'delivery_failed_permanently', error: err.message, bytes, source: runs.find((r) => r.end > i)?.source ?? '', format: runs.find((r) => r.end > i)?.format ?? '' }));
      const written = await this.deadLetter(refused);
      if (b.ended) return;
      if (written === 'stopped') {
        b.leave();
        return;
      }
      if (written === 'skipped') this.d.ctx.telemetry.dropped(n, 'delivery_failed_permanently');
      b.settle(written === 'written' ? 'dead_lettered' : 'dropped');
    } else {
      b.settle('acknowledged');
    }
    this.ack(b);
  }

  /** XACKs a settled batch, retrying until Redis confirms (acknowledging twice is harmless). */
  private ack(b: StreamBatch): void {
    this.d.background.add((async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          if (b.ids.length > 0) await this.d.client.xack(this.d.config.stream, this.d.config.group, ...b.ids);
          if (!b.ended) b.acked();
          // A read left registered (this failing, a crash) is pruned by the claimer later.
          if (b.read !== undefined) this.d.ranges.forget(b.read).catch(() => undefined);
          return;
        } catch (err) {
          if (this.d.stopping()) {
            if (!b.ended) b.leave();
            return;
          }
          this.redisBurst.log('warn', { err: message(err) }, 'could not acknowledge delivered entries; retrying (they may be delivered again)');
          await this.d.wake.wait(backoffDelay(attempt, this.d.config.reconnect.initial_interval, this.d.config.reconnect.max_interval));
        }
      }
    })());
  }

  /**
   * Pushes entries to the dead-letter list (LPUSH + LTRIM), retrying until Redis confirms. `skipped` when
   * dead letters are off, `stopped` on shutdown.
   */
  async deadLetter(entries: readonly RefusedEntry[]): Promise<'written' | 'skipped' | 'stopped'> {
    if (entries.length === 0) return 'written';
    if (!this.d.config.dead_letter.enabled) return 'skipped';
    const { stream, group } = this.d.config;
    const key = this.d.deadLetterKey;
    const items = entries.map((e) => envelope({ ...e, stream, group, consumer: this.d.consumer, receiver: this.d.ctx.id }));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.client.multi().lpush(key, ...items).ltrim(key, 0, this.d.config.dead_letter.max_length - 1).exec();
        const byReason = new Map<string, number>();
        for (const e of entries) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
        for (const [reason, n] of byReason) this.d.deadLettered.add(n, { receiver: this.d.ctx.id, reason });
        return 'written';
      } catch (err) {
        if (this.d.stopping()) return 'stopped';
        this.redisBurst.log('warn', { err: message(err), deadLetter: key }, 'could not write dead letters; retrying');
        await this.d.wake.wait(backoffDelay(attempt, this.d.config.reconnect.initial_interval, this.d.config.reconnect.max_interval));
      }
    }
  }
}
