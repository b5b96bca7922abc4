/**
 * Data types that cross component boundaries. Everything here is readonly: a batch handed to the next
 * stage is owned by that stage and never touched again by the sender. A processor that changes a record
 * builds a new one (see {@link withRoute}) — unless the graph says the pipeline owns its records
 * (`ComponentContext.exclusiveRecords`: no other pipeline receives them), where it may set the field in place.
 *
 * Field names are the camelCase form of the Go field names of Tyk's `AnalyticsRecord` /
 * `UptimeReportData` (tyk-pump `analytics/analytics.go`, tyk `gateway/host_checker_manager.go`). The Tyk JSON names
 * (`api_id`, `latency.total`, …) are produced by `src/tyk-json.ts`.
 */
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { AnyValue, SeverityNumber } from '@opentelemetry/api-logs';

/** The signals that flow through pipelines: raw Tyk records, OTel metrics, OTel logs. */
export type Signal = 'records' | 'metrics' | 'logs';

/** Which kind of Tyk record: an HTTP request, a TCP network-stats pseudo-record (`ResponseCode = -1`), or an uptime check. */
export type RecordKind = 'http' | 'network' | 'uptime';

/** How a record was encoded in Redis. */
export type RecordEncoding = 'msgpack' | 'protobuf';

/** Latencies in integer milliseconds, as the gateway measured them. */
export interface Latency {
  /** Total time the gateway spent on the request (equals `requestTime`). */
  readonly total: number;
  /** Time spent waiting for the upstream. 0 for gateway-side rejections. */
  readonly upstream: number;
  /** Time added by the gateway. On the wire only since gateway ≈5.11; otherwise `total − upstream`. */
  readonly gateway: number;
}

