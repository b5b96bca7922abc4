/**
 * One read of the stream (or one claim of a dead consumer's entries) and its lifecycle — the unit of
 * delivery, re-delivery and acknowledgement:
 *
 * ```
 *  delivering ──retry──▶ retrying ──handOver──▶ delivering
 *  delivering ──settle(end)──▶ acking ──acked──▶ acknowledged | dropped | dead_lettered
 *  any state but an end ──leave──▶ left   (shutdown: the entries stay pending in the group)
 * ```
 * Every batch reaches exactly one end; a transition that is not allowed throws, so a bug never becomes a
 * double acknowledgement.
 */
import type { RecordBatch, RecordWire } from '../../src/model.js';
import type { PipelineOutcome } from '../../src/delivery.js';

/** How a batch ended. */
export type BatchEnd = 'acknowledged' | 'dropped' | 'dead_lettered' | 'left';
/** Where a batch is. */
export type BatchState = 'new' | 'delivering' | 'retrying' | 'acking' | BatchEnd;

const ALLOWED: Readonly<Record<BatchState, readonly BatchState[]>> = {
  new: ['delivering', 'acking', 'left'],
  delivering: ['retrying', 'acking', 'left'],
  retrying: ['delivering', 'left'],
  acking: ['acknowledged', 'dropped', 'dead_lettered', 'left'],
  acknowledged: [], dropped: [], dead_lettered: [], left: [],
};

/** The open batches; calls `ended` once per batch. */
export class BatchLedger {
  private readonly open = new Set<StreamBatch>();
  private openBytes = 0;
  constructor(private readonly onEnd: (b: StreamBatch, end: BatchEnd) => void) {}
  get size(): number {
    return this.open.size;
  }
  /** Bytes of the open batches' entries (what `max_unacked_bytes` bounds). */
  get bytes(): number {
    return this.openBytes;
  }
  /** Whether some open batch is in `state`. */
  has(state: BatchState): boolean {
    for (const b of this.open) if (b.state === state) return true;
    return false;
  }
  openBatches(): StreamBatch[] {
    return [...this.open];
  }
  /** @internal */
  track(b: StreamBatch): void {
    this.open.add(b);
    this.openBytes += b.size;
  }
  /** @internal */
  close(b: StreamBatch, end: BatchEnd): void {
    if (!this.open.delete(b)) throw new Error(`batch ${b.id} ended twice`);
    this.openBytes -= b.size;
    this.onEnd(b, end);
  }
}

/** Entries read together. */
export class StreamBatch {
  private current: BatchState = 'new';
  private pendingEnd: Exclude<BatchEnd, 'left'> | undefined;
  attempts = 0;
  targets: PipelineOutcome['retry'] | undefined;
  permanentError: Error | undefined;
  /**
   * The decoded records while a delivery attempt needs them: released once the pipelines accepted them
   * when `wire` can give them back (a re-delivery decodes `wire` again, see `redecoded`), as the
   * `tyk_redis` receiver's chunks do — an accepted batch may stay open long (held in the sli emission
   * window, queued in an exporter), and its records are not kept alive for a rare retry meanwhile.
   */
  records: RecordBatch | undefined;
  /** How many records the batch has (kept when `records` is released). */
  readonly count: number;
  /** Bytes of its records' entries. */
  readonly size: number;
  /** The records' original bytes and sources (`records.wire`), to decode them again for a re-delivery. */
  wire: RecordWire | undefined;

  /**
   * @param id the chunk id every delivery of these entries carries, derived from their ids (`ranges.ts`).
   * @param ids every entry id of the batch (acknowledged together, including refused ones).
   * @param records the decoded records (with their original bytes as `wire`).
   * @param bytes the entries' bytes, index for index with `records` (for dead letters).
   * @param recovered claimed from a dead consumer or read back from this consumer's pending entries.
   * @param read first id of the registered read the entries belong to (forgotten once they are acknowledged).
   */
  constructor(
    private readonly ledger: BatchLedger,
    readonly id: string,
    readonly ids: readonly string[],
    records: RecordBatch,
    readonly bytes: readonly Buffer[],
    readonly recovered: boolean,
    readonly read: string | undefined,
  ) {
    this.records = records;
    this.count = records.length;
    this.wire = records.wire;
    let size = 0;
    for (const b of bytes) size += b.length;
    this.size = size;
    ledger.track(this);
  }

  /** Whether a re-delivery must first decode the records again (`redecoded`): they were released. */
  get released(): boolean {
    return this.records === undefined && this.wire !== undefined;
  }

  /** The records decoded again from `wire` for a re-delivery (the same records as the first time). */
  redecoded(records: RecordBatch): void {
    if (!this.released) throw new Error(`batch ${this.id}: its records were not released`);
    if (records.length !== this.count) throw new Error(`batch ${this.id}: decoded again to ${records.length} records, not ${this.count}`);
    this.records = records;
  }

  /** The pipelines accepted the hand-over: the decoded records are released when `wire` can give them back. */
  accepted(): void {
    if (this.current !== 'delivering') throw new Error(`batch ${this.id}: accepted in state ${this.current}`);
    if (this.wire !== undefined) this.records = undefined;
  }

  get state(): BatchState {
    return this.current;
  }
  get ended(): boolean {
    return ALLOWED[this.current].length === 0;
  }

  /** → delivering. Returns whether this is a re-delivery. */
  handOver(): boolean {
    const again = this.attempts > 0 || this.recovered;
    this.to('delivering');
    return again;
  }
  retry(targets: PipelineOutcome['retry']): void {
    this.attempts++;
    this.targets = targets;
    this.to('retrying');
  }
  /** Delivery decided: → acking (the caller XACKs, then calls `acked`). */
  settle(end: Exclude<BatchEnd, 'left'>): void {
    this.pendingEnd = end;
    this.to('acking');
  }
  acked(): void {
    this.to(this.pendingEnd ?? 'acknowledged');
  }
  /** Shutdown: the entries stay pending in the group (for this consumer's next start or a peer). */
  leave(): void {
    this.to('left');
  }

  private to(next: BatchState): void {
    if (!ALLOWED[this.current].includes(next)) throw new Error(`batch ${this.id}: ${this.current} → ${next} is not a transition`);
    this.current = next;
    if (ALLOWED[next].length === 0) {
      this.records = undefined;
      this.wire = undefined;
      this.ledger.close(this, next as BatchEnd);
    }
  }
}
