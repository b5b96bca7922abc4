/**
 * A claimed chunk and its lifecycle — the unit of delivery, acknowledgement and re-delivery.
 *
 * ```
 *  unread ──read──▶ claimed ──take──▶ taking ──taken──▶ taken ──handOver──▶ delivering     (at-most-once)
 *                      └──────────────────handOver──────────────────────────▶ delivering     (at-least-once)
 *  delivering ──retry──▶ retrying ──handOver──▶ delivering
 *  delivering | claimed | taken ──settle(end)──▶ acking ──acked──▶ end     (while the in-flight list exists)
 *                                            └──────────────────▶ end     (nothing left in Redis)
 *  any state but an end ──leave──▶ left   (shutdown, while an in-flight list holds it: it stays in Redis)
 *                                └──▶ lost   (shutdown, once it is out of Redis and not delivered)
 *  unread ──read(nothing)──▶ empty
 * ```
 * An end is one of `acknowledged` (delivered everywhere), `dropped` (some pipeline failed and the
 * records are given up there), `dead_lettered` (moved to the dead-letter list), `left` (still in an
 * in-flight list in Redis: a peer or the next start re-delivers it), `lost` (at-most-once: removed from
 * Redis, then the shutdown came before its delivery finished) and `empty` (an in-flight list that held
 * nothing). Every chunk reaches exactly one end; the ledger counts the open ones, and every
 * counter and acknowledgement hangs off a transition here rather than off the code that drives it. A
 * transition that is not allowed throws: it is a bug, and it must never become a double
 * acknowledgement or a chunk counted twice.
 */
import type { RecordBatch, RecordWire } from '../../src/model.js';
import type { PipelineOutcome } from '../../src/delivery.js';
import type { DrainKey } from './keys.js';

/** One list's share of a chunk. */
export interface ChunkPart {
  readonly source: DrainKey;
  /** The claimed elements; released once decoded. */
  items: Buffer[];
  /** The in-flight list holding these elements (undefined when the claim removed them from Redis). */
  readonly inflightKey: string | undefined;
  /** Our slot index for `inflightKey`, or undefined for an adopted list (or no in-flight list). */
  readonly slot: number | undefined;
}

/** How a chunk ended. */
export type ChunkEnd = 'acknowledged' | 'dropped' | 'dead_lettered' | 'left' | 'lost' | 'empty';

/** Where a chunk is in its lifecycle. */
export type ChunkState = 'unread' | 'claimed' | 'taking' | 'taken' | 'delivering' | 'retrying' | 'acking' | ChunkEnd;

/** The ends `settle` may choose (the others come from `leave` and `read`). */
export type SettledEnd = 'acknowledged' | 'dropped' | 'dead_lettered';

/** Why a chunk's records were dropped (the `reason` label of the dropped counter). */
export type DropReason = 'delivery_failed' | 'delivery_failed_permanently';

const ALLOWED: Readonly<Record<ChunkState, readonly ChunkState[]>> = {
  unread: ['claimed', 'empty', 'left'],
  claimed: ['taking', 'delivering', 'acking', 'acknowledged', 'dropped', 'dead_lettered', 'left', 'lost'],
  taking: ['taken', 'left'],
  taken: ['delivering', 'acknowledged', 'dropped', 'dead_lettered', 'lost'],
  delivering: ['retrying', 'acking', 'acknowledged', 'dropped', 'dead_lettered', 'left', 'lost'],
  retrying: ['delivering', 'left'],
  acking: ['acknowledged', 'dropped', 'dead_lettered', 'left'],
  acknowledged: [],
  dropped: [],
  dead_lettered: [],
  left: [],
  lost: [],
  empty: [],
};

function sizeOf(items: readonly Buffer[]): number {
  let n = 0;
  for (const b of items) n += b.length;
  return n;
}

const ENDS: ReadonlySet<ChunkState> = new Set<ChunkState>(['acknowledged', 'dropped', 'dead_lettered', 'left', 'lost', 'empty']);

/** Whether `state` is an end. */
export function isEnd(state: ChunkState): state is ChunkEnd {
  return ENDS.has(state);
}

/** What the receiver does on a chunk's transitions. */
export interface ChunkHooks {
  /** The pipelines accepted the chunk for the first time (`n` records). */
  accepted(chunk: Chunk, n: number): void;
  /** The chunk is handed to (some) pipelines again, or for the first time after a recovery. */
  redelivered(chunk: Chunk, n: number): void;
  /** The chunk ended (exactly once per chunk). */
  ended(chunk: Chunk, end: ChunkEnd): void;
}

/** Counts the chunks that have not ended and calls the hooks. */
export class ChunkLedger {
  private readonly open = new Set<Chunk>();
  private readonly ends = new Map<ChunkEnd, number>();
  private openBytes = 0;

  constructor(readonly hooks: ChunkHooks) {}

