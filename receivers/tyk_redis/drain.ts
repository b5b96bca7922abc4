/**
 * The drain loop: claims one chunk ahead of the one being delivered (claiming overlaps decoding), never
 * more — `consume()` blocking (backpressure) stops the claiming, and at most `max_unacked_chunks` chunks
 * (of at most about `max_unacked_bytes`) may be open (claimed and not ended). At that bound it asks the pipelines to release the chunks a
 * processor holds open to emit with later ones (`Pipelines.release`: the sli emission window), so a window
 * never waits for its timer with the drain stalled behind it. While some list has data it keeps claiming; once all are empty it
 * polls them (one pipelined `LLEN` round, which also samples the backlog gauges) every `poll_interval`.
 * Lists with little data share one chunk (one pipelined round of claims), so a quiet gateway spread over
 * 10 sharded keys costs one batch per poll, not ten. In-flight lists to read back (a claim whose reply
 * was lost, a previous run's, a dead peer's) come before new claims.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TykRedisConfig } from './config.js';
import type { RedisClient } from '../../internal/redis/connection.js';
import type { DrainKey } from './keys.js';
import { claimInflight, INFLIGHT_BUSY, readInflight, type ScriptCommands } from './scripts.js';
import type { InflightTask, InflightTracker } from './inflight.js';
import { Chunk, type ChunkLedger, type ChunkPart } from './chunk.js';
import { isReplyError, isWrongType, type RedisHealth } from './health.js';
import type { Handover, LagByKey } from './handover.js';
import type { Wakeup } from '../../internal/async/wakeup.js';

/** What the drain loop needs from the receiver. */
export interface DrainDeps {
  readonly config: TykRedisConfig;
  readonly keys: readonly DrainKey[];
  readonly log: Logger;
  readonly health: RedisHealth;
  readonly ledger: ChunkLedger;
  readonly handover: Handover;
  readonly wake: Wakeup;
  /** LLEN of each list at the last poll (the backlog gauge). */
  readonly backlog: Map<string, number>;
  readonly lag: LagByKey;
  readonly client: RedisClient & ScriptCommands;
  readonly tracker: InflightTracker;
  stopping(): boolean;
}

/** A list with data and its estimated remaining length (from LLEN, decreased by claims). */
interface ActiveList {
  readonly key: DrainKey;
  estimate: number;
}

/** The claim loop of one receiver. */
export class Drain {
  private readonly active = new Map<string, ActiveList>();
  private rr = 0;
  private nextPollAt = 0;
  /** Adopted in-flight lists to read and deliver (not counted as open chunks until read). */
  private readonly adopted: InflightTask[] = [];
  /** Slot lists whose claim outcome is unknown: open chunks to read back before the slot is reused. */
  private readonly unread: Chunk[] = [];
  /** Chunks of the last claim round not handed over yet (open already). */
  private readonly ready: Chunk[] = [];
  /** Free slot indexes per list. */
  private readonly freeSlots = new Map<string, number[]>();

  constructor(private readonly d: DrainDeps) {
    const n = d.config.max_unacked_chunks;
    for (const k of d.keys) this.freeSlots.set(k.key, Array.from({ length: n }, (_, i) => n - 1 - i));
  }

  /** Adopted in-flight lists not read yet. */
  get pendingAdopted(): number {
    return this.adopted.length;
  }

  /** Queues in-flight lists taken over from a dead peer (or a previous run) for delivery. */
  adopt(tasks: readonly InflightTask[]): void {
    this.adopted.push(...tasks);
    if (tasks.length > 0) this.d.wake.notify();
  }

  /** Gives a chunk's slots back (its in-flight lists are gone, or it is left for the next start). */
  release(chunk: Chunk): void {
    for (const p of chunk.parts) if (p.slot !== undefined) this.freeSlots.get(p.source.key)?.push(p.slot);
  }

  /** Runs until shutdown. */
  async run(): Promise<void> {
    const { tracker, health } = this.d;
    // Connect, join the instances and take over what a previous run or a dead peer left, before the first claim.
    while (!this.d.stopping()) {
      if (!health.connected) {
        await this.d.wake.wait(1000);
        continue;
      }
      try {
        await tracker.beat();
        const own = await tracker.recoverOwn();
        if (own.length > 0) this.d.log.info({ lists: own.length }, 'found in-flight records of a previous run of this instance; re-delivering them');
        this.adopt(own);
        this.adopt(await tracker.adoptDead());
        break;
      } catch (err) {
        await health.pause(err, 'start-up', this.d.client);
      }
    }
    let pending = this.nextChunk();
    for (;;) {
      const chunk = await pending;
      if (!chunk) break;
      pending = this.d.stopping() ? Promise.resolve(undefined) : this.nextChunk();
      await this.d.handover.deliver(chunk);
    }
  }

