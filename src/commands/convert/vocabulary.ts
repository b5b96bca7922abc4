/**
 * Names the converter writes into component configs: Tyk Pump's own vocabularies (pump
 * `pumps/prometheus.go`, `pumps/dogstatsd.go`, `pumps/statsd.go`) and the sli processor's OTel-native
 * metric names. Core reads components only through the registry, so these are listed here;
 * `vocabulary.test.ts` holds them equal to the components' exported lists.
 */

/** Tyk Pump's Prometheus base families (`disabled_metrics` names). */
export const TYK_PROMETHEUS_FAMILIES = [
  'tyk_http_status',
  'tyk_http_status_per_path',
  'tyk_http_status_per_key',
  'tyk_http_status_per_oauth_client',
  'tyk_latency',
] as const;

/** The sli processor's OTel-native metrics, all disabled in a converted prometheus pump's pipeline. */
export const SLI_NATIVE_METRICS = [
  'http.server.request.duration',
  'tyk.upstream.request.duration',
  'tyk.gateway.request.duration',
  'tyk.http.requests',
  'http.server.request.body.size',
  'tyk.network.connections.opened',
  'tyk.network.connections.closed',
  'tyk.network.io',
  'tyk.uptime.check.duration',
  'tyk.uptime.checks',
] as const;

/** Tyk's dogstatsd pump `tags`. */
export const TYK_DOGSTATSD_TAGS = ['path', 'method', 'response_code', 'api_version', 'api_name', 'api_id', 'org_id', 'tracked', 'oauth_id'] as const;

/** Tyk's statsd pump `fields` (only timings are sent). */
export const TYK_STATSD_FIELDS = ['request_time', 'latency_total', 'latency_upstream', 'latency_gateway'] as const;

/** Tyk's statsd pump `tags` (`method` only with `separated_method`). */
export const TYK_STATSD_TAGS = [
  'path', 'method', 'response_code', 'api_key', 'time_stamp', 'api_version', 'api_name', 'api_id', 'org_id', 'oauth_id',
  'raw_request', 'raw_response', 'request_time', 'latency_total', 'latency_upstream', 'latency_gateway', 'ip_address',
] as const;
