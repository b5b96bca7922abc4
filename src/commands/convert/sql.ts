/**
 * Tyk's `sql` and `sql_aggregate` pumps (pump `pumps/sql.go`, `pumps/sql_aggregate.go`), its per-API
 * `sql-graph-aggregate` and `sql-mcp-aggregate` pumps (`pumps/graph_sql_aggregate.go`,
 * `pumps/mcp_sql_aggregate.go`; names as registered in `pumps/init.go`) and the SQL uptime pump → our `sql`
 * / `sql_aggregate` exporters, which write Tyk's tables (PostgreSQL) under the names Tyk Dashboard reads.
 */
import { Reader, pumpId, type Ctx } from './context.js';
import { addPipeline, pumpProcessors, pumpTimeout } from './common.js';
import type { EnvKey, PumpEntry } from './pump-conf.js';
import type { UptimePlan } from './storage.js';

const SQL_COMMON: readonly EnvKey[] = [
  { key: 'type', kind: 'string' },
  { key: 'connection_string', kind: 'string' },
  { key: 'table_sharding', kind: 'bool' },
  { key: 'log_level', kind: 'string' },
  { key: 'batch_size', kind: 'int' },
  { key: 'migrate_sharded_tables', kind: 'bool' },
];

/** Meta keys of the sql pump. */
export const SQL_META: readonly EnvKey[] = SQL_COMMON;

/** Meta keys of the sql_aggregate pump. */
export const SQL_AGGREGATE_META: readonly EnvKey[] = [
  ...SQL_COMMON,
  { key: 'track_all_paths', kind: 'bool' },
  { key: 'ignore_tag_prefix_list', kind: 'list' },
  { key: 'threshold_len_tag_list', kind: 'int' },
  { key: 'store_analytics_per_minute', kind: 'bool' },
  { key: 'ignore_aggregations', kind: 'list' },
  { key: 'omit_index_creation', kind: 'bool' },
];

/** Meta keys of the sql-graph-aggregate and sql-mcp-aggregate pumps: `SQLAggregatePumpConf` as well. */
export const SQL_API_AGGREGATE_META: readonly EnvKey[] = SQL_AGGREGATE_META;

/** The keys every SQL pump shares: connection, dialect, sharding; returns the exporter settings so far. */
function common(ctx: Ctx, m: Reader, at: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const dialect = m.str('type') ?? 'postgres';
  if (dialect === 'postgres' && m.has('type')) ctx.report.mapped(m.src('type'), 'PostgreSQL, which the exporter writes');
  if (dialect !== 'postgres') ctx.report.approximated(m.has('type') ? m.src('type') : `${m.path}.type`, `"${dialect}": the exporter writes PostgreSQL only; point connection_string at PostgreSQL (the tables are Tyk's)`);
  const cs = m.secret('connection_string');
  if (cs !== undefined) {
    out['connection_string'] = cs;
    ctx.report.mapped(m.src('connection_string'), `${at}.connection_string${cs.startsWith('${env:') ? ' (as an ${env:…} reference)' : ''}`);
  } else ctx.report.dropped(`${m.path}.connection_string`, 'not set: Tyk Pump cannot connect either; set connection_string');
  const sharding = m.bool('table_sharding');
  if (sharding !== undefined) {
    out['table_sharding'] = sharding;
    ctx.report.mapped(m.src('table_sharding'), `${at}.table_sharding (tables per day, as Tyk)`);
  }
  if (m.has('postgres') || m.has('mysql')) ctx.report.dropped(m.src(m.has('postgres') ? 'postgres' : 'mysql'), 'driver options of gorm: the exporter uses node-postgres with parameterised statements');
  if (m.has('log_level')) ctx.report.dropped(m.src('log_level'), "gorm's SQL log level: the agent logs failures, not statements");
  m.touch('postgres', 'mysql', 'log_level');
  return out;
}

/** `batch_size`, within the exporter's limit (PostgreSQL's bind-parameter limit for its row width). */
function batchSize(ctx: Ctx, m: Reader, at: string, out: Record<string, unknown>, max: number, what: string): void {
  const batch = m.num('batch_size');
  if (batch === undefined || batch <= 0) return;
  out['batch_size'] = Math.min(Math.trunc(batch), max);
  if (batch > max) ctx.report.approximated(m.src('batch_size'), `${at}.batch_size ${max}: ${what} per statement at most (PostgreSQL's bind-parameter limit; Tyk Pump's INSERT would fail above it)`);
  else ctx.report.mapped(m.src('batch_size'), `${at}.batch_size`);
}

