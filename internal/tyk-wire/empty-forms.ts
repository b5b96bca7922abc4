/**
 * Recognising the all-empty sub-records of a msgpack analytics record by their bytes (see {@link EmptyForms}).
 */
import type { MsgpackReader } from './msgpack-reader.js';

/** Forms remembered per field by {@link EmptyForms}, and the longest form kept. */
const EMPTY_FORMS = 4;
const EMPTY_FORM_MAX_BYTES = 256;

/**
 * The wire forms in which one sub-record field (`Geo`, `Network`, `GraphQLStats`, `MCPStats`) decoded to
 * its shared empty value. Nearly every record carries these maps all-zero, always in the same bytes (per
 * gateway generation), so recognising them by one compare (four bytes at a time) skips parsing ~20 keys
 * per record (measured in BENCHMARKS.md, Decode).
 *
 * Sound because decoding is a function of the bytes alone and msgpack values are self-delimiting: bytes
 * that begin with a remembered form hold exactly that value, which decoded to the empty value before.
 */
export class EmptyForms {
  private readonly bytes = new Uint8Array(EMPTY_FORMS * EMPTY_FORM_MAX_BYTES);
  /** `bytes` as 32-bit words (each form starts at a multiple of 4), compared with the element's words. */
  private readonly words = new Int32Array(this.bytes.buffer);
  private readonly lens = new Int32Array(EMPTY_FORMS);
  private next = 0;

  /** If the value at `r.pos` is a remembered form, moves past it and returns true. */
  skip(r: MsgpackReader): boolean {
    const b = r.buf;
    const p = r.pos;
    const left = r.end - p;
    const v = r.view;
    const at = r.viewBase + p;
    for (let f = 0; f < EMPTY_FORMS; f++) {
      const n = this.lens[f] as number;
      if (n === 0 || n > left) continue;
      const base = f * EMPTY_FORM_MAX_BYTES;
      // Four bytes at a time (little-endian reads against the platform's words: on a big-endian machine
      // nothing matches and every value is read, which is only slower), then the last 0–3 bytes.
      let i = 0;
      let w = base >>> 2;
      while (i + 4 <= n && v.getInt32(at + i, true) === this.words[w]) {
        i += 4;
        w++;
      }
      if (i + 4 <= n) continue;
      while (i < n && b[p + i] === this.bytes[base + i]) i++;
      if (i === n) {
        r.pos = p + n;
        return true;
      }
    }
    return false;
  }

  /** Remembers `r.buf[start, r.pos)`, a value that just decoded to the empty value. */
  remember(r: MsgpackReader, start: number): void {
    const n = r.pos - start;
    if (n <= 0 || n > EMPTY_FORM_MAX_BYTES) return;
    const f = this.next;
    this.next = (f + 1) % EMPTY_FORMS;
    this.bytes.set(r.buf.subarray(start, r.pos), f * EMPTY_FORM_MAX_BYTES);
    this.lens[f] = n;
  }
}
