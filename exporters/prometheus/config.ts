/**
 * Config of the `prometheus` exporter (pull): the keys follow the OpenTelemetry Collector's `prometheus`
 * exporter where they exist there (`endpoint`, `namespace`, `const_labels`, `metric_expiration`,
 * `without_scope_info`), plus a few of our own.
 */
import { z } from 'zod';
import { duration, hostPort } from '../../src/config/schema.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Config schema of the `prometheus` exporter. */
export const prometheusConfigSchema = z
  .strictObject({
    endpoint: hostPort()
      .default('0.0.0.0:9464')
      .describe(
        'host:port where /metrics is served. The default is the agent\'s own telemetry address: both are then served as one scrape.',
      ),
    metric_expiration: duration({ min: 1000 })
      .prefault('5m')
      .describe(
        'A series not updated for this long is removed from /metrics (as in the Collector). If it comes back it restarts from 0, which rate()/increase() treat as a counter reset.',
      ),
    namespace: z
      .string({ error: 'must be a string' })
      .regex(/^([a-zA-Z_][a-zA-Z0-9_]*)?$/, 'must be empty or a Prometheus name prefix ([a-zA-Z_][a-zA-Z0-9_]*)')
      .default('')
      .describe('Prefix (namespace_) of every metric name, except the Tyk Pump compatible families kept verbatim.'),
    const_labels: z
      .record(z.string().regex(LABEL_NAME, 'must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)').refine((k) => !k.startsWith('__'), 'must not start with __ (reserved)'), z.string({ error: 'must be a string' }), {
        error: 'must be a map of label names to values',
      })
      .default({})
      .describe('Labels added to every series (a series attribute of the same name wins).'),
    resource_to_labels: z
      .array(z.string({ error: 'must be a resource attribute name' }), { error: 'must be a list of resource attribute names' })
      .default([])
      .describe('Resource attributes (e.g. service.instance.id) copied to every series as labels (dots become underscores).'),
    without_scope_info: z.boolean().default(false).describe('Do not add the otel_scope_name label (the producing processor, e.g. tyk-otel-pump/sli).'),
    without_target_info: z.boolean().default(false).describe('Do not emit the target_info series (resource attributes: service_name, service_version, service_instance_id).'),
    tyk_compatible_names: z
      .boolean()
      .default(true)
      .describe(
        'Expose the Tyk Pump families of the sli processor\'s tyk_compatible mode (tyk_http_status*, tyk_latency) under Tyk\'s exact names (no _total, no unit suffix, no namespace), so existing dashboards work. false: name them like any other metric (tyk_http_status_total, tyk_latency_milliseconds).',
      ),
  })
  .describe('Serves the metrics of its pipelines on /metrics in the Prometheus text format 0.0.4, accumulated to cumulative values.');

/** Parsed `prometheus` exporter config. */
export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;