/** Converts one sql pump. */
export function convertSql(ctx: Ctx, p: PumpEntry): void {
  const id = pumpId(p);
  const at = `exporters::sql/${id}`;
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const pre = pumpProcessors(ctx, p);
  const out = common(ctx, m, at);
  batchSize(ctx, m, at, out, 1260, 'rows');
  if (m.bool('migrate_sharded_tables')) {
    out['migrate_sharded_tables'] = true;
    ctx.report.mapped(m.src('migrate_sharded_tables'), `${at}.migrate_sharded_tables`);
  }
  if (pumpTimeout(ctx, p) !== undefined) ctx.report.dropped(`pumps.${p.name}.timeout`, 'a slow database slows the pipeline (backpressure) instead of abandoning the write');
  m.dropUnread('not a Tyk sql pump setting');
  ctx.agent.set(['exporters', `sql/${id}`], out, `from pumps.${p.name} (sql): one row per record in tyk_analytics`);
  addPipeline(ctx, p, 'records', pre, [`sql/${id}`]);
}

/** Converts one sql_aggregate pump. */
export function convertSqlAggregate(ctx: Ctx, p: PumpEntry): void {
  const id = pumpId(p);
  const at = `exporters::sql_aggregate/${id}`;
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const pre = pumpProcessors(ctx, p);
  const out = common(ctx, m, at);
  for (const k of ['store_analytics_per_minute', 'track_all_paths', 'omit_index_creation'] as const) {
    const v = m.bool(k);
    if (v === undefined) continue;
    out[k] = v;
    ctx.report.mapped(m.src(k), `${at}.${k}`);
  }
  const prefixes = m.list('ignore_tag_prefix_list');
  if (prefixes && prefixes.length > 0) {
    out['ignore_tag_prefix_list'] = prefixes;
    ctx.report.mapped(m.src('ignore_tag_prefix_list'), `${at}.ignore_tag_prefix_list`);
  }
  const threshold = m.num('threshold_len_tag_list');
  if (threshold !== undefined && threshold >= 0) {
    out['threshold_len_tag_list'] = threshold;
    ctx.report.mapped(m.src('threshold_len_tag_list'), `${at}.threshold_len_tag_list (accepted; Tyk's SQL aggregate pump does not use it either)`);
  } else if (threshold !== undefined) ctx.report.mapped(m.src('threshold_len_tag_list'), 'negative turns the warning off; Tyk\'s SQL aggregate pump does not use it anyway');
  batchSize(ctx, m, at, out, 1365, 'aggregate rows');
  if (m.has('migrate_sharded_tables')) ctx.report.dropped(m.src('migrate_sharded_tables'), 'aggregate tables are checked when first written to');
  m.touch('migrate_sharded_tables');
  if (m.has('ignore_aggregations')) ctx.report.dropped(m.src('ignore_aggregations'), 'Tyk\'s SQL aggregate pump declares it but never applies it; so neither does the exporter');
  m.touch('ignore_aggregations');
  if (pumpTimeout(ctx, p) !== undefined) ctx.report.dropped(`pumps.${p.name}.timeout`, 'a slow database slows the pipeline (backpressure) instead of abandoning the write');
  m.dropUnread('not a Tyk sql_aggregate pump setting');
  ctx.agent.set(['exporters', `sql_aggregate/${id}`], out, `from pumps.${p.name} (sql_aggregate): Tyk's tyk_aggregated rows`);
  addPipeline(ctx, p, 'records', pre, [`sql_aggregate/${id}`]);
}

