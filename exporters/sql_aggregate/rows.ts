/**
 * Rows of Tyk's aggregate tables: the 48 columns of `tyk_aggregated` / `tyk_uptime_analytics`
 * (tyk-pump `analytics.SQLAnalyticsRecordAggregate` / `UptimeReportAggregateSQL` through the gorm fork),
 * the hex `id`, the `code_*` folding (`Code.ProcessStatusCodes`), and the `ON CONFLICT` assignments
 * (`OnConflictAssignments` / `OnConflictUptimeAssignments`).
 */
import { Buffer } from 'node:buffer';
import type { ColumnSpec } from '../../internal/postgres/ddl.js';
import type { TextRow } from '../../internal/postgres/bulk.js';
import { GO_ZERO_TIME_MS } from '../../internal/postgres/zone.js';
import type { Counter, Dimension } from './aggregate.js';

/** The `code_*` columns, in struct order (`analytics.Code`). */
export const CODE_KEYS = ['1x', '200', '201', '2x', '301', '302', '303', '304', '3x', '400', '401', '403', '404', '429', '4x', '500', '501', '502', '503', '504', '5x'] as const;

const CODE_INDEX = new Map<string, number>(CODE_KEYS.map((k, i) => [k, i]));

/** `tyk_aggregated` columns in gorm's order with gorm's PostgreSQL types; primary key `id`. */
export const AGGREGATE_COLUMNS: readonly ColumnSpec[] = [
  ['id', 'text'], ['counter_hits', 'bigint'], ['counter_success', 'bigint'], ['counter_error', 'bigint'],
  ['counter_request_time', 'decimal'], ['counter_total_request_time', 'decimal'], ['counter_identifier', 'text'],
  ['counter_human_identifier', 'text'], ['counter_last_time', 'timestamptz'], ['counter_open_connections', 'bigint'],
  ['counter_closed_connections', 'bigint'], ['counter_bytes_in', 'bigint'], ['counter_bytes_out', 'bigint'],
  ['counter_max_upstream_latency', 'bigint'], ['counter_min_upstream_latency', 'bigint'], ['counter_total_upstream_latency', 'bigint'],
  ['counter_upstream_latency', 'decimal'], ['counter_max_latency', 'bigint'], ['counter_min_latency', 'bigint'],
  ['counter_total_latency', 'bigint'], ['counter_latency', 'decimal'], ['counter_error_map', 'text'], ['counter_error_list', 'text'],
  ['timestamp', 'bigint'], ['org_id', 'text'], ['dimension', 'text'], ['dimension_value', 'text'],
  ...CODE_KEYS.map((k): ColumnSpec => [`code_${k}`, 'bigint']),
];

/** Column names only, in order. */
export const AGGREGATE_COLUMN_NAMES: readonly string[] = AGGREGATE_COLUMNS.map(([n]) => n);

/** Table names (tyk-pump `analytics.AggregateSQLTable`, `analytics.UptimeSQLTable`). */
export const AGGREGATE_TABLE = 'tyk_aggregated';
export const UPTIME_TABLE = 'tyk_uptime_analytics';

/**
 * Tyk's `ProcessStatusCodes`: a code with a column of its own sets it (Go's `field.Set(v)`: set, not add);
 * any other code adds to `code_<first digit>x` when that column exists, else it is dropped (`666`).
 */
export function foldCodes(errorMap: ReadonlyMap<string, number>): number[] {
  const codes = new Array<number>(CODE_KEYS.length).fill(0);
  for (const [k, v] of errorMap) {
    const exact = CODE_INDEX.get(k);
    if (exact !== undefined) {
      codes[exact] = v;
      continue;
    }
    const cls = CODE_INDEX.get(`${k[0] ?? ''}x`);
    if (cls !== undefined) codes[cls] = (codes[cls] ?? 0) + v;
  }
  return codes;
}

/** Tyk's row id: lowercase hex of `<bucket seconds><org id><dimension><value>`, no separators. */
export function aggregateId(bucket: number, orgId: string, name: string, value: string): string {
  return Buffer.from(`${bucket}${orgId}${name}${value}`, 'utf8').toString('hex');
}

/** Text of a float64 for a `decimal` column (Go/pgx send the shortest representation too). */
function dec(n: number): string {
  return Number.isFinite(n) ? String(n) : '0';
}