  /** The next chunk to deliver, or undefined once stopping. Never throws. */
  private async nextChunk(): Promise<Chunk | undefined> {
    const { tracker, health, wake } = this.d;
    for (;;) {
      if (this.d.stopping()) return undefined;
      try {
        const retry = this.d.handover.nextRetry();
        if (retry) return retry;
        if (!health.connected) {
          await wake.wait(1000);
          continue;
        }
        // Slots whose claim outcome is unknown are open chunks already: read them back first.
        const ready = this.ready.shift();
        if (ready) return ready;
        const unread = this.unread.shift();
        if (unread) {
          const chunk = await this.read(unread);
          if (chunk) return chunk;
          continue;
        }
        if (!tracker.fresh) {
          // Never claim while a peer might think we are dead and adopt what we claim.
          await tracker.beat().then(() => wake.notify(), (err: unknown) => health.pause(err, 'heartbeat', this.d.client));
          continue;
        }
        if (this.d.ledger.size >= this.d.config.max_unacked_chunks || this.d.ledger.bytes >= this.d.config.max_unacked_bytes) {
          // Some open chunks may be held by a processor to be emitted with later ones (the sli window):
          // there are no later ones until a chunk ends, so they are emitted now instead of at its timer —
          // unless a delivered chunk is being acknowledged: its slot frees in a round trip, and the window
          // may grow meanwhile (releasing then would cut every window short under a small bound).
          if (!this.d.ledger.has('acking')) this.d.handover.release();
          await wake.wait();
          continue;
        }
        const task = this.adopted.shift();
        if (task) {
          const chunk = await this.read(task);
          if (chunk) return chunk;
          continue;
        }
        const now = Date.now();
        if (now >= this.nextPollAt) {
          if (this.active.size === 0) {
            await this.poll();
            continue;
          }
          // Draining: the poll goes out together with the claim (one round trip) instead of in front of
          // it. Awaited first, it kept the claim from overlapping the decoding of the chunk before — with
          // a short poll_interval the drain then waited for Redis on nearly every chunk.
          const polled = this.poll();
          const chunk = await this.claim();
          await polled;
          if (chunk) return chunk;
          continue;
        }
        if (this.active.size === 0) {
          await wake.wait(this.nextPollAt - now);
          continue;
        }
        const chunk = await this.claim();
        if (chunk) return chunk;
      } catch (err) {
        // Only bugs reach here: log and back off rather than spin.
        this.d.log.error({ err }, 'unexpected error in the drain loop; retrying');
        await wake.wait(1000);
      }
    }
  }

  /** One pipelined LLEN of every list: finds lists with data and samples the backlog gauges. */
  private async poll(): Promise<void> {
    const client = this.d.client;
    const results = await Promise.allSettled(this.d.keys.map((k) => client.llen(k.key)));
    let broken: unknown;
    results.forEach((r, i) => {
      const k = this.d.keys[i] as DrainKey;
      if (r.status === 'fulfilled') {
        this.d.backlog.set(k.key, r.value);
        if (r.value > 0) {
          const a = this.active.get(k.key);
          if (a) a.estimate = r.value;
          else this.active.set(k.key, { key: k, estimate: r.value });
        } else {
          this.active.delete(k.key);
          const lag = this.d.lag.get(k.key);
          if (lag) lag.oldest = lag.newest = 0;
        }
      } else if (isWrongType(r.reason)) {
        this.active.delete(k.key);
        this.d.health.burst.log('warn', { key: k.key }, 'a drained key is not a list; skipping it');
      } else {
        broken ??= r.reason;
      }
    });
    if (broken !== undefined) {
      await this.d.health.pause(broken, 'poll', client);
      return;
    }
    this.nextPollAt = Date.now() + this.d.config.poll_interval;
    this.d.health.succeeded();
  }

