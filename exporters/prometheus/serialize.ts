/**
 * A fast drop-in for `PrometheusSerializer` of `@opentelemetry/exporter-prometheus` 0.223.0 (configured
 * without prefix, without timestamps and without scope labels — the accumulator puts those into the
 * series attributes). Its output is byte-for-byte the library's (`serialize.test.ts` compares them).
 *
 * It writes UTF-8 bytes straight into 64 KiB chunks instead of building one string:
 * - each series' label block (`k="v",…`) is sanitised, escaped and encoded once and cached on its (frozen)
 *   attributes object across scrapes; each family's `name_bucket{`, `name_count{`, `name_sum{` and each
 *   boundary list's `,le="0.005"} ` are encoded once per scrape (per boundary list: across scrapes), so a
 *   bucket line is three byte copies and the digits of its count;
 * - no scrape-sized string exists: a single non-Latin-1 character in one label (an API named `Orders — EU`)
 *   turned the whole joined text into a two-byte string, twice the memory, and encoding it to send it
 *   blocked the event loop for as long again;
 * - {@link FastPrometheusSerializer.chunks} yields the chunks slice by slice with a turn of the event loop
 *   between slices, so the HTTP server streams (and gzips) them while the rest is still being written.
 * Figures in `BENCHMARKS.md` ("Scrape").
 *
 * One addition: metric names in `keepNames` get no `_total` (Tyk Pump's counters, see the README).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeAttributeValue(v: AttributeValue | undefined = ''): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return escapeString(s).replace(/"/g, '\\"');
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueString(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}

function labelText(attributes: Attributes): string {
  let out = '';
  for (const [k, v] of Object.entries(attributes)) out += `${out.length > 0 ? ',' : ''}${sanitizeName(k)}="${escapeAttributeValue(v)}"`;
  return out;
}

function promType(m: MetricData): string {
  switch (m.dataPointType) {
    case DataPointType.SUM:
      return m.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

/** Size of the chunks the text is written into. */
const CHUNK_BYTES = 64 * 1024;
/** Room for a value: the longest `${number}` is 24 characters (`-1.2345678901234567e-300`), plus `\n`. */
const VALUE_ROOM = 26;

/** Appends bytes to fixed-size chunks; a chunk is handed out once full (or at the end of a slice). */
class ChunkWriter {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;
  private full: Buffer[] = [];
  /** Bytes in chunks not yet taken. */
  pending = 0;

  /** Makes room for `n` bytes in the current chunk (a line never spans two chunks). */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) this.full.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    this.pos = 0;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.pending += b.length;
  }

  /** A string of any characters (headers, rare values): encoded as UTF-8. */
  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.pending += n;
  }

  /** An ASCII string that fits in the room made for it (a number). */
  ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pending += p - this.pos;
    this.pos = p;
  }

  /** A sample value and the line break, in the room made for it. */
  value(v: number): void {
    // Counts are non-negative integers: their digits, the same as `${v}` below 2^53.
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
      const b = this.buf;
      let len = 1;
      for (let x = v; x >= 10; x = Math.floor(x / 10)) len++;
      let p = this.pos + len;
      for (let x = v; ; ) {
        const q = Math.floor(x / 10);
        b[--p] = 48 + (x - q * 10);
        if (q === 0) break;
        x = q;
      }
      this.pos += len;
      this.pending += len;
    } else {
      this.ascii(valueString(v));
    }
    this.buf[this.pos++] = 10;
    this.pending++;
  }

  /** The chunks written so far (the current one too when `all`), handed over. */
  take(all: boolean): Buffer[] {
    if (all && this.pos > 0) {
      this.full.push(this.buf.subarray(0, this.pos));
      this.buf = this.buf.length - this.pos >= 4096 ? this.buf.subarray(this.pos) : Buffer.allocUnsafe(CHUNK_BYTES);
      this.pos = 0;
    }
    const out = this.full;
    this.full = [];
    this.pending = 0;
    return out;
  }
}

