/**
 * Delivery tracking, per (pipeline, exporter).
 *
 * The receiver gives each claimed chunk to its pipelines through a `Pipelines` (`PipelineFanOut`). Every
 * pipeline gets a context of its own for the chunk; the processors pass it along unchanged, and the
 * pipeline's `ExporterFanOut` recognises it and hands each exporter a context of its own. So the outcome
 * of a delivery attempt is known per exporter of each pipeline, and a re-delivery (`deliver(batch,
 * { only: outcome.retry })`) skips the exporters that already took the chunk (or refused it for good): the
 * processors run again, but nothing reaches an exporter twice while the agent runs. After a crash the
 * adopted chunk goes to every exporter again, with the same `chunkId`.
 *
 * `Delivery` tracks one batch handed to a consumer outside the graph (tests, a processor emitting on its
 * own schedule): its exporters all share the one context, as they do for any context the graph did not make.
 * A processor holding batches to emit them as one registers them (`held.ts`); `Pipelines.release()` emits them.
 */
import type { BatchContext, Consumer, Settle } from './component.js';
import type { RecordBatch, Signal, SignalPayload } from './model.js';
import { FanOutError, isRetryable } from './errors.js';
import { HeldBatches } from './held.js';

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Counts outstanding work (one unit for the synchronous part, one per deferral) and keeps the first error. */
class Pending {
  /** Resolves once the synchronous part is sealed and every deferral settled. */
  readonly done: Promise<void>;
  private count = 1;
  private sealed = false;
  private resolve!: () => void;

  constructor() {
    this.done = new Promise((r) => {
      this.resolve = r;
    });
  }

  /** One more deferral; the returned function (idempotent) ends it, with `onError` called for a failure. */
  hold(onError: (err: Error) => void): Settle {
    this.count++;
    let settled = false;
    return (err) => {
      if (settled) return;
      settled = true;
      if (err) onError(err);
      this.release();
    };
  }

  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    this.release();
  }

  private release(): void {
    if (--this.count === 0) this.resolve();
  }
}

/** Tracks the deferred deliveries of one batch given to a consumer outside the graph. */
export class Delivery {
  /** Resolves with undefined when all was delivered, or with the first error. */
  readonly done: Promise<Error | undefined>;
  /** Pass this down the pipeline. */
  readonly ctx: BatchContext;
  private readonly pending = new Pending();
  private error: Error | undefined;

  constructor(chunkId?: string) {
    const keep = (err: Error) => {
      this.error ??= err;
    };
    this.ctx = { chunkId, defer: () => this.pending.hold(keep) };
    this.done = this.pending.done.then(() => this.error);
  }

  /** Call once the synchronous part (every pipeline's `consume`) is over; `err` if one of them failed. */
  seal(err?: Error): void {
    if (err) this.error ??= err;
    this.pending.seal();
  }
}

/** A context for callers that do not track delivery (tests, one-shot tools). */
export const UNTRACKED: BatchContext = { chunkId: undefined, defer: () => () => undefined };

/** Where one pipeline still has to get a batch: the exporters that already have a final outcome are skipped. */
export interface RetryTarget {
  /** Index of the pipeline, in the order given to `PipelineFanOut`. */
  readonly pipeline: number;
  /** Exporter ids of the pipeline that delivered the batch on an earlier attempt. */
  readonly delivered: readonly string[];
  /** Exporter ids of the pipeline that refused the batch for good on an earlier attempt (lost there). */
  readonly failed: readonly string[];
}

/** What became of one batch in each pipeline it was given to. */
export interface PipelineOutcome {
  /** Pipelines (indexes) where every exporter delivered the batch (on this attempt or an earlier one). */
  readonly delivered: readonly number[];
  /**
   * Pipelines where something failed with a retryable error: give them the batch again later by passing
   * this list as `only` — each target skips the exporters that already delivered or failed for good.
   */
  readonly retry: readonly RetryTarget[];
  /** Pipelines where some exporter (or processor) failed for good and nothing is left to retry. */
  readonly failed: readonly number[];
  /** The first retryable error, else the first permanent one, else undefined. */
  readonly error: Error | undefined;
}

/** Options of one delivery attempt. */
export interface DeliverOptions {
  /** The pipelines (and exporters) still to deliver to, from a previous `outcome.retry`; all when omitted. */
  readonly only?: readonly RetryTarget[] | undefined;
  /** The receiver's stable id of the chunk (`BatchContext.chunkId`); undefined when it has none. */
  readonly chunkId?: string | undefined;
}

