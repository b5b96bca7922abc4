/**
 * The dead-letter list: list elements that cannot be decoded are pushed there as one JSON envelope each
 * (source key, reason, error, the exact bytes in base64), and the list is trimmed to its newest
 * `dead_letter.max_length` entries.
 */
import type { Counter } from '@opentelemetry/api';
import type { ComponentContext } from '../../src/component.js';
import type { BurstLogger } from '../../src/logger.js';
import type { TykRedisConfig } from './config.js';
import type { RedisClient } from './connection.js';
import { message, type Background } from './wakeup.js';

/** Wraps a failing element into the dead-letter envelope (one JSON object per list element). */
export function deadLetterEnvelope(source: string, reason: string, error: string, bytes: Buffer, receiver: string, instance: string): string {
  return JSON.stringify({
    source_key: source,
    reason,
    error,
    receiver,
    instance,
    time: new Date().toISOString(),
    size_bytes: bytes.length,
    bytes_b64: bytes.toString('base64'),
  });
}

/** Envelopes of one chunk waiting to be pushed, with their count per reason. */
export class DeadLetterBatch {
  readonly envelopes: string[] = [];
  readonly byReason = new Map<string, number>();

  add(envelope: string | undefined, reason: string): void {
    if (envelope !== undefined) this.envelopes.push(envelope);
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }
}

/** Pushes envelopes to the dead-letter list (in the background; failures are counted and logged). */
export class DeadLetters {
  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: TykRedisConfig['dead_letter'],
    /** The dead-letter list's key. */
    readonly key: string,
    private readonly deadLettered: Counter,
    private readonly burst: BurstLogger,
    private readonly background: Background,
  ) {}

  /** Whether elements are dead-lettered at all. */
  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Pushes a batch's envelopes and trims the list; counts them by reason once Redis took them. */
  push(client: RedisClient, batch: DeadLetterBatch): void {
    const envelopes = batch.envelopes;
    if (envelopes.length === 0) return;
    const max = this.config.max_length;
    const push = envelopes.length > max ? envelopes.slice(envelopes.length - max) : envelopes;
    const p = client
      .pipeline()
      .rpush(this.key, ...push)
      .ltrim(this.key, -max, -1)
      .exec()
      .then((res) => {
        const failed = res?.find(([e]) => e);
        if (failed) throw failed[0] as Error;
        for (const [reason, n] of batch.byReason) this.deadLettered.add(n, { receiver: this.ctx.id, reason });
      })
      .catch((err: unknown) => {
        this.ctx.telemetry.dropped(envelopes.length, 'dead_letter_failed');
        this.burst.log('warn', { key: this.key, err: message(err), count: envelopes.length }, 'could not push undecodable records to the dead-letter list');
      });
    this.background.add(p);
  }
}
