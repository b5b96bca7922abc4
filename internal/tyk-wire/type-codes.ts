/**
 * Facts about msgpack type codes the reader needs: a name for error messages, and the size and contents
 * of the values whose size the code alone decides (for skipping).
 */
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
 * For `MsgpackReader.skip`, by type code: when the size is fixed by the code, the bytes the value
 * takes after its code (low 16 bits) plus 65536 × the values it contains (maps: keys and values); -1 when a
 * length field follows (or 0xc1).
 */
export const SKIP_TABLE = new Int32Array(256).fill(-1);
for (let c = 0; c < 256; c++) {
  if (c <= 0x7f || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) SKIP_TABLE[c] = 0;
  else if (c <= 0x8f) SKIP_TABLE[c] = ((c & 0x0f) * 2) << 16;
  else if (c <= 0x9f) SKIP_TABLE[c] = (c & 0x0f) << 16;
  else if (c <= 0xbf) SKIP_TABLE[c] = c & 0x1f;
}
for (const [c, n] of [[0xca, 4], [0xcb, 8], [0xcc, 1], [0xd0, 1], [0xcd, 2], [0xd1, 2], [0xce, 4], [0xd2, 4], [0xcf, 8], [0xd3, 8], [0xd4, 2], [0xd5, 3], [0xd6, 5], [0xd7, 9], [0xd8, 17]] as const) SKIP_TABLE[c] = n;
