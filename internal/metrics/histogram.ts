/**
 * Explicit-bucket histogram state, the one implementation behind the `sli` processor's per-batch
 * accumulators, the `prometheus` exporter's cumulative series and the `otlp_http` exporter's cumulative
 * and delta series. What each does with it differs and stays with it (see their `mergeHistogram`): the
 * processor observes raw values, Prometheus replaces its state with cumulative input and restarts a series
 * whose boundaries change, OTLP refuses cumulative input and merges a failed delta export back.
 */
import type { Histogram } from '@opentelemetry/sdk-metrics';

/** Largest lookup table a {@link BucketIndex} builds (values beyond it are binary-searched). */
const MAX_TABLE = 65_536;

/** Whether two histograms have the same bucket boundaries (then their counts can be added). */
export function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Maps a value to its bucket index (`le` semantics: the first boundary `>=` the value; `boundaries.length`
 * for the +Inf bucket). Inputs are in "input units" (`scale` input units per boundary unit, e.g. ms for
 * boundaries in seconds with `scale = 1000`); small non-negative integers hit a precomputed table.
 */
export class BucketIndex {
  /** Boundaries in output units, frozen and shared by every data point that uses them. */
  readonly boundaries: number[];
  private readonly table: Uint8Array | Uint16Array;
  private readonly scale: number;

  constructor(boundaries: readonly number[], scale = 1) {
    this.boundaries = Object.freeze([...boundaries]) as number[];
    this.scale = scale;
    const last = boundaries[boundaries.length - 1] ?? 0;
    const size = Math.max(1, Math.min(MAX_TABLE, Math.floor(last * scale) + 2));
    this.table = boundaries.length < 255 ? new Uint8Array(size) : new Uint16Array(size);
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

/**
 * Bucket counts, sum, count, min and max over fixed boundaries. The boundaries array is shared, never
 * changed (producers freeze theirs); min and max are ±Infinity while nothing with a min/max was added.
 */
export class HistogramState {
  boundaries: readonly number[];
  counts: number[];
  sum = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;

  constructor(boundaries: readonly number[]) {
    this.boundaries = boundaries;
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  /** A state holding exactly `h`. */
  static of(h: Histogram): HistogramState {
    const s = new HistogramState(h.buckets.boundaries);
    s.add(h);
    return s;
  }

  /** Adds one observation `v` that falls into bucket `idx` (see {@link BucketIndex}). */
  observe(idx: number, v: number): void {
    this.counts[idx]! += 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds a data point with the same boundaries (check {@link sameBoundaries} first). */
  add(h: Histogram): void {
    const c = h.buckets.counts;
    const counts = this.counts;
    for (let i = 0; i < c.length; i++) counts[i] = (counts[i] ?? 0) + (c[i] as number);
    this.sum += h.sum ?? 0;
    this.count += h.count;
    if (h.count > 0) {
      if (h.min !== undefined && h.min < this.min) this.min = h.min;
      if (h.max !== undefined && h.max > this.max) this.max = h.max;
    }
  }

  /** Adds another state with the same boundaries. */
  addState(o: HistogramState): void {
    for (let i = 0; i < o.counts.length; i++) this.counts[i] = (this.counts[i] ?? 0) + (o.counts[i] as number);
    this.sum += o.sum;
    this.count += o.count;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
  }

  /** Forgets everything and holds exactly `h` (its boundaries may differ). */
  restart(h: Histogram): void {
    this.boundaries = h.buckets.boundaries;
    this.counts = new Array<number>(h.buckets.counts.length).fill(0);
    this.reset();
    this.add(h);
  }

  /** Zeroes the counts, keeps the boundaries. */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** A copy (for a delta export that may have to be given back). */
  clone(): HistogramState {
    const c = new HistogramState(this.boundaries);
    c.counts = this.counts.slice();
    c.sum = this.sum;
    c.count = this.count;
    c.min = this.min;
    c.max = this.max;
    return c;
  }

  /**
   * The state as a data point value, values divided by `scale` (input units → boundary units); min and max
   * only when known.
   */
  point(scale = 1): Histogram {
    const known = this.count > 0 && this.min <= this.max;
    const h: Histogram = {
      buckets: { boundaries: this.boundaries as number[], counts: this.counts.slice() },
      sum: scale === 1 ? this.sum : this.sum / scale,
      count: this.count,
    };
    if (known) {
      h.min = scale === 1 ? this.min : this.min / scale;
      h.max = scale === 1 ? this.max : this.max / scale;
    }
    return h;
  }

  /** {@link point}, then {@link reset}: a delta accumulator's hand-over. */
  take(scale = 1): Histogram {
    const h = this.point(scale);
    this.reset();
    return h;
  }
}
