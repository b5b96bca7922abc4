/**
 * A readable dump of a dead-lettered element (of the `tyk_redis` or `redis_stream` receiver) for
 * `tyk-otel-pump dead-letters show`: as far as the bytes can be read, even when the typed decoder refused them.
 *
 * - msgpack (analytics and uptime): `msgpackr`'s generic unpack, printed key by key; the key the typed
 *   decoder stumbled on is flagged with its error.
 * - protobuf: protobufjs's wire `Reader`, as raw field numbers and wire types (length-delimited values as
 *   text when they are printable, otherwise as base64; nested messages are not guessed at).
 * - Secrets are masked as the `redact` processor's `obfuscate_api_keys` masks them (`APIKey`, `key-…` tags);
 *   raw request/response/schema payloads show their size and a short base64 prefix only.
 */
import { Unpackr } from 'msgpackr';
import protobuf from 'protobufjs';
import { obfuscateApiKey } from '../../src/record-fields.js';
import { DecodeError } from '../../src/errors.js';
import type { WireFormat } from '../../src/model.js';
import { decodeAnalytics, decodeUptime } from './decode.js';
import { PROTO_FIELD_NUMBERS } from './protobuf-record.js';

/** How the bytes are encoded (a list's encoding, a stream entry's `format`). */
type ListEncoding = WireFormat;

const unpackr = new Unpackr({ mapsAsObjects: true, int64AsType: 'string', useRecords: false });

/** Keys whose values are large base64 payloads: shown by size and a prefix. */
const RAW_KEYS = new Set(['RawRequest', 'RawResponse', 'ApiSchema', 'APISchema']);
const PAYLOAD_PREFIX = 24;
const MAX_LINES = 400;

/** The typed decoder's verdict on the bytes: undefined when they decode, else the error. */
export function typedError(bytes: Buffer, format: ListEncoding, tolerant: boolean): DecodeError | undefined {
  try {
    if (format === 'uptime') decodeUptime(bytes);
    else decodeAnalytics(bytes, format, { tolerant });
    return undefined;
  } catch (err) {
    if (err instanceof DecodeError) return err;
    return new DecodeError('not_a_record', String(err));
  }
}

/** The field a typed-decoder message names (`msgpack: ResponseCode: expected …` → `ResponseCode`). */
export function failingField(err: DecodeError | undefined): string | undefined {
  const m = err && /^msgpack: ([A-Za-z][A-Za-z0-9.]*): /.exec(err.message);
  return m ? m[1] : undefined;
}

/** Dumps one element's bytes as text lines (no trailing newline). */
export function dumpElement(bytes: Buffer, format: ListEncoding): string {
  const strict = typedError(bytes, format, false);
  const lines: string[] = [];
  lines.push(`typed decoder: ${strict ? `${strict.reason}: ${strict.message}` : 'decodes'}`);
  if (format !== 'uptime' && strict?.reason === 'wrong_type') {
    const tolerant = typedError(bytes, format, true);
    lines.push(`tolerant decoder: ${tolerant ? `${tolerant.reason}: ${tolerant.message}` : 'decodes (a replay would be accepted)'}`);
  }
  if (format === 'protobuf') dumpProtobuf(bytes, lines);
  else dumpMsgpack(bytes, failingField(strict), lines);
  if (lines.length > MAX_LINES) {
    const n = lines.length - MAX_LINES;
    lines.length = MAX_LINES;
    lines.push(`… ${n} more line(s)`);
  }
  return lines.join('\n');
}

function dumpMsgpack(bytes: Buffer, flagged: string | undefined, lines: string[]): void {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    lines.push(`msgpack: not readable (${(err as Error).message}); ${bytes.length} bytes, base64:`);
    lines.push(`  ${bytes.subarray(0, 3 * 1024).toString('base64')}${bytes.length > 3 * 1024 ? '…' : ''}`);
    return;
  }
  lines.push('msgpack:');
  walk(value, '', 1, flagged, lines);
}

