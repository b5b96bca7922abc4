/**
 * The one msgpack reader every msgpack decoder of this folder uses (decoding is synchronous, so one
 * cursor serves all and the hot path allocates nothing for it), and the checks of a record's top level.
 */
import { DecodeError } from '../../src/errors.js';
import { MsgpackReader } from './msgpack-reader.js';

/** The shared cursor: `reset()` before a record, `release()` after it. */
export const reader = new MsgpackReader();

/** Refuses a top-level value that is not a map: valid msgpack of another type → `not_a_record`, else `not_msgpack`. */
function notAMap(what: string): never {
  const r = reader;
  r.pos = 0;
  r.where = '';
  let wellFormed = false;
  if (r.end > 0) {
    try {
      r.skip();
      wellFormed = r.pos === r.end;
    } catch {
      wellFormed = false;
    }
  }
  if (wellFormed) throw new DecodeError('not_a_record', `msgpack: a ${what} is not a map`);
  throw new DecodeError(r.end === 0 ? 'truncated' : 'not_msgpack', r.end === 0 ? 'empty element' : 'msgpack: not a msgpack map');
}

function describeTop(c: number): string {
  if (c <= 0x7f || c >= 0xe0) return 'int';
  if (c <= 0x9f) return 'array';
  if (c <= 0xbf) return 'str';
  return `0x${c.toString(16)}`;
}

/** Reads the record's top-level map header; anything else is refused (`what` names the expected record). */
export function topMapHeader(what: string): number {
  const r = reader;
  if (r.end === 0) throw new DecodeError('truncated', 'empty element');
  const c = r.buf[0] as number;
  if ((c & 0xf0) !== 0x80 && c !== 0xde && c !== 0xdf) notAMap(`value of type ${describeTop(c)}`);
  return r.mapHeader();
}

/** Refuses an element larger than `maxBytes`. */
export function checkSize(bytes: Buffer, maxBytes: number): void {
  if (bytes.length > maxBytes) {
    throw new DecodeError('too_large', `record of ${bytes.length} bytes exceeds the limit of ${maxBytes} bytes`);
  }
}
