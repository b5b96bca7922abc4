/**
 * Config of the `sql_aggregate` exporter: Tyk Pump's `sql_aggregate` pump settings, its SQL uptime pump
 * (`uptime`), and the shared PostgreSQL connection keys. The schema is the documentation.
 */
import { z } from 'zod';
import { markerRetentionField, postgresConnectionShape, timeZoneField } from '../../internal/postgres/config.js';

/** Config schema of the `sql_aggregate` exporter. */
export const sqlAggregateConfigSchema = z.strictObject({
  ...postgresConnectionShape,
  table_sharding: z.boolean({ error: 'must be true or false' }).default(false).describe('One table per day, tyk_aggregated_YYYYMMDD, instead of tyk_aggregated. Must equal the Dashboard\'s storage.analytics.table_sharding.'),
  batch_size: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be 1 or more')
    .max(1365, 'must be at most 1365 (48 columns × 1365 rows is PostgreSQL\'s bind-parameter limit)')
    .default(1000)
    .describe('Aggregate rows per INSERT … ON CONFLICT statement (Tyk Pump: batch_size).'),
  track_all_paths: z.boolean({ error: 'must be true or false' }).default(false).describe('Count every record in the endpoint dimensions (endpoints, apiendpoints, keyendpoints, oauthendpoints), not only those whose API tracks the path.'),
  ignore_tag_prefix_list: z.array(z.string({ error: 'must be a tag prefix' }), { error: 'must be a list of tag prefixes' }).default([]).describe('Tags starting with one of these prefixes are left out of the tags dimension (key- tags always are).'),
  threshold_len_tag_list: z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more').default(1000).describe('Accepted for Tyk Pump config compatibility. Like Tyk\'s SQL aggregate pump (only its Mongo pump reads it), it changes nothing.'),
  store_analytics_per_minute: z.boolean({ error: 'must be true or false' }).default(false).describe('Buckets of one minute instead of one hour.'),
  omit_index_creation: z.boolean({ error: 'must be true or false' }).default(false).describe('Do not create <table>_idx_dimension (CREATE INDEX CONCURRENTLY, as Tyk does), e.g. when a DBA manages indexes.'),
  exact_buckets: z.boolean({ error: 'must be true or false' }).default(false).describe('Not Tyk\'s behaviour, off by default. Tyk puts all of an org\'s records of a chunk in the bucket of its first record, so a chunk spanning an hour boundary counts the later records in the earlier hour. true buckets each record by its own time (hourly totals then differ from what Tyk Pump would have written for the same traffic, by being right).'),
  rest: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Aggregate the records that are neither GraphQL nor MCP per org into tyk_aggregated as Tyk Pump\'s sql_aggregate pump does (Dashboard: Activity by API, with enable_aggregate_lookups). false leaves tyk_aggregated alone, as Tyk\'s sql-graph-aggregate and sql-mcp-aggregate pumps do on their own.'),
    })
    .prefault({})
    .describe('REST aggregates (Tyk: sql_aggregate); table_sharding above is theirs.'),
  uptime: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Aggregate uptime records into tyk_uptime_analytics as Tyk Pump\'s SQL uptime pump (uptime_pump_config, uptime_type sql) does.'),
      table_sharding: z.boolean({ error: 'must be true or false' }).optional().describe('tyk_uptime_analytics_YYYYMMDD per day (Tyk: uptime_pump_config.table_sharding). Unset: as table_sharding. Must equal the Dashboard\'s storage.uptime.table_sharding.'),
    })
    .prefault({})
    .describe('Uptime aggregates (host-checker records).'),
  graphql: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Aggregate GraphQL records per API into tyk_graph_aggregated as Tyk Pump\'s sql-graph-aggregate pump does (Dashboard: Activity by Graph).'),
      table_sharding: z.boolean({ error: 'must be true or false' }).optional().describe('tyk_graph_aggregated_YYYYMMDD per day. Unset: as table_sharding.'),
    })
    .prefault({})
    .describe('GraphQL aggregates (Tyk: sql-graph-aggregate; track_all_paths and the tag ignore list do not apply, as in Tyk).'),
  mcp: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Aggregate MCP records per API into tyk_mcp_aggregated as Tyk Pump\'s sql-mcp-aggregate pump does (Dashboard: Activity by MCP).'),
      table_sharding: z.boolean({ error: 'must be true or false' }).optional().describe('tyk_mcp_aggregated_YYYYMMDD per day. Unset: as table_sharding.'),
    })
    .prefault({})
    .describe('MCP aggregates (Tyk: sql-mcp-aggregate).'),
  time_zone: timeZoneField,
  batch_marker_retention: markerRetentionField,
}).refine((c) => c.rest.enabled || c.uptime.enabled || c.graphql.enabled || c.mcp.enabled, {
  message: 'writes nothing: enable at least one of rest, uptime, graphql, mcp',
});

/** The `sql_aggregate` exporter's config. */
export type SqlAggregateConfig = z.infer<typeof sqlAggregateConfigSchema>;