  /** Chunks claimed (or in-flight lists taken on) that have not ended. */
  get size(): number {
    return this.open.size;
  }

  /** Bytes of the claimed elements of the open chunks (what `max_unacked_bytes` bounds). */
  get bytes(): number {
    return this.openBytes;
  }

  /** How many chunks ended with `end` so far. */
  ended(end: ChunkEnd): number {
    return this.ends.get(end) ?? 0;
  }

  /** Whether some open chunk is in `state` (at most `max_unacked_chunks` to look at). */
  has(state: ChunkState): boolean {
    for (const c of this.open) if (c.state === state) return true;
    return false;
  }

  /** The open chunks (for shutdown: each one left in Redis ends as `left`). */
  openChunks(): Chunk[] {
    return [...this.open];
  }

  /** @internal called by Chunk. */
  track(chunk: Chunk): void {
    this.open.add(chunk);
    this.openBytes += chunk.bytes;
  }

  /** @internal called by Chunk: an unread chunk's elements were read back. */
  grew(bytes: number): void {
    this.openBytes += bytes;
  }

  /** @internal called by Chunk, once per chunk. */
  close(chunk: Chunk, end: ChunkEnd): void {
    if (!this.open.delete(chunk)) throw new Error(`chunk ${chunk.id ?? '?'} ended twice`);
    this.openBytes -= chunk.bytes;
    this.ends.set(end, (this.ends.get(end) ?? 0) + 1);
    this.hooks.ended(chunk, end);
  }
}

/** One claim round (or one in-flight list read back). */
export class Chunk {
  private current: ChunkState;
  private sizeBytes = 0;
  private pendingEnd: SettledEnd | undefined;
  private acceptedOnce = false;
  private idValue: string | undefined;
  /** Whether an in-flight list in Redis still holds the chunk. */
  private inRedis: boolean;
  /**
   * Decoded good records, while a delivery attempt needs them: released once the pipelines accepted them
   * when `wire` can give them back (a re-delivery decodes `wire` again, see `redecoded`). An accepted chunk
   * may stay open long (held in the sli emission window, queued in an exporter); its records are not
   * kept alive for a rare retry meanwhile.
   */
  records: RecordBatch | undefined;
  /** How many good records the chunk has (known once decoded; kept when `records` is released). */
  recordCount: number | undefined;
  /** The elements of the good records, index for index (kept to dead-letter them after a permanent failure; released at the end). */
  recordBytes: Buffer[] | undefined;
  /** The good records' original bytes and sources (`records.wire`), to decode them again for a re-delivery; released at the end. */
  wire: RecordWire | undefined;
  /** The first permanent delivery failure of any attempt (the records go to the dead-letter list). */
  permanentError: Error | undefined;
  /** Re-deliveries so far. */
  attempts = 0;
  /** Where a re-delivery goes (the failed part of the last outcome); undefined = everywhere. */
  targets: PipelineOutcome['retry'] | undefined;
  /** Why the records were dropped (when the chunk ends `dropped`). */
  dropReason: DropReason | undefined;

  constructor(
    private readonly ledger: ChunkLedger,
    readonly parts: ChunkPart[],
    init: {
      /** `claimed` with the elements in `parts`, or `unread` (contents in an in-flight list). */
      readonly state: 'claimed' | 'unread';
      /** Stable id (known once read for an `unread` chunk). */
      readonly id?: string;
      /** Read back from an in-flight list (adopted, recovered, or a lost claim reply): a re-delivery. */
      readonly recovered: boolean;
    },
  ) {
    this.current = init.state;
    this.idValue = init.id;
    this.recovered = init.recovered;
    this.inRedis = parts.some((p) => p.inflightKey !== undefined);
    for (const p of parts) this.sizeBytes += sizeOf(p.items);
    ledger.track(this);
  }

  /** Bytes of the claimed elements (known once claimed or read back; kept after they are released). */
  get bytes(): number {
    return this.sizeBytes;
  }

  /** Read back from an in-flight list: every hand-over counts as a re-delivery. */
  readonly recovered: boolean;

  /** The chunk id: the same on every delivery of these elements, whoever delivers them. */
  get id(): string | undefined {
    return this.idValue;
  }

  get state(): ChunkState {
    return this.current;
  }

  /** Whether the chunk reached its end. */
  get ended(): boolean {
    return isEnd(this.current);
  }

  /** Number of claimed elements not yet decoded. */
  get itemCount(): number {
    let n = 0;
    for (const p of this.parts) n += p.items.length;
    return n;
  }

  /** The in-flight lists that hold a copy of the chunk in Redis (none once taken). */
  get inflightParts(): ChunkPart[] {
    return this.inRedis ? this.parts.filter((p) => p.inflightKey !== undefined) : [];
  }

