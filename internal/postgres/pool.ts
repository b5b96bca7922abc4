/**
 * One `pg` pool from {@link PostgresConnectionConfig}, a masked description of the target for logs and
 * `/ready`, and the classification of PostgreSQL failures into retryable (the server is down, restarting,
 * overloaded, or the statement was cancelled: try the batch again later) and permanent (the data or the
 * schema will never be accepted).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { Logger } from 'pino';
import { ExportError } from '../../src/errors.js';
import { parseConnectionString, type PostgresConnectionConfig, type TlsMode } from './config.js';

/** Where to connect, after merging the connection string and the discrete fields. */
export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslmode: TlsMode;
  /** `user@host:port/database`: no password, safe to log. */
  readonly describe: string;
}

const SSLMODE_ALIASES: Readonly<Record<string, TlsMode>> = {
  disable: 'disable', allow: 'disable', prefer: 'disable', require: 'require', 'verify-ca': 'verify-ca', 'verify-full': 'verify-full',
};

/** Merges the connection string and the discrete fields (which win). Throws a permanent error when malformed. */
export function resolveTarget(c: PostgresConnectionConfig): PostgresTarget {
  const kv = parseConnectionString(c.connection_string);
  if (kv === undefined) throw new ExportError('connection_string is neither a postgres:// URL nor key=value pairs', { retryable: false });
  const host = c.host !== '' ? c.host : kv.get('host') ?? '127.0.0.1';
  const port = c.port ?? (kv.has('port') ? Number(kv.get('port')) : 5432);
  const user = c.user !== '' ? c.user : kv.get('user') ?? 'postgres';
  const database = c.database !== '' ? c.database : kv.get('dbname') ?? kv.get('database') ?? user;
  const password = c.password !== '' ? c.password : kv.get('password') ?? '';
  const sslmode = c.tls.mode ?? SSLMODE_ALIASES[kv.get('sslmode') ?? 'disable'] ?? 'disable';
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ExportError('connection_string has an invalid port', { retryable: false });
  return { host, port, database, user, password, sslmode, describe: `${user}@${host}:${port}/${database}` };
}

function tlsOptions(c: PostgresConnectionConfig, t: PostgresTarget, configDir: string): ConnectionOptions | false {
  if (t.sslmode === 'disable') return false;
  const read = (file: string) => readFileSync(isAbsolute(file) ? file : resolve(configDir, file));
  const opts: ConnectionOptions = { rejectUnauthorized: t.sslmode !== 'require' };
  if (c.tls.ca_file !== '') opts.ca = read(c.tls.ca_file);
  if (c.tls.cert_file !== '') opts.cert = read(c.tls.cert_file);
  if (c.tls.key_file !== '') opts.key = read(c.tls.key_file);
  // verify-ca checks the chain but not the host name (libpq semantics).
  if (t.sslmode === 'verify-ca') opts.checkServerIdentity = () => undefined;
  return opts;
}

/**
 * A pool for `c`: every session gets the schema as its search_path and the statement timeout. Idle-client
 * errors (the server went away) are logged, never thrown: the next query fails and is classified.
 */
export function createPool(c: PostgresConnectionConfig, opts: { configDir: string; logger: Logger; applicationName: string }): { pool: pg.Pool; target: PostgresTarget } {
  const target = resolveTarget(c);
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl: tlsOptions(c, target, opts.configDir),
    max: c.pool_size,
    connectionTimeoutMillis: c.connect_timeout,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName,
    options: `-c search_path=${c.schema} -c statement_timeout=${Math.round(c.statement_timeout)}`,
  });
  pool.on('error', (err) => opts.logger.debug({ err: err.message, postgres: target.describe }, 'idle postgresql connection failed'));
  return { pool, target };
}

// SQLSTATE classes/codes after which the same statement may succeed later.
const RETRYABLE_CLASSES = new Set(['08', '53', '57', '58', '40']);
const RETRYABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Whether a PostgreSQL/driver failure may succeed when retried. */
export function isRetryablePgError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) return RETRYABLE_CLASSES.has(code.slice(0, 2)) || code === '55P03' || code === '57014';
  if (RETRYABLE_NODE_CODES.has(code)) return true;
  const msg = typeof e?.message === 'string' ? e.message : '';
  // pg's own connection-level failures carry no code.
  return /timeout|terminated|Connection terminated|connect|ended|not queryable|Client has encountered a connection error/i.test(msg);
}

/** Wraps a PostgreSQL failure as an {@link ExportError} (retryable or not), keeping the SQLSTATE in the message. */
export function toExportError(err: unknown, what: string): ExportError {
  if (err instanceof ExportError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? ` (${e.code})` : '';
  const msg = err instanceof Error ? err.message : String(err);
  return new ExportError(`${what}: ${msg}${code}`, { retryable: isRetryablePgError(err), cause: err });
}

/** Quotes an identifier for SQL (`"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
