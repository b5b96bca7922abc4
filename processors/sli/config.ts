/**
 * Config of the `sli` processor (records → metrics). The schema is the documentation: every field has a
 * `.describe()`; `SliConfig` is derived from it. Other components may read the exported constants (the
 * SLO engine validates latency thresholds against {@link DEFAULT_DURATION_BUCKETS_SECONDS} or the
 * configured `buckets`).
 */
import { z } from 'zod';
import { errorDefinitionSchema } from '../../src/error-definition.js';
import { duration } from '../../src/config/schema.js';

/**
 * Semantic-conventions bucket boundaries (seconds) of `http.server.request.duration`, also used for
 * `tyk.upstream.request.duration`, `tyk.gateway.request.duration` and `tyk.uptime.check.duration`.
 */
export const DEFAULT_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Default bucket boundaries (bytes) of `http.server.request.body.size`: powers of 4 from 256 B to 16 MiB, plus 0. */
export const DEFAULT_BODY_SIZE_BUCKETS_BYTES: readonly number[] = Object.freeze([
  0, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216,
]);

/** Tyk Pump's default `tyk_latency` buckets (milliseconds), `pumps/prometheus.go`. */
export const TYK_DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000,
]);

/** Attributes that can be put on the HTTP metrics. */
export const HTTP_ATTRIBUTES = [
  'http.request.method',
  'http.response.status_code',
  'http.route',
  'error.type',
  'tyk.api.id',
  'tyk.api.name',
  'tyk.org.id',
  'tyk.api.version',
  'tyk.oauth.client_id',
  'tyk.key.alias',
] as const;

/** One attribute name of {@link HTTP_ATTRIBUTES}. */
export type HttpAttribute = (typeof HTTP_ATTRIBUTES)[number];

/** The attributes the HTTP metrics carry by default (the agreed set; the last three of {@link HTTP_ATTRIBUTES} are opt-in). */
export const DEFAULT_HTTP_ATTRIBUTES: readonly HttpAttribute[] = Object.freeze([
  'http.request.method',
  'http.response.status_code',
  'http.route',
  'error.type',
  'tyk.api.id',
  'tyk.api.name',
  'tyk.org.id',
]);

/** OTel metric names the processor can emit (for `disabled_metrics`). */
export const SLI_METRICS = [
  'http.server.request.duration',
  'tyk.upstream.request.duration',
  'tyk.gateway.request.duration',
  'tyk.api.requests',
  'http.server.request.body.size',
  'tyk.network.connections.opened',
  'tyk.network.connections.closed',
  'tyk.network.io',
  'tyk.uptime.check.duration',
  'tyk.uptime.checks',
] as const;

/** One metric name of {@link SLI_METRICS}. */
export type SliMetric = (typeof SLI_METRICS)[number];

/** The Prometheus family each of {@link SLI_METRICS} is exposed as (the Collector's translation, no namespace). */
export const SLI_PROMETHEUS_NAMES: Readonly<Record<SliMetric, string>> = {
  'http.server.request.duration': 'http_server_request_duration_seconds',
  'tyk.upstream.request.duration': 'tyk_upstream_request_duration_seconds',
  'tyk.gateway.request.duration': 'tyk_gateway_request_duration_seconds',
  'tyk.api.requests': 'tyk_api_requests_total',
  'http.server.request.body.size': 'http_server_request_body_size_bytes',
  'tyk.network.connections.opened': 'tyk_network_connections_opened_total',
  'tyk.network.connections.closed': 'tyk_network_connections_closed_total',
  'tyk.network.io': 'tyk_network_io_bytes_total',
  'tyk.uptime.check.duration': 'tyk_uptime_check_duration_seconds',
  'tyk.uptime.checks': 'tyk_uptime_checks_total',
};

/** Tyk Pump's Prometheus metric families (exact names), emitted when `tyk_compatible.enabled`. */
export const TYK_PUMP_METRICS = [
  'tyk_http_status',
  'tyk_http_status_per_path',
  'tyk_http_status_per_key',
  'tyk_http_status_per_oauth_client',
  'tyk_latency',
] as const;

/** One metric name of {@link TYK_PUMP_METRICS}. */
export type TykPumpMetric = (typeof TYK_PUMP_METRICS)[number];

/**
 * Labels a Tyk custom metric may carry (Tyk Pump's `PrometheusMetric.GetLabelsValues`), aliases included:
 * `code` = `response_code`, `key` = `api_key`, `api` = `api_id`, `client_id` = `oauth_id`.
 */
export const TYK_CUSTOM_LABELS = [
  'host', 'method', 'path', 'response_code', 'code', 'api_key', 'key', 'time_stamp', 'api_version', 'api_name', 'api_id', 'api',
  'org_id', 'oauth_id', 'client_id', 'request_time', 'latency_total', 'latency_upstream', 'latency_gateway', 'ip_address', 'alias',
  'mcp_method', 'mcp_primitive_type', 'mcp_primitive_name',
] as const;

/** One label of {@link TYK_CUSTOM_LABELS}. */
export type TykCustomLabel = (typeof TYK_CUSTOM_LABELS)[number];