  /**
   * One claim round over the lists with data, up to `chunk_size` records (and about `max_chunk_bytes`)
   * in total. Every list's part goes to an in-flight list of its own. At-least-once, each part is a chunk
   * of its own (the unit that is read back, re-delivered and acknowledged together, so its id stays the
   * same), and a round claims from no more lists than there is room for open chunks (by count and bytes). At-most-once, the
   * parts of a round form one chunk: they are removed from Redis before delivery and never read back.
   */
  private async claim(): Promise<Chunk | undefined> {
    const { client, tracker, health, config } = this.d;
    const atLeastOnce = config.delivery === 'at_least_once';
    const lists = [...this.active.values()];
    const planned: { list: ActiveList; n: number; slot: number; inflightKey: string; id: string }[] = [];
    let budget = config.chunk_size;
    // Room for open chunks, by count and by bytes (each part may take up to max_chunk_bytes).
    const roomBytes = Math.ceil((config.max_unacked_bytes - this.d.ledger.bytes) / config.max_chunk_bytes);
    const room = atLeastOnce ? Math.max(1, Math.min(config.max_unacked_chunks - this.d.ledger.size, roomBytes)) : lists.length;
    const start = this.rr++ % lists.length;
    for (let i = 0; i < lists.length && budget > 0 && planned.length < room; i++) {
      const list = lists[(start + i) % lists.length] as ActiveList;
      const slot = this.freeSlots.get(list.key.key)?.pop();
      if (slot === undefined) continue;
      const n = Math.min(list.estimate, budget);
      planned.push({ list, n, slot, inflightKey: tracker.slotKey(list.key, slot), id: randomUUID() });
      budget -= n;
    }
    if (planned.length === 0) {
      await this.d.wake.wait(1000);
      return undefined;
    }
    const free = (key: string, slot: number) => this.freeSlots.get(key)?.push(slot);
    try {
      await Promise.all(planned.map((p) => tracker.register(p.inflightKey, p.list.key)));
    } catch (err) {
      for (const p of planned) free(p.list.key.key, p.slot);
      await health.pause(err, 'in-flight registration', client);
      return undefined;
    }
    // A chunk of several lists shares the byte bound.
    const maxBytes = atLeastOnce ? config.max_chunk_bytes : Math.max(1, Math.floor(config.max_chunk_bytes / planned.length));
    // Keys of a round may live on different cluster nodes, so one claim per key; ioredis writes them back
    // to back (one round trip), they just are not one transaction — each list is claimed atomically.
    const results = await Promise.allSettled(planned.map((p) => claimInflight(client, p.list.key.key, p.inflightKey, p.n, maxBytes, p.id)));
    const parts: ChunkPart[] = [];
    const chunks: Chunk[] = [];
    let broken: unknown;
    results.forEach((r, i) => {
      const p = planned[i] as (typeof planned)[number];
      const key = p.list.key.key;
      if (r.status === 'fulfilled') {
        const { items, left } = r.value;
        if (left === 0) this.active.delete(key);
        else p.list.estimate = left;
        if (items.length === 0) {
          free(key, p.slot);
          return;
        }
        const part: ChunkPart = { source: p.list.key, items, inflightKey: p.inflightKey, slot: p.slot };
        if (atLeastOnce) chunks.push(new Chunk(this.d.ledger, [part], { state: 'claimed', id: p.id, recovered: false }));
        else parts.push(part);
        return;
      }
      const err = r.reason as unknown;
      const busy = isReplyError(err) && err.message.includes(INFLIGHT_BUSY);
      // A timeout or a broken connection (the claim may have run, its reply lost), a busy slot (it holds
      // a chunk not delivered yet) or an error half-way through the script: read the in-flight list back
      // and deliver whatever it holds before the slot is used again. Nothing claimed is ever lost.
      if (!isReplyError(err) || busy || /@user_script/.test(err.message)) {
        this.unread.push(new Chunk(this.d.ledger, [{ source: p.list.key, items: [], inflightKey: p.inflightKey, slot: p.slot }], { state: 'unread', recovered: true }));
      } else {
        free(key, p.slot);
      }
      if (isWrongType(err)) {
        this.active.delete(key);
        health.burst.log('warn', { key }, 'a drained key is not a list; skipping it');
      } else if (!busy) {
        broken ??= err;
      }
    });
    if (parts.length > 0) chunks.push(new Chunk(this.d.ledger, parts, { state: 'claimed', id: planned[0]?.id, recovered: false }));
    if (broken !== undefined && chunks.length === 0) {
      await health.pause(broken, 'claim', client);
      return undefined;
    }
    if (broken === undefined) health.succeeded();
    if (chunks.length === 0) return undefined;
    health.report();
    this.ready.push(...chunks.slice(1));
    return chunks[0];
  }

  /**
   * Reads an in-flight list back: an unread slot chunk, or an adopted list (which becomes a chunk once
   * read). Returns the chunk when it holds something to deliver.
   */
  private async read(what: Chunk | InflightTask): Promise<Chunk | undefined> {
    const slotChunk = what instanceof Chunk ? what : undefined;
    const part = slotChunk ? (slotChunk.parts[0] as ChunkPart) : undefined;
    const source = part?.source ?? (what as InflightTask).source;
    const inflightKey = (part?.inflightKey ?? (what as InflightTask).inflightKey) as string;
    let got: { id: string; items: Buffer[] };
    try {
      got = await readInflight(this.d.client, inflightKey, randomUUID());
    } catch (err) {
      // Try again later; a slot chunk stays first in line (its slot is taken until then).
      if (slotChunk) this.unread.unshift(slotChunk);
      else this.adopted.unshift(what as InflightTask);
      await this.d.health.pause(err, 'in-flight read', this.d.client);
      return undefined;
    }
    const chunk = slotChunk ?? new Chunk(this.d.ledger, [{ source, items: [], inflightKey, slot: undefined }], { state: 'unread', recovered: true });
    chunk.read(got.items, got.id);
    return chunk.ended ? undefined : chunk;
  }
}
