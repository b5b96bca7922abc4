/**
 * Entries of consumers that stopped: claimed with `XAUTOCLAIM` once idle for `claim_idle`, split at the
 * boundaries of the reads they came from (`ranges.ts`, so a re-claimed read keeps its chunk id), entries
 * delivered `max_deliveries` times dead-lettered instead. And the other side of it: the heartbeat of this
 * consumer (`scripts.ts`), which keeps peers from claiming the entries of a consumer that is alive but slow.
 *
 * What remains: a consumer whose process is frozen longer than `claim_idle` (SIGSTOP, a host swapping, a
 * VM paused) cannot beat; a peer claims its entries and delivers them while the frozen one still holds
 * them. When it resumes it delivers what it held too, then acknowledges — entries now owned by the peer,
 * which is harmless: it acknowledges only what it delivered itself. The duplicates are bounded by what the
 * frozen consumer held (`max_unacked_reads` × `count` entries); an exporter keyed by chunk id (SQL) writes
 * them once, since the peer rebuilds the same reads.
 */
import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ComponentContext } from '../../src/component.js';
import type { BurstLogger } from '../../src/logger.js';
import type { RedisClient } from '../../internal/redis/connection.js';
import type { RedisStreamReceiverConfig } from './config.js';
import type { RawEntry, RefusedEntry } from './entries.js';
import type { Handover } from './handover.js';
import { endsARead, splitByRanges, type EntryGroup, type ReadRanges } from './ranges.js';
import type { StreamScripts } from './scripts.js';

/** What the claimer needs from the receiver. */
export interface ClaimDeps {
  readonly ctx: ComponentContext;
  readonly config: RedisStreamReceiverConfig;
  readonly consumer: string;
  readonly client: RedisClient & StreamScripts;
  readonly ranges: ReadRanges;
  readonly handover: Handover;
  readonly claimed: Counter;
  readonly burst: BurstLogger;
  /** Claimed groups go here; the read loop delivers them. */
  readonly queue: EntryGroup[];
  /** Counts and logs entries trimmed while pending. */
  lost(n: number, reason: 'trimmed_pending'): void;
  /** Wakes the read loop. */
  notify(): void;
  /** Whether the receiver may claim now (joined, not stopping, connected). */
  active(): boolean;
}

/** Claims dead consumers' entries and beats for this one. */
export class Claimer {
  private readonly log: Logger;
  private claiming = false;
  private beating = false;

  constructor(private readonly d: ClaimDeps) {
    this.log = d.ctx.logger;
  }

  /** Refreshes this consumer's pending entries (see `HEARTBEAT_LUA`). */
  async heartbeat(): Promise<void> {
    const { config: c, client } = this.d;
    if (this.beating || !this.d.active()) return;
    this.beating = true;
    try {
      const [, trimmed] = await client.streamHeartbeat(c.stream, c.group, this.d.consumer, c.count * c.max_unacked_reads * 3);
      // Not lost yet (they are delivered from memory), but nothing in Redis remembers them any more: said once per burst.
      if (trimmed > 0) this.d.burst.log('warn', { entries: trimmed, stream: c.stream, group: c.group }, 'entries this consumer holds were trimmed from the stream while pending (retention exceeded); they are delivered from memory, but would be lost should this consumer die first');
    } catch (err) {
      this.d.burst.log('warn', { err: (err as Error).message }, 'could not refresh this consumer\'s pending entries; a peer may claim them after claim_idle');
    } finally {
      this.beating = false;
    }
  }

  /** Claims entries idle longer than `claim_idle` at other consumers; dead-letters the ones delivered too often. */
  async claim(): Promise<void> {
    const { config: c, client } = this.d;
    if (this.claiming || !this.d.active()) return;
    this.claiming = true;
    try {
      await this.d.ranges.prune(c.stream, c.group).catch((err: unknown) => this.log.debug({ err: String(err) }, 'pruning read ranges failed'));
      // Only when some other consumer with pending entries has not been seen for claim_idle (it died, or its
      // process is frozen): a live consumer beats (refreshes its entries) every claim_idle / 4.
      const consumers = (await client.call('XINFO', 'CONSUMERS', c.stream, c.group)) as unknown[][];
      const idle = consumers.some((flat) => {
        const m = new Map<string, unknown>();
        for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
        return m.get('name') !== this.d.consumer && Number(m.get('pending')) > 0 && Number(m.get('idle')) >= c.claim_idle;
      });
      if (!idle) return;
      const ranges = await this.d.ranges.load();
      const held: RawEntry[] = [];
      const room = c.count * c.max_unacked_reads;
      let cursor = '0-0';
      do {
        const [next, entries, deleted] = (await client.callBuffer('XAUTOCLAIM', c.stream, c.group, this.d.consumer, c.claim_idle, cursor, 'COUNT', c.count)) as [Buffer, RawEntry[], Buffer[] | undefined];
        cursor = next.toString();
        if (deleted && deleted.length > 0) this.d.lost(deleted.length, 'trimmed_pending');
        if (entries.length === 0) continue;
        const ids = entries.map((e) => e[0].toString());
        const pending = (await client.call('XPENDING', c.stream, c.group, ids[0] as string, ids[ids.length - 1] as string, ids.length + room, this.d.consumer)) as [string, string, number, number][];
        const deliveries = new Map(pending.map((p) => [p[0], Number(p[3])]));
        const poison: RawEntry[] = [];
        for (const e of entries) ((deliveries.get(e[0].toString()) ?? 0) > c.max_deliveries ? poison : held).push(e);
        if (poison.length > 0) await this.poison(poison);
        // Claim on while the last entry held is inside a read: its rest is next in the pending list.
      } while (cursor !== '0-0' && this.d.active() && (held.length < room || !endsARead(held, ranges)));
      if (held.length === 0) return;
      this.d.claimed.add(held.length, { receiver: this.d.ctx.id });
      const groups = splitByRanges(held, ranges, c.count);
      this.log.info({ entries: held.length, reads: groups.length, idleMs: c.claim_idle }, 'claimed entries pending at another consumer of the group (it stopped acknowledging)');
      this.d.queue.push(...groups);
      this.d.notify();
    } catch (err) {
      this.d.burst.log('warn', { err: (err as Error).message }, 'could not claim entries of dead consumers; retrying at the next interval');
    } finally {
      this.claiming = false;
    }
  }

  /** Entries delivered `max_deliveries` times: dead-lettered, then acknowledged. */
  private async poison(entries: RawEntry[]): Promise<void> {
    const { config: c, client, handover } = this.d;
    const refused: RefusedEntry[] = entries.map(([id, fields]) => {
      const f = new Map<string, Buffer>();
      for (let i = 0; fields && i + 1 < fields.length; i += 2) f.set(String(fields[i]), fields[i + 1] as Buffer);
      return { id: id.toString(), reason: 'max_deliveries', error: `delivered more than ${c.max_deliveries} times without being acknowledged`, bytes: f.get('data') ?? Buffer.alloc(0), source: String(f.get('source') ?? ''), format: String(f.get('format') ?? '') };
    });
    this.d.burst.log('warn', { entries: refused.length, maxDeliveries: c.max_deliveries }, 'entries keep failing at every consumer; they go to the dead-letter list');
    const written = await handover.deadLetter(refused);
    if (written === 'stopped') return;
    if (written === 'skipped') this.d.ctx.telemetry.dropped(refused.length, 'max_deliveries');
    await client.xack(c.stream, c.group, ...refused.map((r) => r.id));
  }
}
