/**
 * The conversion: a Tyk Pump configuration (pump.conf and/or `TYK_PMP_*`) → an agent config with one
 * pipeline per pump sharing one `tyk_redis` receiver, a Collector config for the pumps that need one,
 * and a report of what was mapped, approximated and dropped.
 */
import { OutDoc } from './output.js';
import { Report } from './report.js';
import { readPumpConf, type EnvKey, type PumpEntry } from './pump-conf.js';
import { pumpId, src, type Ctx } from './context.js';
import { convertService, convertStorage, planUptime } from './storage.js';
import { PROMETHEUS_META, convertPrometheus } from './prometheus.js';
import { DOGSTATSD_META, STATSD_META, convertDogstatsd, convertStatsd } from './statsd.js';
import { CSV_META, STDOUT_META, convertCsv, convertStdout } from './files.js';
import { SQL_AGGREGATE_META, SQL_API_AGGREGATE_META, SQL_META, convertSql, convertSqlAggregate, convertSqlApiAggregate, convertSqlUptime } from './sql.js';
import { COLLECTOR_MAPPINGS, UNSUPPORTED } from './collector-exporters.js';
import { convertViaCollector } from './collector.js';

/** How one pump type is converted. */
interface Family {
  readonly meta: readonly EnvKey[];
  readonly convert: (ctx: Ctx, p: PumpEntry) => void;
  /** What the README mapping table says. */
  readonly route: 'native' | 'collector';
}

/** Pump types the converter maps, by Tyk type key. */
export const FAMILIES: Readonly<Record<string, Family>> = {
  prometheus: { meta: PROMETHEUS_META, convert: convertPrometheus, route: 'native' },
  dogstatsd: { meta: DOGSTATSD_META, convert: convertDogstatsd, route: 'native' },
  statsd: { meta: STATSD_META, convert: convertStatsd, route: 'native' },
  csv: { meta: CSV_META, convert: convertCsv, route: 'native' },
  stdout: { meta: STDOUT_META, convert: convertStdout, route: 'native' },
  sql: { meta: SQL_META, convert: convertSql, route: 'native' },
  sql_aggregate: { meta: SQL_AGGREGATE_META, convert: convertSqlAggregate, route: 'native' },
  'sql-graph-aggregate': { meta: SQL_API_AGGREGATE_META, convert: convertSqlApiAggregate('graphql'), route: 'native' },
  'sql-mcp-aggregate': { meta: SQL_API_AGGREGATE_META, convert: convertSqlApiAggregate('mcp'), route: 'native' },
  ...Object.fromEntries(Object.entries(COLLECTOR_MAPPINGS).map(([type, m]) => [type, { meta: m.meta, convert: convertViaCollector, route: 'collector' as const }])),
};

/** Pump types converted to the sql exporters (their delivery note). */
const SQL_TYPES = new Set(['sql', 'sql_aggregate', 'sql-graph-aggregate', 'sql-mcp-aggregate']);

/** Global keys handled somewhere (the others are reported as dropped). */
const HANDLED_GLOBALS = new Set([
  'purge_delay', 'purge_chunk', 'storage_expiration_time', 'dont_purge_uptime_data', 'max_record_size', 'omit_detailed_recording',
  'health_check_endpoint_name', 'health_check_endpoint_port', 'log_level', 'log_format', 'analytics_storage_type',
  'enable_multiple_analytics_keys', 'ignore_fields', 'raw_request_decoded', 'raw_response_decoded', 'filters',
]);

/** Global keys with no counterpart, and why. */
const DROPPED_GLOBALS: Readonly<Record<string, string>> = {
  statsd_connection_string: "Tyk Pump's own instrumentation: the agent's self-metrics are on /metrics of the telemetry address",
  statsd_prefix: "Tyk Pump's own instrumentation: the agent's self-metrics are on /metrics of the telemetry address",
  enable_http_profiler: 'no pprof endpoints: use node --inspect',
  kv: 'KV secret stores are not read: put secrets in the environment and refer to them as ${env:VAR}',
  omit_config_file: 'the converter reads what it is given',
};

