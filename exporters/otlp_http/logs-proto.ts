/**
 * OTLP/protobuf logs request bodies (`ExportLogsServiceRequest`) written straight from our `LogEntry`
 * batches: the hot path of an `audit_log → otlp_http` pipeline. The bytes are the ones
 * `ProtobufLogsSerializer.serializeRequest` of `@opentelemetry/otlp-transformer` 0.223.0 writes for the
 * `ReadableLogRecord`s encode.ts built before (same fields, same order, same minimal length varints):
 * logs-proto.test.ts holds every shape `audit_log` produces, and the edge cases, to that.
 *
 * Why our own (BENCHMARKS.md, "OTLP logs encoding", has the figures): the library walks every string in
 * JavaScript twice (a size estimate, then the write) and nests a frame per attribute. Here attribute keys
 * are encoded once per exporter, the whole `KeyValue` of a repeated string value (API ids, methods,
 * hosts, org ids) is copied from a cache, other strings are copied once with their frame lengths known
 * beforehand (proto-writer.ts), and the resource and scope are written once per request.
 */
import type { LogEntry, ResourceAttributes } from '../../src/model.js';
import { encodeKey, lenSize, ProtoWriter, putInt, putLen, putTime } from './proto-writer.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const hasOwn = Object.prototype.hasOwnProperty;
/** Attribute keys whose encoded form is kept (a pipeline's keys are a few dozen). */
const MAX_KEYS = 4096;
/** Keys whose repeated string values are cached, at most: the cache is bounded by 64 × 256 values × 256 B. */
const MAX_CACHING_KEYS = 64;
const MAX_VALUES_PER_KEY = 256;
const MAX_CACHED_FRAME = 256;
/** A key's hit rate is reviewed every this many values; below half, its cache is dropped … */
const REVIEW_EVERY = 1024;
/** … and tried again after this many more values (traffic changes). */
const RETRY_AFTER = 65_536;

/**
 * An attribute key: its encoded `KeyValue.key`, and while its string values repeat, the whole encoded
 * `KeyValue` (LogRecord.attributes) of each value seen. Adaptive: a key whose values mostly do not repeat
 * (paths, client addresses) stops being looked up at its first review.
 */
interface KeyState {
  readonly bytes: Uint8Array;
  /** Encoded frames by string value; undefined while this key's values are not cached. */
  values: Map<string, Uint8Array> | undefined;
  /** String values seen since the last review (or since the cache was dropped), and cache hits among them. */
  seen: number;
  hits: number;
  /** Whether this key holds one of the {@link MAX_CACHING_KEYS} cache slots (claimed at its first string). */
  slot: boolean;
  /** Kept in the key map (the first {@link MAX_KEYS} names); only those may claim a slot. */
  readonly kept: boolean;
}

/** What a request is made of besides its records. */
export interface LogsRequestHead {
  /** The batch's resource attributes with the exporter's `resource` merged over them. */
  readonly resource: ResourceAttributes;
  /** Instrumentation scope name and version. */
  readonly scopeName: string;
  readonly scopeVersion: string;
}

/**
 * Encodes log records into `ExportLogsServiceRequest` protobuf bodies. One instance per exporter. Each
 * `encode` runs to completion synchronously and returns a view of a buffer that is the caller's from
 * then on (no copy); `recycle` hands it back once gzipped. Encoded keys and values are kept between calls.
 */
export class LogsProtoEncoder extends ProtoWriter {
  private readonly keys = new Map<string, KeyState>();
  private cachingKeys = 0;
  /** `observed_time_unix_nano` of the current request: tag and fixed64. */
  private readonly observed = new Uint8Array(9);

  /**
   * One request body for `logs[from, to)`, all under one resource and scope, observed at `observedMs`
   * (empty when `from >= to`, as the library's serializer gives for no records).
   */
  encode(head: LogsRequestHead, logs: readonly LogEntry[], from: number, to: number, observedMs: number): Buffer {
    if (from >= to) return Buffer.alloc(0);
    // Resource and scope first, at the start of the buffer (their sizes are known once written), then the
    // records after room for the two outer frame headers; the headers go last, just in front of the
    // records, with the resource and scope moved next to them: the request is one contiguous run.
    this.begin();
    this.resourceMessage(head.resource);
    const resourceLen = this.pos;
    this.scopeMessage(head.scopeName, head.scopeVersion);
    const scopeLen = this.pos - resourceLen;
    const recordsStart = this.pos + 12;
    this.ensure(12);
    this.pos = recordsStart;
    this.observed[0] = 0x59; // LogRecord.observed_time_unix_nano (11, fixed64)
    putTime(this.observed, 1, observedMs, 0);
    for (let i = from; i < to; i++) this.record(logs[i] as LogEntry);

    const scopeLogsLen = scopeLen + this.pos - recordsStart;
    const resourceLogsLen = resourceLen + 1 + lenSize(scopeLogsLen) + scopeLogsLen;
    const buf = this.buf;
    buf.copyWithin(recordsStart - scopeLen, resourceLen, resourceLen + scopeLen);
    let p = recordsStart - scopeLen - 1 - lenSize(scopeLogsLen);
    buf[p] = 0x12; // ResourceLogs.scope_logs (2)
    putLen(buf, p + 1, scopeLogsLen);
    p -= resourceLen;
    buf.copyWithin(p, 0, resourceLen);
    const start = p - 1 - lenSize(resourceLogsLen);
    buf[start] = 0x0a; // ExportLogsServiceRequest.resource_logs (1)
    putLen(buf, start + 1, resourceLogsLen);
    return this.end(start);
  }

