/**
 * Tyk's `prometheus` pump (pump `pumps/prometheus.go`) → an `sli` processor in Tyk-compatible mode (Tyk's
 * families, names and labels; the OTel-native metrics off, so the scrape holds what Tyk Pump served) and a
 * `prometheus` exporter on the pump's `listen_address`.
 */
import { sliNativeMetrics, tykPrometheusFamilies } from './vocabulary.js';
import { Reader, pumpId, type Ctx } from './context.js';
import { addPipeline, pumpProcessors, pumpTimeout } from './common.js';
import type { EnvKey, PumpEntry } from './pump-conf.js';

/** Meta keys and their env names (`PrometheusConf`). */
export const PROMETHEUS_META: readonly EnvKey[] = [
  { key: 'listen_address', env: 'ADDR', kind: 'string' },
  { key: 'path', kind: 'string' },
  { key: 'aggregate_observations', kind: 'bool' },
  { key: 'disabled_metrics', kind: 'list' },
  { key: 'track_all_paths', kind: 'bool' },
  { key: 'custom_metrics', kind: 'json' },
];

/** Labels Tyk's custom metrics can take (pump `PrometheusMetric.GetLabelsValues`), plus the histogram's `type`. */
const CUSTOM_LABELS = new Set([
  'host', 'method', 'path', 'response_code', 'code', 'api_key', 'key', 'time_stamp', 'api_version', 'api_name', 'api_id', 'api',
  'org_id', 'oauth_id', 'client_id', 'request_time', 'latency_total', 'latency_upstream', 'latency_gateway', 'ip_address', 'alias',
  'mcp_method', 'mcp_primitive_type', 'mcp_primitive_name',
]);

/** `:9090` → `0.0.0.0:9090` (Go listens on every interface when the host is empty). */
export function listenEndpoint(addr: string): string | undefined {
  const m = /^(.*):(\d{1,5})$/.exec(addr.trim());
  if (!m) return undefined;
  const host = m[1] === '' ? '0.0.0.0' : (m[1] as string);
  return `${host}:${m[2]}`;
}

/** Converts one prometheus pump. */
export function convertPrometheus(ctx: Ctx, p: PumpEntry): void {
  const id = pumpId(p);
  const m = new Reader(ctx, `pumps.${p.name}.meta`, p.meta);
  const { report } = ctx;
  const listen = m.str('listen_address') ?? '';
  const endpoint = listenEndpoint(listen);
  if (endpoint === undefined) {
    report.dropped(m.src('listen_address'), `${listen === '' ? 'not set' : `"${listen}" is not host:port`}: Tyk Pump refuses to start this pump, so it is not converted`);
    m.touch(...Object.keys(p.meta));
    return;
  }
  const pre = pumpProcessors(ctx, p);
  report.mapped(m.src('listen_address'), `exporters::prometheus/${id}.endpoint ${endpoint}`);
  const path = m.str('path');
  if (path !== undefined && path !== '/metrics') report.approximated(m.src('path'), `the exporter serves /metrics, not ${path}: change the scrape config's metrics_path`);

  const tyk: Record<string, unknown> = { enabled: true };
  const trackAll = m.bool('track_all_paths');
  if (trackAll) {
    tyk['track_all_paths'] = true;
    report.mapped(m.src('track_all_paths'), `processors::sli/${id}.tyk_compatible.track_all_paths`);
  }
  const families = tykPrometheusFamilies();
  const disabled = m.list('disabled_metrics') ?? [];
  const known = disabled.filter((d) => families.includes(d));
  if (known.length > 0) {
    tyk['disabled_metrics'] = [...new Set(known)];
    report.mapped(m.src('disabled_metrics'), `processors::sli/${id}.tyk_compatible.disabled_metrics`);
  }
  for (const d of disabled.filter((x) => !known.includes(x))) {
    report.dropped(m.src('disabled_metrics'), `"${d}" is not a Tyk Pump base metric (${families.join(', ')})`);
  }
  const aggregate = m.bool('aggregate_observations');
  if (aggregate) {
    report.approximated(m.src('aggregate_observations'), 'every observation is counted exactly: the sli processor aggregates each batch in memory before the exporter sees it, so the cost Tyk saved is saved without one averaged Observe per label set (which distorted _count and the buckets)');
  }
  const custom = convertCustomMetrics(ctx, m, id);
  if (custom.length > 0) tyk['custom_metrics'] = custom;

  const timeout = pumpTimeout(ctx, p);
  if (timeout !== undefined) report.dropped(`pumps.${p.name}.timeout`, 'nothing to time out: metrics are aggregated in memory and served on scrape');
  m.dropUnread('not a Tyk prometheus pump setting');

  ctx.agent.set(['processors', `sli/${id}`], { disabled_metrics: [...sliNativeMetrics()], tyk_compatible: tyk }, `from pumps.${p.name} (prometheus): Tyk Pump's families only; remove disabled_metrics to add the OTel-native SLI metrics`);
  ctx.agent.set(['exporters', `prometheus/${id}`], { endpoint, without_scope_info: true, without_target_info: true }, `from pumps.${p.name}.meta.listen_address (no extra labels or target_info: the scrape looks like Tyk Pump's)`);
  addPipeline(ctx, p, 'metrics', [...pre, `sli/${id}`], [`prometheus/${id}`]);
}

