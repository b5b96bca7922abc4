/**
 * Real PostgreSQL for tests (127.0.0.1:5432, trust auth, database `test`, or TEST_POSTGRES_* env). Each
 * test gets a schema of its own, dropped by `cleanup()`, so tests never see each other's tables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Host, port and database of the test server. */
export const TEST_POSTGRES = {
  host: process.env['TEST_POSTGRES_HOST'] ?? '127.0.0.1',
  port: Number(process.env['TEST_POSTGRES_PORT'] ?? 5432),
  database: process.env['TEST_POSTGRES_DB'] ?? 'test',
  user: process.env['TEST_POSTGRES_USER'] ?? 'postgres',
} as const;

/** A client plus a private schema. */
export interface TestPostgres {
  readonly client: pg.Client;
  readonly schema: string;
  /** Connection keys for an exporter config (spread them in). */
  readonly config: { host: string; port: number; database: string; user: string; schema: string };
  /** Rows of `sql` (run with the schema as search_path). */
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the schema and closes the client. */
  cleanup(): Promise<void>;
}

/** The exporter config keys that reach `db`'s server and schema, one per line, lines after the first indented by `indent`. */
export function postgresYaml(db: TestPostgres, indent: string): string {
  const c = db.config;
  return [`host: ${c.host}`, `port: ${c.port}`, `database: ${c.database}`, `user: ${c.user}`, `schema: ${c.schema}`].join(`\n${indent}`);
}

/** Connects and creates a fresh schema `<label>_<random>`. */
export async function testPostgres(label = 't', server: { host: string; port: number; database: string; user: string } = TEST_POSTGRES): Promise<TestPostgres> {
  const client = new pg.Client({ ...server });
  await client.connect();
  const schema = `${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`SET search_path TO "${schema}"`);
  await client.query("SET TimeZone TO 'UTC'");
  return {
    client,
    schema,
    config: { ...server, schema },
    rows: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    async cleanup() {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
