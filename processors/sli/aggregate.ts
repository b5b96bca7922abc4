/**
 * Building blocks of the `sli` processor's per-batch aggregation: O(1) bucket lookup for integer
 * latencies, a resettable histogram accumulator, and a series table with a cardinality limit, overflow
 * series and idle expiry. Nothing here allocates per observation.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { msToHrTime } from '../../src/metric-state.js';

/** Largest lookup table a {@link BucketIndex} builds (values beyond it are binary-searched). */
const MAX_TABLE = 65_536;

/**
 * Maps a value to its bucket index (`le` semantics: the first boundary `>=` the value; `boundaries.length`
 * for the +Inf bucket). Inputs are in "input units" (`scale` input units per boundary unit, e.g. ms for
 * boundaries in seconds with `scale = 1000`); small non-negative integers hit a precomputed table.
 */
export class BucketIndex {
  /** Boundaries in output units, frozen and shared by every data point that uses them. */
  readonly boundaries: number[];
  private readonly table: Uint8Array;
  private readonly scale: number;

  constructor(boundaries: readonly number[], scale = 1) {
    this.boundaries = Object.freeze([...boundaries]) as number[];
    this.scale = scale;
    const last = boundaries[boundaries.length - 1] ?? 0;
    const size = Math.min(MAX_TABLE, Math.floor(last * scale) + 2);
    this.table = new Uint8Array(Math.max(size, 1));
    for (let v = 0; v < this.table.length; v++) this.table[v] = this.search(v / scale);
  }

  /** Bucket index of `v` (input units). */
  indexOf(v: number): number {
    if (v >= 0 && v < this.table.length && (v | 0) === v) return this.table[v] as number;
    return this.search(v / this.scale);
  }

  private search(x: number): number {
    const b = this.boundaries;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= (b[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** A delta histogram accumulator in input units; `take()` converts to output units and resets. */
export class HistAcc {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(buckets: number) {
    this.counts = new Array<number>(buckets + 1).fill(0);
  }

  /** Adds one observation `v` that falls into bucket `idx`. */
  add(idx: number, v: number): void {
    this.counts[idx]! += 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The accumulated histogram (values divided by `scale`), then reset. */
  take(boundaries: number[], scale: number): Histogram {
    const h: Histogram = {
      buckets: { boundaries, counts: this.counts.slice() },
      sum: scale === 1 ? this.sum : this.sum / scale,
      count: this.count,
      min: scale === 1 ? this.min : this.min / scale,
      max: scale === 1 ? this.max : this.max / scale,
    };
    this.reset();
    return h;
  }

  /** Discards what was accumulated. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
}

/** What every series carries besides its values. */
export interface SeriesBase {
  readonly key: string;
  /** Frozen attributes, shared by every data point of the series. */
  readonly attributes: Attributes;
  /** False once expired (lookup caches holding it must drop it). */
  live: boolean;
  /** Agent clock (ms) of the last batch that touched the series, for expiry. */
  lastSeen: number;
  /** End (record time, ms) of the last emitted delta, so the next delta starts there; -1 before the first. */
  lastEnd: number;
  /** Whether the current batch touched it (it is then in the table's `dirty` list). */
  dirty: boolean;
  /** Record-time range (ms) of the current batch's observations. */
  minTs: number;
  maxTs: number;
}

/** Initial values of the bookkeeping fields of a new series. */
export function seriesBase(key: string, attributes: Attributes): SeriesBase {
  return { key, attributes: Object.freeze(attributes), live: true, lastSeen: 0, lastEnd: -1, dirty: false, minTs: Infinity, maxTs: -Infinity };
}

/**
 * Series of one metric family, keyed by a string of its attribute values. At most `limit` series exist,
 * counting the overflow series: attribute sets beyond that are folded into `overflow(bad)`.
 */
export class SeriesTable<S extends SeriesBase> {
  readonly map = new Map<string, S>();
  /** Series touched by the current batch, in first-touch order. */
  readonly dirty: S[] = [];
  /** Observations folded into an overflow series since the last `takeOverflowed()`. */
  overflowed = 0;
  private readonly overflowSeries: (S | undefined)[] = [undefined, undefined];
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
    if (this.map.size < this.regularLimit) {
      const s = this.create(key, attributes());
      this.map.set(key, s);
      return s;
    }
    this.overflowed++;
    const slot = this.splitBad && bad ? 1 : 0;
    let o = this.overflowSeries[slot];
    if (o === undefined) {
      const attrs: Attributes = slot === 1 ? { 'otel.metric.overflow': true, 'error.type': '_OTHER' } : { 'otel.metric.overflow': true };
      o = this.create(slot === 1 ? '\u0000overflow-bad' : '\u0000overflow', attrs);
      this.overflowSeries[slot] = o;
    }
    return o;
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
    const last = s.lastEnd;
    const start = last >= 0 ? last : Math.min(s.minTs, now);
    const end = Math.max(start, Math.min(s.maxTs, now));
    s.lastEnd = end;
    s.dirty = false;
    return { startTime: msToHrTime(start), endTime: msToHrTime(end) };
  }

  /** Drops series (overflow ones included) not touched since `cutoff` (agent ms). Returns how many. */
  expire(cutoff: number): number {
    let n = 0;
    for (const [key, s] of this.map) {
      if (s.lastSeen < cutoff && !s.dirty) {
        s.live = false;
        this.map.delete(key);
        n++;
      }
    }
    for (let i = 0; i < this.overflowSeries.length; i++) {
      const o = this.overflowSeries[i];
      if (o && o.lastSeen < cutoff && !o.dirty) {
        o.live = false;
        this.overflowSeries[i] = undefined;
        n++;
      }
    }
    return n;
  }

  /** Number of series, overflow ones included. */
  get size(): number {
    return this.map.size + (this.overflowSeries[0] ? 1 : 0) + (this.overflowSeries[1] ? 1 : 0);
  }

  /** Returns and resets the overflow count. */
  takeOverflowed(): number {
    const n = this.overflowed;
    this.overflowed = 0;
    return n;
  }
}