/**
 * The receiver's view of the pipelines it feeds. `consume()` gives a batch to all of them (like any
 * consumer); `deliver()` gives it to all or only some of them and reports the outcome per pipeline and
 * exporter, so an at-least-once receiver re-delivers a failed batch only where it was not taken — a
 * metrics pipeline never counts the same records twice because a logs pipeline beside it failed, and a
 * `file` exporter never writes a chunk twice because the `otlp_http` exporter beside it failed.
 */
export interface Pipelines extends Consumer<'records'> {
  /** Number of pipelines fed. */
  readonly size: number;
  /**
   * Gives `batch` to the pipelines (and exporters) of `options.only` (all when omitted). `accepted`
   * resolves once every one of them accepted or refused it (backpressure: do not claim more before it
   * resolves); `outcome` resolves once every deferred delivery settled. Neither rejects.
   */
  deliver(batch: RecordBatch, options?: DeliverOptions): { accepted: Promise<void>; outcome: Promise<PipelineOutcome> };
  /**
   * Has every batch of these deliveries that a processor holds open to emit later (`holdOpen`, `held.ts`:
   * the sli emission window) emitted now. A receiver calls it at its bound of unacknowledged chunks.
   * Returns how many were held (0: the open chunks wait for exporters or retries, not for a processor).
   */
  release(): number;
}

/** One exporter's share of a pipeline run. */
interface ExporterRun {
  readonly ctx: BatchContext;
  error: Error | undefined;
}

/** One pipeline's share of one delivery attempt: the pipeline-level context and each exporter's outcome. */
class PipelineRun {
  /** The context handed to the pipeline's head; processors pass it along unchanged. */
  readonly ctx: BatchContext;
  private readonly pending = new Pending();
  /** A failure not attributed to an exporter (a processor's rejection or deferral). */
  private pipelineError: Error | undefined;
  private readonly exporters = new Map<string, ExporterRun>();
  /** Errors the exporter fan-out threw for this run: already attributed to exporters. */
  private readonly attributed = new WeakSet<Error>();

  constructor(private readonly target: RetryTarget, private readonly chunkId: string | undefined) {
    this.ctx = { chunkId, defer: () => this.holdPipeline() };
    RUNS.set(this.ctx, this);
  }

  /**
   * One unit of pipeline-level work (a processor's deferral). An error already attributed to exporters
   * (a merged batch's exporter failure, reported back by the processor that merged it) is not the
   * pipeline's: the retry goes only to those exporters.
   */
  holdPipeline(): Settle {
    return this.pending.hold((err) => {
      if (!this.attributed.has(err)) this.failPipeline(err);
    });
  }

  /** Whether this is a first attempt that skips no exporter (its batches may be merged, see {@link mergeContexts}). */
  get fresh(): boolean {
    return this.target.delivered.length === 0 && this.target.failed.length === 0;
  }

  get done(): Promise<void> {
    return this.pending.done;
  }

  /** Whether `exporterId` already has a final outcome for this batch (so it must not get it again). */
  skips(exporterId: string): boolean {
    return this.target.delivered.includes(exporterId) || this.target.failed.includes(exporterId);
  }

  /** The exporter's own entry (and context), created when the batch first reaches it. */
  exporter(id: string): ExporterRun {
    let run = this.exporters.get(id);
    if (!run) {
      const entry: ExporterRun = {
        ctx: { chunkId: this.chunkId, defer: () => this.hold(entry) },
        error: undefined,
      };
      this.exporters.set(id, entry);
      run = entry;
    }
    return run;
  }

  /** Counts one unit of an exporter's work (its `consume` call or a deferral) until the returned function runs. */
  hold(entry: ExporterRun): Settle {
    return this.pending.hold((err) => {
      entry.error ??= err;
    });
  }

  /** Marks an error thrown by the exporter fan-out as already attributed. */
  attribute(err: Error): void {
    this.attributed.add(err);
  }

  /** The head's `consume` is over; `err` if it rejected. */
  seal(err?: Error): void {
    if (err && !this.attributed.has(err)) this.failPipeline(err);
    this.pending.seal();
  }

  private failPipeline(err: Error): void {
    this.pipelineError ??= err;
  }