  /** `ResourceLogs.resource` (1): the attributes an SDK `Resource` holds (null/undefined dropped), dropped count 0. */
  private resourceMessage(attrs: ResourceAttributes): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x0a;
    const at = this.beginLen();
    for (const k in attrs) {
      if (!hasOwn.call(attrs, k)) continue;
      const v = (attrs as Record<string, unknown>)[k];
      if (v == null || typeof (v as { then?: unknown }).then === 'function') continue;
      this.keyValue(0x0a, encodeKey(k), v as string);
    }
    this.ensure(2);
    this.buf[this.pos++] = 0x10; // Resource.dropped_attributes_count (2)
    this.buf[this.pos++] = 0;
    this.endLen(at);
  }

  /** `ScopeLogs.scope` (1): name (always), version (when not empty). */
  private scopeMessage(name: string, version: string): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x0a;
    const at = this.beginLen();
    this.stringField(0x0a, name);
    if (version) this.stringField(0x12, version);
    this.endLen(at);
  }

  /** One `ScopeLogs.log_records` (2) entry, fields in the library's order. */
  private record(e: LogEntry): void {
    this.ensure(3 + 9 + 11);
    const buf = this.buf;
    const start = this.pos;
    buf[start] = 0x12;
    // Two bytes reserved for the record's length: records of 128 B – 16 KiB (the usual) need no move.
    let p = start + 3;
    buf[p++] = 0x09; // time_unix_nano (1, fixed64)
    p = putTime(buf, p, e.timestampMs, e.timestampNs);
    const sev = e.severityNumber;
    if (sev !== undefined && (sev as number) !== 0) {
      buf[p++] = 0x10; // severity_number (2)
      p = putInt(buf, p, sev);
    }
    this.pos = p;
    if (e.severityText) this.stringField(0x1a, e.severityText); // severity_text (3)
    const body = e.body;
    if (typeof body === 'string') this.stringField(0x2a, body, 0x0a); // body (5): AnyValue.string_value
    else if (body !== undefined) {
      this.ensure(1);
      this.buf[this.pos++] = 0x2a;
      const at = this.beginLen();
      this.anyValue(body);
      this.endLen(at);
    }
    // attributes (6): for-in + hasOwnProperty, as the library visits them (and, on fresh entries, ~12 %
    // cheaper than Object.keys, which allocates an array per record).
    const attrs = e.attributes;
    const keys = this.keys;
    for (const k in attrs) {
      if (!hasOwn.call(attrs, k)) continue;
      const v = attrs[k];
      const st = keys.get(k) ?? this.keyState(k);
      if (typeof v === 'string') this.stringAttribute(st, v);
      else this.keyValue(0x32, st.bytes, v);
    }
    this.ensure(2 + 18 + 9);
    const b = this.buf;
    p = this.pos;
    b[p++] = 0x38; // dropped_attributes_count (7)
    b[p++] = 0;
    const traceId = e.traceId;
    if (traceId !== undefined && TRACE_ID.test(traceId)) {
      b[p++] = 0x4a; // trace_id (9)
      b[p++] = 16;
      for (let i = 0; i < 32; i += 2) b[p++] = (hexValue(traceId.charCodeAt(i)) << 4) | hexValue(traceId.charCodeAt(i + 1));
    }
    b.set(this.observed, p);
    this.pos = p + 9;
    this.finishRecord(start);
  }

  /** Writes the length of the record at `start` (its tag there, two bytes reserved after it). */
  private finishRecord(start: number): void {
    const len = this.pos - start - 3;
    const buf = this.buf;
    if (len < 0x80) {
      buf.copyWithin(start + 2, start + 3, this.pos);
      buf[start + 1] = len;
      this.pos--;
    } else if (len < 0x4000) {
      buf[start + 1] = (len & 0x7f) | 0x80;
      buf[start + 2] = len >>> 7;
    } else {
      const extra = lenSize(len) - 2;
      this.ensure(extra);
      this.buf.copyWithin(start + 3 + extra, start + 3, this.pos);
      putLen(this.buf, start + 1, len);
      this.pos += extra;
    }
  }

  /** An attribute name's state, kept for the next records (up to {@link MAX_KEYS} names). */
  private keyState(key: string): KeyState {
    const kept = this.keys.size < MAX_KEYS;
    const st: KeyState = { bytes: encodeKey(key), values: undefined, seen: 0, hits: 0, slot: false, kept };
    if (kept) this.keys.set(key, st);
    return st;
  }

  /** A string attribute: its cached frame when the value was seen before, else encoded (and maybe cached). */
  private stringAttribute(st: KeyState, v: string): void {
    const values = st.values;
    if (values === undefined) {
      this.keyValue(0x32, st.bytes, v);
      if (st.slot) {
        if (++st.seen === RETRY_AFTER) this.startCaching(st);
      } else if (st.kept && this.cachingKeys < MAX_CACHING_KEYS) {
        st.slot = true;
        this.cachingKeys++;
        this.startCaching(st);
      }
      return;
    }
    const frame = values.get(v);
    if (frame !== undefined) {
      this.ensure(frame.length);
      this.buf.set(frame, this.pos);
      this.pos += frame.length;
      st.hits++;
    } else {
      const start = this.pos;
      this.keyValue(0x32, st.bytes, v);
      if (values.size < MAX_VALUES_PER_KEY && this.pos - start <= MAX_CACHED_FRAME) {
        // A copy: `Buffer#slice` would be a view of this request's buffer.
        const copy = new Uint8Array(this.pos - start);
        copy.set(this.buf.subarray(start, this.pos));
        values.set(v, copy);
      }
    }
    if (++st.seen === REVIEW_EVERY) {
      if (st.hits < REVIEW_EVERY / 2) st.values = undefined;
      st.seen = 0;
      st.hits = 0;
    }
  }

  private startCaching(st: KeyState): void {
    st.values = new Map();
    st.seen = 0;
    st.hits = 0;
  }
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}
