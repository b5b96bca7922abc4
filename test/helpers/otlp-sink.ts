/**
 * A test OTLP/HTTP receiver (the one fake we need: a vendor endpoint). It listens on 127.0.0.1, decodes
 * every request with the official OTLP schema (`test/otlp-proto/`, protobufjs) — gzip or not, protobuf
 * or OTLP/JSON — records it, and answers what the test scripts (503s, Retry-After, 401, hangs…).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../otlp-proto/', import.meta.url));
let root: protobuf.Root | undefined;

function schema(): protobuf.Root {
  root ??= new protobuf.Root().loadSync(
    ['logs_service.proto', 'metrics_service.proto'].map((f) => `${PROTO_DIR}${f}`),
    { keepCase: false },
  );
  return root;
}

const LOGS_REQUEST = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';
const METRICS_REQUEST = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
const LOGS_RESPONSE = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse';
const METRICS_RESPONSE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse';
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true, objects: true, oneofs: false };

/** A decoded request as the sink saw it. */
export interface SinkRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly contentType: string;
  readonly contentEncoding: string;
  /** Raw body size on the wire. */
  readonly wireBytes: number;
  readonly receivedAt: number;
  /** The status the sink answered. */
  status: number;
  /** The request decoded to a plain object (protobufjs `toObject`), or undefined when it did not decode. */
  readonly decoded: Record<string, unknown> | undefined;
  readonly decodeError: string | undefined;
}

/** What the sink answers one request with. */
export type SinkReply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string | Buffer; readonly rejected?: number }
  | 'hang'
  | 'reset';

/** A decoded OTLP log record, flattened. */
export interface SinkLog {
  readonly resource: Record<string, unknown>;
  readonly scope: string;
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: unknown;
  readonly attributes: Record<string, unknown>;
  readonly traceId: string;
  /** Index of the request it came in. */
  readonly request: number;
}

/** A decoded OTLP metric data point, flattened. */
export interface SinkPoint {
  readonly resource: Record<string, unknown>;
  readonly scope: string;
  readonly name: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram';
  /** 1 delta, 2 cumulative (OTLP enum); 0 for gauges. */
  readonly temporality: number;
  readonly isMonotonic: boolean;
  readonly attributes: Record<string, unknown>;
  readonly startTimeUnixNano: string;
  readonly timeUnixNano: string;
  readonly value: number | undefined;
  readonly count: number | undefined;
  readonly sum: number | undefined;
  readonly bucketCounts: number[] | undefined;
  readonly explicitBounds: number[] | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly request: number;
}

/** Converts an OTLP AnyValue object to plain JS. */
export function anyValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return v['doubleValue'];
  if ('bytesValue' in v) return v['bytesValue'];
  if ('arrayValue' in v) return ((v['arrayValue'] as { values?: Record<string, unknown>[] }).values ?? []).map((x) => anyValue(x));
  if ('kvlistValue' in v) return attrs((v['kvlistValue'] as { values?: { key: string; value?: Record<string, unknown> }[] }).values);
  return undefined;
}