function lastTime(c: Counter): string {
  const ms = c.lastTimeMs ?? GO_ZERO_TIME_MS;
  const micros = c.lastTimeMs === null ? 0 : Math.floor(c.lastTimeNs / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** One row: `id`, counters (error map/list always `{}`/`[]`, as Tyk nils them), bucket, org, dimension, codes. */
export function aggregateRow(bucket: number, orgId: string, d: Dimension): TextRow {
  const c = d.counter;
  return [
    aggregateId(bucket, orgId, d.name, d.value), String(c.hits), String(c.success), String(c.errorTotal),
    dec(c.requestTime), dec(c.totalRequestTime), c.identifier,
    c.humanIdentifier, lastTime(c), String(c.openConnections),
    String(c.closedConnections), String(c.bytesIn), String(c.bytesOut),
    String(c.maxUpstreamLatency), String(c.minUpstreamLatency), String(c.totalUpstreamLatency),
    dec(c.upstreamLatency), String(c.maxLatency), String(c.minLatency),
    String(c.totalLatency), dec(c.latency), '{}', '[]',
    String(bucket), orgId, d.name, d.value,
    ...foldCodes(c.errorMap).map(String),
  ];
}

const SUMMED = ['hits', 'error', 'success', 'open_connections', 'closed_connections', 'bytes_in', 'bytes_out', 'total_request_time', 'total_latency', 'total_upstream_latency'];
const AVERAGES: Readonly<Record<string, string>> = { request_time: 'counter_total_request_time', upstream_latency: 'counter_total_upstream_latency', latency: 'counter_total_latency' };

/**
 * `ON CONFLICT ("id") DO UPDATE SET …` of tyk_aggregated, Tyk's expressions in gorm's (alphabetical)
 * order, qualified by the real (possibly sharded) table name as since TT-16778. One deliberate change:
 * Tyk's average `(a+b)/CAST(h1+h2 AS REAL)` fails the whole statement with "division by zero" when both
 * rows have 0 hits (rows of network-only records, e.g. a TCP API's `apiid` row), which loses the org's
 * aggregates of that chunk in Tyk; here that case keeps the stored average instead of failing.
 */
export function aggregateUpsertSql(table: string): string {
  const set = new Map<string, string>();
  for (const k of CODE_KEYS) set.set(`code_${k}`, `${table}.code_${k} + excluded.code_${k}`);
  for (const k of SUMMED) set.set(`counter_${k}`, `${table}.counter_${k} + excluded.counter_${k}`);
  for (const [k, total] of Object.entries(AVERAGES)) {
    const hits = `${table}.counter_hits + excluded.counter_hits`;
    set.set(`counter_${k}`, `CASE WHEN ${hits} = 0 THEN ${table}.counter_${k} ELSE (${table}.${total}  +excluded.${total})/CAST( ${hits} AS REAL) END`);
  }
  for (const k of ['max_upstream_latency', 'max_latency']) {
    const a = `${table}.counter_${k}`;
    const b = `excluded.counter_${k}`;
    set.set(`counter_${k}`, `0.5 * ((${a} + ${b}) + ABS(${a} - ${b}))`);
  }
  for (const k of ['min_latency', 'min_upstream_latency']) {
    const a = `${table}.counter_${k}`;
    const b = `excluded.counter_${k}`;
    set.set(`counter_${k}`, `0.5 * ((${a} + ${b}) - ABS(${a} - ${b})) `);
  }
  set.set('counter_last_time', 'excluded.counter_last_time');
  return onConflict(set);
}

/**
 * `ON CONFLICT` of tyk_uptime_analytics (Tyk's `OnConflictUptimeAssignments`): codes, hits, errors,
 * successes and total request time summed, last time replaced. `counter_request_time` is never updated
 * (Tyk tests `IsZero` on a zero struct), so the first insert's average stays.
 */
export function uptimeUpsertSql(table: string): string {
  const set = new Map<string, string>();
  for (const k of CODE_KEYS) set.set(`code_${k}`, `${table}.code_${k} + excluded.code_${k}`);
  for (const k of ['hits', 'error', 'success', 'total_request_time']) set.set(`counter_${k}`, `${table}.counter_${k} + excluded.counter_${k}`);
  set.set('counter_last_time', 'excluded.counter_last_time');
  return onConflict(set);
}

function onConflict(set: Map<string, string>): string {
  const cols = [...set.keys()].sort();
  return `ON CONFLICT ("id") DO UPDATE SET ${cols.map((c) => `"${c}"=${set.get(c) ?? ''}`).join(',')}`;
}
