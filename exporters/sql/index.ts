/** The `sql` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { sqlConfigSchema, type SqlConfig } from './config.js';
import { SqlExporter } from './sql.js';

/** `exporters: sql`: raw records into Tyk's tyk_analytics[_YYYYMMDD] PostgreSQL tables, exactly once. */
export const sqlExporterFactory: ExporterFactory<SqlConfig> = {
  kind: 'exporter',
  type: 'sql',
  description: 'Writes records to PostgreSQL as Tyk Pump\'s sql pump does (tyk_analytics, or tyk_analytics_YYYYMMDD with table_sharding) for Tyk Dashboard, exactly once per chunk.',
  configSchema: sqlConfigSchema,
  inputs: ['records'],
  create: (ctx, config) => new SqlExporter(ctx, config),
};
