/**
 * Config of the `sql` exporter: Tyk Pump's `sql` pump settings (`table_sharding`, `batch_size`,
 * `migrate_sharded_tables`) plus the shared PostgreSQL connection keys. The schema is the documentation.
 */
import { z } from 'zod';
import { markerRetentionField, postgresConnectionShape, timeZoneField } from '../../internal/postgres/config.js';

/** Config schema of the `sql` exporter. */
export const sqlConfigSchema = z.strictObject({
  ...postgresConnectionShape,
  table_sharding: z.boolean({ error: 'must be true or false' }).default(false).describe('One table per day, tyk_analytics_YYYYMMDD (with Tyk\'s 6 indexes), instead of tyk_analytics. Must equal the Dashboard\'s storage.logs.table_sharding.'),
  batch_size: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be 1 or more')
    .max(1260, 'must be at most 1260 (52 columns × 1260 rows is PostgreSQL\'s bind-parameter limit, which Tyk Pump shares)')
    .default(1000)
    .describe('Rows per COPY statement, as Tyk Pump\'s batch_size (rows per INSERT). A chunk larger than this is written in several statements of one transaction.'),
  migrate_sharded_tables: z.boolean({ error: 'must be true or false' }).default(false).describe('With table_sharding: at start, add missing columns to every existing tyk_analytics_YYYYMMDD table (Tyk Pump: migrate_sharded_tables). Otherwise only today\'s table and new tables are checked.'),
  time_zone: timeZoneField,
  batch_marker_retention: markerRetentionField,
});

/** The `sql` exporter's config. */
export type SqlConfig = z.infer<typeof sqlConfigSchema>;