  /** unread → claimed with the elements read back (or → empty when the list held nothing). */
  read(items: Buffer[], id: string | undefined): void {
    this.expect('unread');
    if (items.length === 0) {
      this.to('empty');
      return;
    }
    const part = this.parts[0];
    if (!part) throw new Error('an unread chunk has one part');
    part.items = items;
    const n = sizeOf(items);
    this.sizeBytes += n;
    this.ledger.grew(n);
    this.idValue = id;
    this.to('claimed');
  }

  /** Stores the decoded records (and their elements) and releases the claimed elements. */
  decoded(records: RecordBatch, recordBytes?: Buffer[]): void {
    if (this.recordCount !== undefined) throw new Error(`chunk ${this.id ?? '?'} decoded twice`);
    this.records = records;
    this.recordCount = records.length;
    this.recordBytes = recordBytes;
    this.wire = records.wire;
    for (const p of this.parts) p.items = [];
  }

  /** Whether a re-delivery must first decode the records again (`redecoded`): they were released. */
  get released(): boolean {
    return this.records === undefined && this.recordCount !== undefined && this.wire !== undefined;
  }

  /** The records decoded again from `wire` for a re-delivery (the same records as the first time). */
  redecoded(records: RecordBatch): void {
    this.expect('retrying', 'claimed', 'taken');
    if (!this.released) throw new Error(`chunk ${this.id ?? '?'}: its records were not released`);
    if (records.length !== this.recordCount) throw new Error(`chunk ${this.id ?? '?'}: decoded again to ${records.length} records, not ${this.recordCount}`);
    this.records = records;
  }

  /** claimed → taking: at-most-once removes the chunk from Redis before delivering it. */
  take(): void {
    this.expect('claimed');
    this.to('taking');
  }

  /** taking → taken: Redis confirmed the removal. */
  taken(): void {
    this.expect('taking');
    this.inRedis = false;
    this.to('taken');
  }

  /** → delivering: handed to the pipelines in `targets`. Counts a re-delivery. */
  handOver(): void {
    this.expect('claimed', 'taken', 'retrying');
    const again = this.attempts > 0 || this.recovered;
    this.to('delivering');
    if (again) this.ledger.hooks.redelivered(this, this.recordCount ?? 0);
  }

  /**
   * The pipelines accepted the hand-over: counted on the first time only. The decoded records are released
   * when `wire` can give them back (nothing downstream keeps them: a component that keeps data past
   * `consume` keeps its own copy or encoding).
   */
  accepted(): void {
    this.expect('delivering');
    if (this.wire !== undefined) this.records = undefined;
    if (this.acceptedOnce) return;
    this.acceptedOnce = true;
    this.ledger.hooks.accepted(this, this.recordCount ?? 0);
  }

  /** delivering → retrying: re-deliver to `targets` after a backoff. */
  retry(targets: PipelineOutcome['retry']): void {
    this.expect('delivering');
    this.attempts++;
    this.targets = targets;
    this.to('retrying');
  }

  /**
   * Delivery is decided. While the chunk still has an in-flight list it goes to `acking` (the caller
   * deletes the list, then calls `acked`); otherwise it ends at once. Returns whether an ack is needed.
   */
  settle(end: SettledEnd, reason?: DropReason): boolean {
    this.expect('claimed', 'taken', 'delivering');
    if (end === 'dropped') this.dropReason = reason ?? 'delivery_failed';
    if (this.inRedis) {
      this.pendingEnd = end;
      this.to('acking');
      return true;
    }
    this.to(end);
    return false;
  }

  /** acking → the end chosen by `settle`: Redis confirmed the deletion of the in-flight lists. */
  acked(): void {
    this.expect('acking');
    this.inRedis = false;
    this.to(this.pendingEnd as SettledEnd);
  }

  /**
   * Shutdown: any state but an end → left (it stays in Redis for a peer or the next start), or → lost
   * when it is no longer in Redis (at-most-once, taken and not delivered). Returns the end.
   */
  leave(): 'left' | 'lost' {
    if (this.ended) throw new Error(`chunk ${this.id ?? '?'} left after it ended (${this.current})`);
    const end = this.inRedis ? 'left' : 'lost';
    this.to(end);
    return end;
  }

  private expect(...states: ChunkState[]): void {
    if (!states.includes(this.current)) throw new Error(`chunk ${this.id ?? '?'}: not allowed in state ${this.current} (expected ${states.join(' or ')})`);
  }

  private to(next: ChunkState): void {
    if (!ALLOWED[this.current].includes(next)) throw new Error(`chunk ${this.id ?? '?'}: ${this.current} → ${next} is not a transition`);
    this.current = next;
    if (isEnd(next)) {
      this.recordBytes = undefined;
      this.wire = undefined;
      this.records = undefined;
      for (const p of this.parts) p.items = [];
      this.ledger.close(this, next);
    }
  }
}
