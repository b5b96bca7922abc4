/** The `sql_aggregate` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { sqlAggregateConfigSchema, type SqlAggregateConfig } from './config.js';
import { SqlAggregateExporter } from './sql_aggregate.js';

/** `exporters: sql_aggregate`: Tyk's tyk_aggregated (and tyk_uptime_analytics) PostgreSQL aggregates, exactly once. */
export const sqlAggregateExporterFactory: ExporterFactory<SqlAggregateConfig> = {
  kind: 'exporter',
  type: 'sql_aggregate',
  description: 'Aggregates records per org and hour (or minute) into PostgreSQL as Tyk Pump\'s sql_aggregate pump (tyk_aggregated) and SQL uptime pump (tyk_uptime_analytics) do, for Tyk Dashboard, exactly once per chunk.',
  configSchema: sqlAggregateConfigSchema,
  inputs: ['records'],
  create: (ctx, config) => new SqlAggregateExporter(ctx, config),
};
