/**
 * The `sli` processor's per-batch series table: a cardinality limit with overflow series (good and bad
 * requests apart), the list of series a batch touched, contiguous delta intervals, and idle expiry. The
 * series lookup and the histogram state come from `internal/metrics/`; nothing here allocates per
 * observation.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { OVERFLOW_ATTRIBUTES, OVERFLOW_BAD_ATTRIBUTES, msToHrTime } from '../../internal/metrics/identity.js';
import { SeriesMap, type TrackedSeries } from '../../internal/metrics/series.js';

/** What every series carries besides its values. */
export interface SeriesBase extends TrackedSeries {
  readonly key: string;
  /** Frozen attributes, shared by every data point of the series. */
  readonly attributes: Attributes;
  /** End (record time, ms) of the last emitted delta, so the next delta starts there; -1 before the first. */
  lastEnd: number;
  /**
   * `lastEnd` as an HrTime: the next delta's start is this very array (HrTimes handed on are never
   * changed), so a contiguous delta allocates only its end.
   */
  lastEndHr: HrTime;
  /** The interval of the delta being emitted, set by {@link SeriesTable.close}. */
  startTime: HrTime;
  endTime: HrTime;
  /** Whether the current emission window touched it (it is then in the table's `dirty` list). */
  dirty: boolean;
  /** Record-time range (ms) of the current window's observations. */
  minTs: number;
  maxTs: number;
}

const NO_TIME: HrTime = Object.freeze([0, 0]) as unknown as HrTime;

/** Initial values of the bookkeeping fields of a new series. */
export function seriesBase(key: string, attributes: Attributes): SeriesBase {
  return {
    key, attributes: Object.freeze(attributes), live: true, lastSeen: 0, lastEnd: -1, lastEndHr: NO_TIME, startTime: NO_TIME, endTime: NO_TIME,
    dirty: false, minTs: Infinity, maxTs: -Infinity,
  };
}

/**
 * Series of one metric family, keyed by a string of its attribute values. At most `limit` series exist,
 * counting the overflow series: attribute sets beyond that are folded into `overflow(bad)`.
 */
export class SeriesTable<S extends SeriesBase> {
  /** Series by the caller's key (the joined values of its attributes). */
  readonly map = new SeriesMap<S>();
  /** Series touched by the current emission window, in first-touch order. */
  readonly dirty: S[] = [];
  /** Observations folded into an overflow series since the last `takeOverflowed()`. */
  overflowed = 0;
  private readonly regularLimit: number;

  constructor(
    readonly name: string,
    limit: number,
    private readonly create: (key: string, attributes: Attributes) => S,
    /** Whether bad requests get their own overflow series (`error.type=_OTHER`). */
    private readonly splitBad: boolean,
  ) {
    this.regularLimit = Math.max(1, limit - (splitBad ? 2 : 1));
  }

  /**
   * The series for `key`, creating it with `attributes()` if there is room, else the overflow series.
   * Call only after `map.get(key)` missed.
   */
  add(key: string, attributes: () => Attributes, bad: boolean): S {
    if (this.map.regularSize < this.regularLimit) return this.map.set(key, this.create(key, attributes()));
    this.overflowed++;
    return this.splitBad && bad
      ? this.map.overflow(1, () => this.create('\u0000overflow-bad', OVERFLOW_BAD_ATTRIBUTES))
      : this.map.overflow(0, () => this.create('\u0000overflow', OVERFLOW_ATTRIBUTES));
  }

  /** Marks `s` touched by the batch at record time `ts` (ms) and agent time `now`. */
  touch(s: S, ts: number, now: number): void {
    if (!s.dirty) {
      s.dirty = true;
      s.lastSeen = now;
      s.minTs = ts;
      s.maxTs = ts;
      this.dirty.push(s);
      return;
    }
    if (ts < s.minTs) s.minTs = ts;
    else if (ts > s.maxTs) s.maxTs = ts;
  }

  /**
   * Closes the delta of a dirty series: its interval `[startTime, endTime]` is contiguous with its previous
   * delta (start = previous end, as the Collector's delta-to-cumulative logic expects), never after `now`.
   */
  interval(s: S, now: number): { startTime: HrTime; endTime: HrTime } {
    this.close(s, now);
    return { startTime: s.startTime, endTime: s.endTime };
  }

  /** {@link interval} into the series' own `startTime`/`endTime` (no object per delta). */
  close(s: S, now: number): void {
    const last = s.lastEnd;
    const start = last >= 0 ? last : Math.min(s.minTs, now);
    const end = Math.max(start, Math.min(s.maxTs, now));
    const startHr = last >= 0 ? s.lastEndHr : msToHrTime(start);
    const endHr = end === start ? startHr : msToHrTime(end);
    s.startTime = startHr;
    s.endTime = endHr;
    s.lastEnd = end;
    s.lastEndHr = endHr;
    s.dirty = false;
  }

  /** Drops series (overflow ones included) not touched since `cutoff` (agent ms). Returns how many. */
  expire(cutoff: number): number {
    return this.map.expire(cutoff, (s) => s.dirty);
  }

  /** Number of series, overflow ones included. */
  get size(): number {
    return this.map.size;
  }

  /** Returns and resets the overflow count. */
  takeOverflowed(): number {
    const n = this.overflowed;
    this.overflowed = 0;
    return n;
  }
}
