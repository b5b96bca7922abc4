/**
 * Bulk writes: `COPY … FROM STDIN` (text format) and multi-row `INSERT` with bind parameters. Rows are
 * arrays of PostgreSQL text representations (`null` for SQL NULL), so both paths take the same rows.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from './pool.js';

/** One row: the text form of each column, or null. */
export type TextRow = readonly (string | null)[];

/** PostgreSQL's hard limit of bind parameters in one statement. */
export const MAX_BIND_PARAMETERS = 65_535;

// COPY text format: backslash, and the delimiter/row separators, must be escaped. PostgreSQL text cannot
// hold NUL at all, so a NUL is dropped here (the INSERT path does the same, see toParam).
const COPY_SPECIAL = /[\\\t\n\r\0]/g;
const HAS_COPY_SPECIAL = /[\\\t\n\r\0]/;
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '' };

/** Escapes one value for COPY text format. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return HAS_COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c] ?? '') : value;
}

/** Encodes `rows` as one COPY text payload. */
export function copyPayload(rows: readonly TextRow[]): string {
  const lines: string[] = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as TextRow;
    let line = '';
    for (let j = 0; j < row.length; j++) {
      if (j > 0) line += '\t';
      const v = row[j] ?? null;
      line += copyText(v);
    }
    lines[i] = line;
  }
  return lines.join('\n') + '\n';
}

/** `COPY "table" ("a","b",…) FROM STDIN` with `rows`. */
export async function copyRows(client: pg.PoolClient, table: string, columns: readonly string[], rows: readonly TextRow[]): Promise<void> {
  if (rows.length === 0) return;
  const sql = `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) FROM STDIN`;
  const payload = Buffer.from(copyPayload(rows), 'utf8');
  await new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(payload);
  });
}

function toParam(v: string | null): string | null {
  return v === null || !v.includes('\0') ? v : v.replace(/\0/g, '');
}

/**
 * One multi-row `INSERT INTO "table" (cols) VALUES ($1,…),(…) <suffix>` for `rows` (the caller keeps
 * `rows.length * columns.length` under {@link MAX_BIND_PARAMETERS}).
 */
export async function insertRows(client: pg.PoolClient, table: string, columns: readonly string[], rows: readonly TextRow[], suffix = ''): Promise<void> {
  if (rows.length === 0) return;
  const n = columns.length;
  const params: (string | null)[] = new Array<string | null>(rows.length * n);
  const tuples: string[] = new Array<string>(rows.length);
  let p = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as TextRow;
    const ph: string[] = new Array<string>(n);
    for (let j = 0; j < n; j++) {
      params[p] = toParam(row[j] ?? null);
      ph[j] = `$${++p}`;
    }
    tuples[i] = `(${ph.join(',')})`;
  }
  const sql = `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) VALUES ${tuples.join(',')}${suffix === '' ? '' : ` ${suffix}`}`;
  await client.query(sql, params);
}