function convertCustomMetrics(ctx: Ctx, m: Reader, id: string): Record<string, unknown>[] {
  const raw = m.raw('custom_metrics');
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.report.dropped(m.src('custom_metrics'), 'not a list of metrics');
    return [];
  }
  const out: Record<string, unknown>[] = [];
  raw.forEach((cm: unknown, i) => {
    const where = `${m.src('custom_metrics')}[${i}]`;
    if (cm === null || typeof cm !== 'object' || Array.isArray(cm)) {
      ctx.report.dropped(where, 'not an object');
      return;
    }
    const c = cm as Record<string, unknown>;
    const name = typeof c['name'] === 'string' ? c['name'] : '';
    const type = c['metric_type'];
    if (name === '' || (type !== 'counter' && type !== 'histogram')) {
      ctx.report.dropped(where, `${name === '' ? 'no name' : `metric_type ${JSON.stringify(type)} is neither counter nor histogram`}: Tyk Pump skips it too`);
      return;
    }
    const metric: Record<string, unknown> = { name };
    const help = typeof c['help'] === 'string' && c['help'] !== '' ? c['help'] : undefined;
    const description = typeof c['description'] === 'string' && c['description'] !== '' ? c['description'] : undefined;
    if (help !== undefined) metric['help'] = help;
    else if (description !== undefined) {
      metric['help'] = description;
      ctx.report.approximated(`${where}.description`, 'used as help: Tyk Pump ignores description (its key is help) and serves an empty HELP');
    }
    metric['metric_type'] = type;
    const labels = Array.isArray(c['labels']) ? c['labels'].filter((l): l is string => typeof l === 'string') : [];
    metric['labels'] = labels;
    for (const l of labels) {
      if (!CUSTOM_LABELS.has(l) && !(type === 'histogram' && l === 'type')) {
        ctx.report.dropped(`${where}.labels`, `"${l}" is not a Tyk label: Tyk Pump fails this metric at run time; validate refuses it — remove it`);
      }
    }
    if (Array.isArray(c['buckets']) && c['buckets'].length > 0) {
      metric['buckets'] = c['buckets'];
      ctx.report.approximated(`${where}.buckets`, "honoured: Tyk Pump ignores custom buckets and uses its defaults (tyk-pump #1103); drop the key to keep Tyk's bucket boundaries");
    }
    if (c['obfuscate_api_keys'] === true) metric['obfuscate_api_keys'] = true;
    if (c['mcp_only'] === true) metric['mcp_only'] = true;
    if (c['obfuscate_api_keys_length'] !== undefined) ctx.report.dropped(`${where}.obfuscate_api_keys_length`, 'unused by Tyk Pump (always the last 4 characters), and so here');
    for (const k of Object.keys(c)) {
      if (!['name', 'help', 'description', 'metric_type', 'labels', 'buckets', 'obfuscate_api_keys', 'mcp_only', 'obfuscate_api_keys_length'].includes(k)) ctx.report.dropped(`${where}.${k}`, 'not a Tyk custom metric setting');
    }
    ctx.report.mapped(where, `processors::sli/${id}.tyk_compatible.custom_metrics[${out.length}] (${type} ${name})`);
    out.push(metric);
  });
  return out;
}
