/**
 * The dead-letter list: list elements that cannot be decoded — and, once a destination refused them for
 * good, records that cannot be exported — are pushed there as one JSON envelope each (source key, reason,
 * error, chunk id, the exact bytes in base64). The list is bounded by entries (`max_length`) and by bytes
 * (`max_bytes`), oldest first; one script pushes and trims, so a write lands whole or not at all.
 *
 * A write is confirmed before the chunk it comes from leaves Redis: when its reply is lost (a timeout, a
 * broken connection) the list is searched for the last envelope (`LPOS`), so a write that landed is counted
 * as dead-lettered — never as failed — and one that did not is written again.
 */
import type { Counter } from '@opentelemetry/api';
import type { ComponentContext } from '../../src/component.js';
import type { BurstLogger } from '../../src/logger.js';
import type { TykRedisConfig } from './config.js';
import { backoffDelay, type RedisClient } from '../../internal/redis/connection.js';
import { isReplyError } from './health.js';
import { message, type Wakeup } from '../../internal/async/wakeup.js';

/**
 * Pushes envelopes and trims the list to its newest ARGV[1] entries and about ARGV[2] bytes (measured
 * with `MEMORY USAGE … SAMPLES 0`, so entries removed by an operator are accounted for at once). KEYS:
 * the list. ARGV: max entries, max bytes, envelopes… Returns the list's length.
 */
export const DEAD_LETTER_LUA = `
local maxLen, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, #ARGV, 1000 do redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
local len = redis.call('LLEN', KEYS[1])
if len > maxLen then
  redis.call('LTRIM', KEYS[1], -maxLen, -1)
  len = maxLen
end
local excess = (redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', '0') or 0) - maxBytes
while excess > 0 and len > 0 do
  local e = redis.call('LPOP', KEYS[1])
  excess = excess - #e
  len = len - 1
end
return len`;

/** Wraps an element into the dead-letter envelope (one JSON object per list element). */
export function deadLetterEnvelope(e: { source: string; reason: string; error: string; bytes: Buffer; receiver: string; instance: string; chunkId: string | undefined; index: number }): string {
  return JSON.stringify({
    source_key: e.source,
    reason: e.reason,
    error: e.error,
    receiver: e.receiver,
    instance: e.instance,
    chunk_id: e.chunkId ?? null,
    index: e.index,
    time: new Date().toISOString(),
    size_bytes: e.bytes.length,
    bytes_b64: e.bytes.toString('base64'),
  });
}

/** Envelopes of one chunk waiting to be pushed, with their count per reason. */
export class DeadLetterBatch {
  /** The envelopes to write, with their reasons. */
  readonly entries: { readonly envelope: string; readonly reason: string }[] = [];
  /** Elements per reason (whether or not an envelope was made). */
  readonly byReason = new Map<string, number>();

  add(envelope: string | undefined, reason: string): void {
    if (envelope !== undefined) this.entries.push({ envelope, reason });
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }
}

/** How a dead-letter write ended. */
export type DeadLetterResult = 'written' | 'failed' | 'stopped';

/** Writes envelopes to the dead-letter list. */
export class DeadLetters {
  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: TykRedisConfig['dead_letter'],
    private readonly reconnect: TykRedisConfig['reconnect'],
    /** The dead-letter list's key. */
    readonly key: string,
    private readonly deadLettered: Counter,
    private readonly burst: BurstLogger,
    private readonly wake: Wakeup,
    private readonly stopping: () => boolean,
  ) {}

  /** Whether elements are dead-lettered at all. */
  get enabled(): boolean {
    return this.config.enabled;
  }

  /**
   * Pushes a batch's envelopes and trims the list. Retries (with backoff) until Redis took them or the
   * receiver stops (`stopped`: the caller leaves the chunk in Redis, it is decoded again later); a
   * refusal by the server (a wrong key type, a missing permission) gives up (`failed`, counted).
   */
  async write(client: RedisClient, batch: DeadLetterBatch): Promise<DeadLetterResult> {
    const fits = batch.entries.filter((e) => Buffer.byteLength(e.envelope) <= this.config.max_bytes);
    const tooLarge = batch.entries.length - fits.length;
    if (tooLarge > 0) {
      this.ctx.telemetry.dropped(tooLarge, 'dead_letter_too_large');
      this.burst.log('warn', { key: this.key, count: tooLarge, maxBytes: this.config.max_bytes }, 'a dead-letter envelope is larger than dead_letter.max_bytes; not written');
    }
    const max = this.config.max_length;
    const push = fits.length > max ? fits.slice(fits.length - max) : fits;
    if (push.length === 0) return 'written';
    const last = (push[push.length - 1] as (typeof push)[number]).envelope;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.eval(DEAD_LETTER_LUA, 1, this.key, max, this.config.max_bytes, ...push.map((e) => e.envelope));
        this.count(fits);
        return 'written';
      } catch (err) {
        if (isReplyError(err) && !/^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY)\b/.test(err.message)) {
          this.ctx.telemetry.dropped(push.length, 'dead_letter_failed');
          this.burst.log('warn', { key: this.key, err: message(err), count: push.length }, 'redis refused the dead-letter write; the undecodable records are not kept');
          return 'failed';
        }
        // The reply was lost: did the write land? Asked on the same connection, LPOS runs after the
        // write if the write is still queued; only a definite "no" writes again.
        for (let check = 1; ; check++) {
          const found = await this.landed(client, last);
          if (found === true) {
            this.count(fits);
            return 'written';
          }
          if (found === false) break;
          if (this.stopping()) return 'stopped';
          await this.wake.wait(backoffDelay(check, this.reconnect.initial_interval, this.reconnect.max_interval));
        }
        if (this.stopping()) return 'stopped';
        this.burst.log('warn', { key: this.key, err: message(err), count: push.length }, 'could not push to the dead-letter list; retrying (the chunk stays in redis meanwhile)');
        await this.wake.wait(backoffDelay(attempt, this.reconnect.initial_interval, this.reconnect.max_interval));
      }
    }
  }

  /** Whether `envelope` is in the list; undefined when Redis did not answer. */
  private async landed(client: RedisClient, envelope: string): Promise<boolean | undefined> {
    try {
      return (await client.call('LPOS', this.key, envelope, 'RANK', '-1')) !== null;
    } catch {
      return undefined;
    }
  }

  /** Counts what was written (envelopes beyond max_length count too: written, then trimmed at once). */
  private count(written: readonly { readonly reason: string }[]): void {
    const by = new Map<string, number>();
    for (const e of written) by.set(e.reason, (by.get(e.reason) ?? 0) + 1);
    for (const [reason, n] of by) this.deadLettered.add(n, { receiver: this.ctx.id, reason });
  }
}
