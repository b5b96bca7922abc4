/** The `prometheus` exporter: serves its pipelines' metrics on /metrics (Prometheus text format 0.0.4). */
import type { ExporterFactory } from '../../src/component.js';
import { prometheusConfigSchema, type PrometheusConfig } from './config.js';
import { PrometheusMetricsExporter } from './prometheus.js';

/** Factory of the `prometheus` exporter. */
export const prometheusExporterFactory: ExporterFactory<PrometheusConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  description: 'Serves metrics on /metrics for Prometheus to scrape, with OTel-Collector-compatible names (…_seconds, …_total).',
  configSchema: prometheusConfigSchema,
  inputs: ['metrics'],
  create(ctx, config) {
    return new PrometheusMetricsExporter(ctx, config);
  },
};