  /** The run's result, once `done`. */
  result(): { kind: 'delivered' | 'failed'; error: Error | undefined } | { kind: 'retry'; error: Error; target: RetryTarget } {
    const delivered = [...this.target.delivered];
    const failed = [...this.target.failed];
    let retryable: Error | undefined;
    let permanent: Error | undefined;
    for (const [id, run] of this.exporters) {
      if (!run.error) delivered.push(id);
      else if (isRetryable(run.error)) retryable ??= run.error;
      else {
        permanent ??= run.error;
        failed.push(id);
      }
    }
    const pe = this.pipelineError;
    if (pe && isRetryable(pe)) retryable ??= pe;
    else if (pe) permanent ??= pe;
    if (retryable) return { kind: 'retry', error: retryable, target: { pipeline: this.target.pipeline, delivered, failed } };
    if (permanent) return { kind: 'failed', error: permanent };
    if (failed.length > 0) return { kind: 'failed', error: new Error(`exporter(s) ${failed.join(', ')} refused the batch for good on an earlier attempt`) };
    return { kind: 'delivered', error: undefined };
  }
}

/** Pipeline-level contexts made by `PipelineFanOut`, so the exporter fan-out can find their run. */
const RUNS = new WeakMap<BatchContext, PipelineRun>();
/** Contexts made by {@link mergeContexts}: the runs they stand for. */
const MERGED = new WeakMap<BatchContext, readonly PipelineRun[]>();

/**
 * Whether a batch consumed under `ctx` may be folded with others into one downstream batch (see
 * {@link mergeContexts}): true for a first delivery attempt made by the graph's `PipelineFanOut`, which
 * skips no exporter. A re-delivery (some exporters already have the chunk) and a context made outside the
 * graph must be emitted on their own, under their own context.
 */
export function canMerge(ctx: BatchContext): boolean {
  return RUNS.get(ctx)?.fresh === true;
}

/**
 * One context standing for several {@link canMerge} contexts of one pipeline, for a processor that folds
 * the batches it consumed under them into one batch it emits later (the `sli` processor's interval
 * emission). Each exporter's outcome of the merged batch counts, for every one of those contexts, as that
 * exporter's outcome of its own chunk: a chunk is acknowledged once every exporter took the merged batch,
 * and a retry of it goes exactly to the exporters that failed it (the processor then emits that chunk on
 * its own) — no exporter gets a chunk's data twice. The processor keeps each original context open with
 * `ctx.defer()` when it consumes the batch and settles that deferral once the merged batch's `consume`
 * returned (with its error, if any: an exporter's error is recognised as that exporter's, not the
 * pipeline's). `chunkId` is undefined: the merged batch comes from several chunks.
 */
export function mergeContexts(ctxs: readonly BatchContext[]): BatchContext {
  const runs = ctxs.map((c) => {
    const run = RUNS.get(c);
    if (run === undefined || !run.fresh) throw new Error('mergeContexts: only contexts for which canMerge() is true can be merged');
    return run;
  });
  const ctx: BatchContext = {
    chunkId: undefined,
    defer: () => {
      const settles = runs.map((r) => r.holdPipeline());
      return (err) => {
        for (const settle of settles) settle(err);
      };
    },
  };
  MERGED.set(ctx, runs);
  return ctx;
}

/** One exporter at the end of a pipeline, by id. */
export interface ExporterTarget<S extends Signal> {
  readonly id: string;
  readonly consumer: Consumer<S>;
}

/**
 * The end of a pipeline: gives one batch to every exporter concurrently (all of them get it even if one
 * fails; the rejection is a `FanOutError` when several failed). Under a context made by
 * `PipelineFanOut` it tracks each exporter's outcome and skips the exporters that already took the batch.
 */
export class ExporterFanOut<S extends Signal> implements Consumer<S> {
  constructor(private readonly exporters: readonly ExporterTarget<S>[]) {}

  async consume(data: SignalPayload[S], ctx: BatchContext): Promise<void> {
    const merged = MERGED.get(ctx);
    if (merged !== undefined) return this.consumeMerged(data, merged);
    const run = RUNS.get(ctx);
    const calls = run
      ? this.exporters.filter((e) => !run.skips(e.id)).map((e) => this.tracked(run, e, data))
      : this.exporters.map((e) => e.consumer.consume(data, ctx));
    if (calls.length === 1) {
      // One exporter: its own error, as if there were no fan-out.
      try {
        return await (calls[0] as Promise<void>);
      } catch (err) {
        const e = toError(err);
        run?.attribute(e);
        throw e;
      }
    }
    const results = await Promise.allSettled(calls);
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (errors.length === 0) return;
    const err = new FanOutError(errors);
    run?.attribute(err);
    throw err;
  }