/** A series' label block, encoded; `extra` is the resource labels it was built with. */
interface Labels {
  readonly extra: string;
  /** `k="v",…` (with the resource labels), UTF-8; empty when the series has no label. */
  readonly bytes: Buffer;
}

/** A family's line starts, encoded once per scrape. */
interface FamilyBytes {
  /** `name{` and `name ` (no labels). */
  readonly open: Buffer;
  readonly bare: Buffer;
  readonly countOpen: Buffer;
  readonly countBare: Buffer;
  readonly sumOpen: Buffer;
  readonly sumBare: Buffer;
  readonly bucketOpen: Buffer;
}

const CLOSE = Buffer.from('} ');
const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Options of {@link FastPrometheusSerializer}. */
export interface FastSerializerOptions {
  /** Resource attributes whose names match become labels of every series (`withResourceConstantLabels`). */
  readonly resourceLabels?: RegExp;
  readonly withoutTargetInfo?: boolean;
  /** Names exposed exactly as given: no `_total` appended to counters. */
  readonly keepNames?: ReadonlySet<string>;
}

/** Prometheus text format 0.0.4, as `PrometheusSerializer` writes it. */
export class FastPrometheusSerializer {
  private readonly labels = new WeakMap<Attributes, Labels>();
  /** Per boundary list: `,le="…"} ` and `le="…"} ` (no other label) for each bucket, `+Inf` last. */
  private readonly les = new WeakMap<number[], { withComma: Buffer[]; alone: Buffer[] }>();

  constructor(private readonly opts: FastSerializerOptions = {}) {}

  /** The whole text at once. */
  serialize(rm: ResourceMetrics): string {
    const w = new ChunkWriter();
    for (const _ of this.write(rm, w, Infinity));
    return Buffer.concat(w.take(true)).toString('utf8');
  }

  /**
   * The same text as {@link serialize}, as UTF-8 chunks of about `sliceBytes` (full 64 KiB chunks by
   * default), handed out as soon as they are written so the HTTP server streams and gzips them meanwhile.
   * After `turnMs` of writing it gives the event loop a turn (`setImmediate`), so a large scrape never
   * blocks probes and the drain for longer than that. The data is read as it is written: the caller hands
   * in a snapshot (`collect()`).
   */
  async *chunks(rm: ResourceMetrics, opts: { sliceBytes?: number; turnMs?: number } = {}): AsyncGenerator<Buffer> {
    const { sliceBytes = CHUNK_BYTES, turnMs = 20 } = opts;
    const w = new ChunkWriter();
    let turn = performance.now();
    for (const _ of this.write(rm, w, sliceBytes)) {
      yield* w.take(sliceBytes < CHUNK_BYTES);
      if (performance.now() - turn >= turnMs) {
        await new Promise<void>((r) => setImmediate(r));
        turn = performance.now();
      }
    }
    yield* w.take(true);
  }

