/**
 * Delivery tracking for one claimed chunk: the receiver creates a `Delivery`, passes `delivery.ctx`
 * down every pipeline, calls `seal()` once every pipeline has accepted (or refused) the chunk, and awaits
 * `done`, which resolves when every deferral has settled — with the first error, if any.
 */
import type { BatchContext, Settle } from './component.js';

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
