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
import { cachedString, type FastSlices } from './string-cache.js';

/** Human-readable name of a msgpack type code, for error messages. */
export function describeCode(c: number): string {
  if (c <= 0x7f || c >= 0xe0) return 'int';
  if (c <= 0x8f) return 'map';
  if (c <= 0x9f) return 'array';
  if (c <= 0xbf) return 'str';
  switch (c) {
    case 0xc0: return 'nil';
    case 0xc1: return 'invalid code 0xc1';
    case 0xc2: case 0xc3: return 'bool';
    case 0xc4: case 0xc5: case 0xc6: return 'bin';
    case 0xca: case 0xcb: return 'float';
    case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return 'int';
    case 0xd9: case 0xda: case 0xdb: return 'str';
    case 0xdc: case 0xdd: return 'array';
    case 0xde: case 0xdf: return 'map';
    default: return 'ext';
  }
}

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

  reset(buf: Buffer, maxBytes: number): void {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.maxBytes = maxBytes;
    this.where = '';
  }

  /** Drops the reference to the last buffer so it can be collected. */
  release(): void {
    this.buf = EMPTY_BUFFER;
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
      let i = 0;
      while (i < n && b[start + i] === b[sameStart + i]) i++;
      if (i === n) return same;
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
    return cachedString(this.buf, start, n);
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

  /** Skips one complete value of any type, iteratively (no recursion, so nesting depth cannot blow the stack). */
  skip(): void {
    let pending = 1;
    while (pending > 0) {
      pending--;
      const c = this.byte();
      if (c <= 0x7f || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) continue;
      if (c <= 0x8f) {
        pending += (c & 0x0f) * 2;
        continue;
      }
      if (c <= 0x9f) {
        pending += c & 0x0f;
        continue;
      }
      if (c <= 0xbf) {
        this.skipBytes(c & 0x1f);
        continue;
      }
      switch (c) {
        case 0xc4: case 0xd9: this.skipBytes(this.byte()); break;
        case 0xc5: case 0xda: this.skipBytes(this.u16()); break;
        case 0xc6: case 0xdb: this.skipBytes(this.u32()); break;
        case 0xc7: this.skipBytes(this.byte() + 1); break;
        case 0xc8: this.skipBytes(this.u16() + 1); break;
        case 0xc9: this.skipBytes(this.u32() + 1); break;
        case 0xca: this.skipBytes(4); break;
        case 0xcb: this.skipBytes(8); break;
        case 0xcc: case 0xd0: this.skipBytes(1); break;
        case 0xcd: case 0xd1: this.skipBytes(2); break;
        case 0xce: case 0xd2: this.skipBytes(4); break;
        case 0xcf: case 0xd3: this.skipBytes(8); break;
        case 0xd4: this.skipBytes(2); break;
        case 0xd5: this.skipBytes(3); break;
        case 0xd6: this.skipBytes(5); break;
        case 0xd7: this.skipBytes(9); break;
        case 0xd8: this.skipBytes(17); break;
        case 0xdc: { const n = this.u16(); this.needItems(n, 1); pending += n; break; }
        case 0xdd: { const n = this.u32(); this.needItems(n, 1); pending += n; break; }
        case 0xde: { const n = this.u16(); this.needItems(n, 2); pending += n * 2; break; }
        case 0xdf: { const n = this.u32(); this.needItems(n, 2); pending += n * 2; break; }
        default:
          this.pos--;
          this.fail('not_msgpack', 'invalid type code 0xc1');
      }
      // A fixmap/fixarray can declare more elements than bytes remain; catch that before looping on.
      if (pending > this.end - this.pos) this.fail('truncated', `declares ${pending} more values, ${this.end - this.pos} byte(s) left`);
    }
  }

  private skipBytes(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /**
   * Reads a map key (a string) and returns the index of the matching entry of `keys`, or -1 for a key
   * not in the table. `hint` is tried first: Go writes struct fields in declaration order, so the next
   * key is almost always the one after the previous match and the common case is one byte compare loop.
   */
  key(keys: readonly Uint8Array[], hint: number): number {
    const b = this.buf;
    const p = this.pos;
    const c = p < this.end ? (b[p] as number) : -1;
    let start: number;
    let n: number;
    if ((c & 0xe0) === 0xa0) {
      // fixstr: every Go field name is shorter than 32 bytes
      n = c & 0x1f;
      start = p + 1;
      if (start + n > this.end) this.fail('truncated', `key needs ${n} byte(s), ${this.end - start} left`);
    } else {
      n = this.strHeader();
      if (n === -1) return -1;
      start = this.pos;
    }
    this.pos = start + n;
    const k = keys[hint];
    if (k !== undefined && k.length === n) {
      let i = 0;
      while (i < n && b[start + i] === k[i]) i++;
      if (i === n) return hint;
    }
    for (let j = 0; j < keys.length; j++) {
      const kj = keys[j] as Uint8Array;
      if (kj.length !== n || j === hint) continue;
      let i = 0;
      while (i < n && b[start + i] === kj[i]) i++;
      if (i === n) return j;
    }
    return -1;
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

/** Encodes key names once, for {@link MsgpackReader.key}. */
export function keyTable(names: readonly string[]): Uint8Array[] {
  return names.map((n) => Buffer.from(n, 'utf8'));
}
