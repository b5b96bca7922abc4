/**
 * The protobuf wire as `@opentelemetry/otlp-transformer` 0.223.0 writes it (`ProtobufWriter`,
 * `common-serializer.js`): varints, fixed64 times, strings, `AnyValue`s and `KeyValue`s — the same bytes
 * for the same values, including its choices (an integer within int64 is `int_value`, anything else a
 * number is `double_value`; negatives are ten-byte varints; null/undefined an empty `AnyValue`; lone
 * surrogates U+FFFD). What is different is how: frame lengths are computed from the sizes before a value
 * is written wherever they can be (strings: from their length, ASCII being the usual case), keys arrive
 * pre-encoded, and strings are copied in one pass. The logs request around it is logs-proto.ts.
 */
import type { AnyValue } from '@opentelemetry/api-logs';

/** `Buffer#utf8Write` (public since Node 0.x, absent from the types): UTF-8, lone surrogates as U+FFFD. */
interface Utf8Writable {
  utf8Write(s: string, offset: number): number;
}

const hasOwn = Object.prototype.hasOwnProperty;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
/** Strings up to this length are copied by a JavaScript loop; longer ones by `utf8Write` (~50 ns a call, then cheap per char). */
const SHORT_STRING = 12;
/** A buffer handed back ({@link ProtoWriter.recycle}) is kept for a later request only up to this size … */
const KEEP_BUFFER_BYTES = 4 << 20;
/** … and this many of them. */
const KEEP_BUFFERS = 2;
const MIN_BUFFER_BYTES = 64 * 1024;

