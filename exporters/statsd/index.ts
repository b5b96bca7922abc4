/** The `statsd` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { statsdConfigSchema, type StatsdConfig } from './config.js';
import { StatsdExporter } from './statsd.js';

/** `exporters: statsd`: request timers and requests/good/bad counters to plain StatsD or Telegraf. */
export const statsdExporterFactory: ExporterFactory<StatsdConfig> = {
  kind: 'exporter',
  type: 'statsd',
  description: 'Sends request timers and requests/good/bad counters to a plain StatsD server (Graphite names from a template) or Telegraf (tags).',
  configSchema: statsdConfigSchema,
  inputs: ['records'],
  create: (ctx, config) => new StatsdExporter(ctx, config),
};
