/**
 * The 52 columns of Tyk's `tyk_analytics` table, in gorm's order with gorm's PostgreSQL types, and the
 * text value of each for one record. Facts from tyk-pump `analytics/analytics.go` (struct tags) as the
 * TykTechnologies/gorm fork flattens them (AutoEmbedd + UseJSONTags): nested structs become prefixed
 * columns, slices and maps become JSON text, `sql:"-"` is ignored so day/month/year/hour/api_name are
 * columns, and `GraphQLStats`/`MCPStats` still yield columns despite `gorm:"-:all"`.
 */
import type { AnalyticsRecord, GraphError } from '../../src/model.js';
import type { ColumnSpec } from '../../internal/postgres/ddl.js';
import type { TextRow } from '../../internal/postgres/bulk.js';
import { GO_ZERO_TIME_MS } from '../../internal/postgres/zone.js';

/** `tyk_analytics` columns (tyk-pump `analytics.AnalyticsRecord` through the gorm fork, driver postgres v1.5.0). */
export const ANALYTICS_COLUMNS: readonly ColumnSpec[] = [
  ['method', 'text'], ['host', 'text'], ['path', 'text'], ['rawpath', 'text'], ['contentlength', 'bigint'],
  ['useragent', 'text'], ['day', 'bigint'], ['month', 'bigint'], ['year', 'bigint'], ['hour', 'bigint'],
  ['responsecode', 'bigint'], ['apikey', 'text'], ['timestamp', 'timestamptz'], ['apiversion', 'text'],
  ['api_name', 'text'], ['apiid', 'text'], ['orgid', 'text'], ['oauthid', 'text'], ['requesttime', 'bigint'],
  ['rawrequest', 'text'], ['rawresponse', 'text'], ['ipaddress', 'text'], ['geo_country_iso_code', 'text'],
  ['geo_city_geoname_id', 'bigint'], ['geo_city_names', 'text'], ['geo_location_latitude', 'decimal'],
  ['geo_location_longitude', 'decimal'], ['geo_location_time_zone', 'text'], ['network_open_connections', 'bigint'],
  ['network_closed_connections', 'bigint'], ['network_bytes_in', 'bigint'], ['network_bytes_out', 'bigint'],
  ['latency_total', 'bigint'], ['latency_upstream', 'bigint'], ['latency_gateway', 'bigint'], ['tags', 'text'],
  ['alias', 'text'], ['trackpath', 'boolean'], ['expireAt', 'timestamptz'], ['originalpath', 'text'],
  ['listenpath', 'text'], ['graphql_stats_variables', 'text'], ['graphql_stats_root_fields', 'text'],
  ['graphql_stats_types', 'text'], ['graphql_stats_errors', 'text'], ['graphql_stats_operation_type', 'bigint'],
  ['graphql_stats_has_errors', 'boolean'], ['graphql_stats_is_graph_ql', 'boolean'], ['mcp_stats_is_mcp', 'boolean'],
  ['mcp_stats_jsonrpc_method', 'text'], ['mcp_stats_primitive_type', 'text'], ['mcp_stats_primitive_name', 'text'],
];

/** Column names only, in order. */
export const ANALYTICS_COLUMN_NAMES: readonly string[] = ANALYTICS_COLUMNS.map(([n]) => n);

/** Raw table name (tyk-pump `analytics.SQLTable`). */
export const ANALYTICS_TABLE = 'tyk_analytics';

/** The indexes Tyk creates on a new shard table (`pumps/sql.go` ensureIndex): `<table>_<base>` on one column. */
export const SHARD_INDEXES: readonly (readonly [base: string, column: string])[] = [
  ['idx_responsecode', 'responsecode'], ['idx_apikey', 'apikey'], ['idx_timestamp', 'timestamp'],
  ['idx_apiid', 'apiid'], ['idx_orgid', 'orgid'], ['idx_oauthid', 'oauthid'],
];

// Go's encoding/json (helloeave/json fork) escapes <, > and & (HTML-safe) and U+2028/U+2029.
const GO_JSON_ESCAPE = /[<>&\u2028\u2029]/g;
const HAS_GO_JSON_ESCAPE = /[<>&\u2028\u2029]/;

/** JSON text as Go's encoder writes it (HTML-escaped; map keys sorted by the caller). */
export function goJson(value: unknown): string {
  const s = JSON.stringify(value);
  return HAS_GO_JSON_ESCAPE.test(s) ? s.replace(GO_JSON_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s;
}

/** A map as JSON text with sorted keys (Go sorts map keys); nil maps are `{}` (MarshalSafeCollections). */
export function goJsonMap(m: Readonly<Record<string, unknown>> | null): string {
  if (m === null) return '{}';
  const keys = Object.keys(m);
  if (keys.length === 0) return '{}';
  keys.sort();
  const sorted: Record<string, unknown> = {};
  for (const k of keys) sorted[k] = m[k] ?? [];
  return goJson(sorted);
}

function errorsJson(errors: readonly GraphError[] | null): string {
  if (errors === null || errors.length === 0) return '[]';
  return goJson(errors.map((e) => ({ message: e.message, path: e.path ?? [] })));
}

/** PostgreSQL text of an instant with microseconds (pgx truncates to µs); Go's zero time when null. */
export function timestamptzText(ms: number | null, ns: number): string {
  const at = ms ?? GO_ZERO_TIME_MS;
  const iso = new Date(at).toISOString();
  const micros = ms === null ? 0 : Math.floor(ns / 1000);
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Numbers as PostgreSQL reads them (`decimal` and `bigint`). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : '0';
}

const bool = (b: boolean): string => (b ? 't' : 'f');

/** The 52 column values of `r`, as text, in {@link ANALYTICS_COLUMNS} order. */
export function analyticsRow(r: AnalyticsRecord): TextRow {
  const g = r.graphqlStats;
  const m = r.mcpStats;
  return [
    r.method, r.host, r.path, r.rawPath, num(r.contentLength),
    r.userAgent, num(r.day), num(r.month), num(r.year), num(r.hour),
    num(r.responseCode), r.apiKey, timestamptzText(r.timestampMs, r.timestampNs), r.apiVersion,
    r.apiName, r.apiId, r.orgId, r.oauthId, num(r.requestTime),
    r.rawRequest, r.rawResponse, r.ipAddress, r.geo.country.isoCode,
    num(r.geo.city.geoNameId), goJsonMap(r.geo.city.names), num(r.geo.location.latitude),
    num(r.geo.location.longitude), r.geo.location.timeZone, num(r.network.openConnections),
    num(r.network.closedConnections), num(r.network.bytesIn), num(r.network.bytesOut),
    num(r.latency.total), num(r.latency.upstream), num(r.latency.gateway), r.tags.length === 0 ? '[]' : goJson(r.tags),
    r.alias, bool(r.trackPath), timestamptzText(r.expireAtMs, r.expireAtNs), r.originalPath,
    r.listenPath, g.variables, g.rootFields === null || g.rootFields.length === 0 ? '[]' : goJson(g.rootFields),
    goJsonMap(g.types), errorsJson(g.errors), num(g.operationType),
    bool(g.hasErrors), bool(g.isGraphQL), bool(m.isMCP),
    m.jsonRpcMethod, m.primitiveType, m.primitiveName,
  ];
}