/** Bytes of the varint of a length (`0 <= v < 2^32`). */
export function lenSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes the varint of a length (`0 <= v < 2^32`) at `p`; returns the position after it. */
export function putLen(buf: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** Bytes of an int64 varint as the library writes it (negatives: ten bytes, two's complement). */
function intSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Writes an int64 varint exactly as the library's `ProtobufWriter.writeVarint`; returns the position after it. */
export function putInt(buf: Uint8Array, p: number, value: number): number {
  if (value >= 0 && value <= 0xffffffff) return putLen(buf, p, value >>> 0);
  let low: number;
  let high: number;
  if (value >= 0) {
    low = value >>> 0;
    high = (value / 0x100000000) >>> 0;
  } else {
    const abs = Math.abs(value);
    low = (~(abs >>> 0) + 1) >>> 0;
    high = ~((abs / 0x100000000) >>> 0) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
  }
  while (high > 0 || low > 0x7f) {
    buf[p++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  buf[p++] = low & 0x7f;
  return p;
}

/**
 * Writes epoch milliseconds (plus nanoseconds within the last one) as fixed64 nanoseconds: `msToHrTime`
 * (internal/metrics/identity.ts), then the library's `writeHrTimeAsFixed64` arithmetic, so that every
 * input — pre-epoch, fractional, beyond 2262 — gives the library's bytes.
 */
export function putTime(buf: Uint8Array, p: number, ms: number, extraNs: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000) + extraNs;
  const lower = (seconds & 0xffff) * 1_000_000_000;
  const upper = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
  const low32 = (lower >>> 0) + (((upper & 0xffff) * 0x10000) >>> 0) + nanos;
  const l = low32 >>> 0;
  const h = (Math.floor(lower / 0x100000000) + ((upper / 0x10000) >>> 0) + Math.floor(low32 / 0x100000000)) >>> 0;
  buf[p] = l & 0xff;
  buf[p + 1] = (l >>> 8) & 0xff;
  buf[p + 2] = (l >>> 16) & 0xff;
  buf[p + 3] = l >>> 24;
  buf[p + 4] = h & 0xff;
  buf[p + 5] = (h >>> 8) & 0xff;
  buf[p + 6] = (h >>> 16) & 0xff;
  buf[p + 7] = h >>> 24;
  return p + 8;
}

/** A `KeyValue.key` (1) field, encoded once: tag, length, UTF-8. */
export function encodeKey(key: string): Uint8Array {
  const utf8 = Buffer.from(key, 'utf8');
  const out = new Uint8Array(1 + lenSize(utf8.length) + utf8.length);
  out[0] = 0x0a;
  out.set(utf8, putLen(out, 1, utf8.length));
  return out;
}

/**
 * A growable buffer with the library's encodings. Each request is written into a buffer of its own
 * (`begin`), handed to the caller without a copy (`end`); a caller done with it may `recycle` it.
 */
export class ProtoWriter {
  protected buf: Buffer = Buffer.alloc(0);
  protected view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  protected pos = 0;
  private readonly spare: Buffer[] = [];
  /** The size to start the next buffer at (the last request's). */
  private nextBytes = MIN_BUFFER_BYTES;

  /**
   * Hands back a body `end` returned once nothing reads it any more (e.g. it was gzipped): its memory is
   * reused by a later request, already mapped. Optional; a body never handed back is simply collected.
   */
  recycle(body: Buffer): void {
    const ab = body.buffer;
    if (this.spare.length >= KEEP_BUFFERS || !(ab instanceof ArrayBuffer) || ab.byteLength > KEEP_BUFFER_BYTES) return;
    this.spare.push(Buffer.from(ab, 0, ab.byteLength));
  }

  /** Starts a request in a buffer of its own: a spare one, or a new one as large as the last request's. */
  protected begin(): void {
    let next = this.spare.pop();
    while (next !== undefined && next.length < this.nextBytes / 2) next = this.spare.pop();
    this.setBuffer(next ?? Buffer.allocUnsafeSlow(Math.min(this.nextBytes, KEEP_BUFFER_BYTES)));
    this.pos = 0;
  }

  /** The request `[start, pos)`; the buffer is the caller's from now on. */
  protected end(start: number): Buffer {
    this.nextBytes = this.buf.length;
    const out = this.buf.subarray(start, this.pos);
    this.setBuffer(Buffer.alloc(0));
    return out;
  }

  private setBuffer(buf: Buffer): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  protected ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, MIN_BUFFER_BYTES);
    while (size < this.pos + n) size *= 2;
    const old = this.buf;
    this.setBuffer(Buffer.allocUnsafeSlow(size));
    old.copy(this.buf, 0, 0, this.pos);
  }

  /**
   * A `KeyValue` under `tag` (`LogRecord.attributes` 6, `Resource.attributes` 1). Strings, numbers,
   * booleans and arrays of ASCII strings get their frame lengths computed before they are written;
   * everything else goes through nested frames, as the library writes them.
   */
  protected keyValue(tag: number, key: Uint8Array, v: AnyValue): void {
    const kl = key.length;
    if (typeof v === 'string') {
      const n = v.length;
      this.ensure(kl + 3 * n + 24);
      const buf = this.buf;
      let av = 1 + lenSize(n) + n;
      let kv = kl + 1 + lenSize(av) + av;
      let head = 1 + lenSize(kv) + kl + 1 + lenSize(av) + 1 + lenSize(n);
      const at = this.pos + head;
      const w = this.putString(v, at);
      if (w !== n) {
        // Not ASCII: the UTF-8 length decides the varints (and may move the bytes just written).
        av = 1 + lenSize(w) + w;
        kv = kl + 1 + lenSize(av) + av;
        const h = 1 + lenSize(kv) + kl + 1 + lenSize(av) + 1 + lenSize(w);
        if (h !== head) buf.copyWithin(this.pos + h, at, at + w);
        head = h;
      }
      let p = this.pos;
      buf[p++] = tag;
      p = putLen(buf, p, kv);
      buf.set(key, p);
      p += kl;
      buf[p++] = 0x12; // KeyValue.value (2)
      p = putLen(buf, p, av);
      buf[p++] = 0x0a; // AnyValue.string_value (1)
      p = putLen(buf, p, w);
      this.pos = p + w;
      return;
    }
    if (typeof v === 'number') {
      this.ensure(kl + 24);
      const buf = this.buf;
      const isInt = Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64;
      const av = isInt ? 1 + intSize(v) : 9;
      let p = this.pos;
      buf[p++] = tag;
      p = putLen(buf, p, kl + 2 + av);
      buf.set(key, p);
      p += kl;
      buf[p++] = 0x12;
      buf[p++] = av;
      if (isInt) {
        buf[p++] = 0x18; // AnyValue.int_value (3)
        p = putInt(buf, p, v);
      } else {
        buf[p++] = 0x21; // AnyValue.double_value (4)
        this.view.setFloat64(p, v, true);
        p += 8;
      }
      this.pos = p;
      return;
    }
    if (typeof v === 'boolean') {
      this.ensure(kl + 12);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = tag;
      p = putLen(buf, p, kl + 4);
      buf.set(key, p);
      p += kl;
      buf[p++] = 0x12;
      buf[p++] = 2;
      buf[p++] = 0x10; // AnyValue.bool_value (2)
      buf[p++] = v ? 1 : 0;
      this.pos = p;
      return;
    }
    if (Array.isArray(v) && this.asciiStrings(tag, key, v as readonly AnyValue[])) return;
    this.ensure(kl + 2);
    this.buf[this.pos++] = tag;
    const outer = this.beginLen();
    this.ensure(kl);
    this.buf.set(key, this.pos);
    this.pos += kl;
    this.ensure(1);
    this.buf[this.pos++] = 0x12;
    const inner = this.beginLen();
    this.anyValue(v);
    this.endLen(inner);
    this.endLen(outer);
  }

  /**
   * A `KeyValue` holding an array of strings (`tyk.tags`, GraphQL root fields), with every frame length
   * computed up front as if the strings were ASCII. False (nothing written) when an item is not a
   * string or not ASCII: the caller writes it the general way.
   */
  private asciiStrings(tag: number, key: Uint8Array, items: readonly AnyValue[]): boolean {
    let arr = 0;
    for (let i = 0; i < items.length; i++) {
      const s = items[i];
      if (typeof s !== 'string') return false;
      const av = 1 + lenSize(s.length) + s.length;
      arr += 1 + lenSize(av) + av;
    }
    const kl = key.length;
    const av = 1 + lenSize(arr) + arr;
    const kv = kl + 1 + lenSize(av) + av;
    // Room for non-ASCII strings too (up to 3 bytes a char), found only while copying.
    this.ensure(1 + lenSize(kv) + kv + 2 * arr);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = tag;
    p = putLen(buf, p, kv);
    buf.set(key, p);
    p += kl;
    buf[p++] = 0x12;
    p = putLen(buf, p, av);
    buf[p++] = 0x2a; // AnyValue.array_value (5)
    p = putLen(buf, p, arr);
    for (let i = 0; i < items.length; i++) {
      const s = items[i] as string;
      const n = s.length;
      buf[p++] = 0x0a; // ArrayValue.values (1)
      p = putLen(buf, p, 1 + lenSize(n) + n);
      buf[p++] = 0x0a;
      p = putLen(buf, p, n);
      if (this.putString(s, p) !== n) return false;
      p += n;
    }
    this.pos = p;
    return true;
  }

  /** Any `AnyValue`'s fields, as the library's `writeAnyValue` writes them. */
  protected anyValue(v: AnyValue): void {
    if (typeof v === 'string') this.stringField(0x0a, v);
    else if (typeof v === 'boolean') {
      this.ensure(2);
      this.buf[this.pos++] = 0x10;
      this.buf[this.pos++] = v ? 1 : 0;
    } else if (typeof v === 'number') {
      this.ensure(11);
      if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) {
        this.buf[this.pos++] = 0x18;
        this.pos = putInt(this.buf, this.pos, v);
      } else {
        this.buf[this.pos++] = 0x21;
        this.view.setFloat64(this.pos, v, true);
        this.pos += 8;
      }
    } else if (v instanceof Uint8Array) {
      this.ensure(6 + v.length);
      this.buf[this.pos++] = 0x3a; // AnyValue.bytes_value (7)
      this.pos = putLen(this.buf, this.pos, v.length);
      this.buf.set(v, this.pos);
      this.pos += v.length;
    } else if (Array.isArray(v)) {
      this.ensure(1);
      this.buf[this.pos++] = 0x2a; // AnyValue.array_value (5)
      const at = this.beginLen();
      for (const item of v as AnyValue[]) {
        this.ensure(1);
        this.buf[this.pos++] = 0x0a; // ArrayValue.values (1)
        const itemAt = this.beginLen();
        this.anyValue(item);
        this.endLen(itemAt);
      }
      this.endLen(at);
    } else if (typeof v === 'object' && v !== null) {
      this.ensure(1);
      this.buf[this.pos++] = 0x32; // AnyValue.kvlist_value (6)
      const at = this.beginLen();
      const obj = v as Record<string, AnyValue>;
      for (const k in obj) {
        if (!hasOwn.call(obj, k)) continue;
        this.ensure(1);
        this.buf[this.pos++] = 0x0a; // KeyValueList.values (1)
        const kvAt = this.beginLen();
        this.stringField(0x0a, k);
        this.ensure(1);
        this.buf[this.pos++] = 0x12;
        const valueAt = this.beginLen();
        this.anyValue(obj[k]);
        this.endLen(valueAt);
        this.endLen(kvAt);
      }
      this.endLen(at);
    }
    // Anything else (null, undefined, bigint, …): nothing, as the library.
  }

  /**
   * A string field: `tag`, then the string's length-delimited UTF-8 — or, with `inner`, a message holding
   * the string under `inner` (a log body: `AnyValue.string_value`).
   */
  protected stringField(tag: number, s: string, inner = 0): void {
    const n = s.length;
    this.ensure(3 * n + 16);
    const buf = this.buf;
    const wrap = inner !== 0;
    const head = 1 + lenSize(n) + (wrap ? 1 + lenSize(1 + lenSize(n) + n) : 0);
    const at = this.pos + head;
    const w = this.putString(s, at);
    if (w !== n) {
      const h = 1 + lenSize(w) + (wrap ? 1 + lenSize(1 + lenSize(w) + w) : 0);
      if (h !== head) buf.copyWithin(this.pos + h, at, at + w);
    }
    let p = this.pos;
    buf[p++] = tag;
    if (wrap) {
      p = putLen(buf, p, 1 + lenSize(w) + w);
      buf[p++] = inner;
    }
    p = putLen(buf, p, w);
    this.pos = p + w;
  }

  /** Copies `s` as UTF-8 to `at` (room for `3 * s.length` bytes ensured); returns the bytes written. */
  protected putString(s: string, at: number): number {
    const n = s.length;
    const buf = this.buf;
    if (n <= SHORT_STRING) {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return (buf as unknown as Utf8Writable).utf8Write(s, at);
        buf[at + i] = c;
      }
      return n;
    }
    return (buf as unknown as Utf8Writable).utf8Write(s, at);
  }

  /** Reserves one byte for a length (most nested messages are shorter than 128 bytes). */
  protected beginLen(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Writes the length of what follows `at`, moving it right when the varint needs more than one byte. */
  protected endLen(at: number): void {
    const len = this.pos - at - 1;
    const size = lenSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    putLen(this.buf, at, len);
  }
}
