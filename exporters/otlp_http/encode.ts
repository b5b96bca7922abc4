/**
 * Turning our batches into OTLP request bodies. Logs as protobuf (the default, and the hot path of a logs
 * pipeline) by our own encoder (logs-proto.ts, byte-identical to the SDK's serializer); logs as OTLP/JSON
 * and all metrics by the SDK's serializers (`@opentelemetry/otlp-transformer` 0.223.0): `LogEntry` →
 * `ReadableLogRecord` (the serializer's input), `ResourceMetrics` as is. Then gzip at the configured level.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { JsonLogsSerializer, JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { LogEntry, LogsBatch, ResourceAttributes } from '../../src/model.js';
import { VERSION } from '../../src/version.js';
import { msToHrTime } from '../../internal/metrics/identity.js';
import type { BodyFormat, EncodedRequest } from './sender.js';
import type { LogsProtoEncoder } from './logs-proto.js';

const gzip = promisify(gzipCb);

/** How request bodies are compressed (`compression`, `compression_params.level`). */
export interface BodyCompression {
  readonly gzip: boolean;
  /** zlib level, -1 (zlib's default, 6) or 0–9. */
  readonly level: number;
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Resources and scopes, built once per distinct input (serializers group records by object identity). */
export class ResourceCache {
  private readonly byBatchResource = new WeakMap<ResourceAttributes, Resource>();
  private readonly scopes = new Map<string, InstrumentationScope>();

  constructor(private readonly overrides: ResourceAttributes) {}

  /** The batch's resource with the exporter's `resource` attributes merged over it. */
  resource(attrs: ResourceAttributes): Resource {
    let r = this.byBatchResource.get(attrs);
    if (!r) {
      r = resourceFromAttributes({ ...attrs, ...this.overrides } as Record<string, string>);
      this.byBatchResource.set(attrs, r);
    }
    return r;
  }

  /** Merged attributes (for keying metric streams). */
  merged(attrs: ResourceAttributes): ResourceAttributes {
    return { ...attrs, ...this.overrides };
  }

  scope(name: string): InstrumentationScope {
    let s = this.scopes.get(name);
    if (!s) {
      s = { name, version: VERSION };
      this.scopes.set(name, s);
    }
    return s;
  }
}

/** A log entry as the SDK's serializers take it (`ReadableLogRecord`): the JSON path, and the protobuf encoder's test oracle. */
export function toReadable(e: LogEntry, resource: Resource, scope: InstrumentationScope, observed: HrTime): ReadableLogRecord {
  const traceId = e.traceId;
  return {
    hrTime: msToHrTime(e.timestampMs, e.timestampNs),
    hrTimeObserved: observed,
    severityNumber: e.severityNumber,
    severityText: e.severityText,
    body: e.body,
    attributes: e.attributes as ReadableLogRecord['attributes'],
    droppedAttributesCount: 0,
    resource,
    instrumentationScope: scope,
    spanContext: traceId !== undefined && TRACE_ID.test(traceId) ? { traceId, spanId: '', traceFlags: 0 } : undefined,
  };
}

async function finish(signal: EncodedRequest['signal'], raw: Uint8Array | undefined, format: BodyFormat, compression: BodyCompression, items: number): Promise<EncodedRequest | undefined> {
  if (raw === undefined || raw.length === 0) return undefined;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return { signal, body: compression.gzip ? await gzip(bytes, { level: compression.level }) : bytes, format, gzip: compression.gzip, items };
}

/**
 * Encodes a logs batch into requests of at most `maxItems` records each: protobuf by `proto` (our
 * encoder; its buffer is handed back once gzipped, or copied out when not compressed), JSON by the SDK.
 */
export async function encodeLogs(
  batch: LogsBatch,
  cache: ResourceCache,
  format: BodyFormat,
  compression: BodyCompression,
  maxItems: number,
  proto: LogsProtoEncoder,
  now = Date.now(),
): Promise<EncodedRequest[]> {
  const out: EncodedRequest[] = [];
  const logs = batch.logs;
  if (format === 'proto') {
    const head = { resource: cache.merged(batch.resource), scopeName: batch.scope, scopeVersion: VERSION };
    for (let i = 0; i < logs.length; i += maxItems) {
      const end = Math.min(i + maxItems, logs.length);
      const raw = proto.encode(head, logs, i, end, now);
      if (raw.length === 0) continue;
      let body: Buffer;
      try {
        body = compression.gzip ? await gzip(raw, { level: compression.level }) : Buffer.from(raw);
      } finally {
        proto.recycle(raw);
      }
      out.push({ signal: 'logs', body, format, gzip: compression.gzip, items: end - i });
    }
    return out;
  }
  const resource = cache.resource(batch.resource);
  const scope = cache.scope(batch.scope);
  const observed = msToHrTime(now);
  for (let i = 0; i < logs.length; i += maxItems) {
    const slice = logs.slice(i, i + maxItems);
    const records = slice.map((e) => toReadable(e, resource, scope, observed));
    const req = await finish('logs', JsonLogsSerializer.serializeRequest(records), format, compression, records.length);
    if (req) out.push(req);
  }
  return out;
}

/** Encodes one ResourceMetrics (one resource) into a request. */
export function encodeMetrics(rm: ResourceMetrics, format: BodyFormat, compression: BodyCompression, points: number): Promise<EncodedRequest | undefined> {
  const serializer = format === 'proto' ? ProtobufMetricsSerializer : JsonMetricsSerializer;
  return finish('metrics', serializer.serializeRequest(rm), format, compression, points);
}