function attrs(list: { key: string; value?: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** OTLP/JSON carries trace/span ids as hex; protobufjs' `fromObject` expects base64. */
function jsonIdsToBase64(obj: Record<string, unknown>): void {
  for (const rl of (obj['resourceLogs'] as Record<string, unknown>[] | undefined) ?? []) {
    for (const sl of (rl['scopeLogs'] as Record<string, unknown>[] | undefined) ?? []) {
      for (const lr of (sl['logRecords'] as Record<string, unknown>[] | undefined) ?? []) {
        for (const k of ['traceId', 'spanId']) {
          const v = lr[k];
          if (typeof v === 'string') lr[k] = Buffer.from(v, 'hex').toString('base64');
        }
      }
    }
  }
}

/** Decodes an OTLP request body (after gzip) of `path`'s signal; throws when it is not valid OTLP. */
export function decodeOtlp(path: string, contentType: string, body: Buffer): Record<string, unknown> {
  const type = schema().lookupType(path.endsWith('/v1/metrics') ? METRICS_REQUEST : LOGS_REQUEST);
  if (contentType.startsWith('application/json')) {
    const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    jsonIdsToBase64(json);
    return type.toObject(type.fromObject(json), TO_OBJECT);
  }
  if (contentType.startsWith('application/x-protobuf')) return type.toObject(type.decode(body), TO_OBJECT);
  throw new Error(`unsupported content type ${contentType}`);
}

/** A running sink. */
export interface OtlpSink {
  /** Base URL (`http://127.0.0.1:<port>`); the exporter appends `/v1/logs` and `/v1/metrics`. */
  readonly url: string;
  readonly requests: SinkRequest[];
  /** Sets how the sink answers from now on (default: 200 with an empty response). */
  reply(fn: (req: SinkRequest, index: number) => SinkReply): void;
  /** Every log record of every request answered 2xx, in arrival order. */
  logs(): SinkLog[];
  /** Every metric data point of every request answered 2xx. */
  points(): SinkPoint[];
  close(): Promise<void>;
}

/** Starts a sink on 127.0.0.1 (free port). */
export async function startOtlpSink(): Promise<OtlpSink> {
  const requests: SinkRequest[] = [];
  let replyFn: (req: SinkRequest, index: number) => SinkReply = () => ({ status: 200 });
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      const contentEncoding = String(req.headers['content-encoding'] ?? '');
      let decoded: Record<string, unknown> | undefined;
      let decodeError: string | undefined;
      try {
        const body = contentEncoding === 'gzip' ? gunzipSync(raw) : raw;
        decoded = decodeOtlp(req.url ?? '', contentType, body);
      } catch (err) {
        decodeError = (err as Error).message;
      }
      const entry: SinkRequest = {
        path: req.url ?? '', headers: req.headers, contentType, contentEncoding, wireBytes: raw.length, receivedAt: Date.now(),
        status: 0, decoded, decodeError,
      };
      const index = requests.push(entry) - 1;
      const reply: SinkReply = decodeError ? { status: 400, body: decodeError } : replyFn(entry, index);
      if (reply === 'hang') {
        entry.status = -1;
        hanging.add(res);
        return;
      }
      if (reply === 'reset') {
        entry.status = -2;
        req.socket.destroy();
        return;
      }
      entry.status = reply.status;
      let body = reply.body;
      const headers: Record<string, string> = { ...reply.headers };
      if (body === undefined && reply.status >= 200 && reply.status < 300) {
        const isMetrics = entry.path.endsWith('/v1/metrics');
        const respType = schema().lookupType(isMetrics ? METRICS_RESPONSE : LOGS_RESPONSE);
        const partial = reply.rejected ? { partialSuccess: isMetrics ? { rejectedDataPoints: reply.rejected, errorMessage: 'some rejected' } : { rejectedLogRecords: reply.rejected, errorMessage: 'some rejected' } } : {};
        if (contentType.startsWith('application/json')) {
          body = JSON.stringify(partial);
          headers['content-type'] = 'application/json';
        } else {
          body = Buffer.from(respType.encode(respType.fromObject(partial)).finish());
          headers['content-type'] = 'application/x-protobuf';
        }
      }
      res.writeHead(reply.status, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as import('node:net').AddressInfo;
  const ok = (r: SinkRequest) => r.status >= 200 && r.status < 300 && r.decoded !== undefined;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    reply(fn) {
      replyFn = fn;
    },
    logs() {
      const out: SinkLog[] = [];
      requests.forEach((r, request) => {
        if (!ok(r) || !r.path.endsWith('/v1/logs')) return;
        for (const rl of (r.decoded?.['resourceLogs'] as Record<string, unknown>[] | undefined) ?? []) {
          const resource = attrs((rl['resource'] as { attributes?: { key: string; value?: Record<string, unknown> }[] } | undefined)?.attributes);
          for (const sl of (rl['scopeLogs'] as Record<string, unknown>[] | undefined) ?? []) {
            const scope = String((sl['scope'] as { name?: string } | undefined)?.name ?? '');
            for (const lr of (sl['logRecords'] as Record<string, unknown>[] | undefined) ?? []) {
              out.push({
                resource, scope, request,
                timeUnixNano: String(lr['timeUnixNano'] ?? '0'),
                observedTimeUnixNano: String(lr['observedTimeUnixNano'] ?? '0'),
                severityNumber: Number(lr['severityNumber'] ?? 0),
                severityText: String(lr['severityText'] ?? ''),
                body: anyValue(lr['body'] as Record<string, unknown> | undefined),
                attributes: attrs(lr['attributes'] as { key: string; value?: Record<string, unknown> }[] | undefined),
                traceId: typeof lr['traceId'] === 'string' ? Buffer.from(lr['traceId'], 'base64').toString('hex') : '',
              });
            }
          }
        }
      });
      return out;
    },
    points() {
      const out: SinkPoint[] = [];
      requests.forEach((r, request) => {
        if (!ok(r) || !r.path.endsWith('/v1/metrics')) return;
        for (const rm of (r.decoded?.['resourceMetrics'] as Record<string, unknown>[] | undefined) ?? []) {
          const resource = attrs((rm['resource'] as { attributes?: { key: string; value?: Record<string, unknown> }[] } | undefined)?.attributes);
          for (const sm of (rm['scopeMetrics'] as Record<string, unknown>[] | undefined) ?? []) {
            const scope = String((sm['scope'] as { name?: string } | undefined)?.name ?? '');
            for (const m of (sm['metrics'] as Record<string, unknown>[] | undefined) ?? []) {
              const type = (['sum', 'gauge', 'histogram', 'exponentialHistogram'] as const).find((t) => t in m);
              if (!type) continue;
              const data = m[type] as { dataPoints?: Record<string, unknown>[]; aggregationTemporality?: number; isMonotonic?: boolean };
              for (const p of data.dataPoints ?? []) {
                const num = (k: string) => (p[k] === undefined ? undefined : Number(p[k]));
                out.push({
                  resource, scope, request, type,
                  name: String(m['name']), unit: String(m['unit'] ?? ''),
                  temporality: data.aggregationTemporality ?? 0, isMonotonic: data.isMonotonic ?? false,
                  attributes: attrs(p['attributes'] as { key: string; value?: Record<string, unknown> }[] | undefined),
                  startTimeUnixNano: String(p['startTimeUnixNano'] ?? '0'), timeUnixNano: String(p['timeUnixNano'] ?? '0'),
                  value: p['asDouble'] !== undefined ? Number(p['asDouble']) : num('asInt'),
                  count: num('count'), sum: num('sum'),
                  bucketCounts: (p['bucketCounts'] as unknown[] | undefined)?.map(Number),
                  explicitBounds: (p['explicitBounds'] as unknown[] | undefined)?.map(Number),
                  min: num('min'), max: num('max'),
                });
              }
            }
          }
        }
      });
      return out;
    },
    async close() {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
