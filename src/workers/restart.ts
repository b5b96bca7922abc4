/**
 * When a crashed worker thread of `service.workers` is started again: after an exponential backoff per
 * worker (reset once the worker had run for a while), and at most a bounded number of restarts per minute
 * for the whole pool — a crash loop costs a few restarts a minute, not a busy CPU.
 */

/** The restart policy's numbers. */
export interface RestartLimits {
  /** Delay before the first restart of a worker that crashed (ms); doubled for each crash in a row. */
  readonly initialMs: number;
  /** Cap of the doubled delay (ms). */
  readonly maxMs: number;
  /** Restarts at most per minute, over every worker of the pool. */
  readonly perMinute: number;
  /** A worker that ran this long before it crashed starts again from `initialMs` (ms). */
  readonly stableMs: number;
}

/** What the pool uses: 1 s, 2 s, 4 s … 30 s, at most 5 restarts a minute, a run of 60 s forgives. */
export const WORKER_RESTART_LIMITS: RestartLimits = { initialMs: 1000, maxMs: 30_000, perMinute: 5, stableMs: 60_000 };

const MINUTE = 60_000;

/** Decides when crashed workers start again: each crash gets a backoff, each restart must fit the per-minute bound. */
export class RestartPolicy {
  /** Crashes in a row per worker index (a run of `stableMs` resets it). */
  private readonly inARow = new Map<number, number>();
  /** When the restarts of the last minute happened. */
  private recent: number[] = [];

  constructor(readonly limits: RestartLimits = WORKER_RESTART_LIMITS) {}

  /**
   * The backoff (ms) before worker `index` starts again, which crashed at `now` after running since
   * `startedAt` (undefined when it crashed before it had started).
   */
  backoff(index: number, now: number, startedAt: number | undefined): number {
    const l = this.limits;
    const row = startedAt !== undefined && now - startedAt >= l.stableMs ? 1 : (this.inARow.get(index) ?? 0) + 1;
    this.inARow.set(index, row);
    return Math.min(l.maxMs, l.initialMs * 2 ** Math.min(30, row - 1));
  }

  /**
   * Asks to restart a worker at `now`: 0 when it may (the restart is counted), else how long to wait
   * (ms) until the oldest restart of the last minute has left it — then ask again.
   */
  admit(now: number): number {
    this.recent = this.recent.filter((t) => t > now - MINUTE);
    if (this.recent.length >= this.limits.perMinute) return (this.recent[0] as number) + MINUTE - now;
    this.recent.push(now);
    return 0;
  }
}
