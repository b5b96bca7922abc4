/**
 * A minimal single-pass msgpack reader over one Buffer, for the Tyk record decoder. It reads exactly the
 * wire forms the gateway's Go encoder (`gopkg.in/vmihailenco/msgpack.v2`) can produce, accepts every int
 * code for every int field (as the Go decoder does), skips values it is not asked for without building
 * them, and reports every problem as a `DecodeError` with a stable reason. It never allocates for a
 * value it skips, and it never trusts a declared length: each is checked against the bytes left before
 * anything is sized from it, so hostile input cannot make it allocate or loop beyond the buffer.
 *
 * Why hand-written rather than `msgpackr.unpack` + mapping: the record is ~35 keys whose values are
 * mostly copied straight into the typed record; building an intermediate object (and BigInts for the
 * uint64 `ExpireAt`) and then mapping it costs about twice as much. Figures: `test/bench/decode.bench.ts`.
 */
import { DecodeError } from '../../src/errors.js';
import { goTime } from './go-time.js';
import { cachedStringAt, type FastSlices } from './string-cache.js';
import { KEY_WORDS, type KeyTable } from './key-table.js';
import { SKIP_TABLE, describeCode } from './type-codes.js';

/**
 * Cursor over one buffer. One instance is reused for every record (decoding is synchronous), so the
 * hot path allocates nothing for the reader itself.
 */