function walk(v: unknown, path: string, depth: number, flagged: string | undefined, lines: string[]): void {
  const pad = '  '.repeat(depth);
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      const p = path === '' ? k : `${path}.${k}`;
      const flag = flagged === p ? '   <-- refused by the typed decoder' : '';
      if (isContainer(val) && !(RAW_KEYS.has(k))) {
        lines.push(`${pad}${k}: ${describeContainer(val)}${flag}`);
        walk(val, p, depth + 1, flagged, lines);
      } else lines.push(`${pad}${k}: ${scalar(val, k)}${flag}`);
    }
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (isContainer(e)) {
        lines.push(`${pad}- ${describeContainer(e)}`);
        walk(e, `${path}[${i}]`, depth + 1, flagged, lines);
      } else lines.push(`${pad}- ${scalar(e, path.endsWith('Tags') ? 'Tags[]' : '')}`);
    });
    return;
  }
  lines.push(`${pad}${scalar(v, '')}`);
}

function isContainer(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function describeContainer(v: unknown): string {
  return Array.isArray(v) ? `(array of ${v.length})` : `(map of ${Object.keys(v as object).length})`;
}

function scalar(v: unknown, key: string): string {
  if (v === null || v === undefined) return 'nil';
  if (v instanceof Uint8Array) return `<bin ${v.length} bytes> ${Buffer.from(v).subarray(0, PAYLOAD_PREFIX * 3).toString('base64')}${v.length > PAYLOAD_PREFIX * 3 ? '…' : ''}`;
  if (v instanceof Date) return `<timestamp> ${v.toISOString()}`;
  if (typeof v === 'string') {
    if (key === 'APIKey') return JSON.stringify(v === '' ? '' : obfuscateApiKey(v));
    if (key === 'Tags[]' && v.startsWith('key-')) return JSON.stringify(`key-${obfuscateApiKey(v.slice(4))}`);
    if (RAW_KEYS.has(key) && v.length > PAYLOAD_PREFIX) return `<${v.length} chars of base64> ${v.slice(0, PAYLOAD_PREFIX)}…`;
    return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  }
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${String(v)} (${typeof v === 'number' && !Number.isInteger(v) ? 'float' : typeof v})`;
  return JSON.stringify(v);
}

const RECORD_FIELD_NAMES = new Map<number, string>(Object.entries(PROTO_FIELD_NUMBERS.AnalyticsRecord).map(([name, n]) => [n, name]));
const WIRE = ['varint', 'fixed64', 'bytes', 'start_group', 'end_group', 'fixed32'];

function dumpProtobuf(bytes: Buffer, lines: string[]): void {
  lines.push('protobuf (raw fields: number name wire-type value):');
  const r = protobuf.Reader.create(bytes);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      const name = RECORD_FIELD_NAMES.get(field) ?? '?';
      let value: string;
      switch (wire) {
        case 0: value = r.int64().toString(); break;
        case 1: value = r.fixed64().toString(); break;
        case 2: {
          const b = Buffer.from(r.bytes());
          value = bytesValue(b, name);
          break;
        }
        case 5: value = String(r.fixed32()); break;
        default: r.skipType(wire); value = '(skipped)';
      }
      lines.push(`  ${field} ${name} ${WIRE[wire] ?? wire} ${value}`);
    }
  } catch (err) {
    lines.push(`  stopped at byte ${r.pos} of ${r.len}: ${(err as Error).message}`);
  }
}

function bytesValue(b: Buffer, name: string): string {
  const text = b.toString('utf8');
  const printable = !text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  if (printable) {
    if (name === 'APIKey') return JSON.stringify(text === '' ? '' : obfuscateApiKey(text));
    if (name === 'Tags' && text.startsWith('key-')) return JSON.stringify(`key-${obfuscateApiKey(text.slice(4))}`);
    if (RAW_KEYS.has(name) && text.length > PAYLOAD_PREFIX) return `<${text.length} chars of base64> ${text.slice(0, PAYLOAD_PREFIX)}…`;
    return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  }
  return `<${b.length} bytes, base64> ${b.subarray(0, 48).toString('base64')}${b.length > 48 ? '…' : ''}`;
}
