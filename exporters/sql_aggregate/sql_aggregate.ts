/**
 * The `sql_aggregate` exporter: Tyk's per-org time-bucket aggregates into `tyk_aggregated[_YYYYMMDD]`
 * (tyk-pump `pumps/sql_aggregate.go`; `rest`), with `uptime` host-checker aggregates into
 * `tyk_uptime_analytics[_YYYYMMDD]` (the SQL uptime pump, `pumps/sql.go` WriteUptimeData), and with
 * `graphql`/`mcp` the per-API aggregates of `pumps/graph_sql_aggregate.go` / `pumps/mcp_sql_aggregate.go`.
 * Every upsert of a chunk and its exactly-once marker are one transaction, so a re-delivered chunk never
 * sums twice.
 */
import type pg from 'pg';
import type { BatchContext, ComponentContext, Exporter, ShutdownDeadline } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch, UptimeRecord } from '../../src/model.js';
import { insertRows, type TextRow } from '../../internal/postgres/bulk.js';
import { ensureTable } from '../../internal/postgres/ddl.js';
import { quoteIdent } from '../../internal/postgres/pool.js';
import { shardRuns } from '../../internal/postgres/shards.js';
import { PgWriter } from '../../internal/postgres/writer.js';
import { shardSuffix } from '../../internal/postgres/zone.js';
import { aggregateRecords, dimensions, type AggregateOptions } from './aggregate.js';
import { AGGREGATE_COLUMNS, AGGREGATE_COLUMN_NAMES, AGGREGATE_TABLE, UPTIME_TABLE, aggregateRow, aggregateUpsertSql, uptimeUpsertSql } from './rows.js';
import type { SqlAggregateConfig } from './config.js';
import { aggregateUptime, uptimeDimensions } from './uptime.js';
import { API_AGGREGATE_COLUMN_NAMES, API_AGGREGATE_COLUMNS, GRAPH_AGGREGATE_TABLE, MCP_AGGREGATE_TABLE, aggregateGraph, aggregateMcp, apiAggregateRow, apiDimensions, type ApiAggregate } from './api-aggregates.js';

