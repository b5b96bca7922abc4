/**
 * Decoding a batch again from the original bytes it carries (`RecordBatch.wire`), for a receiver's
 * re-delivery. Both Redis receivers release a chunk's decoded records once the pipelines accepted them and
 * keep only the bytes (which they keep anyway, to dead-letter them after a permanent failure): a chunk can
 * stay unacknowledged long after its records were used — held in the `sli` emission window, or in an
 * exporter's queue — and keeping thousands of decoded records alive for a rare re-delivery made the GC
 * promote and mark them (measured: BENCHMARKS.md, "The emission window and the receiver's bound").
 */
import { withWire, type RecordBatch, type RecordWire, type TykRecord } from '../../src/model.js';
import { decodeAnalytics, decodeUptime, type DecodeOptions } from './decode.js';

/**
 * The records of `wire`, decoded again with `options` (the receiver's projection and size bound), `wire`
 * attached. The bytes decoded before with the same options, so they decode again; `options.onCoercion` is
 * not called (the tolerant path's coercions were counted the first time).
 *
 * @throws Error if a record that decoded before does not decode now (a decoder bug, never the input).
 */
export function decodeWire(wire: RecordWire, options: DecodeOptions): RecordBatch {
  const opts: DecodeOptions = { ...options, onCoercion: undefined };
  const out: TykRecord[] = [];
  let start = 0;
  for (const run of wire.runs) {
    for (let i = start; i < run.end; i++) {
      const bytes = wire.bytes[i] as Buffer;
      try {
        out.push(run.format === 'uptime' ? decodeUptime(bytes, opts) : decodeAnalytics(bytes, run.format, opts));
      } catch (err) {
        throw new Error(`a record that decoded before does not decode again (${run.source}, index ${i}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    start = run.end;
  }
  if (start !== wire.bytes.length) throw new Error(`wire runs cover ${start} of ${wire.bytes.length} records`);
  return withWire(out, wire);
}
