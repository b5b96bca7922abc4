/**
 * Tyk's table sharding: with `table_sharding`, a batch is walked in input order and each maximal run of
 * consecutive records with the same date goes to `<base>_YYYYMMDD` (tyk-pump `pumps/sql.go` and
 * `pumps/sql_aggregate.go` WriteData). Tyk does not sort, so an interleaved batch gives several runs, even
 * several for one table.
 */
import { GO_ZERO_TIME_MS, recordZone, shardSuffix } from './zone.js';

/** A record as far as sharding reads it. */
export interface Timestamped {
  readonly timestampMs: number | null;
  readonly encoding?: string;
  readonly timeZone?: string;
}

/** One run of consecutive records bound for one table. */
export interface TableRun<T> {
  readonly table: string;
  readonly records: T[];
}

/** Splits `records` into Tyk's runs (one run for `base` when not sharding). */
export function shardRuns<T extends Timestamped>(records: readonly T[], base: string, sharding: boolean, zone: string): TableRun<T>[] {
  if (records.length === 0) return [];
  if (!sharding) return [{ table: base, records: [...records] }];
  const runs: TableRun<T>[] = [];
  let current: TableRun<T> | undefined;
  for (const r of records) {
    const table = `${base}_${shardSuffix(r.timestampMs ?? GO_ZERO_TIME_MS, recordZone(r, zone))}`;
    if (current === undefined || current.table !== table) {
      current = { table, records: [] };
      runs.push(current);
    }
    current.records.push(r);
  }
  return runs;
}
