/**
 * The `sql` exporter: every HTTP (and network-stats) record as one row of Tyk's `tyk_analytics`, or of
 * `tyk_analytics_YYYYMMDD` with `table_sharding`, exactly as Tyk Pump's `sql` pump writes it
 * (tyk-pump `pumps/sql.go`), so Tyk Dashboard's Log Browser and live analytics read it unchanged.
 *
 * A batch is written with COPY (faster than Tyk's multi-row INSERT, see BENCHMARKS.md), `batch_size` rows
 * per statement, all statements and the exactly-once marker in one transaction.
 */
import type pg from 'pg';
import type { BatchContext, ComponentContext, Exporter, ShutdownDeadline } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch } from '../../src/model.js';
import { copyRows, type TextRow } from '../../internal/postgres/bulk.js';
import { ensureTable, listTables } from '../../internal/postgres/ddl.js';
import { quoteIdent } from '../../internal/postgres/pool.js';
import { PgWriter } from '../../internal/postgres/writer.js';
import { shardSuffix } from '../../internal/postgres/zone.js';
import { shardRuns } from '../../internal/postgres/shards.js';
import { ANALYTICS_COLUMN_NAMES, ANALYTICS_COLUMNS, ANALYTICS_TABLE, SHARD_INDEXES, analyticsRow } from './columns.js';
import type { SqlConfig } from './config.js';

/** Creates (with Tyk's indexes) or migrates one raw table. */
export async function ensureAnalyticsTable(client: pg.ClientBase, table: string, withShardIndexes: boolean): Promise<boolean> {
  const { created } = await ensureTable(client, table, ANALYTICS_COLUMNS);
  if (created && withShardIndexes) {
    for (const [base, column] of SHARD_INDEXES) {
      await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_${base}`)} ON ${quoteIdent(table)} (${quoteIdent(column)})`);
    }
  }
  return created;
}

/** Writes records into `tyk_analytics[_YYYYMMDD]`. */
export class SqlExporter implements Exporter {
  private readonly writer: PgWriter;
  /** Tables known to exist with every column (so a batch does not re-check them). */
  private readonly ready = new Set<string>();

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: SqlConfig,
  ) {
    this.writer = new PgWriter({
      ctx,
      connection: config,
      markerRetentionMs: config.batch_marker_retention,
      prepare: (client) => this.prepare(client),
    });
  }

  private async prepare(client: pg.PoolClient): Promise<void> {
    const c = this.config;
    if (!c.table_sharding) {
      await ensureAnalyticsTable(client, ANALYTICS_TABLE, false);
      this.ready.add(ANALYTICS_TABLE);
      return;
    }
    // Tyk migrates today's shard at start (and, with migrate_sharded_tables, every existing shard).
    const today = `${ANALYTICS_TABLE}_${shardSuffix(Date.now(), c.time_zone)}`;
    await ensureAnalyticsTable(client, today, true);
    this.ready.add(today);
    if (c.migrate_sharded_tables) {
      for (const t of await listTables(client, `${ANALYTICS_TABLE}\\_________`)) {
        if (!/^tyk_analytics_\d{8}$/.test(t)) continue;
        await ensureTable(client, t, ANALYTICS_COLUMNS);
        this.ready.add(t);
      }
    }
  }

  async start(): Promise<void> {
    this.writer.start();
  }

  async consumeRecords(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    const records: AnalyticsRecord[] = [];
    let uptime = 0;
    let mcp = 0;
    for (const r of batch) {
      if (r.kind === 'uptime') uptime++;
      // MCP records go only to Tyk's sql-mcp pump (pumps/sql.go WriteData skips them).
      else if (r.mcpStats.isMCP) mcp++;
      else records.push(r);
    }
    const t = this.ctx.telemetry;
    t.accepted(batch.length, 'records');
    if (uptime > 0) t.dropped(uptime, 'uptime_not_stored', 'records');
    if (mcp > 0) t.dropped(mcp, 'mcp_not_stored', 'records');
    if (records.length === 0) return;

    const runs = shardRuns(records, ANALYTICS_TABLE, this.config.table_sharding, this.config.time_zone);
    const size = this.config.batch_size;
    try {
      for (const run of runs) {
        if (this.ready.has(run.table)) continue;
        await this.writer.withClient((client) => ensureAnalyticsTable(client, run.table, this.config.table_sharding), { ddl: true });
        this.ready.add(run.table);
      }
      const outcome = await this.writer.write({ exporterId: this.ctx.id, chunkId: bctx.chunkId, records: records.length }, async (client) => {
        for (const run of runs) {
          for (let i = 0; i < run.records.length; i += size) {
            const rows: TextRow[] = run.records.slice(i, i + size).map(analyticsRow);
            await copyRows(client, run.table, ANALYTICS_COLUMN_NAMES, rows);
          }
        }
      });
      if (outcome === 'duplicate') t.dropped(records.length, 'already_written', 'records');
      else t.sent(records.length, 'records');
    } catch (err) {
      t.sendFailed(records.length, 'postgresql', 'records');
      throw err;
    }
  }

  async shutdown(deadline?: ShutdownDeadline): Promise<void> {
    await this.writer.shutdown(deadline);
  }
}