  /**
   * A merged batch (see {@link mergeContexts}): every exporter gets it once (fresh runs skip none), and its
   * outcome — of `consume` and of each deferral — is recorded as that exporter's outcome in every run.
   */
  private async consumeMerged(data: SignalPayload[S], runs: readonly PipelineRun[]): Promise<void> {
    const results = await Promise.allSettled(
      this.exporters.map(async (e) => {
        const entries = runs.map((r) => r.exporter(e.id));
        const holdAll = (): Settle => {
          const settles = runs.map((r, i) => r.hold(entries[i] as ExporterRun));
          return (err) => {
            for (const settle of settles) settle(err);
          };
        };
        const settle = holdAll();
        try {
          await e.consumer.consume(data, { chunkId: undefined, defer: holdAll });
          settle();
        } catch (err) {
          const error = toError(err);
          settle(error);
          throw error;
        }
      }),
    );
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    if (errors.length === 0) return;
    const err = errors.length === 1 ? (errors[0] as Error) : new FanOutError(errors);
    for (const r of runs) r.attribute(err);
    throw err;
  }

  private async tracked(run: PipelineRun, e: ExporterTarget<S>, data: SignalPayload[S]): Promise<void> {
    const entry = run.exporter(e.id);
    const settle = run.hold(entry);
    try {
      await e.consumer.consume(data, entry.ctx);
      settle();
    } catch (err) {
      const error = toError(err);
      settle(error);
      throw error;
    }
  }
}

/** Feeds one or more pipeline heads, tracking delivery per pipeline and exporter. */
export class PipelineFanOut implements Pipelines {
  private readonly held = new HeldBatches();

  constructor(private readonly heads: readonly Consumer<'records'>[]) {}

  get size(): number {
    return this.heads.length;
  }

  release(): number {
    return this.held.release();
  }

  deliver(batch: RecordBatch, options: DeliverOptions = {}): { accepted: Promise<void>; outcome: Promise<PipelineOutcome> } {
    const targets: readonly RetryTarget[] = options.only ?? this.heads.map((_, pipeline) => ({ pipeline, delivered: [], failed: [] }));
    const runs = targets.map((target) => {
      const run = new PipelineRun(target, options.chunkId);
      this.held.track(run.ctx);
      const head = this.heads[target.pipeline];
      const accepted = (head ? head.consume(batch, run.ctx) : Promise.reject(new Error(`no pipeline ${target.pipeline}`))).then(
        () => run.seal(),
        (err: unknown) => run.seal(toError(err)),
      );
      return { pipeline: target.pipeline, run, accepted };
    });
    const accepted = Promise.all(runs.map((r) => r.accepted)).then(() => undefined);
    const outcome = Promise.all(runs.map(async (r) => ({ pipeline: r.pipeline, ...(await r.run.done.then(() => r.run.result())) }))).then((results) => {
      const delivered: number[] = [];
      const retry: RetryTarget[] = [];
      const failed: number[] = [];
      let retryable: Error | undefined;
      let permanent: Error | undefined;
      for (const r of results) {
        if (r.kind === 'delivered') delivered.push(r.pipeline);
        else if (r.kind === 'retry') {
          retryable ??= r.error;
          retry.push(r.target);
        } else {
          permanent ??= r.error;
          failed.push(r.pipeline);
        }
      }
      // A retryable error wins: callers that only see `error` must not give up on a batch some pipeline can still take.
      return { delivered, retry, failed, error: retryable ?? permanent };
    });
    return { accepted, outcome };
  }

  async consume(data: RecordBatch, ctx: BatchContext): Promise<void> {
    const settle = ctx.defer();
    const { accepted, outcome } = this.deliver(data, { chunkId: ctx.chunkId });
    await accepted;
    void outcome.then((o) => settle(o.error));
  }
}

/** Wraps a plain consumer as a single pipeline (tests, tools). */
export function asPipelines(consumer: Consumer<'records'>): Pipelines {
  return consumer instanceof PipelineFanOut ? consumer : new PipelineFanOut([consumer]);
}
