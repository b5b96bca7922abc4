/**
 * Serialisation of the `file` exporter: records as Tyk's JSON (`toTykJson`, the layout of Tyk Pump's
 * stdout pump) or as CSV rows, and log entries as OTel-style JSON objects.
 */
import type { AnalyticsRecord, LogEntry, LogsBatch, UptimeRecord } from '../../src/model.js';
import { analyticsToTykJson, formatRfc3339Nano, uptimeToTykJson } from '../../src/tyk-json.js';

/**
 * CSV columns of analytics records: Tyk's JSON names in Go declaration order (the order of Tyk's CSV
 * pump), nested fields flattened with dots. Tyk's CSV pump itself uses Go field names (`Latency.Total`)
 * and stops at `ExpireAt`; we keep the JSON names used everywhere else in this agent and add the fields
 * Tyk added later (latency.gateway, api_schema, paths, GraphQL and MCP stats).
 */
export const ANALYTICS_CSV_COLUMNS = [
  'method', 'host', 'path', 'raw_path', 'content_length', 'user_agent', 'day', 'month', 'year', 'hour',
  'response_code', 'api_key', 'timestamp', 'api_version', 'api_name', 'api_id', 'org_id', 'oauth_id',
  'request_time', 'raw_request', 'raw_response', 'ip_address',
  'geo.country.iso_code', 'geo.city.geoname_id', 'geo.city.names', 'geo.location.latitude', 'geo.location.longitude',
  'geo.location.time_zone',
  'network.open_connections', 'network.closed_connections', 'network.bytes_in', 'network.bytes_out',
  'latency.total', 'latency.upstream', 'latency.gateway',
  'tags', 'alias', 'track_path', 'expireAt', 'api_schema', 'original_path', 'listen_path',
  'graphql_stats.IsGraphQL', 'graphql_stats.Types', 'graphql_stats.RootFields', 'graphql_stats.HasErrors',
  'graphql_stats.Errors', 'graphql_stats.OperationType', 'graphql_stats.Variables',
  'mcp_stats.is_mcp', 'mcp_stats.jsonrpc_method', 'mcp_stats.primitive_type', 'mcp_stats.primitive_name',
] as const;

/** CSV columns of uptime records (their Tyk JSON names). */
export const UPTIME_CSV_COLUMNS = [
  'url', 'request_time', 'response_code', 'tcp_error', 'server_error', 'day', 'month', 'year', 'hour', 'minute',
  'timestamp', 'expireAt', 'api_id', 'org_id',
] as const;

const ANALYTICS_PATHS = ANALYTICS_CSV_COLUMNS.map((c) => c.split('.'));
const UPTIME_PATHS = UPTIME_CSV_COLUMNS.map((c) => [c]);

/** One record as a JSON line (with the trailing newline). */
export function recordJsonLine(r: AnalyticsRecord | UptimeRecord): string {
  return `${JSON.stringify(r.kind === 'uptime' ? uptimeToTykJson(r) : analyticsToTykJson(r))}\n`;
}

/** Quotes a CSV field per RFC 4180 when it contains a comma, a quote, CR or LF (quotes are doubled). */
export function csvField(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2c || c === 0x22 || c === 0x0a || c === 0x0d) return `"${s.replace(/"/g, '""')}"`;
  }
  return s;
}

/**
 * The text of one CSV cell: strings as they are, numbers and booleans in JSON form, null (nil maps and
 * slices, Go's zero time) empty, lists of strings joined with `;` (as Tyk's CSV pump writes `Tags`), and
 * other structures (geo names, GraphQL types and errors) as compact JSON.
 */
function cell(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(';');
  return JSON.stringify(v);
}

function row(obj: Record<string, unknown>, paths: readonly (readonly string[])[]): string {
  let out = '';
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i] as readonly string[];
    let v: unknown = obj;
    for (const k of p) v = (v as Record<string, unknown> | null)?.[k];
    out += (i === 0 ? '' : ',') + csvField(cell(v));
  }
  return `${out}\r\n`;
}

/** The CSV header line of analytics or uptime records (CRLF-terminated, RFC 4180). */
export function csvHeader(kind: 'analytics' | 'uptime'): string {
  return `${(kind === 'analytics' ? ANALYTICS_CSV_COLUMNS : UPTIME_CSV_COLUMNS).join(',')}\r\n`;
}

/** One analytics record as a CSV row. */
export function analyticsCsvRow(r: AnalyticsRecord): string {
  return row(analyticsToTykJson(r), ANALYTICS_PATHS);
}

/** One uptime record as a CSV row. */
export function uptimeCsvRow(r: UptimeRecord): string {
  return row(uptimeToTykJson(r), UPTIME_PATHS);
}

/** Bytes become base64 in JSON (OTLP/JSON does the same for `bytesValue`). */
function jsonValue(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
}

/**
 * Every entry of a logs batch as one JSON line: the entry's own fields plus its resource attributes and
 * scope name (OTel log data model names, snake_case as in the Collector's debug output).
 */
export function logsJsonLines(batch: LogsBatch): string[] {
  const resource = JSON.stringify(batch.resource, jsonValue);
  const scope = JSON.stringify({ name: batch.scope });
  return batch.logs.map((e) => logJsonLine(e, resource, scope));
}

function logJsonLine(e: LogEntry, resource: string, scope: string): string {
  const nanos = BigInt(Math.floor(e.timestampMs)) * 1_000_000n + BigInt(e.timestampNs);
  const head = {
    timestamp: formatRfc3339Nano(e.timestampMs, e.timestampNs),
    time_unix_nano: nanos.toString(),
    severity_number: e.severityNumber,
    severity_text: e.severityText,
    ...(e.traceId !== undefined ? { trace_id: e.traceId } : {}),
    body: e.body,
    attributes: e.attributes,
  };
  const json = JSON.stringify(head, jsonValue);
  return `${json.slice(0, -1)},"resource":${resource},"scope":${scope}}\n`;
}
