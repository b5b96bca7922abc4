/**
 * Delivery tracking for one claimed chunk: the receiver creates a `Delivery`, passes `delivery.ctx`
 * down every pipeline, calls `seal()` once every pipeline has accepted (or refused) the chunk, and awaits
 * `done`, which resolves when every deferral has settled — with the first error, if any.
 */
import type { BatchContext, Consumer, Settle } from './component.js';
import type { RecordBatch } from './model.js';
import { isRetryable } from './errors.js';

/** Tracks the deferred deliveries of one batch. */
export class Delivery {
  /** Resolves with undefined when all was delivered, or with the first error. */
  readonly done: Promise<Error | undefined>;
  /** Pass this down the pipeline. */
  readonly ctx: BatchContext;
  private pending = 1;
  private error: Error | undefined;
  private resolve!: (e: Error | undefined) => void;

  constructor() {
    this.done = new Promise((r) => {
      this.resolve = r;
    });
    this.ctx = { defer: () => this.hold() };
  }

  private hold(): Settle {
    this.pending++;
    let settled = false;
    return (err) => {
      if (settled) return;
      settled = true;
      this.release(err);
    };
  }

  private release(err?: Error): void {
    if (err && !this.error) this.error = err;
    if (--this.pending === 0) this.resolve(this.error);
  }

  private sealed = false;

  /** Call once the synchronous part (every pipeline's `consume`) is over; `err` if one of them failed. */
  seal(err?: Error): void {
    if (this.sealed) return;
    this.sealed = true;
    this.release(err);
  }
}

/** A context for callers that do not track delivery (tests, one-shot tools). */
export const UNTRACKED: BatchContext = { defer: () => () => undefined };

/** What became of one batch in each pipeline it was given to. */
export interface PipelineOutcome {
  /** Pipelines (indexes) that accepted and delivered the batch. */
  readonly delivered: readonly number[];
  /** Pipelines that failed with a retryable error: give them the batch again later. */
  readonly retry: readonly number[];
  /** Pipelines that failed for good (the data is lost there; already counted by the failing component). */
  readonly failed: readonly number[];
  /** The first retryable error, else the first permanent one, else undefined. */
  readonly error: Error | undefined;
}

/**
 * The receiver's view of the pipelines it feeds. `consume()` gives a batch to all of them (like any
 * consumer); `deliver()` gives it to all or only some of them and reports the outcome per pipeline, so an
 * at-least-once receiver re-delivers a failed batch only to the pipelines that did not take it — a
 * metrics pipeline never counts the same records twice because a logs pipeline beside it failed.
 */
export interface Pipelines extends Consumer<'records'> {
  /** Number of pipelines fed. */
  readonly size: number;
  /**
   * Gives `batch` to the pipelines listed in `only` (all when omitted). `accepted` resolves once every one
   * of them accepted or refused it (backpressure: do not claim more before it resolves); `outcome`
   * resolves once every deferred delivery settled. Neither rejects.
   */
  deliver(batch: RecordBatch, only?: readonly number[]): { accepted: Promise<void>; outcome: Promise<PipelineOutcome> };
}

/** Feeds one or more pipeline heads, tracking delivery per pipeline. */
export class PipelineFanOut implements Pipelines {
  constructor(private readonly heads: readonly Consumer<'records'>[]) {}

  get size(): number {
    return this.heads.length;
  }

  deliver(batch: RecordBatch, only?: readonly number[]): { accepted: Promise<void>; outcome: Promise<PipelineOutcome> } {
    const targets = only ?? this.heads.map((_, i) => i);
    const runs = targets.map((i) => {
      const d = new Delivery();
      const head = this.heads[i];
      const accepted = (head ? head.consume(batch, d.ctx) : Promise.reject(new Error(`no pipeline ${i}`))).then(
        () => d.seal(),
        (err: unknown) => d.seal(err instanceof Error ? err : new Error(String(err))),
      );
      return { index: i, accepted, done: d.done };
    });
    const accepted = Promise.all(runs.map((r) => r.accepted)).then(() => undefined);
    const outcome = Promise.all(runs.map(async (r) => ({ index: r.index, error: await r.done }))).then((results) => {
      const delivered: number[] = [];
      const retry: number[] = [];
      const failed: number[] = [];
      let retryable: Error | undefined;
      let permanent: Error | undefined;
      for (const r of results) {
        if (r.error === undefined) delivered.push(r.index);
        else if (isRetryable(r.error)) {
          retryable ??= r.error;
          retry.push(r.index);
        } else {
          permanent ??= r.error;
          failed.push(r.index);
        }
      }
      // A retryable error wins: callers that only see `error` must not give up on a batch some pipeline can still take.
      return { delivered, retry, failed, error: retryable ?? permanent };
    });
    return { accepted, outcome };
  }

  async consume(data: RecordBatch, ctx: BatchContext): Promise<void> {
    const settle = ctx.defer();
    const { accepted, outcome } = this.deliver(data);
    await accepted;
    void outcome.then((o) => settle(o.error));
  }
}

/** Wraps a plain consumer as a single pipeline (tests, tools). */
export function asPipelines(consumer: Consumer<'records'>): Pipelines {
  return consumer instanceof PipelineFanOut ? consumer : new PipelineFanOut([consumer]);
}
