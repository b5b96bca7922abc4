/** The `dogstatsd` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { dogstatsdConfigSchema, type DogStatsdConfig } from './config.js';
import { DogStatsdExporter } from './dogstatsd.js';

/** `exporters: dogstatsd`: per-request distributions and count-SLO counters to a Datadog Agent. */
export const dogstatsdExporterFactory: ExporterFactory<DogStatsdConfig> = {
  kind: 'exporter',
  type: 'dogstatsd',
  description: 'Sends per-request latency distributions and requests/good/bad counters to a Datadog Agent over DogStatsD (UDP or Unix socket).',
  configSchema: dogstatsdConfigSchema,
  inputs: ['records', 'metrics'],
  create: (ctx, config) => new DogStatsdExporter(ctx, config),
};
