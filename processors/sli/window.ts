/**
 * The `sli` processor's emission window: the chunks whose records were aggregated since the last emission,
 * held open until their deltas are emitted — as one `MetricsBatch` per window instead of one per chunk.
 *
 * Why: a 1000-record chunk of diverse traffic touches ~1000 series, so emitting per chunk hands the
 * exporters about as many delta points (each a histogram with its bucket array) as records. A window of
 * several chunks emits each touched series once.
 *
 * Acknowledgement stays exact (see `src/component.ts` and `mergeContexts` in `src/delivery.ts`): a held
 * chunk's context is kept open with `ctx.defer()`, so the receiver acknowledges the chunk only once the
 * window's batch reached every exporter; the window is emitted under a merged context whose per-exporter
 * outcome counts for each of its chunks, so a chunk an exporter failed is re-delivered to that exporter
 * alone and then emitted on its own. Only first delivery attempts made by the graph are held
 * (`canMerge`): re-deliveries and batches from outside the graph are emitted at once under their own
 * context, after the window is emitted (the processor's state is shared, so the two never mix).
 * When the graph's shutdown begins (`beginShutdown`, before any receiver stops) the window is emitted and
 * nothing is held any more, so the receivers' wait for outstanding deliveries ends with those deliveries
 * and a clean shutdown leaves no chunk both counted and still in Redis; `shutdown()` emits whatever is left.
 */
import type { BatchContext, Settle } from '../../src/component.js';
import { canMerge, mergeContexts } from '../../src/delivery.js';

/** Emits the aggregated deltas under `ctx` (synchronously takes the state, then hands it on). */
export type EmitFn = (ctx: BatchContext) => Promise<void>;

/** Held chunks and when to emit them. */
export class EmitWindow {
  private held: BatchContext[] = [];
  private settles: Settle[] = [];
  private records = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param intervalMs longest a chunk is held (0: never hold, emit per batch)
   * @param maxChunks chunks held before the window is emitted at once (held chunks are unacknowledged: a
   *   receiver bounds those, and claims nothing more at its bound)
   * @param maxRecords records held before the window is emitted at once (bounds the records the receiver
   *   keeps for re-delivery, and backpressure: the consume that fills the window waits for its emission)
   */
  constructor(
    private readonly intervalMs: number,
    private readonly maxChunks: number,
    private readonly maxRecords: number,
    private readonly emit: EmitFn,
  ) {}

  private closing = false;

  /** Whether a batch consumed under `ctx` may wait in the window (else it is emitted at once, on its own). */
  accepts(ctx: BatchContext): boolean {
    return this.intervalMs > 0 && !this.closing && canMerge(ctx);
  }

  /** Shutdown has begun: emits what is held, and holds nothing from now on. */
  drain(): void {
    this.closing = true;
    void this.flush();
  }

  /** Whether chunks are held. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  /**
   * Holds `ctx`, whose `records` were just aggregated. Returns the window's emission when this filled it
   * (the caller awaits it: backpressure), else undefined.
   */
  hold(ctx: BatchContext, records: number): Promise<void> | undefined {
    this.held.push(ctx);
    this.settles.push(ctx.defer());
    this.records += records;
    if (this.records >= this.maxRecords || this.held.length >= this.maxChunks) return this.flush();
    if (this.timer === undefined) {
      // Not unref'd: held chunks are owed an emission even if nothing else keeps the process alive.
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
    }
    return undefined;
  }

  /** Emits the window (if anything is held); never rejects: the outcome settles every held chunk. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.held.length === 0) return Promise.resolve();
    const held = this.held;
    const settles = this.settles;
    this.held = [];
    this.settles = [];
    this.records = 0;
    const run = (async () => {
      let error: Error | undefined;
      try {
        await this.emit(held.length === 1 ? (held[0] as BatchContext) : mergeContexts(held));
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      for (const settle of settles) settle(error);
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  /** Emits what is held and waits for every emission still in flight (shutdown). */
  async close(): Promise<void> {
    this.closing = true;
    await this.flush();
    await Promise.all([...this.inFlight]);
  }
}