/** Result of a conversion. */
export interface ConvertResult {
  /** otel-config.yaml text. */
  readonly agentYaml: string;
  /** collector.yaml text, or undefined when no pump needs the Collector. */
  readonly collectorYaml: string | undefined;
  readonly report: Report;
  /** Pumps converted (native or Collector route). */
  readonly converted: number;
}

/** Converts pump.conf text (or none) and an environment (or none). Throws PumpConfError on unusable input. */
export function convert(pumpConfText: string | undefined, env: Readonly<Record<string, string | undefined>>, opts: { source?: string } = {}): ConvertResult {
  const report = new Report();
  const conf = readPumpConf(pumpConfText, env, (type) => FAMILIES[type]?.meta ?? [], report);
  const agent = new OutDoc();
  const collector = new OutDoc();
  const base: Omit<Ctx, 'uptimeDrained'> = { conf, report, agent, collector, receiver: 'tyk_redis' };
  const uptime = planUptime({ ...base, uptimeDrained: false });
  const ctx: Ctx = { ...base, uptimeDrained: uptime.drain };

  agent.set(['receivers'], {});
  convertStorage(ctx, uptime);
  agent.set(['processors'], {});
  agent.set(['exporters'], {});
  agent.set(['service', 'pipelines'], {});

  let converted = 0;
  const seen = new Set<string>();
  for (const p of [...conf.pumps].sort((a, b) => a.name.localeCompare(b.name))) {
    const id = pumpId(p);
    if (seen.has(id.toLowerCase())) {
      report.dropped(`pumps.${p.name}`, `its id "${id}" collides with another pump's; rename one of them`);
      continue;
    }
    seen.add(id.toLowerCase());
    const family = FAMILIES[p.type];
    if (family) {
      family.convert(ctx, p);
      converted++;
      continue;
    }
    const why = UNSUPPORTED[p.type] ?? `unknown pump type "${p.type}"`;
    report.dropped(`pumps.${p.name} (type ${p.type})`, `not converted: ${why}. Keep a Tyk Pump with only this pump during the switch (see README "Migrating from Tyk Pump")`);
  }
  convertSqlUptime(ctx, uptime);
  const sqlPumps = conf.pumps.filter((p) => SQL_TYPES.has(p.type)).map((p) => `pumps.${p.name}`);
  if (uptime.sql) sqlPumps.push('uptime_pump_config');
  if (sqlPumps.length > 0) {
    report.approximated(sqlPumps.join(', '), `receivers::${ctx.receiver}.delivery stays at_most_once, as Tyk Pump; delivery: at_least_once makes the sql exporters' writes exactly-once and keeps records in Redis while PostgreSQL is down (README "Tyk Dashboard")`);
  }
  convertService(ctx);

  for (const key of Object.keys(conf.globals).sort()) {
    if (HANDLED_GLOBALS.has(key)) continue;
    const why = DROPPED_GLOBALS[key];
    report.dropped(src(ctx, key), why || 'not a Tyk Pump setting the converter knows');
  }

  if (Object.keys(agent.root['processors'] as object).length === 0) delete agent.root['processors'];
  if (converted === 0) report.dropped('pumps', 'no pump could be converted: the agent config has no pipeline and will not validate');
  const from = opts.source ?? 'the Tyk Pump configuration';
  agent.setHeader(`tyk-otel-pump configuration converted from ${from} by \`tyk-otel-pump convert\`.\nOne pipeline per Tyk pump, all fed by the one tyk_redis receiver. Check it with \`tyk-otel-pump validate\`.`);
  const hasCollector = collector.has(['exporters']);
  if (hasCollector) {
    collector.setHeader(`OpenTelemetry Collector (contrib) configuration converted from ${from} by \`tyk-otel-pump convert\`:\nthe exporters replacing Tyk pumps tyk-otel-pump has no native exporter for. It receives the agent's\nlogs over OTLP/HTTP. Not tested against a live Collector: check it with \`otelcol-contrib validate --config collector.yaml\`.`);
  }
  return { agentYaml: agent.render(), collectorYaml: hasCollector ? collector.render() : undefined, report, converted };
}
