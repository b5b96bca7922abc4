/**
 * Table creation with gorm AutoMigrate's contract, as Tyk Pump's SQL pumps rely on it: create a missing
 * table with the exact column list, add columns an existing table lacks, never drop or retype one.
 */
import type pg from 'pg';
import { quoteIdent } from './pool.js';

/** One column: name and PostgreSQL type as gorm's postgres driver spells them (`text`, `bigint`, `decimal`, …). */
export type ColumnSpec = readonly [name: string, type: string];

/** `CREATE TABLE "t" ("a" text,…[,PRIMARY KEY ("id")])` exactly as gorm generates it. */
export function createTableSql(table: string, columns: readonly ColumnSpec[], primaryKey?: string): string {
  const cols = columns.map(([n, t]) => `${quoteIdent(n)} ${t}`);
  if (primaryKey !== undefined) cols.push(`PRIMARY KEY (${quoteIdent(primaryKey)})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${cols.join(',')})`;
}

/** Whether `table` exists in the session's schema (first of search_path). */
export async function tableExists(client: pg.ClientBase, table: string): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1', [table]);
  return (r.rowCount ?? 0) > 0;
}

/** What {@link ensureTable} did. */
export interface EnsureResult {
  /** The table did not exist and was created. */
  readonly created: boolean;
  /** Columns added to an existing table. */
  readonly added: readonly string[];
}

// Two writers creating the same table at once: one of them gets a unique violation on the catalog.
const CREATE_RACE = new Set(['23505', '42P07']);

/**
 * Creates `table` when missing; otherwise adds the columns it lacks (`ALTER TABLE … ADD COLUMN`), in the
 * spec's order, and leaves every other column alone.
 */
export async function ensureTable(client: pg.ClientBase, table: string, columns: readonly ColumnSpec[], primaryKey?: string): Promise<EnsureResult> {
  if (!(await tableExists(client, table))) {
    try {
      await client.query(createTableSql(table, columns, primaryKey));
      return { created: true, added: [] };
    } catch (err) {
      if (!CREATE_RACE.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
  const r = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const have = new Set(r.rows.map((row) => row.column_name));
  const added: string[] = [];
  for (const [name, type] of columns) {
    if (have.has(name)) continue;
    await client.query(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
    added.push(name);
  }
  return { created: false, added };
}

/** Names of the tables in the session's schema whose names match `like` (SQL LIKE pattern). */
export async function listTables(client: pg.ClientBase, like: string): Promise<string[]> {
  const r = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name LIKE $1 ORDER BY table_name",
    [like],
  );
  return r.rows.map((row) => row.table_name);
}