/** The SQL uptime pump → `sql_aggregate/uptime` (its `uptime` aggregates) in its own pipeline of uptime records only. */
export function convertSqlUptime(ctx: Ctx, plan: UptimePlan): void {
  if (!plan.sql) return;
  const uptime: Record<string, unknown> = { enabled: true };
  if (plan.sql.table_sharding !== undefined) uptime['table_sharding'] = plan.sql.table_sharding;
  const out: Record<string, unknown> = { connection_string: plan.sql.connection_string, uptime };
  ctx.agent.set(['processors', 'filter/uptime'], { kinds: ['uptime'] }, 'uptime records only, as Tyk Pump hands them to its uptime pump alone');
  ctx.agent.set(['exporters', 'sql_aggregate/uptime'], out, 'from uptime_pump_config (uptime_type sql): tyk_uptime_analytics');
  ctx.agent.set(['service', 'pipelines', 'records/uptime'], { receivers: [ctx.receiver], processors: ['filter/uptime'], exporters: ['sql_aggregate/uptime'] }, 'the uptime pump');
}

/**
 * Converts one sql-graph-aggregate (`kind` graphql) or sql-mcp-aggregate (`kind` mcp) pump: a `sql_aggregate`
 * exporter with only that section on (no tyk_aggregated, no uptime), so it writes `tyk_graph_aggregated` /
 * `tyk_mcp_aggregated` as the pump does. Both pumps read `SQLAggregatePumpConf` but hard-code
 * `track_all_paths` off and no tag ignore list (`incrementAggregate(…, false, nil)`); the graph pump never
 * creates an index, the MCP pump creates `<table>_idx_dimension` unless `omit_index_creation`.
 */
export function convertSqlApiAggregate(kind: 'graphql' | 'mcp'): (ctx: Ctx, p: PumpEntry) => void {
  const table = kind === 'graphql' ? 'tyk_graph_aggregated' : 'tyk_mcp_aggregated';
  const pump = kind === 'graphql' ? 'sql-graph-aggregate' : 'sql-mcp-aggregate';
  return (ctx, p) => {
    const id = pumpId(p);
    const at = `exporters::sql_aggregate/${id}`;
    const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
    const pre = pumpProcessors(ctx, p);
    const out = common(ctx, m, at);
    out['rest'] = { enabled: false };
    out['uptime'] = { enabled: false };
    out[kind] = { enabled: true };
    ctx.report.mapped(`pumps.${p.name} (type ${pump})`, `${at}.${kind}.enabled: ${table}, the table Tyk Dashboard reads for "Activity by ${kind === 'graphql' ? 'Graph' : 'MCP'}"; rest and uptime off, so tyk_aggregated is left to a sql_aggregate pump`);
    const perMinute = m.bool('store_analytics_per_minute');
    if (perMinute !== undefined) {
      out['store_analytics_per_minute'] = perMinute;
      ctx.report.mapped(m.src('store_analytics_per_minute'), `${at}.store_analytics_per_minute`);
    }
    if (kind === 'mcp' && m.bool('omit_index_creation') !== undefined) {
      out['omit_index_creation'] = m.bool('omit_index_creation');
      ctx.report.mapped(m.src('omit_index_creation'), `${at}.omit_index_creation (${table}_idx_dimension)`);
    } else if (m.has('omit_index_creation')) ctx.report.dropped(m.src('omit_index_creation'), `Tyk's ${pump} pump creates no index anyway; neither does the exporter`);
    for (const k of ['track_all_paths', 'ignore_tag_prefix_list', 'threshold_len_tag_list', 'ignore_aggregations'] as const) {
      if (m.has(k)) ctx.report.dropped(m.src(k), `Tyk's ${pump} pump ignores it (track_all_paths off and no tag ignore list, hard-coded); so does the exporter`);
    }
    m.touch('track_all_paths', 'ignore_tag_prefix_list', 'threshold_len_tag_list', 'ignore_aggregations', 'omit_index_creation');
    batchSize(ctx, m, at, out, 1365, 'aggregate rows');
    if (m.has('migrate_sharded_tables')) ctx.report.dropped(m.src('migrate_sharded_tables'), 'aggregate tables are checked when first written to');
    m.touch('migrate_sharded_tables');
    if (pumpTimeout(ctx, p) !== undefined) ctx.report.dropped(`pumps.${p.name}.timeout`, 'a slow database slows the pipeline (backpressure) instead of abandoning the write');
    m.dropUnread(`not a Tyk ${pump} pump setting`);
    ctx.agent.set(['exporters', `sql_aggregate/${id}`], out, `from pumps.${p.name} (${pump}): Tyk's ${table} rows`);
    addPipeline(ctx, p, 'records', pre, [`sql_aggregate/${id}`]);
  };
}
