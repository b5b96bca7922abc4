/**
 * Tyk's JSON view of a record: the field names of the Go `json:` tags, as Tyk Pump's stdout/CSV/Kafka
 * pumps emit them, with times in Go's RFC3339Nano (UTC, fraction trailing zeros trimmed) and zero times as
 * `null`. Used by the file exporter, by `ignore_fields`, and by exporters whose templates name fields.
 */
import type { AnalyticsRecord, TykRecord, UptimeRecord } from './model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from './model.js';

/**
 * Formats a lossless timestamp like Go's `time.RFC3339Nano` in UTC: `2026-11-26T12:00:00.0741508Z`
 * (fraction trimmed of trailing zeros, omitted when zero). Null stays null (Go's zero time).
 */
export function formatRfc3339Nano(ms: number | null, ns: number): string | null {
  if (ms === null) return null;
  const wholeSec = Math.floor(ms / 1000);
  const d = new Date(wholeSec * 1000);
  // Drop ".sssZ"; works for extended years too (`+010000-01-01T00:00:00.000Z`), which a fixed slice would cut.
  const iso = d.toISOString();
  const base = iso.slice(0, iso.length - 5);
  const nanos = (ms - wholeSec * 1000) * 1_000_000 + ns;
  if (nanos === 0) return `${base}Z`;
  const frac = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${base}.${frac}Z`;
}

/** Top-level fields of an analytics record: Tyk JSON name → model field, in Go declaration order. */
export const ANALYTICS_JSON_FIELDS = [
  ['method', 'method'], ['host', 'host'], ['path', 'path'], ['raw_path', 'rawPath'], ['content_length', 'contentLength'],
  ['user_agent', 'userAgent'], ['day', 'day'], ['month', 'month'], ['year', 'year'], ['hour', 'hour'],
  ['response_code', 'responseCode'], ['api_key', 'apiKey'], ['timestamp', 'timestampMs'], ['api_version', 'apiVersion'],
  ['api_name', 'apiName'], ['api_id', 'apiId'], ['org_id', 'orgId'], ['oauth_id', 'oauthId'], ['request_time', 'requestTime'],
  ['raw_request', 'rawRequest'], ['raw_response', 'rawResponse'], ['ip_address', 'ipAddress'], ['geo', 'geo'],
  ['network', 'network'], ['latency', 'latency'], ['tags', 'tags'], ['alias', 'alias'], ['track_path', 'trackPath'],
  ['expireAt', 'expireAtMs'], ['api_schema', 'apiSchema'], ['original_path', 'originalPath'], ['listen_path', 'listenPath'],
  ['graphql_stats', 'graphqlStats'], ['mcp_stats', 'mcpStats'],
] as const satisfies readonly (readonly [string, keyof AnalyticsRecord])[];

/** A Tyk JSON name of a top-level analytics field (`api_key`, `raw_request`, `geo`, …). */
export type AnalyticsJsonField = (typeof ANALYTICS_JSON_FIELDS)[number][0];

/** Every valid Tyk JSON top-level name, for config validation (`ignore_fields`, templates). */
export const ANALYTICS_JSON_NAMES: readonly AnalyticsJsonField[] = ANALYTICS_JSON_FIELDS.map(([json]) => json);

/** Go's zero value of each top-level field, in model form (what `ignore_fields` sets). */
export function zeroValue(json: AnalyticsJsonField): AnalyticsRecord[keyof AnalyticsRecord] {
  switch (json) {
    case 'content_length': case 'day': case 'month': case 'year': case 'hour': case 'response_code': case 'request_time':
      return 0;
    case 'timestamp': case 'expireAt':
      return null;
    case 'geo':
      return EMPTY_GEO;
    case 'network':
      return EMPTY_NETWORK;
    case 'latency':
      return { total: 0, upstream: 0, gateway: 0 };
    case 'tags':
      return [];
    case 'track_path':
      return false;
    case 'graphql_stats':
      return EMPTY_GRAPHQL;
    case 'mcp_stats':
      return EMPTY_MCP;
    default:
      return '';
  }
}

/** Returns a copy of `r` with the named top-level fields reset to Go's zero values (Tyk's `ignore_fields`). */
export function withFieldsZeroed(r: AnalyticsRecord, fields: readonly AnalyticsJsonField[]): AnalyticsRecord {
  const out: Record<string, unknown> = { ...r };
  for (const json of fields) {
    const entry = ANALYTICS_JSON_FIELDS.find(([j]) => j === json);
    if (!entry) continue;
    out[entry[1]] = zeroValue(json);
    if (json === 'timestamp') out['timestampNs'] = 0;
    if (json === 'expireAt') out['expireAtNs'] = 0;
  }
  return out as unknown as AnalyticsRecord;
}

/** Tyk's JSON object of an analytics record (the stdout pump's layout; `CollectionName` excluded). */
export function analyticsToTykJson(r: AnalyticsRecord): Record<string, unknown> {
  const g = r.graphqlStats;
  return {
    method: r.method,
    host: r.host,
    path: r.path,
    raw_path: r.rawPath,
    content_length: r.contentLength,
    user_agent: r.userAgent,
    day: r.day,
    month: r.month,
    year: r.year,
    hour: r.hour,
    response_code: r.responseCode,
    api_key: r.apiKey,
    timestamp: formatRfc3339Nano(r.timestampMs, r.timestampNs),
    api_version: r.apiVersion,
    api_name: r.apiName,
    api_id: r.apiId,
    org_id: r.orgId,
    oauth_id: r.oauthId,
    request_time: r.requestTime,
    raw_request: r.rawRequest,
    raw_response: r.rawResponse,
    ip_address: r.ipAddress,
    geo: {
      country: { iso_code: r.geo.country.isoCode },
      city: { geoname_id: r.geo.city.geoNameId, names: r.geo.city.names },
      location: { latitude: r.geo.location.latitude, longitude: r.geo.location.longitude, time_zone: r.geo.location.timeZone },
    },
    network: {
      open_connections: r.network.openConnections,
      closed_connections: r.network.closedConnections,
      bytes_in: r.network.bytesIn,
      bytes_out: r.network.bytesOut,
    },
    latency: { total: r.latency.total, upstream: r.latency.upstream, gateway: r.latency.gateway },
    tags: r.tags,
    alias: r.alias,
    track_path: r.trackPath,
    expireAt: formatRfc3339Nano(r.expireAtMs, r.expireAtNs),
    api_schema: r.apiSchema,
    original_path: r.originalPath,
    listen_path: r.listenPath,
    // GraphQLStats has no json tags in Go, so Tyk's JSON keeps the Go names.
    graphql_stats: {
      IsGraphQL: g.isGraphQL,
      Types: g.types,
      RootFields: g.rootFields,
      HasErrors: g.hasErrors,
      Errors: g.errors === null ? null : g.errors.map((e) => ({ message: e.message, path: e.path })),
      OperationType: g.operationType,
      Variables: g.variables,
    },
    mcp_stats: {
      is_mcp: r.mcpStats.isMCP,
      jsonrpc_method: r.mcpStats.jsonRpcMethod,
      primitive_type: r.mcpStats.primitiveType,
      primitive_name: r.mcpStats.primitiveName,
    },
  };
}

/** Tyk's JSON object of an uptime record (the pump's `UptimeReportData` json tags). */
export function uptimeToTykJson(r: UptimeRecord): Record<string, unknown> {
  return {
    url: r.url,
    request_time: r.requestTime,
    response_code: r.responseCode,
    tcp_error: r.tcpError,
    server_error: r.serverError,
    day: r.day,
    month: r.month,
    year: r.year,
    hour: r.hour,
    minute: r.minute,
    timestamp: formatRfc3339Nano(r.timestampMs, r.timestampNs),
    expireAt: formatRfc3339Nano(r.expireAtMs, r.expireAtNs),
    api_id: r.apiId,
    org_id: r.orgId,
  };
}

/** Tyk's JSON object of any record. */
export function toTykJson(r: TykRecord): Record<string, unknown> {
  return r.kind === 'uptime' ? uptimeToTykJson(r) : analyticsToTykJson(r);
}
