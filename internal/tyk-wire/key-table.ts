/**
 * The key names a msgpack map is matched against (`MsgpackReader.key`), encoded once: their bytes, and
 * their fixstr header and bytes as 32-bit words, so the expected key is checked in two to four compares.
 */
/** Words per key in a {@link KeyTable}: the first and middle words, then the last one in the final slot. */
export const KEY_WORDS = 9;

/**
 * Key names encoded once, for `MsgpackReader.key`: their bytes, and for fixstr keys of 3 to 31 bytes
 * the header and bytes as little-endian 32-bit words (first, middle…, and the last word in the final slot).
 */
export class KeyTable {
  readonly count: number;
  readonly bytes: readonly Uint8Array[];
  readonly words: Int32Array;

  constructor(names: readonly string[]) {
    this.bytes = names.map((n) => Buffer.from(n, 'utf8'));
    this.count = this.bytes.length;
    this.words = new Int32Array(this.count * KEY_WORDS);
    this.bytes.forEach((k, i) => {
      const n = k.length;
      if (n < 3 || n > 31) {
        // Never matched by words: a first word no header can have (0xa0|n in the low byte, n ≤ 31 here).
        this.words[i * KEY_WORDS] = 0;
        return;
      }
      const enc = Buffer.concat([Buffer.from([0xa0 | n]), k]);
      const v = new DataView(enc.buffer, enc.byteOffset, enc.length);
      const last = n - 3;
      this.words[i * KEY_WORDS] = v.getInt32(0, true);
      for (let o = 4, j = 1; o < last; o += 4, j++) this.words[i * KEY_WORDS + j] = v.getInt32(o, true);
      this.words[i * KEY_WORDS + KEY_WORDS - 1] = v.getInt32(last, true);
    });
  }

  /** The index of the key whose bytes are `b[start, start+n)`, or -1. */
  find(b: Buffer, start: number, n: number): number {
    for (let j = 0; j < this.count; j++) {
      const kj = this.bytes[j] as Uint8Array;
      if (kj.length !== n) continue;
      let i = 0;
      while (i < n && b[start + i] === kj[i]) i++;
      if (i === n) return j;
    }
    return -1;
  }
}

/** Encodes key names once, for `MsgpackReader.key`. */
export function keyTable(names: readonly string[]): KeyTable {
  return new KeyTable(names);
}
