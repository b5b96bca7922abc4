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

/** Where the values sit in a {@link HistogramState}'s array: sum, count, min, max, then the bucket counts. */
const SUM = 0;
const COUNT = 1;
const MIN = 2;
const MAX = 3;
const COUNTS = 4;

/** An array of doubles (V8 keeps its elements unboxed, side by side): `slice()` of it stays one. */
const DOUBLES: readonly number[] = [0.5, 0, Infinity, -Infinity];

/** `[0, 0, Infinity, -Infinity, 0 × buckets]` as an array of unboxed doubles. */
function emptyValues(buckets: number): number[] {
  const d = DOUBLES.slice();
  d[SUM] = 0;
  for (let i = 0; i < buckets; i++) d.push(0);
  return d;
}

/**
 * Bucket counts, sum, count, min and max over fixed boundaries. The boundaries array is shared, never
 * changed (producers freeze theirs); min and max are ±Infinity while nothing with a min/max was added.
 *
 * The five live in one array of unboxed doubles: an observation touches one object and one or two cache
 * lines, where separate fields held sum, min and max in boxes of their own and the counts in another array
 * (the `sli` processor observes four of these per record, over thousands of series).
 */
export class HistogramState {
  boundaries: readonly number[];
  /** Sum, count, min, max, then the bucket counts ({@link SUM} …). */
  private v: number[];

  constructor(boundaries: readonly number[]) {
    this.boundaries = boundaries;
    this.v = emptyValues(boundaries.length + 1);
  }

  /** Observations (or the points' counts) added. */
  get count(): number {
    return this.v[COUNT] as number;
  }

  get sum(): number {
    return this.v[SUM] as number;
  }

  /** Smallest value added (Infinity while none). */
  get min(): number {
    return this.v[MIN] as number;
  }

  /** Largest value added (-Infinity while none). */
  get max(): number {
    return this.v[MAX] as number;
  }

  /** The bucket counts (a copy). */
  get counts(): number[] {
    return this.v.slice(COUNTS);
  }

  /** A state holding exactly `h`. */
  static of(h: Histogram): HistogramState {
    const s = new HistogramState(h.buckets.boundaries);
    s.add(h);
    return s;
  }

  /** Adds one observation `v` that falls into bucket `idx` (see {@link BucketIndex}). */
  observe(idx: number, v: number): void {
    const d = this.v;
    d[COUNTS + idx]! += 1;
    d[COUNT]! += 1;
    d[SUM]! += v;
    if (v < (d[MIN] as number)) d[MIN] = v;
    if (v > (d[MAX] as number)) d[MAX] = v;
  }

  /** Adds a data point with the same boundaries (check {@link sameBoundaries} first). */
  add(h: Histogram): void {
    const c = h.buckets.counts;
    const d = this.v;
    for (let i = 0; i < c.length; i++) d[COUNTS + i] = (d[COUNTS + i] ?? 0) + (c[i] as number);
    d[SUM]! += h.sum ?? 0;
    d[COUNT]! += h.count;
    if (h.count > 0) {
      if (h.min !== undefined && h.min < (d[MIN] as number)) d[MIN] = h.min;
      if (h.max !== undefined && h.max > (d[MAX] as number)) d[MAX] = h.max;
    }
  }

  /** Adds another state with the same boundaries. */
  addState(o: HistogramState): void {
    const d = this.v;
    const e = o.v;
    for (let i = COUNTS; i < e.length; i++) d[i] = (d[i] ?? 0) + (e[i] as number);
    d[SUM]! += e[SUM] as number;
    d[COUNT]! += e[COUNT] as number;
    if ((e[MIN] as number) < (d[MIN] as number)) d[MIN] = e[MIN] as number;
    if ((e[MAX] as number) > (d[MAX] as number)) d[MAX] = e[MAX] as number;
  }

  /** Forgets everything and holds exactly `h` (its boundaries may differ). */
  restart(h: Histogram): void {
    this.boundaries = h.buckets.boundaries;
    this.v = emptyValues(h.buckets.counts.length);
    this.add(h);
  }

  /** Zeroes the counts, keeps the boundaries. */
  reset(): void {
    const d = this.v;
    d.fill(0, COUNTS);
    d[SUM] = 0;
    d[COUNT] = 0;
    d[MIN] = Infinity;
    d[MAX] = -Infinity;
  }

  /** A copy (for a delta export that may have to be given back). */
  clone(): HistogramState {
    const c = new HistogramState(this.boundaries);
    c.v = this.v.slice();
    return c;
  }

  /**
   * The state as a data point value, values divided by `scale` (input units → boundary units); min and max
   * only when known.
   */
  point(scale = 1): Histogram {
    const d = this.v;
    const count = d[COUNT] as number;
    const sum = d[SUM] as number;
    const min = d[MIN] as number;
    const max = d[MAX] as number;
    const known = count > 0 && min <= max;
    const h: Histogram = {
      buckets: { boundaries: this.boundaries as number[], counts: d.slice(COUNTS) },
      sum: scale === 1 ? sum : sum / scale,
      count,
    };
    if (known) {
      h.min = scale === 1 ? min : min / scale;
      h.max = scale === 1 ? max : max / scale;
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
