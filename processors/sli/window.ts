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
 *
 * Held chunks are unacknowledged, and a receiver claims nothing more once `max_unacked_chunks` (tyk_redis)
 * or `max_unacked_reads` (redis_stream) are open. So every held chunk is registered with `holdOpen`
 * (`src/held.ts`): a receiver at its bound calls `Pipelines.release()`, and the window is emitted at
 * once (trigger `receiver_limit`) instead of at the end of `emit_interval`. The window is therefore as wide
 * as `emit_max_chunks` / `emit_max_records` allow and the receiver's bound has room for, never stalling
 * the drain, whatever the two settings are.
 */
import type { BatchContext, Settle } from '../../src/component.js';
import { canMerge, mergeContexts } from '../../src/delivery.js';
import { holdOpen } from '../../src/held.js';

/** Emits the aggregated deltas under `ctx` (synchronously takes the state, then hands it on). */
export type EmitFn = (ctx: BatchContext) => Promise<void>;

/**
 * Why a window was emitted: it reached `emit_max_chunks` (`chunks`) or `emit_max_records` (`records`),
 * `emit_interval` passed (`interval`), the receiver reached its bound of unacknowledged chunks
 * (`receiver_limit`), a batch that may not wait came (`redelivery`: a re-delivery or a batch from outside
 * the graph, emitted after the window), or shutdown began (`shutdown`).
 */
export type EmitTrigger = 'chunks' | 'records' | 'interval' | 'receiver_limit' | 'redelivery' | 'shutdown';

/** Told once per emitted window: how many chunks it held and why it was emitted (self-telemetry). */
export type EmittedFn = (chunks: number, trigger: EmitTrigger) => void;

/** Held chunks and when to emit them. */
export class EmitWindow {
  private held: BatchContext[] = [];
  private settles: Settle[] = [];
  /** Withdrawals of the held chunks' `holdOpen` registrations. */
  private withdrawals: (() => void)[] = [];
  private records = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** What a receiver at its bound calls (one function for every held chunk). */
  private readonly release = (): void => void this.flush('receiver_limit');

  /**
   * @param intervalMs longest a chunk is held (0: never hold, emit per batch)
   * @param maxChunks chunks held before the window is emitted at once (held chunks are unacknowledged: a
   *   receiver bounds those, and at its bound it has the window emitted, see `holdOpen`)
   * @param maxRecords records held before the window is emitted at once (bounds the records the receiver
   *   keeps for re-delivery, and backpressure: the consume that fills the window waits for its emission)
   * @param emitted told of every window emitted (self-telemetry)
   */
  constructor(
    private readonly intervalMs: number,
    private readonly maxChunks: number,
    private readonly maxRecords: number,
    private readonly emit: EmitFn,
    private readonly emitted: EmittedFn = () => undefined,
  ) {}

  private closing = false;

  /** Whether a batch consumed under `ctx` may wait in the window (else it is emitted at once, on its own). */
  accepts(ctx: BatchContext): boolean {
    return this.intervalMs > 0 && !this.closing && canMerge(ctx);
  }

  /** Shutdown has begun: emits what is held, and holds nothing from now on. */
  drain(): void {
    this.closing = true;
    void this.flush('shutdown');
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
    this.withdrawals.push(holdOpen(ctx, this.release));
    this.records += records;
    if (this.records >= this.maxRecords) return this.flush('records');
    if (this.held.length >= this.maxChunks) return this.flush('chunks');
    if (this.timer === undefined) {
      // Not unref'd: held chunks are owed an emission even if nothing else keeps the process alive.
      this.timer = setTimeout(() => void this.flush('interval'), this.intervalMs);
    }
    return undefined;
  }

  /** Emits the window (if anything is held); never rejects: the outcome settles every held chunk. */
  flush(trigger: EmitTrigger): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.held.length === 0) return Promise.resolve();
    const held = this.held;
    const settles = this.settles;
    for (const withdraw of this.withdrawals) withdraw();
    this.held = [];
    this.settles = [];
    this.withdrawals = [];
    this.records = 0;
    this.emitted(held.length, trigger);
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
    await this.flush('shutdown');
    await Promise.all([...this.inFlight]);
  }
}
