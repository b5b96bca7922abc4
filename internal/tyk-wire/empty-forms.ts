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
 * gateway generation), so recognising them by one byte compare skips parsing ~20 keys per record
 * (measured in BENCHMARKS.md, Decode).
 *
 * Sound because decoding is a function of the bytes alone and msgpack values are self-delimiting: bytes
 * that begin with a remembered form hold exactly that value, which decoded to the empty value before.
 */
export class EmptyForms {
  private readonly bytes = new Uint8Array(EMPTY_FORMS * EMPTY_FORM_MAX_BYTES);
  private readonly lens = new Int32Array(EMPTY_FORMS);
  private next = 0;

  /** If the value at `r.pos` is a remembered form, moves past it and returns true. */
  skip(r: MsgpackReader): boolean {
    const b = r.buf;
    const p = r.pos;
    const left = r.end - p;
    const forms = this.bytes;
    for (let f = 0; f < EMPTY_FORMS; f++) {
      const n = this.lens[f] as number;
      if (n === 0 || n > left) continue;
      const base = f * EMPTY_FORM_MAX_BYTES;
      let i = 0;
      while (i < n && b[p + i] === forms[base + i]) i++;
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