/** A list of bucket boundaries: finite, strictly increasing, positive (or zero too when `allowZero`). */
function bucketList(what: string, def: readonly number[], opts: { allowZero: boolean }) {
  return z
    .array(z.number({ error: 'must be a number' }), { error: `must be a list of ${what}` })
    .superRefine((list, ctx) => {
      if (list.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'must list at least one boundary', input: list });
        return;
      }
      if (list.length > 64) {
        ctx.addIssue({ code: 'custom', message: `must list at most 64 boundaries (got ${list.length})`, input: list });
        return;
      }
      for (const b of list) {
        if (!Number.isFinite(b) || b < 0 || (!opts.allowZero && b === 0)) {
          ctx.addIssue({ code: 'custom', message: `must contain only ${opts.allowZero ? 'zero or positive' : 'positive'} finite numbers`, input: list });
          return;
        }
      }
      for (let i = 1; i < list.length; i++) {
        if ((list[i] as number) <= (list[i - 1] as number)) {
          ctx.addIssue({ code: 'custom', message: 'must be strictly increasing', input: list });
          return;
        }
      }
    })
    .default([...def]);
}

function uniqueList<T extends string>(values: readonly [T, ...T[]], what: string, def: readonly T[], required?: { value: T; why: string }) {
  return z
    .array(z.enum(values, { error: `must be one of ${values.join(', ')}` }), { error: `must be a list of ${what}` })
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      for (const v of list) {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', message: `must not list "${v}" twice`, input: list });
        seen.add(v);
      }
      if (required && !seen.has(required.value)) {
        ctx.addIssue({ code: 'custom', message: `must include ${required.value} (${required.why})`, input: list });
      }
    })
    .default([...def]);
}

const PROM_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const customMetricSchema = z
  .strictObject({
    name: z.string({ error: 'must be a Prometheus metric name' }).regex(PROM_NAME, 'must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)').describe('Metric name, exposed exactly as given (Tyk adds no _total).'),
    help: z.string({ error: 'must be a string' }).default('').describe('HELP text.'),
    description: z.string({ error: 'must be a string' }).optional().describe('Accepted because Tyk\'s examples use it (Tyk ignores it); used as the HELP text when help is empty.'),
    metric_type: z.enum(['counter', 'histogram'], { error: 'must be counter or histogram' }).describe('counter: one per record; histogram: observes the request time (ms) with a forced first label type="total".'),
    labels: z
      .array(z.string({ error: 'must be a label name' }), { error: 'must be a list of label names' })
      .default([])
      .describe(`Record fields as labels: ${TYK_CUSTOM_LABELS.join(', ')}; histograms also accept type (always "total", placed first).`),
    buckets: bucketList('milliseconds', TYK_DEFAULT_LATENCY_BUCKETS_MS, { allowZero: false }).describe(
      "Histogram bucket boundaries in milliseconds. Default: Tyk Pump's. Unlike Tyk Pump (which ignores them), configured buckets are honoured.",
    ),
    obfuscate_api_keys: z.boolean().default(false).describe('api_key/key labels show "****" and the last 4 characters ("--" for keys of 4 characters or fewer).'),
    obfuscate_api_keys_length: z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more').optional().describe('Accepted for pump.conf compatibility; Tyk Pump does not use it (always 4), nor do we.'),
    mcp_only: z.boolean().default(false).describe('Count only MCP (Model Context Protocol) records.'),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.labels.forEach((l, i) => {
      const known = (TYK_CUSTOM_LABELS as readonly string[]).includes(l) || (l === 'type' && m.metric_type === 'histogram');
      if (!known) {
        ctx.addIssue({ code: 'custom', path: ['labels', i], message: `unknown label "${l}" (must be one of ${TYK_CUSTOM_LABELS.join(', ')}${m.metric_type === 'histogram' ? ', type' : ''})`, input: l });
      } else if (seen.has(l)) {
        ctx.addIssue({ code: 'custom', path: ['labels', i], message: `must not list "${l}" twice`, input: l });
      }
      seen.add(l);
    });
  });

/**
 * Custom metric names must be unique and must not take a name this processor already exposes. Runs even
 * when an entry has problems of its own (zod would skip it), so every problem shows in one run.
 */
const customNamesCheck = z.superRefine<{ name?: unknown }[]>((list, ctx) => {
  const seen = new Set<string>(TYK_PUMP_METRICS);
  const own = new Map(Object.entries(SLI_PROMETHEUS_NAMES).map(([k, v]) => [v, k]));
  list.forEach((m, i) => {
    const name = m?.name;
    if (typeof name !== 'string') return;
    const clash = own.get(name);
    if (clash !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${name}" is the Prometheus name of this processor's own ${clash}; pick another name`, input: name });
    } else if (seen.has(name)) {
      const base = (TYK_PUMP_METRICS as readonly string[]).includes(name);
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: base ? `"${name}" is a Tyk Pump base family; pick another name` : `"${name}" is defined twice`, input: name });
    }
    seen.add(name);
  });
});
customNamesCheck._zod.def.when = () => true;

/** One entry of `tyk_compatible.custom_metrics`. */
export type TykCustomMetric = z.infer<typeof customMetricSchema>;

const tykCompatibleSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe(
      "Also emit Tyk Pump's Prometheus metric families (tyk_http_status, tyk_http_status_per_path, tyk_http_status_per_key, tyk_http_status_per_oauth_client, tyk_latency) with Tyk's exact names and labels, so existing Tyk Grafana dashboards keep working.",
    ),
    latency_buckets_ms: bucketList('milliseconds', TYK_DEFAULT_LATENCY_BUCKETS_MS, { allowZero: false }).describe(
      "Bucket boundaries of tyk_latency, in milliseconds (Tyk's unit for this metric). Defaults to Tyk Pump's buckets; unlike Tyk Pump, a custom list is honoured.",
    ),
    track_all_paths: z.boolean().default(false).describe(
      'Use the record path in tyk_http_status_per_path for every record. false (Tyk\'s default): the path is "unknown" unless the gateway\'s track-endpoint plugin matched (TrackPath).',
    ),
    disabled_metrics: uniqueList(TYK_PUMP_METRICS, 'Tyk Pump metric names', []).describe(
      'Tyk Pump metric families not to emit (Tyk\'s disabled_metrics), e.g. [tyk_http_status_per_key].',
    ),
    custom_metrics: z
      .array(customMetricSchema, { error: 'must be a list of custom metrics' })
      .check(customNamesCheck)
      .default([])
      .describe("Tyk Pump's Prometheus custom_metrics, with Tyk's label vocabulary and semantics (see the README)."),
  })
  .describe("Tyk Pump compatible metrics (off by default). Network-stats records (code -1) are never counted, unlike Tyk Pump.");

/** Config schema of the `sli` processor. */
export const sliConfigSchema = z
  .strictObject({
    buckets: bucketList('seconds', DEFAULT_DURATION_BUCKETS_SECONDS, { allowZero: false }).describe(
      'Bucket boundaries in seconds (strictly increasing, positive) of every duration histogram: http.server.request.duration, tyk.upstream/gateway.request.duration, tyk.uptime.check.duration. Default: the semantic-conventions boundaries.',
    ),
    body_size_buckets_bytes: bucketList('bytes', DEFAULT_BODY_SIZE_BUCKETS_BYTES, { allowZero: true }).describe(
      'Bucket boundaries in bytes (strictly increasing, zero or positive) of http.server.request.body.size.',
    ),
    attributes: uniqueList(HTTP_ATTRIBUTES, 'attribute names', DEFAULT_HTTP_ATTRIBUTES, {
      value: 'error.type',
      why: 'bad requests are told apart by it',
    }).describe(
        'Attributes of the HTTP metrics. Default: http.request.method, http.response.status_code, http.route, error.type, tyk.api.id, tyk.api.name, tyk.org.id; opt-in: tyk.api.version, tyk.oauth.client_id, tyk.key.alias. error.type is required.',
      ),
    disabled_metrics: uniqueList(SLI_METRICS, 'metric names', []).describe('Metrics not to emit, e.g. [http.server.request.body.size].'),
    upstream_include_rejections: z.boolean().default(false).describe(
      'Observe gateway-side rejections (status >= 400 with upstream latency 0: auth failures, rate limits) in tyk.upstream.request.duration as 0 s, as Tyk Pump does. Default false: a request that never reached the upstream has no upstream duration.',
    ),
    cardinality_limit: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(2, 'must be at least 2')
      .default(2000)
      .describe(
        'Maximum series per metric (as the OTel SDK). Records of new attribute sets beyond limit-1 are folded into a series with otel.metric.overflow=true (and error.type=_OTHER when bad).',
      ),
    series_expiration: duration({ min: 1000 })
      .prefault('5m')
      .describe('A series not updated for this long stops counting against cardinality_limit (its state is dropped).'),
    emit_interval: duration({ min: 0, max: 60_000 })
      .prefault('250ms')
      .describe(
        'Longest time the deltas of a chunk wait to be emitted together with those of the chunks after it (one data point per touched series per window instead of per chunk). The chunk is acknowledged only once its window reached the exporters. 0s: emit per chunk.',
      ),
    emit_max_chunks: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .default(10)
      .describe(
        "Chunks after which a window is emitted at once. Held chunks are unacknowledged: a receiver that reaches its max_unacked_chunks (tyk_redis, 16 by default) or max_unacked_reads (redis_stream) has the window emitted at once, so a window holds at most that many less one. Keep it a few below that bound, so the drain claims on while a full window is emitted and acknowledged.",
      ),
    emit_max_records: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .default(10_000)
      .describe('Records after which a window is emitted at once (bounds the records a window holds unacknowledged; the batch that fills it waits for the emission).'),
    error_definition: errorDefinitionSchema
      .optional()
      .describe('Overrides the top-level error_definition for this processor (same keys).'),
    tyk_compatible: tykCompatibleSchema.prefault({}),
  })
  .describe('Aggregates Tyk records into SLI metrics (histograms and counters) and emits them as OTel metric data (delta), once per emit_interval window of chunks.');

/** Parsed `sli` processor config. */
export type SliConfig = z.infer<typeof sliConfigSchema>;
