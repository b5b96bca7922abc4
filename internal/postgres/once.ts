/**
 * Exactly-once writes: a batch's rows and a marker row keyed by (exporter id, chunk id) are committed in
 * one transaction. A chunk delivered again (after a crash between the commit and the receiver's
 * acknowledgement, or a failed acknowledgement) finds its marker and is acknowledged without writing, so
 * no aggregate upsert is ever summed twice. Without a chunk id the write is at-least-once.
 */
import type pg from 'pg';

/** The marker table (in the exporter's schema). */
export const BATCH_MARKER_TABLE = 'tyk_otel_pump_batches';

/** DDL of the marker table; idempotent. */
export const BATCH_MARKER_DDL = `CREATE TABLE IF NOT EXISTS "${BATCH_MARKER_TABLE}" (
  "exporter_id" text NOT NULL,
  "chunk_id" text NOT NULL,
  "records" bigint NOT NULL,
  "committed_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("exporter_id", "chunk_id"))`;

/** What became of one batch. */
export type OnceOutcome = 'written' | 'duplicate';

/** Identity of a batch for {@link writeOnce}. */
export interface BatchKey {
  readonly exporterId: string;
  /** Undefined: no marker, the write is at-least-once. */
  readonly chunkId: string | undefined;
  /** Records of the batch, stored with the marker for diagnosis. */
  readonly records: number;
}

/**
 * Runs `work` and the marker insert in one transaction on one pooled connection. The marker goes first:
 * a concurrent delivery of the same chunk waits on its primary key until this transaction ends, then
 * sees it and reports `duplicate` (or writes, if this one rolled back). Any failure rolls back and rethrows.
 */
export async function writeOnce(pool: pg.Pool, key: BatchKey, work: (client: pg.PoolClient) => Promise<void>): Promise<OnceOutcome> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    try {
      if (key.chunkId !== undefined) {
        const r = await client.query(
          `INSERT INTO "${BATCH_MARKER_TABLE}" ("exporter_id", "chunk_id", "records") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [key.exporterId, key.chunkId, key.records],
        );
        if (r.rowCount === 0) {
          await client.query('ROLLBACK');
          return 'duplicate';
        }
      }
      await work(client);
      await client.query('COMMIT');
      return 'written';
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // A connection that failed mid-transaction may be half-dead (server restart): discard it, do not reuse it.
    client.release(failed ? true : undefined);
  }
}

/** Deletes markers older than `retentionMs` (a re-delivery never comes that late). Returns the rows deleted. */
export async function pruneMarkers(pool: pg.Pool, exporterId: string, retentionMs: number): Promise<number> {
  const r = await pool.query(`DELETE FROM "${BATCH_MARKER_TABLE}" WHERE "exporter_id" = $1 AND "committed_at" < now() - ($2::double precision * interval '1 millisecond')`, [exporterId, retentionMs]);
  return r.rowCount ?? 0;
}
