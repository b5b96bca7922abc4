/**
 * Decodes Tyk analytics and uptime records exactly as the gateway leaves them in Redis (tyk-pump
 * `analytics/analytics.go`, `serializer/msgp.go`, `serializer/protobuf.go`; see `test/fixtures/README.md`):
 *
 * - msgpack (`gopkg.in/vmihailenco/msgpack.v2`, `msgpack-record.ts`), every gateway generation;
 * - protobuf (`serializer_type: protobuf`, keys with the `_protobuf` suffix): tyk-pump's `normalproto`
 *   schema (`analytics-proto.ts`), read with protobufjs's wire Reader (`protobuf-record.ts`);
 * - uptime records (`host-checker:tyk-uptime-analytics`, msgpack, `uptime.ts`).
 *
 * A projection (`projection.ts`) says which fields to build: the rest is skipped by length and stays
 * neutral (`src/record-reads.ts`); with none, an element is only checked.
 *
 * Every failure is a `DecodeError` with a stable `reason`; no input makes these functions throw anything
 * else, allocate beyond the input's size, or loop without end.
 */
import type { AnalyticsRecord, UptimeRecord } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { decodeMsgpackAnalytics } from './msgpack-record.js';
import { decodeProtobufRecord } from './protobuf-record.js';
import { applyProjection, FULL_PROJECTION, NO_RAW_PROJECTION, projection, type Projection } from './projection.js';
import { checkSize, reader } from './shared-reader.js';
import { decodeTolerant } from './tolerant.js';
import type { CoercionSink } from './tolerant.js';
import { checkMsgpackUptime, decodeMsgpackUptime } from './uptime.js';

/** Options of {@link decodeAnalytics}. */
export interface DecodeOptions {
  /**
   * The fields to build (default: all, or all but the raw blobs when `raw` is false). A receiver makes it
   * once from what its pipelines read (`projection(reads, { raw })`); it then takes precedence over `raw`.
   */
  readonly projection?: Projection;
  /**
   * Build `rawRequest`, `rawResponse` and `apiSchema` (default true). When false they are skipped
   * without building strings and decode as '': they are large base64 blobs most pipelines never read.
   */
  readonly raw?: boolean;
  /** Largest element accepted, in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}); larger → `too_large`. */
  readonly maxBytes?: number;
  /**
   * Hand msgpack records the fast reader refuses as `wrong_type` (a known key with an unexpected type) to
   * the tolerant slow path (`tolerant.ts`) instead of refusing them (default true).
   */
  readonly tolerant?: boolean;
  /** Receives every coercion the tolerant path makes (field path and reason), for counting. */
  readonly onCoercion?: CoercionSink;
}

/** Default limit on one Redis list element: 16 MiB (a record with detailed recording is rarely above 1 MiB). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

function projectionOf(options: DecodeOptions | undefined): Projection {
  return options?.projection ?? (options?.raw === false ? NO_RAW_PROJECTION : FULL_PROJECTION);
}

/** Whether the projection keeps any of the raw blobs (the tolerant path then builds them). */
function readsRaw(p: Projection): boolean {
  return p.fields === 'all' || p.fields.has('rawRequest') || p.fields.has('rawResponse') || p.fields.has('apiSchema');
}

/**
 * Decodes one analytics record (an element of `analytics-tyk-system-analytics[_N][_protobuf]`).
 * `kind` is 'network' when `ResponseCode` is -1, else 'http'; `route` is ''.
 *
 * A msgpack record with a known key of an unexpected type goes through the tolerant path (see
 * {@link DecodeOptions.tolerant}); `wrong_type` then means a required field could not be recovered.
 *
 * @throws DecodeError with `reason` `not_msgpack`, `not_protobuf`, `truncated`, `wrong_type`,
 *   `not_a_record` or `too_large`.
 */
export function decodeAnalytics(bytes: Buffer, encoding: 'msgpack' | 'protobuf', options?: DecodeOptions): AnalyticsRecord {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  checkSize(bytes, maxBytes);
  const p = projectionOf(options);
  if (encoding === 'protobuf') return decodeProtobufRecord(bytes, p);
  reader.reset(bytes, maxBytes);
  try {
    return decodeMsgpackAnalytics(p);
  } catch (err) {
    // A shape we do not know yet (a future gateway's int → float, string → array, …): the slow path
    // coerces what it can. Only a type error goes there; broken msgpack stays refused.
    if (err instanceof DecodeError && err.reason === 'wrong_type' && options?.tolerant !== false) {
      reader.release();
      return applyProjection(decodeTolerant(bytes, readsRaw(p), options?.onCoercion), p);
    }
    throw err;
  } finally {
    reader.release();
  }
}

/**
 * Decodes one host-checker uptime record (an element of `host-checker:tyk-uptime-analytics`, always msgpack).
 * Uptime records are small and decoded in full, unless the projection reads no field at all: then the
 * element is only checked and a shared placeholder returned.
 *
 * @throws DecodeError as {@link decodeAnalytics}.
 */
export function decodeUptime(bytes: Buffer, options?: Pick<DecodeOptions, 'maxBytes' | 'projection'>): UptimeRecord {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  checkSize(bytes, maxBytes);
  reader.reset(bytes, maxBytes);
  try {
    return options?.projection?.none === true ? checkMsgpackUptime() : decodeMsgpackUptime();
  } finally {
    reader.release();
  }
}

/** Only the timestamp. */
const TIME_PROJECTION = projection(['timestampMs']);

/**
 * The timestamp (epoch ms, null for Go's zero time or an element that does not decode) of one element, for
 * a receiver whose pipelines do not read it but which reports the age of what it drains.
 */
export function wireTimestampMs(bytes: Buffer, format: 'msgpack' | 'protobuf' | 'uptime', maxBytes: number = DEFAULT_MAX_RECORD_BYTES): number | null {
  try {
    const r = format === 'uptime' ? decodeUptime(bytes, { maxBytes }) : decodeAnalytics(bytes, format, { maxBytes, projection: TIME_PROJECTION });
    return r.timestampMs;
  } catch {
    return null;
  }
}
