/**
 * Tyk's `csv` (pump `pumps/csv.go`) and `stdout` (pump `pumps/stdout.go`) pumps → our `file` exporter
 * (CSV rows to a file, or Tyk JSON lines on stdout).
 */
import { Reader, pumpId, type Ctx } from './context.js';
import { addPipeline, pumpProcessors, pumpTimeout } from './common.js';
import type { EnvKey, PumpEntry } from './pump-conf.js';

/** Meta keys of the csv pump. */
export const CSV_META: readonly EnvKey[] = [{ key: 'csv_dir', kind: 'string' }];

/** Meta keys of the stdout pump. */
export const STDOUT_META: readonly EnvKey[] = [
  { key: 'format', kind: 'string' },
  { key: 'log_field_name', kind: 'string' },
  { key: 'use_legacy_payload_format', kind: 'bool' },
];

/** Converts one csv pump. */
export function convertCsv(ctx: Ctx, p: PumpEntry): void {
  const id = pumpId(p);
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const pre = pumpProcessors(ctx, p);
  const dir = (m.str('csv_dir') ?? '').replace(/\/+$/, '') || '.';
  const path = `${dir}/tyk-analytics.csv`;
  ctx.report.approximated(m.has('csv_dir') ? m.src('csv_dir') : `pumps.${p.name}.meta.csv_dir`, `exporters::file/${id}.path ${path}: one CSV file (header, one row per record, nested fields as latency.total) instead of Tyk's file per hour (YYYY-Month-DD-HH.csv); set rotation.max_megabytes to rotate it`);
  noTimeout(ctx, p);
  m.dropUnread('not a Tyk csv pump setting');
  ctx.agent.set(['exporters', `file/${id}`], { path, format: 'csv' }, `from pumps.${p.name} (csv)`);
  addPipeline(ctx, p, 'records', pre, [`file/${id}`]);
}

/** Converts one stdout pump. */
export function convertStdout(ctx: Ctx, p: PumpEntry): void {
  const id = pumpId(p);
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const pre = pumpProcessors(ctx, p);
  const format = m.str('format') ?? '';
  if (format === 'json') ctx.report.mapped(m.src('format'), `exporters::file/${id} (path -, format json): one JSON object per record, Tyk's JSON field names`);
  else ctx.report.approximated(m.has('format') ? m.src('format') : `pumps.${p.name}.meta.format`, `"${format}" (logrus text): the file exporter writes JSON lines, one per record`);
  if (m.has('log_field_name')) ctx.report.approximated(m.src('log_field_name'), 'each line is the record itself, not a log line with the record under this field');
  m.touch('log_field_name');
  if (m.has('use_legacy_payload_format')) ctx.report.dropped(m.src('use_legacy_payload_format'), 'raw_request/raw_response are written as the gateway sent them (base64), in either case');
  m.touch('use_legacy_payload_format');
  noTimeout(ctx, p);
  m.dropUnread('not a Tyk stdout pump setting');
  ctx.agent.set(['exporters', `file/${id}`], { path: '-', format: 'json' }, `from pumps.${p.name} (stdout)`);
  addPipeline(ctx, p, 'records', pre, [`file/${id}`]);
}

function noTimeout(ctx: Ctx, p: PumpEntry): void {
  if (pumpTimeout(ctx, p) !== undefined) ctx.report.dropped(`pumps.${p.name}.timeout`, 'local writes have no timeout setting');
}