export class MsgpackReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** Declared lengths above this are refused as `too_large` rather than `truncated`. */
  maxBytes = 0;
  /** The field being read, for error messages. */
  where = '';
  /** Output of {@link readTime}: epoch ms (null for Go's zero time) and the remaining nanoseconds. */
  timeMs: number | null = null;
  timeNs = 0;
  /** Where the bytes of the last non-empty string read by {@link str} start. */
  lastStart = 0;
  /**
   * A view of `buf`'s whole ArrayBuffer for 32-bit reads (byte compares four at a time), and where `buf`
   * starts in it. Made once per ArrayBuffer: the elements of one claim are slices of a few socket reads.
   */
  view: DataView = new DataView(EMPTY_BUFFER.buffer);
  viewBase = 0;

  reset(buf: Buffer, maxBytes: number): void {
    this.buf = buf;
    const ab = buf.buffer;
    if (ab !== this.view.buffer) this.view = new DataView(ab);
    this.viewBase = buf.byteOffset;
    this.pos = 0;
    this.end = buf.length;
    this.maxBytes = maxBytes;
    this.where = '';
  }

  /**
   * Drops the reference to the last buffer so it can be collected. The view of its ArrayBuffer is kept for
   * the next element (usually a slice of the same socket read) unless that ArrayBuffer is large.
   */
  release(): void {
    this.buf = EMPTY_BUFFER;
    if (this.view.byteLength > KEEP_VIEW_BYTES) this.view = new DataView(EMPTY_BUFFER.buffer);
    this.end = 0;
    this.pos = 0;
  }

  fail(reason: 'truncated' | 'wrong_type' | 'not_msgpack' | 'too_large', what: string): never {
    const at = this.where === '' ? '' : `${this.where}: `;
    throw new DecodeError(reason, `msgpack: ${at}${what} (at byte ${this.pos} of ${this.end})`);
  }

  /** Ensures `n` more bytes exist after `pos`. */
  need(n: number): void {
    if (this.pos + n > this.end) {
      if (n > this.maxBytes) this.fail('too_large', `declared length ${n} exceeds the limit of ${this.maxBytes} bytes`);
      this.fail('truncated', `needs ${n} more byte(s), ${this.end - this.pos} left`);
    }
  }

  /** Ensures a declared element count can fit (each element takes at least one byte). */
  needItems(n: number, perItem: number): void {
    if (n * perItem > this.end - this.pos) {
      if (n * perItem > this.maxBytes) this.fail('too_large', `declared ${n} elements exceed the limit of ${this.maxBytes} bytes`);
      this.fail('truncated', `declares ${n} elements, ${this.end - this.pos} byte(s) left`);
    }
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('truncated', 'unexpected end of data');
    return this.buf[this.pos++] as number;
  }

  private u16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a map header; -1 for nil. Anything else is `wrong_type`. */
  mapHeader(): number {
    const c = this.byte();
    let n: number;
    if ((c & 0xf0) === 0x80) n = c & 0x0f;
    else if (c === 0xde) n = this.u16();
    else if (c === 0xdf) n = this.u32();
    else if (c === 0xc0) return -1;
    else return this.wrongType('a map', c);
    this.needItems(n, 2);
    return n;
  }

  /** Reads an array header; -1 for nil. */
  arrayHeader(): number {
    const c = this.byte();
    let n: number;
    if ((c & 0xf0) === 0x90) n = c & 0x0f;
    else if (c === 0xdc) n = this.u16();
    else if (c === 0xdd) n = this.u32();
    else if (c === 0xc0) return -1;
    else return this.wrongType('an array', c);
    this.needItems(n, 1);
    return n;
  }

  wrongType(expected: string, c: number): never {
    this.pos--;
    if (c === 0xc1) this.fail('not_msgpack', 'invalid type code 0xc1');
    return this.fail('wrong_type', `expected ${expected}, got ${describeCode(c)} (0x${c.toString(16).padStart(2, '0')})`);
  }

  /**
   * Reads a str (or bin, which Go's decoder also accepts for strings) header and returns its byte
   * length, leaving `pos` at the first byte; -1 for nil.
   */
  strHeader(): number {
    const c = this.byte();
    let n: number;
    if ((c & 0xe0) === 0xa0) n = c & 0x1f;
    else if (c === 0xd9 || c === 0xc4) n = this.byte();
    else if (c === 0xda || c === 0xc5) n = this.u16();
    else if (c === 0xdb || c === 0xc6) n = this.u32();
    else if (c === 0xc0) return -1;
    else return this.wrongType('a string', c);
    this.need(n);
    return n;
  }

  /** Reads a string (nil → ''); bytes that are not UTF-8 become U+FFFD, as in Go's JSON output. */
  str(): string {
    const n = this.strHeader();
    if (n <= 0) return '';
    const start = this.pos;
    this.lastStart = start;
    this.pos = start + n;
    return (this.buf as unknown as FastSlices).utf8Slice(start, start + n);
  }

  /**
   * Like {@link str}, but returns `same` when the string's bytes equal `buf[sameStart, sameStart+sameLen)`
   * (the bytes `same` was decoded from): `RawPath` and `OriginalPath` nearly always repeat `Path`, and a
   * byte compare is far cheaper than building a string, and keeps less heap (BENCHMARKS.md, Decode).
   */
  strOr(same: string, sameStart: number, sameLen: number): string {
    const n = this.strHeader();
    if (n <= 0) return '';
    const start = this.pos;
    this.pos = start + n;
    const b = this.buf;
    if (n === sameLen) {
      // Four bytes at a time, then the last 0–3.
      const v = this.view;
      const at = this.viewBase + start;
      const sameAt = this.viewBase + sameStart;
      let i = 0;
      while (i + 4 <= n && v.getInt32(at + i, true) === v.getInt32(sameAt + i, true)) i += 4;
      if (i + 4 > n) {
        while (i < n && b[start + i] === b[sameStart + i]) i++;
        if (i === n) return same;
      }
    }
    return (b as unknown as FastSlices).utf8Slice(start, start + n);
  }

  /**
   * Like {@link str}, for values that repeat across records (ids, names, methods, hosts, tags): short ones
   * go through a small direct-mapped cache keyed by their bytes, so most reads return an existing string
   * without allocating, and a batch of records shares one copy of each.
   */
  strCached(): string {
    const n = this.strHeader();
    if (n <= 0) return '';
    const start = this.pos;
    this.pos = start + n;
    return cachedStringAt(this.buf, this.view, this.viewBase, start, n);
  }

  /** Skips a string without building it (nil allowed). */
  skipStr(): void {
    const n = this.strHeader();
    if (n > 0) this.pos += n;
  }

  /** Reads an integer of any int code (nil → 0). Floats and everything else are `wrong_type`. */
  int(): number {
    const c = this.byte();
    if (c <= 0x7f) return c;
    if (c >= 0xe0) return c - 0x100;
    const b = this.buf;
    let v: number;
    switch (c) {
      case 0xcc:
        this.need(1);
        v = b[this.pos] as number;
        this.pos += 1;
        return v;
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        this.need(8);
        v = b.readUInt32BE(this.pos) * 4294967296 + b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        return v;
      case 0xd0:
        this.need(1);
        v = b.readInt8(this.pos);
        this.pos += 1;
        return v;
      case 0xd1:
        this.need(2);
        v = b.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      case 0xd2:
        this.need(4);
        v = b.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      case 0xd3:
        this.need(8);
        v = b.readInt32BE(this.pos) * 4294967296 + b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        return v;
      case 0xc0:
        return 0;
      default:
        return this.wrongType('an integer', c);
    }
  }

  /** Reads a float (float32/float64, or any int as Go's decoder allows; nil → 0). */
  float(): number {
    const c = this.buf[this.pos];
    if (c === 0xcb) {
      this.pos++;
      this.need(8);
      const v = this.buf.readDoubleBE(this.pos);
      this.pos += 8;
      return v;
    }
    if (c === 0xca) {
      this.pos++;
      this.need(4);
      const v = this.buf.readFloatBE(this.pos);
      this.pos += 4;
      return v;
    }
    return this.int();
  }

  /** Reads a bool (nil → false). */
  bool(): boolean {
    const c = this.byte();
    if (c === 0xc3) return true;
    if (c === 0xc2 || c === 0xc0) return false;
    return this.wrongType('a bool', c);
  }

  /**
   * Reads a Go `time.Time` as the v2 encoder writes it: `[unix seconds, nanoseconds]` (nil also means
   * the zero time). Sets `timeMs` (null for Go's zero time) and `timeNs`.
   */
  readTime(): void {
    const n = this.arrayHeader();
    if (n === -1) {
      this.timeMs = null;
      this.timeNs = 0;
      return;
    }
    if (n !== 2) this.fail('wrong_type', `expected a [seconds, nanoseconds] time, got an array of ${n}`);
    this.setTime(this.int(), this.int());
  }

  /** Sets `timeMs`/`timeNs` from Unix seconds and nanoseconds as Go's `time.Unix` would normalise them. */
  setTime(sec: number, nsec: number): void {
    if (!goTime(sec, nsec, this)) this.fail('wrong_type', `time ${sec}s is out of range`);
  }

  /** Reads an array of (repeating, so cached) strings; nil → null. */
  strArray(): string[] | null {
    const n = this.arrayHeader();
    if (n === -1) return null;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.strCached());
    return out;
  }

  /**
   * Skips one complete value of any type, iteratively (no recursion, so nesting depth cannot blow the stack).
   * Table-driven: most codes (fixint, fixstr, fixmap, fixarray, nil, bool, the fixed-width numbers and fixext)
   * take one lookup each for their size and child count, with the cursor in a local.
   */
  skip(): void {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    let pending = 1;
    while (pending > 0) {
      if (p >= end) {
        this.pos = p;
        this.fail('truncated', 'unexpected end of data');
      }
      const c = b[p] as number;
      const t = SKIP_TABLE[c] as number;
      pending--;
      if (t >= 0) {
        // Fixed size: one lookup gives the bytes after the code (low 16 bits) and the contained values.
        const next = p + 1 + (t & 0xffff);
        if (next > end) {
          this.pos = p + 1;
          this.need(t & 0xffff);
        }
        p = next;
        if (t > 0xffff) {
          pending += t >>> 16;
          // A fixmap/fixarray can declare more elements than bytes remain; catch that before looping on.
          if (pending > end - p) {
            this.pos = p;
            this.fail('truncated', `declares ${pending} more values, ${end - p} byte(s) left`);
          }
        }
      } else {
        this.pos = p + 1;
        pending += this.skipVariable(c);
        p = this.pos;
        if (pending > end - p) {
          this.pos = p;
          this.fail('truncated', `declares ${pending} more values, ${end - p} byte(s) left`);
        }
      }
    }
    this.pos = p;
  }

  /** The rest of {@link skip} for codes with a length field (`pos` after the code); returns the child count. */
  private skipVariable(c: number): number {
    switch (c) {
      case 0xc4: case 0xd9: this.skipBytes(this.byte()); return 0;
      case 0xc5: case 0xda: this.skipBytes(this.u16()); return 0;
      case 0xc6: case 0xdb: this.skipBytes(this.u32()); return 0;
      case 0xc7: this.skipBytes(this.byte() + 1); return 0;
      case 0xc8: this.skipBytes(this.u16() + 1); return 0;
      case 0xc9: this.skipBytes(this.u32() + 1); return 0;
      case 0xdc: { const n = this.u16(); this.needItems(n, 1); return n; }
      case 0xdd: { const n = this.u32(); this.needItems(n, 1); return n; }
      case 0xde: { const n = this.u16(); this.needItems(n, 2); return n * 2; }
      case 0xdf: { const n = this.u32(); this.needItems(n, 2); return n * 2; }
      default:
        this.pos--;
        return this.fail('not_msgpack', 'invalid type code 0xc1');
    }
  }

  private skipBytes(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /**
   * Reads a map key (a string) and returns the index of the matching entry of `keys`, or -1 for a key
   * not in the table. `hint` is tried first: Go writes struct fields in declaration order, so the next
   * key is almost always the one after the previous match. The common case (a fixstr key of 3+ bytes, as
   * every Go field name is) compares the header and the bytes as 32-bit words against the table's
   * precomputed ones: two to four loads instead of a byte loop with an unpredictable exit.
   */
  key(keys: KeyTable, hint: number): number {
    const b = this.buf;
    const p = this.pos;
    const c = p < this.end ? (b[p] as number) : -1;
    let start: number;
    let n: number;
    if ((c & 0xe0) === 0xa0) {
      n = c & 0x1f;
      start = p + 1;
      if (start + n > this.end) this.fail('truncated', `key needs ${n} byte(s), ${this.end - start} left`);
      this.pos = start + n;
      if (hint < keys.count && n >= 3) {
        // Header + bytes = n + 1 bytes: words at 0, 4, … and one ending exactly at the end (may overlap).
        const v = this.view;
        const at = this.viewBase + p;
        const w = keys.words;
        const wb = hint * KEY_WORDS;
        const last = n - 3; // offset of the last word
        if (v.getInt32(at, true) === w[wb] && v.getInt32(at + last, true) === w[wb + KEY_WORDS - 1]) {
          let i = 4;
          let j = wb + 1;
          while (i < last && v.getInt32(at + i, true) === w[j]) {
            i += 4;
            j++;
          }
          if (i >= last) return hint;
        }
      }
    } else {
      n = this.strHeader();
      if (n === -1) return -1;
      start = this.pos;
      this.pos = start + n;
    }
    return keys.find(b, start, n);
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

/** Largest ArrayBuffer a reader's view keeps alive between elements (a socket read is 64 KiB). */
const KEEP_VIEW_BYTES = 1 << 20;
