/** The `status` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { statusConfigSchema, type StatusConfig } from './config.js';
import { StatusExporter } from './status.js';

/** `exporters: status`: an HTML status page (APIs, SLOs, drain, exporters) on the agent's HTTP server. */
export const statusExporterFactory: ExporterFactory<StatusConfig> = {
  kind: 'exporter',
  type: 'status',
  description: 'Serves /status: a self-contained HTML page with per-API rate, errors and p95, SLO budgets and burn rates, the drain and exporter health, from in-memory ring buffers.',
  configSchema: statusConfigSchema,
  inputs: ['metrics'],
  create: (ctx, config) => new StatusExporter(ctx, config),
};