/** Counters of a TCP/TLS network-stats record (all zero on HTTP records). */
export interface NetworkStats {
  readonly openConnections: number;
  /** Go field `ClosedConnection` (msgpack) / `ClosedConnections` (protobuf). */
  readonly closedConnections: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** GeoIP data; all-empty unless the gateway runs with `enable_geo_ip`. */
export interface GeoData {
  readonly country: { readonly isoCode: string };
  readonly city: { readonly geoNameId: number; readonly names: Readonly<Record<string, string>> | null };
  readonly location: { readonly latitude: number; readonly longitude: number; readonly timeZone: string };
}

/** One GraphQL error of a request. */
export interface GraphError {
  readonly message: string;
  /** The error path (field names and indexes) or null. Protobuf records carry no paths. */
  readonly path: readonly (string | number)[] | null;
}

/** GraphQL details; only meaningful when `isGraphQL`. */
export interface GraphQLStats {
  readonly isGraphQL: boolean;
  readonly hasErrors: boolean;
  /** 0 unknown, 1 query, 2 mutation, 3 subscription. */
  readonly operationType: number;
  readonly variables: string;
  readonly rootFields: readonly string[] | null;
  readonly types: Readonly<Record<string, readonly string[]>> | null;
  readonly errors: readonly GraphError[] | null;
}

/** MCP (Model Context Protocol) details; only meaningful when `isMCP`. */
export interface MCPStats {
  readonly isMCP: boolean;
  readonly jsonRpcMethod: string;
  readonly primitiveType: string;
  readonly primitiveName: string;
}

/**
 * A gateway analytics record: an HTTP request (`kind: 'http'`) or a TCP network-stats record
 * (`kind: 'network'`, `responseCode === -1`).
 *
 * Times are lossless: `timestampMs` is whole epoch milliseconds (UTC) and `timestampNs` the remaining
 * nanoseconds (0…999 999). Go's zero time decodes to `null`.
 */
export interface AnalyticsRecord {
  readonly kind: 'http' | 'network';
  readonly encoding: RecordEncoding;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly rawPath: string;
  /** Request Content-Length; may be -1. */
  readonly contentLength: number;
  readonly userAgent: string;
  /** Gateway-local date/time parts. */
  readonly day: number;
  readonly month: number;
  readonly year: number;
  readonly hour: number;
  /** HTTP status, or -1 on network-stats records. */
  readonly responseCode: number;
  readonly apiKey: string;
  readonly timestampMs: number | null;
  readonly timestampNs: number;
  readonly apiVersion: string;
  readonly apiName: string;
  readonly apiId: string;
  readonly orgId: string;
  readonly oauthId: string;
  /** Milliseconds; equals `latency.total`. */
  readonly requestTime: number;
  /** Base64 of the wire-format request; '' unless detailed recording is on (or after redaction). */
  readonly rawRequest: string;
  /** Base64 of the wire-format response. */
  readonly rawResponse: string;
  readonly ipAddress: string;
  readonly geo: GeoData;
  readonly network: NetworkStats;
  readonly latency: Latency;
  /** Never null: nil on the wire decodes to []. */
  readonly tags: readonly string[];
  /** Key alias. */
  readonly alias: string;
  readonly trackPath: boolean;
  readonly expireAtMs: number | null;
  readonly expireAtNs: number;
  /** Base64 GraphQL schema (wire key `ApiSchema`, or `APISchema` from pump 1.8). */
  readonly apiSchema: string;
  readonly originalPath: string;
  readonly listenPath: string;
  readonly graphqlStats: GraphQLStats;
  readonly mcpStats: MCPStats;
  /** Protobuf records only: the zone name of the gateway's timestamp (`Local`, `UTC`, …); '' for msgpack. */
  readonly timeZone: string;
  /**
   * Low-cardinality route template (`/orders/{id}`), set by the `route` processor; '' until then.
   * Exporters use it for `http.route`; they never fall back to the raw path.
   */
  readonly route: string;
}

/** A host-checker uptime record from `host-checker:tyk-uptime-analytics`. */
export interface UptimeRecord {
  readonly kind: 'uptime';
  readonly url: string;
  /** Milliseconds. */
  readonly requestTime: number;
  /** HTTP status of the check; 521 on a TCP error. */
  readonly responseCode: number;
  readonly tcpError: boolean;
  readonly serverError: boolean;
  readonly day: number;
  readonly month: number;
  readonly year: number;
  readonly hour: number;
  readonly minute: number;
  readonly timestampMs: number | null;
  readonly timestampNs: number;
  readonly expireAtMs: number | null;
  readonly expireAtNs: number;
  readonly apiId: string;
  readonly orgId: string;
}

/** Any decoded Tyk record. Narrow on `kind`. */
export type TykRecord = AnalyticsRecord | UptimeRecord;

/** How a record's original bytes are encoded (the list it was drained from says which). */
export type WireFormat = 'msgpack' | 'protobuf' | 'uptime';

/** A run of consecutive records of a batch drained from the same list. */
export interface WireRun {
  /** Index one past the run's last record (the run starts where the previous one ended, or at 0). */
  readonly end: number;
  /** The Redis list the records were drained from. */
  readonly source: string;
  readonly format: WireFormat;
}

/**
 * The original wire bytes of a batch's records, exactly as the gateway wrote them (for exporters that
 * forward records unchanged, such as `redis_stream`). `bytes[i]` belongs to record `i`; `runs` say where
 * each came from, so a batch costs one array and a few run objects, nothing per record.
 */
export interface RecordWire {
  readonly bytes: readonly Buffer[];
  readonly runs: readonly WireRun[];
}

/**
 * The payload of a `records` signal. A receiver that has the records' original bytes (`tyk_redis`,
 * `redis_stream`) attaches them as `wire`; a processor that passes the batch on unchanged keeps it, one
 * that builds a new array drops it (it no longer matches), and an exporter that needs bytes then encodes
 * the records itself. Use {@link withWire} to attach it and {@link wireOf} to read it.
 */
export type RecordBatch = readonly TykRecord[] & { readonly wire?: RecordWire };

/** `records` with `wire` attached (the same array, not a copy; `wire.bytes` must be index for index). */
export function withWire(records: TykRecord[], wire: RecordWire): RecordBatch {
  Object.defineProperty(records, 'wire', { value: wire, enumerable: false });
  return records as RecordBatch;
}

/** The batch's wire bytes when they still match its records one for one, else undefined. */
export function wireOf(batch: RecordBatch): RecordWire | undefined {
  const w = batch.wire;
  return w !== undefined && w.bytes.length === batch.length ? w : undefined;
}

/** OTel attribute values as carried in log and resource attributes. */
export type AttributeValue = string | number | boolean | readonly string[] | readonly number[];

/** Resource attributes (service.name, service.instance.id, …). */
export type ResourceAttributes = Readonly<Record<string, AttributeValue>>;

/**
 * The payload of a `metrics` signal: OTel SDK metric data produced by a records→metrics processor.
 * Sums and histograms carry DELTA temporality (what this batch added); gauges carry their current value.
 * Exporters accumulate (e.g. cumulative for Prometheus) and own expiry of idle series.
 */
export interface MetricsBatch {
  readonly resource: ResourceAttributes;
  /** Instrumentation scope name, usually `tyk-otel-pump/<processor id>`. */
  readonly scope: string;
  readonly metrics: readonly MetricData[];
  /**
   * Names of metrics in this batch that are already Prometheus names a dashboard expects verbatim (Tyk
   * Pump's families, base and custom): an exporter that translates names (`prometheus`, with
   * `tyk_compatible_names`) keeps them as they are — no namespace, unit suffix or `_total` added.
   */
  readonly verbatimNames?: ReadonlySet<string>;
}

/** One OTel log record (the audit trail of one API call). */
export interface LogEntry {
  readonly timestampMs: number;
  readonly timestampNs: number;
  readonly severityNumber: SeverityNumber;
  readonly severityText: string;
  readonly body: AnyValue;
  readonly attributes: Readonly<Record<string, AnyValue>>;
  /** W3C trace id (32 lower-case hex digits) linking the entry to a gateway trace, when known. */
  readonly traceId?: string;
}

/** The payload of a `logs` signal. */
export interface LogsBatch {
  readonly resource: ResourceAttributes;
  readonly scope: string;
  readonly logs: readonly LogEntry[];
}

/** Payload type per signal, for typed consumers. */
export interface SignalPayload {
  records: RecordBatch;
  metrics: MetricsBatch;
  logs: LogsBatch;
}

/** Shared empty sub-records, so decoders do not allocate for the (common) all-zero case. */
export const EMPTY_GEO: GeoData = Object.freeze({
  country: Object.freeze({ isoCode: '' }),
  city: Object.freeze({ geoNameId: 0, names: null }),
  location: Object.freeze({ latitude: 0, longitude: 0, timeZone: '' }),
});
export const EMPTY_NETWORK: NetworkStats = Object.freeze({ openConnections: 0, closedConnections: 0, bytesIn: 0, bytesOut: 0 });
export const EMPTY_GRAPHQL: GraphQLStats = Object.freeze({
  isGraphQL: false, hasErrors: false, operationType: 0, variables: '', rootFields: null, types: null, errors: null,
});
export const EMPTY_MCP: MCPStats = Object.freeze({ isMCP: false, jsonRpcMethod: '', primitiveType: '', primitiveName: '' });

/** A copy of `r` with `route` set (the record itself is never mutated). */
export function withRoute(r: AnalyticsRecord, route: string): AnalyticsRecord {
  return { ...r, route };
}