/** `CREATE INDEX CONCURRENTLY` of `<table>_idx_dimension` (pumps/sql_aggregate.go ensureIndex); never inside a transaction. */
export async function createDimensionIndex(client: pg.ClientBase, table: string): Promise<void> {
  await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(`${table}_idx_dimension`)} ON ${quoteIdent(table)} ("dimension", "timestamp", "org_id", "dimension_value")`);
}

/** Creates or migrates an uptime table with its gorm tag index, literally named `dimension` (one per schema). */
async function ensureUptimeTable(client: pg.ClientBase, table: string): Promise<void> {
  await ensureTable(client, table, AGGREGATE_COLUMNS, 'id');
  await client.query(`CREATE INDEX IF NOT EXISTS "dimension" ON ${quoteIdent(table)} ("timestamp","org_id","dimension","dimension_value")`);
}

/** Writes Tyk's aggregate rows. */
export class SqlAggregateExporter implements Exporter {
  private readonly writer: PgWriter;
  private readonly ready = new Set<string>();
  private readonly options: AggregateOptions;
  private readonly uptimeSharding: boolean;
  private readonly graphSharding: boolean;
  private readonly mcpSharding: boolean;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: SqlAggregateConfig,
  ) {
    this.options = {
      trackAllPaths: config.track_all_paths,
      ignoreTagPrefixList: config.ignore_tag_prefix_list,
      perMinute: config.store_analytics_per_minute,
      zone: config.time_zone,
      exactBuckets: config.exact_buckets,
    };
    this.uptimeSharding = config.uptime.table_sharding ?? config.table_sharding;
    this.graphSharding = config.graphql.table_sharding ?? config.table_sharding;
    this.mcpSharding = config.mcp.table_sharding ?? config.table_sharding;
    this.writer = new PgWriter({
      ctx,
      connection: config,
      markerRetentionMs: config.batch_marker_retention,
      prepare: (client) => this.prepare(client),
      afterPrepare: async (pool) => {
        // Non-sharded: Tyk creates the index in the background at Init (sharded: on each write, below).
        // tyk_mcp_aggregated gets it only when not sharded; tyk_graph_aggregated never.
        if (config.omit_index_creation) return;
        const client = await pool.connect();
        try {
          if (config.rest.enabled && !config.table_sharding) await createDimensionIndex(client, AGGREGATE_TABLE);
          if (config.mcp.enabled && !this.mcpSharding) await createDimensionIndex(client, MCP_AGGREGATE_TABLE);
        } finally {
          client.release();
        }
      },
    });
  }

  private async prepare(client: pg.PoolClient): Promise<void> {
    const c = this.config;
    const today = shardSuffix(Date.now(), c.time_zone);
    if (c.rest.enabled) {
      const table = c.table_sharding ? `${AGGREGATE_TABLE}_${today}` : AGGREGATE_TABLE;
      await ensureTable(client, table, AGGREGATE_COLUMNS, 'id');
      // A sharded table still needs its index, created on its first write as in Tyk.
      if (!c.table_sharding) this.ready.add(table);
    }
    if (c.uptime.enabled) {
      const uptime = this.uptimeSharding ? `${UPTIME_TABLE}_${today}` : UPTIME_TABLE;
      await ensureUptimeTable(client, uptime);
      this.ready.add(uptime);
    }
    // Tyk migrates these only when not sharded at Init; shards are created on their first write, without index.
    for (const [on, sharded, table] of [[c.graphql.enabled, this.graphSharding, GRAPH_AGGREGATE_TABLE], [c.mcp.enabled, this.mcpSharding, MCP_AGGREGATE_TABLE]] as const) {
      if (!on || sharded) continue;
      await ensureTable(client, table, API_AGGREGATE_COLUMNS, 'id');
      this.ready.add(table);
    }
  }

  async start(): Promise<void> {
    this.writer.start();
  }

  private async ensureAggregateTable(table: string): Promise<void> {
    if (this.ready.has(table)) return;
    await this.writer.withClient((client) => ensureTable(client, table, AGGREGATE_COLUMNS, 'id'), { ddl: true });
    if (!this.config.omit_index_creation) await this.writer.withClient((client) => createDimensionIndex(client, table), { ddl: false });
    this.ready.add(table);
  }

  async consumeRecords(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    const http: AnalyticsRecord[] = [];
    const uptime: UptimeRecord[] = [];
    let skipped = 0;
    for (const r of batch) {
      if (r.kind === 'uptime') {
        if (this.config.uptime.enabled) uptime.push(r);
        else skipped++;
      } else {
        http.push(r);
        const taken = r.graphqlStats.isGraphQL ? this.config.graphql.enabled : r.mcpStats.isMCP ? this.config.mcp.enabled : this.config.rest.enabled && r.orgId !== '';
        if (!taken) skipped++;
      }
    }
    const t = this.ctx.telemetry;
    t.accepted(batch.length, 'records');
    if (skipped > 0) t.dropped(skipped, 'not_aggregated', 'records');
    // Records that reach a counter (the rest were counted as dropped above).
    const counted = batch.length - skipped;
    if (http.length === 0 && uptime.length === 0) return;

    const size = this.config.batch_size;
    // Build every statement's rows first: the transaction then only talks to PostgreSQL.
    const statements: Statement[] = [];
    for (const run of shardRuns(this.config.rest.enabled ? http : [], AGGREGATE_TABLE, this.config.table_sharding, this.config.time_zone)) {
      if (this.config.table_sharding) await this.ensureAggregateTable(run.table);
      const suffix = aggregateUpsertSql(run.table);
      for (const agg of aggregateRecords(run.records, this.options)) {
        const rows = dimensions(agg).map((d) => aggregateRow(agg.bucket, agg.orgId, d));
        pushBatches(statements, run.table, rows, suffix, size);
      }
    }
    for (const run of shardRuns(uptime, UPTIME_TABLE, this.uptimeSharding, this.config.time_zone)) {
      if (!this.ready.has(run.table)) {
        await this.writer.withClient((client) => ensureUptimeTable(client, run.table), { ddl: true });
        this.ready.add(run.table);
      }
      const suffix = uptimeUpsertSql(run.table);
      for (const agg of aggregateUptime(run.records, this.config.time_zone, this.config.exact_buckets)) {
        pushBatches(statements, run.table, uptimeDimensions(agg).map((d) => aggregateRow(agg.bucket, agg.orgId, d)), suffix, size);
      }
    }
    const perApi: readonly [boolean, boolean, string, typeof aggregateGraph][] = [
      [this.config.graphql.enabled, this.graphSharding, GRAPH_AGGREGATE_TABLE, aggregateGraph],
      [this.config.mcp.enabled, this.mcpSharding, MCP_AGGREGATE_TABLE, aggregateMcp],
    ];
    for (const [on, sharded, base, aggregate] of perApi) {
      if (!on) continue;
      for (const run of shardRuns(http, base, sharded, this.config.time_zone)) {
        const aggs: ApiAggregate[] = aggregate(run.records, this.options);
        if (aggs.length === 0) continue;
        if (!this.ready.has(run.table)) {
          await this.writer.withClient((client) => ensureTable(client, run.table, API_AGGREGATE_COLUMNS, 'id'), { ddl: true });
          this.ready.add(run.table);
        }
        const suffix = aggregateUpsertSql(run.table);
        for (const a of aggs) pushBatches(statements, run.table, apiDimensions(a).map((d) => apiAggregateRow(a, d)), suffix, size, API_AGGREGATE_COLUMN_NAMES);
      }
    }
    try {
      const outcome = await this.writer.write({ exporterId: this.ctx.id, chunkId: bctx.chunkId, records: counted }, async (client) => {
        for (const s of statements) await insertRows(client, s.table, s.columns, s.rows, s.suffix);
      });
      if (outcome === 'duplicate') t.dropped(counted, 'already_written', 'records');
      else t.sent(counted, 'records');
    } catch (err) {
      t.sendFailed(counted, 'postgresql', 'records');
      throw err;
    }
  }

  async shutdown(deadline?: ShutdownDeadline): Promise<void> {
    await this.writer.shutdown(deadline);
  }
}

/**
 * One org's rows in statements of `size` rows, as Tyk does. Rows are sorted by id so that writers
 * upserting the same rows concurrently lock them in one order (no deadlock); the order changes no value.
 */
function pushBatches(out: Statement[], table: string, rows: TextRow[], suffix: string, size: number, columns: readonly string[] = AGGREGATE_COLUMN_NAMES): void {
  rows.sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : (a[0] ?? '') > (b[0] ?? '') ? 1 : 0));
  for (let i = 0; i < rows.length; i += size) out.push({ table, columns, rows: rows.slice(i, i + size), suffix });
}

/** One upsert statement of a batch. */
interface Statement {
  readonly table: string;
  readonly columns: readonly string[];
  readonly rows: TextRow[];
  readonly suffix: string;
}
