/**
 * Batches a processor holds open to emit later, and their release.
 *
 * A processor that folds several first-attempt batches into one (`canMerge`, `mergeContexts` in
 * `delivery.ts`: the `sli` processor's emission window) keeps their contexts open meanwhile. Those chunks
 * are unacknowledged, and an at-least-once receiver bounds its unacknowledged chunks: at its bound it claims
 * nothing more, so nothing later would join the held batches — they would only wait for the processor's
 * own timer. So the processor registers each held batch with {@link holdOpen}, and the receiver, at its
 * bound, calls `Pipelines.release()` (its `PipelineFanOut`'s {@link HeldBatches}), which has them emitted now.
 */
import type { BatchContext } from './component.js';

/** A held batch: how to have it emitted now. */
interface Holder {
  readonly release: () => void;
}

/** The contexts of each fan-out's deliveries → that fan-out's held batches. */
const HELD = new WeakMap<BatchContext, HeldBatches>();

const NOTHING_HELD = (): void => undefined;

/** The batches of one receiver's deliveries that processors hold open (one per `PipelineFanOut`). */
export class HeldBatches {
  private readonly holders = new Set<Holder>();

  /** Makes a context of this fan-out's deliveries one whose batch a processor can register as held. */
  track(ctx: BatchContext): void {
    HELD.set(ctx, this);
  }

  /** @internal {@link holdOpen} */
  hold(release: () => void): () => void {
    const holder: Holder = { release };
    this.holders.add(holder);
    return () => {
      this.holders.delete(holder);
    };
  }

  /** Has every held batch emitted now; returns how many were held. */
  release(): number {
    const n = this.holders.size;
    if (n === 0) return 0;
    const holders = [...this.holders];
    this.holders.clear();
    for (const h of holders) h.release();
    return n;
  }
}

/**
 * For a processor that keeps a batch's context open (`ctx.defer()`) to emit the batch later together with
 * others: registers `release`, which emits it now (see above). Call the returned function when the batch
 * is emitted (it withdraws `release`; a release already called needs no withdrawal). A no-op for a context
 * the graph did not make. `release` must not throw, and may find the batch emitted already (then it does nothing).
 */
export function holdOpen(ctx: BatchContext, release: () => void): () => void {
  return HELD.get(ctx)?.hold(release) ?? NOTHING_HELD;
}
