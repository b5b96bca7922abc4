/**
 * The lifecycle every SQL exporter shares: one pool, the schema preparation (tables, columns, marker
 * table) retried in the background until PostgreSQL answers, `/ready` kept true only while PostgreSQL
 * takes writes, and each batch written through {@link writeOnce}. A batch that fails because PostgreSQL is
 * unreachable is refused with a retryable error: the receiver keeps the chunk in Redis and offers it again
 * (backpressure), nothing is dropped here.
 */
import type pg from 'pg';
import type { ComponentContext, ShutdownDeadline } from '../../src/component.js';
import { ExportError, ShuttingDownError, StartError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { PostgresConnectionConfig } from './config.js';
import { BATCH_MARKER_DDL, pruneMarkers, writeOnce, type BatchKey, type OnceOutcome } from './once.js';
import { createPool, toExportError, type PostgresTarget } from './pool.js';

/** What an exporter plugs into {@link PgWriter}. */
export interface PgWriterOptions {
  readonly ctx: ComponentContext;
  readonly connection: PostgresConnectionConfig;
  /** Creates or migrates the exporter's tables (runs once per start, again after a failure). */
  prepare(client: pg.PoolClient): Promise<void>;
  /** Optional work after a successful prepare, outside any transaction (e.g. CREATE INDEX CONCURRENTLY). */
  afterPrepare?(pool: pg.Pool): Promise<void>;
  /** Markers older than this are deleted (ms). */
  readonly markerRetentionMs: number;
}

const PRUNE_EVERY_MS = 3_600_000;
const PREPARE_BACKOFF_MS = [250, 500, 1000, 2000, 5000];

// Advisory lock key serialising table DDL of all SQL exporters (and agents) on one database: two
// `CREATE TABLE IF NOT EXISTS` of one table at the same moment fail with a unique violation in the catalog.
const DDL_LOCK_KEY = 0x74796b_70;

/** Runs `fn` holding the session-level DDL advisory lock. */
export async function withDdlLock<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock($1)', [DDL_LOCK_KEY]);
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [DDL_LOCK_KEY]).catch(() => undefined);
  }
}

/** The same failure, retryable (DDL problems are the database's, not the batch's). */
function asRetryable(e: ExportError): ExportError {
  return e.retryable ? e : new ExportError(e.message, { retryable: true, cause: e.cause });
}