  /** Writes `rm` into `w`, pausing (yield) whenever `sliceBytes` are pending. */
  private *write(rm: ResourceMetrics, w: ChunkWriter, sliceBytes: number): Generator<void> {
    const extra = this.extraLabels(rm);
    if (!this.opts.withoutTargetInfo) {
      const l = labelText(rm.resource.attributes as Attributes);
      w.text(`# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info${l === '' ? '' : `{${l}}`} 1\n`);
    }
    let wrote = false;
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const name = this.name(m);
        if (name === undefined) continue;
        wrote = true;
        const unit = m.descriptor.unit ? `\n# UNIT ${name} ${escapeString(m.descriptor.unit)}` : '';
        w.text(`# HELP ${name} ${escapeString(m.descriptor.description || 'description missing')}${unit}\n# TYPE ${name} ${promType(m)}\n`);
        const f = familyBytes(name);
        const points = m.dataPoints;
        const histogram = m.dataPointType === DataPointType.HISTOGRAM;
        if (!histogram && m.dataPointType !== DataPointType.SUM && m.dataPointType !== DataPointType.GAUGE) continue;
        for (let i = 0; i < points.length; i++) {
          const dp = points[i] as DataPoint<number | Histogram>;
          const l = this.series(dp.attributes, extra);
          if (histogram) this.histogram(w, f, l, (dp as DataPoint<Histogram>).value);
          else {
            w.room(f.open.length + l.length + 2 + VALUE_ROOM);
            if (l.length === 0) w.bytes(f.bare);
            else {
              w.bytes(f.open);
              w.bytes(l);
              w.bytes(CLOSE);
            }
            w.value(dp.value as number);
          }
          if (w.pending >= sliceBytes) yield;
        }
      }
    }
    if (!wrote) w.text('# no registered metrics');
  }

  /** The exposed name of `m`, or undefined when it sanitises to nothing (then it is skipped, as the SDK does). */
  private name(m: MetricData): string | undefined {
    let name = sanitizeName(escapeString(m.descriptor.name));
    if (name === '' || name === '_') return undefined;
    if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
    if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !name.endsWith('_total') && !this.opts.keepNames?.has(name)) name += '_total';
    return name;
  }

  private extraLabels(rm: ResourceMetrics): string {
    if (!this.opts.resourceLabels) return '';
    const picked: Attributes = {};
    for (const [k, v] of Object.entries(rm.resource.attributes)) if (k.match(this.opts.resourceLabels)) picked[k] = v as AttributeValue;
    return labelText(picked);
  }

  /** The encoded label block of a series (cached on its attributes object). */
  private series(attributes: Attributes, extra: string): Buffer {
    let l = this.labels.get(attributes);
    if (l === undefined || l.extra !== extra) {
      const own = labelText(attributes);
      l = { extra, bytes: enc(extra === '' ? own : own === '' ? extra : `${own},${extra}`) };
      this.labels.set(attributes, l);
    }
    return l.bytes;
  }

  private leBytes(boundaries: number[]): { withComma: Buffer[]; alone: Buffer[] } {
    let s = this.les.get(boundaries);
    if (s === undefined) {
      const les = [...boundaries.map((b) => (b === Infinity ? '+Inf' : String(b))), '+Inf'];
      s = { withComma: les.map((le) => enc(`,le="${le}"} `)), alone: les.map((le) => enc(`le="${le}"} `)) };
      this.les.set(boundaries, s);
    }
    return s;
  }

  private histogram(w: ChunkWriter, f: FamilyBytes, l: Buffer, h: Histogram): void {
    const labelled = l.length > 0;
    const room = f.bucketOpen.length + l.length + 2 + VALUE_ROOM;
    w.room(room);
    if (labelled) {
      w.bytes(f.countOpen);
      w.bytes(l);
      w.bytes(CLOSE);
    } else w.bytes(f.countBare);
    w.value(h.count);
    if (h.sum != null) {
      w.room(room);
      if (labelled) {
        w.bytes(f.sumOpen);
        w.bytes(l);
        w.bytes(CLOSE);
      } else w.bytes(f.sumBare);
      w.value(h.sum);
    }
    const bounds = h.buckets.boundaries;
    const les = this.leBytes(bounds);
    const le = labelled ? les.withComma : les.alone;
    const inf = le[le.length - 1] as Buffer;
    const counts = h.buckets.counts;
    let cumulative = 0;
    let infinite = false;
    for (let i = 0; i < counts.length; i++) {
      cumulative += counts[i] as number;
      const upper = bounds[i];
      if (upper === undefined && infinite) break;
      if (upper === Infinity) infinite = true;
      const b = upper === undefined ? inf : (le[i] as Buffer);
      w.room(room + b.length);
      w.bytes(f.bucketOpen);
      if (labelled) w.bytes(l);
      w.bytes(b);
      w.value(cumulative);
    }
  }
}

/** The encoded line starts of family `name`. */
function familyBytes(name: string): FamilyBytes {
  return {
    open: enc(`${name}{`),
    bare: enc(`${name} `),
    countOpen: enc(`${name}_count{`),
    countBare: enc(`${name}_count `),
    sumOpen: enc(`${name}_sum{`),
    sumBare: enc(`${name}_sum `),
    bucketOpen: enc(`${name}_bucket{`),
  };
}
