/**
 * Strings of the record decoders: Node's fast UTF-8 slicer and a small direct-mapped cache for the short
 * values that repeat on almost every record (ids, names, methods, hosts, tags), shared by the msgpack and
 * protobuf readers so a batch holds one copy of each.
 */

/** The internal fast-path string slicers every Node Buffer has (undocumented in the typings). */
export interface FastSlices {
  utf8Slice(start: number, end: number): string;
}

/**
 * A view of `b`'s whole ArrayBuffer (`b` starts at `b.byteOffset` in it), for {@link cachedStringAt}: one per
 * ArrayBuffer, remembered (the elements of one claim are slices of a few socket reads). Take it once per
 * element, not per string: reading `b.buffer` is not free.
 */
export function viewOf(b: Buffer): DataView {
  const ab = b.buffer;
  if (ab === lastBuffer) return lastView;
  // A large ArrayBuffer (a big element of its own) is not kept alive by the remembered view.
  if (ab.byteLength > 1 << 20) return new DataView(ab);
  lastBuffer = ab;
  lastView = new DataView(ab);
  return lastView;
}

/**
 * The string of the UTF-8 bytes `b[start, start+n)`, from a small direct-mapped cache keyed by the bytes
 * when short (ids, names, methods, hosts, tags repeat on almost every record): most calls allocate
 * nothing, and a batch of records shares one copy of each value. Longer strings are built directly.
 * `v` is a view of `b`'s ArrayBuffer with `b` at `base` in it ({@link viewOf}): the bytes are hashed and
 * compared four at a time.
 */
export function cachedStringAt(b: Buffer, v: DataView, base: number, start: number, n: number): string {
  if (n > CACHE_MAX_LEN) return (b as unknown as FastSlices).utf8Slice(start, start + n);
  if (n < 4) return n === 0 ? '' : shortString(b, start, n);
  const at = base + start;
  // Hash of the length and the first, middle and last 32-bit words: the full compare below decides, so
  // the hash only has to spread distinct values.
  let h = Math.imul(n ^ v.getInt32(at, true), 0x01000193);
  h = Math.imul(h ^ v.getInt32(at + n - 4, true), 0x01000193);
  h = Math.imul(h ^ v.getInt32(at + ((n - 4) >>> 1), true), 0x01000193);
  const slot = (h ^ (h >>> 15)) & CACHE_MASK;
  const base0 = slot * CACHE_MAX_LEN;
  if (cacheLen[slot] === n) {
    // Words of the cache are read in the platform's order and the element's as little-endian: on a
    // big-endian machine they never match and every call builds its string (correct, only uncached).
    let o = 0;
    let w = base0 >>> 2;
    while (o + 4 <= n && v.getInt32(at + o, true) === cacheWords[w]) {
      o += 4;
      w++;
    }
    if (o + 4 > n) {
      while (o < n && cacheBytes[base0 + o] === b[start + o]) o++;
      if (o === n) return cacheStr[slot] as string;
    }
  }
  const s = (b as unknown as FastSlices).utf8Slice(start, start + n);
  cacheLen[slot] = n;
  cacheStr[slot] = s;
  for (let i = 0; i < n; i++) cacheBytes[base0 + i] = b[start + i] as number;
  return s;
}

/** Strings of 1 to 3 bytes (methods are 3+, so these are rare): one slot per length and first byte. */
function shortString(b: Buffer, start: number, n: number): string {
  const slot = SHORT_SLOT_BASE + (n - 1) * 256 + (b[start] as number);
  const base0 = slot * 4;
  let same = shortLen[slot - SHORT_SLOT_BASE] === n;
  for (let i = 1; same && i < n; i++) same = shortBytes[base0 + i] === b[start + i];
  if (same) return shortStr[slot - SHORT_SLOT_BASE] as string;
  const s = (b as unknown as FastSlices).utf8Slice(start, start + n);
  shortLen[slot - SHORT_SLOT_BASE] = n;
  shortStr[slot - SHORT_SLOT_BASE] = s;
  for (let i = 0; i < n; i++) shortBytes[base0 + i] = b[start + i] as number;
  return s;
}

/** String cache: 4096 slots of up to 64 bytes (256 KiB of key bytes, allocated once). */
const CACHE_MAX_LEN = 64;
const CACHE_SLOTS = 4096;
const CACHE_MASK = CACHE_SLOTS - 1;
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_LEN);
const cacheWords = new Int32Array(cacheBytes.buffer);
const cacheLen = new Int32Array(CACHE_SLOTS);
const cacheStr: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** Strings of 1–3 bytes: 3 × 256 slots by length and first byte. */
const SHORT_SLOT_BASE = 0;
const shortBytes = new Uint8Array(3 * 256 * 4);
const shortLen = new Int32Array(3 * 256);
const shortStr: string[] = new Array<string>(3 * 256).fill('');

/** The ArrayBuffer of the last {@link viewOf} call and a view of it (one per socket read, typically). */
let lastBuffer: ArrayBufferLike = new ArrayBuffer(0);
let lastView: DataView = new DataView(lastBuffer);
