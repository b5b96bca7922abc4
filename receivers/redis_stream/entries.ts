/**
 * Stream entries → records: reads the fields the `redis_stream` exporter writes (`data`, `source`,
 * `format`), decodes `data` with the Tyk wire decoder (the one `tyk_redis` uses), and makes the dead-letter
 * envelopes of entries that can never be delivered. An entry with a `group` field is a dead letter replayed
 * for that consumer group (`dead-letters.ts`): the other groups skip it (they had it already).
 */
import { DecodeError } from '../../src/errors.js';
import { withWire, type RecordBatch, type TykRecord, type WireFormat, type WireRun } from '../../src/model.js';
import { decodeAnalytics, decodeUptime, type DecodeOptions } from '../../internal/tyk-wire/decode.js';

/** One entry as XREADGROUP / XAUTOCLAIM return it (fields null when the entry was trimmed meanwhile). */
export type RawEntry = [id: Buffer | string, fields: Buffer[] | null];

/** An entry that could not be decoded (dead-lettered, then acknowledged). */
export interface RefusedEntry {
  readonly id: string;
  readonly reason: string;
  readonly error: string;
  readonly bytes: Buffer;
  readonly source: string;
  readonly format: string;
}

/** What a read decodes to. */
export interface DecodedEntries {
  /** Every entry id, trimmed ones included (all are acknowledged together). */
  readonly ids: string[];
  readonly records: RecordBatch;
  /** Bytes of `records[i]`. */
  readonly bytes: Buffer[];
  readonly refused: RefusedEntry[];
  /** Entries that were trimmed while pending (lost). */
  readonly trimmed: number;
  /** Dead letters replayed for another group: acknowledged without delivery. */
  readonly otherGroup: number;
}

const FORMATS: ReadonlySet<string> = new Set(['msgpack', 'protobuf', 'uptime']);

/** Decodes entries read by consumer group `group`; never throws. */
export function decodeEntries(entries: readonly RawEntry[], opts: DecodeOptions, group: string): DecodedEntries {
  const ids: string[] = [];
  const records: TykRecord[] = [];
  const bytes: Buffer[] = [];
  const runs: WireRun[] = [];
  const refused: RefusedEntry[] = [];
  let trimmed = 0;
  let otherGroup = 0;
  for (const [rawId, fields] of entries) {
    const id = rawId.toString();
    ids.push(id);
    if (!fields) {
      trimmed++;
      continue;
    }
    let data: Buffer | undefined;
    let source = '';
    let format = '';
    let forGroup: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const k = (fields[i] as Buffer).toString();
      if (k === 'data') data = fields[i + 1];
      else if (k === 'source') source = (fields[i + 1] as Buffer).toString();
      else if (k === 'format') format = (fields[i + 1] as Buffer).toString();
      else if (k === 'group') forGroup = (fields[i + 1] as Buffer).toString();
    }
    if (forGroup !== undefined && forGroup !== group) {
      otherGroup++;
      continue;
    }
    if (!data || !FORMATS.has(format)) {
      refused.push({ id, reason: 'not_a_record', error: data ? `unknown format ${JSON.stringify(format.slice(0, 40))}` : 'entry has no data field', bytes: data ?? Buffer.alloc(0), source, format });
      continue;
    }
    try {
      records.push(format === 'uptime' ? decodeUptime(data, opts) : decodeAnalytics(data, format as 'msgpack' | 'protobuf', opts));
      bytes.push(data);
      const last = runs[runs.length - 1];
      if (last && last.source === source && last.format === format) runs[runs.length - 1] = { end: records.length, source, format };
      else runs.push({ end: records.length, source, format: format as WireFormat });
    } catch (err) {
      refused.push({ id, reason: err instanceof DecodeError ? err.reason : 'decoder_error', error: err instanceof Error ? err.message : String(err), bytes: data, source, format });
    }
  }
  return { ids, records: withWire(records, { bytes, runs }), bytes, refused, trimmed, otherGroup };
}

/** A dead-letter envelope (JSON, the bytes in base64). */
export function envelope(e: { reason: string; error: string; bytes: Buffer; source: string; format: string; id: string; stream: string; group: string; consumer: string; receiver: string }): string {
  return JSON.stringify({
    time: new Date().toISOString(), reason: e.reason, error: e.error, stream: e.stream, group: e.group, entry: e.id,
    source: e.source, format: e.format, receiver: e.receiver, consumer: e.consumer, size: e.bytes.length, bytes: e.bytes.toString('base64'),
  });
}
