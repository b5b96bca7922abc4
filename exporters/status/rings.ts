/**
 * The status page's memory: fixed-size ring buffers, one slot per `resolution`, allocated once per tracked
 * series and never grown. Slot `i` holds what arrived during time slice `i`; advancing the clock clears
 * the slots being reused. Nothing here is touched per record: the exporter feeds it the `sli`
 * processor's per-batch histogram points and samples self-telemetry once per slot.
 */

/** The shared clock of every ring: which slice each slot holds. */
export class SlotClock {
  /** Number of slots (window / resolution). */
  readonly size: number;
  readonly resolutionMs: number;
  /** Absolute slice number of the newest slot, or -1 before the first advance. */
  private newest = -1;
  private readonly listeners: ((slot: number) => void)[] = [];

  constructor(windowMs: number, resolutionMs: number) {
    this.size = Math.max(2, Math.ceil(windowMs / resolutionMs));
    this.resolutionMs = resolutionMs;
  }

  /** Calls `fn(slotIndex)` whenever a slot is about to be reused. */
  onClear(fn: (slot: number) => void): void {
    this.listeners.push(fn);
  }

  /** Moves to the slice of `nowMs`, clearing the slots skipped or reused; returns the current slot index. */
  advance(nowMs: number): number {
    const slice = Math.floor(nowMs / this.resolutionMs);
    if (this.newest < 0) this.newest = slice - 1;
    if (slice > this.newest) {
      const from = Math.max(this.newest + 1, slice - this.size + 1);
      for (let s = from; s <= slice; s++) for (const fn of this.listeners) fn(s % this.size);
      this.newest = slice;
    }
    return this.newest % this.size;
  }

  /** Slot indexes oldest first (the current, partly filled slot last). */
  order(): number[] {
    const out: number[] = [];
    if (this.newest < 0) return out;
    for (let i = this.size - 1; i >= 0; i--) out.push((((this.newest - i) % this.size) + this.size) % this.size);
    return out;
  }

  /** Slot indexes of the completed slices, oldest first (without the current one, still filling). */
  completed(): number[] {
    return this.order().slice(0, -1);
  }

  /** Absolute slice number of the newest slot. */
  get newestSlice(): number {
    return this.newest;
  }
}

/** One number per slot (a sum over the slice, or the last sample of it); NaN = no data. */
export class Ring {
  readonly values: Float64Array;

  constructor(private readonly clock: SlotClock, private readonly mode: 'sum' | 'last') {
    this.values = new Float64Array(clock.size).fill(NaN);
    clock.onClear((slot) => {
      this.values[slot] = NaN;
    });
  }

  /** Adds (sum) or sets (last) a value in the current slot. */
  record(slot: number, value: number): void {
    const v = this.values[slot] as number;
    this.values[slot] = this.mode === 'sum' && !Number.isNaN(v) ? v + value : value;
  }

  /** Values oldest first; `completed` leaves out the current slice (a sum over part of a slice). */
  series(completed = false): number[] {
    return (completed ? this.clock.completed() : this.clock.order()).map((i) => this.values[i] as number);
  }
}

/** Histogram bucket counts per slot, for quantiles over one slot or the whole window. */
export class BucketRing {
  private counts: Float64Array;
  private boundaries: readonly number[] = [];

  constructor(private readonly clock: SlotClock, private readonly maxBuckets: number) {
    this.counts = new Float64Array(0);
    clock.onClear((slot) => {
      const n = this.boundaries.length + 1;
      this.counts.fill(0, slot * n, slot * n + n);
    });
  }

  /** Adds one histogram point's bucket counts (`boundaries.length + 1` of them) to a slot. */
  add(slot: number, boundaries: readonly number[], counts: readonly number[]): void {
    if (boundaries.length + 1 > this.maxBuckets) return;
    if (!sameBoundaries(boundaries, this.boundaries)) {
      // New bucket layout (first point, or the sli processor's buckets changed): start over.
      this.boundaries = [...boundaries];
      this.counts = new Float64Array(this.clock.size * (boundaries.length + 1));
    }
    const n = boundaries.length + 1;
    for (let b = 0; b < n; b++) this.counts[slot * n + b] = (this.counts[slot * n + b] as number) + (counts[b] ?? 0);
  }

  /** The `q` quantile of one slot (or of the completed slots when `slot` is undefined); NaN without observations. */
  quantile(q: number, slot?: number): number {
    const n = this.boundaries.length + 1;
    if (n === 1) return NaN;
    const sum = new Float64Array(n);
    const slots = slot === undefined ? this.clock.completed() : [slot];
    for (const s of slots) for (let b = 0; b < n; b++) sum[b] = (sum[b] as number) + (this.counts[s * n + b] as number);
    return bucketQuantile(q, this.boundaries, sum);
  }

  /** Per-slot quantiles of the completed slots, oldest first. */
  quantileSeries(q: number): number[] {
    return this.clock.completed().map((s) => this.quantile(q, s));
  }
}

function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The `q` quantile of a histogram by linear interpolation inside the bucket, as Prometheus'
 * `histogram_quantile` does (the lowest bucket starts at 0; a quantile in the +Inf bucket is the highest
 * finite boundary).
 */
export function bucketQuantile(q: number, boundaries: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  if (total === 0) return NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b] as number;
    if (cumulative + c >= rank && c > 0) {
      if (b >= boundaries.length) return boundaries[boundaries.length - 1] as number;
      const lower = b === 0 ? 0 : (boundaries[b - 1] as number);
      const upper = boundaries[b] as number;
      return lower + (upper - lower) * ((rank - cumulative) / c);
    }
    cumulative += c;
  }
  return boundaries[boundaries.length - 1] as number;
}
