/**
 * The OpenTelemetry Collector route for pumps the agent has no exporter for: in the agent, the pump's
 * own `logs/<pump>` pipeline (its filters, then `audit_log` tagging each log with the pump's name) into
 * one shared `otlp_http` exporter; in the generated Collector config, one `otlp` receiver and per pump a
 * `filter` (keep this pump's logs) + `batch` pipeline into the contrib exporter that replaces the pump.
 */
import { Reader, pumpId, type Ctx } from './context.js';
import { addPipeline, pumpProcessors, pumpTimeout } from './common.js';
import { COLLECTOR_MAPPINGS } from './collector-exporters.js';
import type { PumpEntry } from './pump-conf.js';

/** Resource attribute naming the pump a log record is for. */
export const PUMP_ATTRIBUTE = 'tyk.pump.name';
/** The agent's exporter to the Collector. */
export const COLLECTOR_EXPORTER = 'otlp_http/collector';
/** Where the Collector's OTLP/HTTP receiver listens (and the agent sends). */
export const COLLECTOR_OTLP_PORT = 4318;

/** Converts one pump through the Collector route. */
export function convertViaCollector(ctx: Ctx, p: PumpEntry): void {
  const mapping = COLLECTOR_MAPPINGS[p.type];
  if (!mapping) throw new Error(`no Collector mapping for ${p.type}`);
  const id = pumpId(p);
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const exporterId = `${mappingType(p.type)}/${id}`;
  const at = `collector exporters::${exporterId}`;
  const pre = pumpProcessors(ctx, p);
  const mapped = mapping.map(ctx, m, at);
  m.dropUnread(`not a Tyk ${p.type} pump setting the Collector exporter has a counterpart for`);
  const timeout = pumpTimeout(ctx, p);
  if (timeout !== undefined) {
    mapped.config['timeout'] ??= `${timeout}s`;
    ctx.report.mapped(`pumps.${p.name}.timeout`, `${at}.timeout`);
  }

  // Agent side.
  const processors = [...pre];
  if (mapped.obfuscateApiKeys) {
    ctx.agent.set(['processors', `redact/${id}-keys`], { obfuscate_api_keys: true }, `from pumps.${p.name}.meta.obfuscate_api_keys`);
    processors.push(`redact/${id}-keys`);
  }
  const audit: Record<string, unknown> = { resource: { [PUMP_ATTRIBUTE]: p.name } };
  if (mapped.includeRaw) audit['include_raw'] = true;
  ctx.agent.set(['processors', `audit_log/${id}`], audit, `pump "${p.name}" (${p.type}) → Collector: one log record per API call, tagged with the pump's name${mapped.includeRaw ? '; raw request/response included as Tyk sent them' : ''}`);
  processors.push(`audit_log/${id}`);
  if (!ctx.agent.has(['exporters', COLLECTOR_EXPORTER])) {
    ctx.agent.set(['exporters', COLLECTOR_EXPORTER], { endpoint: `http://127.0.0.1:${COLLECTOR_OTLP_PORT}` }, 'the OpenTelemetry Collector of collector.yaml (its otlp receiver): pumps without a native exporter go through it');
  }
  addPipeline(ctx, p, 'logs', processors, [COLLECTOR_EXPORTER]);

  // Collector side.
  const c = ctx.collector;
  if (!c.has(['receivers', 'otlp'])) {
    c.set(['receivers', 'otlp'], { protocols: { http: { endpoint: `0.0.0.0:${COLLECTOR_OTLP_PORT}` } } }, 'logs from tyk-otel-pump (exporters::otlp_http/collector)');
    c.set(['processors', 'batch'], {});
  }
  c.set(['processors', `filter/${id}`], { error_mode: 'ignore', logs: { log_record: [`resource.attributes["${PUMP_ATTRIBUTE}"] != ${JSON.stringify(p.name)}`] } }, `keep only the logs of pump "${p.name}"`);
  const cprocs = [`filter/${id}`];
  if (mapped.transform) {
    c.set(['processors', `transform/${id}`], { error_mode: 'ignore', log_statements: [{ context: 'log', statements: [...mapped.transform] }] }, `attributes the ${mapped.type} exporter reads, from pumps.${p.name}.meta`);
    cprocs.push(`transform/${id}`);
  }
  cprocs.push('batch');
  c.set(['exporters', exporterId], mapped.config, `from pumps.${p.name} (Tyk ${p.type} pump)`);
  c.set(['service', 'pipelines', `logs/${id}`], { receivers: ['otlp'], processors: cprocs, exporters: [exporterId] }, `pump "${p.name}"`);
}

function mappingType(pumpType: string): string {
  return ({ splunk: 'splunk_hec', influx: 'influxdb', influx2: 'influxdb' } as Record<string, string>)[pumpType] ?? pumpType;
}
