/**
 * Values derived from Tyk records that more than one component needs, in one place so they cannot
 * drift: the record fields exporters use as tags or name parts (`api_id`, `status_class`, …), the
 * status class, the HTTP method as the semantic conventions know it, and URLs with their credentials
 * removed.
 *
 * Hot-path helpers here return the record's own strings where they can (no new string per record).
 */
import type { AnalyticsRecord } from './model.js';

/**
 * Record fields an exporter can put into a tag or a metric name (the `statsd` and `dogstatsd`
 * `tag_set`, the `statsd` `name_template` placeholders). The name is the tag key.
 */
export const RECORD_FIELDS = [
  'api_id', 'api_name', 'org_id', 'method', 'status_code', 'status_class', 'route', 'api_version', 'oauth_id', 'key_alias',
] as const;

/** One of {@link RECORD_FIELDS}. */
export type RecordField = (typeof RECORD_FIELDS)[number];

/** `2xx`, `4xx`, … of an HTTP status; `unknown` outside 100–599 (Tyk writes -1 for TCP records). */
export function statusClass(code: number): string {
  return code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : 'unknown';
}

/**
 * The text of a record field as it goes into a tag or name: the record's own string, or the status
 * code / class. `route` is '' on a record without a route template (callers leave the tag out then).
 */
export function recordFieldValue(r: AnalyticsRecord, f: RecordField): string {
  switch (f) {
    case 'api_id': return r.apiId;
    case 'api_name': return r.apiName;
    case 'org_id': return r.orgId;
    case 'method': return r.method;
    case 'status_code': return String(r.responseCode);
    case 'status_class': return statusClass(r.responseCode);
    case 'route': return r.route;
    case 'api_version': return r.apiVersion;
    case 'oauth_id': return r.oauthId;
    case 'key_alias': return r.alias;
  }
}

/**
 * A lookup key that identifies {@link recordFieldValue} without building it: the record's own string,
 * or the status code (a number) for both status fields. Equal keys give equal values.
 */
export function recordFieldKey(r: AnalyticsRecord, f: RecordField): string | number {
  switch (f) {
    case 'api_id': return r.apiId;
    case 'api_name': return r.apiName;
    case 'org_id': return r.orgId;
    case 'method': return r.method;
    case 'status_code': case 'status_class': return r.responseCode;
    case 'route': return r.route;
    case 'api_version': return r.apiVersion;
    case 'oauth_id': return r.oauthId;
    case 'key_alias': return r.alias;
  }
}

/**
 * `request_time` (ms) as the duration metrics observe it and latency SLOs judge it — the two must agree:
 * a negative value (gateway clock step) counts as 0.
 */
export function requestTimeMs(r: { readonly requestTime: number }): number {
  return r.requestTime > 0 ? r.requestTime : 0;
}

/** The latencies (ms) of an HTTP record an exporter can send: `latency.total`, `.upstream`, `.gateway`. */
export const LATENCY_KINDS = ['total', 'upstream', 'gateway'] as const;

/** One of {@link LATENCY_KINDS}. */
export type LatencyKind = (typeof LATENCY_KINDS)[number];

/** The index of a kind in {@link LATENCY_KINDS}, for per-record loops that should compare no strings. */
export function latencyIndex(kind: LatencyKind): number {
  return LATENCY_KINDS.indexOf(kind);
}

/** The latency (ms) of `r` at index `i` of {@link LATENCY_KINDS}. */
export function latencyAt(r: AnalyticsRecord, i: number): number {
  const l = r.latency;
  return i === 0 ? l.total : i === 1 ? l.upstream : l.gateway;
}

/**
 * The HTTP methods the semantic conventions (1.45) know, in the order SLO selectors list them. A
 * metric's `http.request.method` is one of these or `_OTHER`, so an SLO selector may name only these.
 */
export const HTTP_METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY', 'TRACE'] as const;

/** One of {@link HTTP_METHODS}. */
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** `http.request.method` values by {@link httpMethodIndex}: index 0 is `_OTHER`, then {@link HTTP_METHODS}. */
export const HTTP_METHOD_VALUES: readonly ('_OTHER' | HttpMethod)[] = Object.freeze(['_OTHER', ...HTTP_METHODS]);

/**
 * Index in {@link HTTP_METHOD_VALUES} of a method: 1–10 for the known ones (case-sensitive, as the
 * semantic conventions require), else 0 (`_OTHER`). A small integer, so it can be part of a numeric key.
 */
export function httpMethodIndex(m: string): number {
  // Compared one after another: the common methods first.
  switch (m) {
    case 'GET': return 3;
    case 'POST': return 7;
    case 'PUT': return 8;
    case 'DELETE': return 2;
    case 'PATCH': return 6;
    case 'HEAD': return 4;
    case 'OPTIONS': return 5;
    case 'CONNECT': return 1;
    case 'TRACE': return 10;
    case 'QUERY': return 9;
    default: return 0;
  }
}

/**
 * `http://user:pass@host/` → `http://REDACTED:REDACTED@host/`: credentials never reach an attribute or
 * a tag (the semantic conventions forbid them in `url.full`). A URL without `scheme://` or without
 * credentials before the first `/` of its authority is returned as it is.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('@');
  if (at < 0) return url;
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  if (scheme < 0 || (slash >= 0 && at > slash)) return url;
  return `${url.slice(0, scheme + 3)}REDACTED:REDACTED${url.slice(at)}`;
}

/**
 * Tyk's Prometheus-pump API-key obfuscation: `****` + the last 4 bytes, or `--` when the key has 4 bytes or
 * fewer (tyk-pump `pumps/prometheus.go`). Used by the `redact` processor, Tyk-compatible custom metrics and
 * the dead-letter dump, so a key is masked the same way everywhere.
 */
export function obfuscateApiKey(key: string): string {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes <= 4) return '--';
  if (bytes === key.length) return `****${key.slice(-4)}`;
  const b = Buffer.from(key, 'utf8');
  return `****${b.subarray(b.length - 4).toString('utf8')}`;
}
