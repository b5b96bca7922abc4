/**
 * Config schema of the `otlp_http` exporter: where to send (OTLP/HTTP base URL or per-signal URLs), how
 * (protobuf or JSON, gzip), and how hard to try (sending queue, retries with backoff, optional disk spool).
 * Key names follow the OpenTelemetry Collector's `otlp_http` exporter and its exporterhelper.
 */
import { z } from 'zod';
import { duration, formatDuration, positiveInt, secret } from '../../src/config/schema.js';

/** An http(s) URL, or '' where the field is optional. */
function url(optional: boolean) {
  return z.string({ error: 'must be a URL' }).refine(
    (s) => {
      if (optional && s === '') return true;
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL without credentials (put credentials in headers)' },
  );
}

const resourceValue = z.union(
  [z.string(), z.number(), z.boolean(), z.array(z.string()), z.array(z.number())],
  { error: 'must be a string, number, boolean, or a list of strings or numbers' },
);

/** Schema of `resource`: attributes merged over the resource each batch carries. */
export const resourceSchema = z
  .record(z.string().min(1, 'must not be empty'), resourceValue, { error: 'must be a map of resource attributes' })
  .default({});

const retrySchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Retry retryable failures (network errors, timeouts, 408, 429, 5xx except 501/505). Off: the first failure is final.'),
    initial_interval: duration({ min: 1 }).prefault('5s').describe('Wait before the first retry.'),
    max_interval: duration({ min: 1 }).prefault('30s').describe('Upper bound of the wait between retries.'),
    max_elapsed_time: duration().prefault('300s').describe('Give up on a queued request after this long (0 = retry forever). Spooled requests are retried until delivered.'),
    multiplier: z.number({ error: 'must be a number' }).min(1, 'must be at least 1').default(1.5).describe('Growth factor of the wait after each failure.'),
    randomization_factor: z.number({ error: 'must be a number' }).min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0.5).describe('Jitter: each wait is drawn from [w·(1−f), w·(1+f)].'),
  })
  .superRefine((r, ctx) => {
    if (r.max_interval < r.initial_interval) {
      ctx.addIssue({ code: 'custom', path: ['max_interval'], input: formatDuration(r.max_interval), message: `must be at least initial_interval (${formatDuration(r.initial_interval)})` });
    }
  })
  .describe('Retries with exponential backoff and jitter; a Retry-After from the endpoint takes precedence.');

const queueSchema = z
  .strictObject({
    queue_size: positiveInt(5000).describe('Log records (items) waiting in memory at most. When full, consumeLogs waits (backpressure) or overflows into the spool; a single larger batch is admitted when the queue is empty.'),
    num_consumers: positiveInt(4).describe('Requests sent concurrently.'),
    max_batch_items: positiveInt(1000).describe('Log records per OTLP request at most; larger batches are split.'),
    drain_timeout: duration({ min: 1 }).prefault('10s').describe('On shutdown, how long to keep sending what is queued before spooling it (or dropping it); cut short by the agent\'s shutdown deadline. Must not be longer than service.shutdown_timeout.'),
  })
  .describe('The bounded in-memory queue of log requests and its senders.');

const spoolSchema = z
  .strictObject({
    directory: z.string().default('').describe("Directory for the on-disk spool ('' = no spool). Relative paths are relative to the config file. One subdirectory per exporter id; one agent per directory."),
    max_megabytes: positiveInt(256).describe('Upper bound of spooled request bodies on disk (MiB). When the spool is full too, consumeLogs waits.'),
  })
  .describe('Optional disk spool of encoded log requests: overflow of the memory queue, requests that exhausted their retries, and what is left at shutdown. Replayed on start.');

const metricsSchema = z
  .strictObject({
    max_series: positiveInt(10_000).describe('Series kept at most (all metrics together); further new series are folded into one `otel.metric.overflow=true` series per metric.'),
    metric_expiration: duration({ min: 1 }).prefault('5m').describe('A series that received nothing for this long is no longer exported (and its cumulative state is dropped).'),
  })
  .describe('The metrics accumulator.');

/**
 * Default gzip level: 1 (fastest). On audit log bodies it costs half the CPU of zlib's default 6 (2.1 vs 4.4
 * µs per record) for ~30 % more bytes (86 vs 66 per record): BENCHMARKS.md, "OTLP logs encoding".
 */
export const DEFAULT_GZIP_LEVEL = 1;

const compressionParamsSchema = z
  .strictObject({
    level: z
      .number({ error: 'must be an integer from -1 to 9' })
      .int('must be an integer from -1 to 9')
      .min(-1, 'must be an integer from -1 to 9')
      .max(9, 'must be an integer from -1 to 9')
      .default(DEFAULT_GZIP_LEVEL)
      .describe('gzip level: 1 fastest … 9 smallest, 0 stored, -1 zlib\'s default (6). Ignored with compression: none.'),
  })
  .describe('Compression settings, as the Collector\'s confighttp `compression_params`.');

/** Schema of the `otlp_http` exporter. */
export const otlpHttpConfigSchema = z
  .strictObject({
    endpoint: url(false).default('http://localhost:4318').describe('OTLP/HTTP base URL; `/v1/metrics` and `/v1/logs` are appended.'),
    metrics_endpoint: url(true).default('').describe("Full URL for metrics, overriding endpoint ('' = endpoint + /v1/metrics)."),
    logs_endpoint: url(true).default('').describe("Full URL for logs, overriding endpoint ('' = endpoint + /v1/logs)."),
    headers: z.record(z.string().min(1, 'must not be empty'), secret(), { error: 'must be a map of header names to values' }).default({}).describe('Extra HTTP headers (e.g. API keys), usually `${env:…}`; never logged.'),
    encoding: z.enum(['proto', 'json'], { error: 'must be proto or json' }).default('proto').describe('proto: application/x-protobuf; json: OTLP/JSON.'),
    compression: z.enum(['gzip', 'none'], { error: 'must be gzip or none' }).default('gzip').describe('Request body compression.'),
    compression_params: compressionParamsSchema.prefault({}),
    timeout: duration({ min: 1 }).prefault('10s').describe('Timeout of one HTTP attempt.'),
    temporality: z.enum(['cumulative', 'delta'], { error: 'must be cumulative or delta' }).default('cumulative').describe('Temporality of exported sums and histograms.'),
    export_interval: duration({ min: 100 }).prefault('60s').describe('How often accumulated metrics are exported.'),
    resource: resourceSchema.describe('Resource attributes merged over the resource each batch carries (these win).'),
    sending_queue: queueSchema.prefault({}),
    retry_on_failure: retrySchema.prefault({}),
    spool: spoolSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
  })
  .describe('Sends metrics and logs over OTLP/HTTP with a bounded queue, retries and an optional disk spool.');

/** Parsed `otlp_http` config. */
export type OtlpHttpConfig = z.infer<typeof otlpHttpConfigSchema>;
/** Parsed `retry_on_failure`. */
export type RetryConfig = OtlpHttpConfig['retry_on_failure'];
