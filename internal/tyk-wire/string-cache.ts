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
 * The string of the UTF-8 bytes `b[start, start+n)`, from a small direct-mapped cache keyed by the bytes
 * when short (ids, names, methods, hosts, tags repeat on almost every record): most calls allocate
 * nothing, and a batch of records shares one copy of each value. Longer strings are built directly.
 */
export function cachedString(b: Buffer, start: number, n: number): string {
  const end = start + n;
  if (n > CACHE_MAX_LEN) return (b as unknown as FastSlices).utf8Slice(start, end);
  // Hash of the length and 5 sampled bytes: the full byte compare below decides, so the hash only has to
  // spread distinct values; hashing every byte was a dependent multiply per byte.
  let h = Math.imul(n ^ (b[start] as number), 0x01000193);
  h = Math.imul(h ^ (b[end - 1] as number), 0x01000193);
  h = Math.imul(h ^ (b[start + (n >>> 1)] as number), 0x01000193);
  h = Math.imul(h ^ (b[start + (n >>> 2)] as number), 0x01000193);
  h = Math.imul(h ^ (b[end - 1 - (n >>> 2)] as number), 0x01000193);
  const slot = (h ^ (h >>> 15)) & CACHE_MASK;
  const base = slot * CACHE_MAX_LEN;
  if (cacheLen[slot] === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cacheBytes[base + i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheStr[slot] as string;
  }
  const s = (b as unknown as FastSlices).utf8Slice(start, end);
  cacheLen[slot] = n;
  cacheStr[slot] = s;
  for (let i = 0; i < n; i++) cacheBytes[base + i] = b[start + i] as number;
  return s;
}

/** String cache: 4096 slots of up to 64 bytes (256 KiB of key bytes, allocated once). */
const CACHE_MAX_LEN = 64;
const CACHE_SLOTS = 4096;
const CACHE_MASK = CACHE_SLOTS - 1;
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_LEN);
const cacheLen = new Int32Array(CACHE_SLOTS);
const cacheStr: string[] = new Array<string>(CACHE_SLOTS).fill('');