/** Pool + preparation + health + exactly-once batches. */
export class PgWriter {
  private pool: pg.Pool | undefined;
  private target: PostgresTarget | undefined;
  private prepared: Promise<void> | undefined;
  private preparing = false;
  private stopping = false;
  private failing: string | undefined;
  private lastPrune = 0;
  private readonly burst: BurstLogger;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: PgWriterOptions) {
    this.burst = new BurstLogger(o.ctx.logger);
  }

  /** The masked target (`user@host:port/db`), once started. */
  get describe(): string {
    return this.target?.describe ?? '';
  }

  /** Creates the pool and starts preparing in the background; never blocks on PostgreSQL. */
  start(): void {
    if (this.pool !== undefined || this.stopping) return;
    let created: ReturnType<typeof createPool>;
    try {
      created = createPool(this.o.connection, { configDir: this.o.ctx.configDir, logger: this.o.ctx.logger, applicationName: `tyk-otel-pump ${this.o.ctx.id}` });
    } catch (err) {
      // A malformed connection string or an unreadable TLS file: the config can never work.
      throw new StartError(this.o.ctx.id, err instanceof Error ? err.message : String(err), { cause: err });
    }
    const { pool, target } = created;
    this.pool = pool;
    this.target = target;
    this.o.ctx.health.set({ ready: false, detail: `connecting to postgresql (${target.describe})`, facts: { postgres: target.describe } });
    void this.prepareInBackground(0);
  }

  private async prepareInBackground(attempt: number): Promise<void> {
    if (this.stopping) return;
    try {
      await this.ensurePrepared();
    } catch {
      if (this.stopping) return;
      const delay = PREPARE_BACKOFF_MS[Math.min(attempt, PREPARE_BACKOFF_MS.length - 1)] ?? 5000;
      this.retryTimer = setTimeout(() => void this.prepareInBackground(attempt + 1), delay);
      this.retryTimer.unref();
    }
  }

  /** Prepares once; concurrent callers share the attempt; a failed attempt is forgotten so the next call retries. */
  private ensurePrepared(): Promise<void> {
    if (this.prepared === undefined) {
      const p = this.doPrepare();
      this.prepared = p;
      p.catch(() => {
        if (this.prepared === p) this.prepared = undefined;
      });
    }
    return this.prepared;
  }

  private async doPrepare(): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) throw new ShuttingDownError(this.o.ctx.id);
    this.preparing = true;
    try {
      const client = await pool.connect();
      try {
        await withDdlLock(client, async () => {
          await client.query(BATCH_MARKER_DDL);
          await this.o.prepare(client);
        });
      } finally {
        client.release();
      }
    } catch (err) {
      // Retryable whatever the cause (even a missing privilege): the data is not at fault, so it waits in
      // the source until the database is fixed rather than being dropped.
      const e = asRetryable(toExportError(err, 'preparing the postgresql tables'));
      this.markFailing(e);
      throw e;
    } finally {
      this.preparing = false;
    }
    this.markHealthy();
    this.o.ctx.logger.info({ postgres: this.describe }, 'postgresql tables ready');
    if (this.o.afterPrepare) {
      this.o.afterPrepare(pool).catch((err: unknown) => this.o.ctx.logger.warn({ err: toExportError(err, 'index').message }, 'creating an index failed (writes go on without it)'));
    }
  }

  /**
   * Writes one batch exactly once (when `key.chunkId` is set) through `work`. Throws a retryable
   * {@link ExportError} while PostgreSQL is unreachable, a permanent one when it refuses the data.
   */
  async write(key: BatchKey, work: (client: pg.PoolClient) => Promise<void>): Promise<OnceOutcome> {
    if (this.stopping || this.pool === undefined) throw new ShuttingDownError(this.o.ctx.id);
    await this.ensurePrepared();
    let outcome: OnceOutcome;
    try {
      outcome = await writeOnce(this.pool, key, work);
    } catch (err) {
      const e = toExportError(err, 'writing to postgresql');
      if (e.retryable) this.markFailing(e);
      else this.burst.log('error', { err: e.message, records: key.records }, 'postgresql refused a batch; it is dropped');
      throw e;
    }
    this.markHealthy();
    this.maybePrune();
    return outcome;
  }

  /**
   * Runs `fn` on a pooled connection outside any batch transaction: DDL for a new shard table (with
   * `ddl`, under the schema's DDL lock, see {@link withDdlLock}) or `CREATE INDEX CONCURRENTLY` (without:
   * it waits for other sessions, which must not wait for it). Errors as {@link write}.
   */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>, opts: { ddl: boolean }): Promise<T> {
    if (this.stopping || this.pool === undefined) throw new ShuttingDownError(this.o.ctx.id);
    await this.ensurePrepared();
    try {
      const client = await this.pool.connect();
      try {
        return opts.ddl ? await withDdlLock(client, () => fn(client)) : await fn(client);
      } finally {
        client.release();
      }
    } catch (err) {
      const e = asRetryable(toExportError(err, 'creating a postgresql table'));
      this.markFailing(e);
      throw e;
    }
  }

  private maybePrune(): void {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS || this.pool === undefined) return;
    this.lastPrune = now;
    pruneMarkers(this.pool, this.o.ctx.id, this.o.markerRetentionMs).catch((err: unknown) => this.o.ctx.logger.debug({ err: String(err) }, 'pruning batch markers failed'));
  }

  private markFailing(e: ExportError): void {
    const first = this.failing === undefined;
    this.failing = e.message;
    this.o.ctx.health.set({
      ready: false,
      detail: `postgresql unavailable (${this.describe}): ${e.message}; batches are refused and stay in the source until it is back`,
      facts: { postgres: this.describe, retryable: e.retryable },
    });
    if (first) this.burst.reset();
    this.burst.log('warn', { err: e.message, postgres: this.describe, retryable: e.retryable }, 'postgresql write failed');
  }

  private markHealthy(): void {
    if (this.failing !== undefined) {
      this.o.ctx.logger.info({ postgres: this.describe }, 'postgresql writes recovered');
      this.failing = undefined;
    }
    if (!this.preparing) this.o.ctx.health.set({ ready: true, facts: { postgres: this.describe } });
  }

  /**
   * Stops retries and closes the pool, waiting for queries in flight until `deadline` (a transaction cut
   * there is rolled back by the server: its chunk stays unacknowledged and is written on re-delivery). Idempotent.
   */
  async shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const pool = this.pool;
    this.pool = undefined;
    if (pool) {
      const ended = pool.end().catch(() => undefined);
      if (deadline === undefined || deadline.signal.aborted) await (deadline === undefined ? ended : Promise.resolve());
      else await Promise.race([ended, new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve(), { once: true }))]);
    }
    this.o.ctx.health.set({ ready: false, detail: 'stopped' });
  }
}

