/**
 * Two small coordination helpers of the Redis receivers: `Wakeup` (wakes the drain loop when something it waits
 * for may have changed) and `Background` (promises shutdown waits for, e.g. acknowledgements).
 */

/** Wakes waiting loops when something they wait for may have changed. */
export class Wakeup {
  private waiters: (() => void)[] = [];

  /** Resolves on the next `notify()` or after `ms` (if given). */
  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (ms !== undefined) timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, Math.max(0, ms));
    });
  }

  /** Wakes every waiter. */
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A set of running promises (never rejecting) that shutdown waits for. */
export class Background {
  private readonly running = new Set<Promise<unknown>>();

  /** Tracks `p` until it settles. */
  add(p: Promise<unknown>): void {
    const safe = p.catch(() => undefined);
    this.running.add(safe);
    void safe.finally(() => this.running.delete(safe));
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves when any one of the tracked promises settles (at once when none runs). */
  any(): Promise<unknown> {
    return this.running.size === 0 ? Promise.resolve() : Promise.race(this.running);
  }
}

/** The message of an error (or the string of anything else thrown). */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
