/**
 * `tyk-otel-pump dashboards [--config FILE] [--out DIR]`: writes Grafana dashboards (JSON, current
 * schema, a `datasource` variable) for what the config runs: APIs (RED), the agent, the SLOs of the
 * `slos` section (on the `slo-rules` recording rules, and on the `slo` processor's gauges when one is
 * configured), and the Tyk Pump compatible APIs view when an `sli` processor has `tyk_compatible` on.
 * Metric names follow the config: the `prometheus` exporter's `namespace` and the self-telemetry prefix.
 */
import { parseArgs } from 'node:util';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/schema';
import { CONFIG_OPTION, loadConfig, type Command, type Io } from './io.js';
import type { ResolvedConfig } from '../config/load.js';
import type { SliConfig } from '../../processors/sli/config.js';
import { agentDashboard } from '../mixin/agent.js';
import { apisDashboard, tykCompatibleDashboard } from '../mixin/apis.js';
import { metricNames, type NameOptions } from '../mixin/names.js';
import { sloGaugesDashboard, slosDashboard } from '../mixin/slos.js';

/** Usage line of the command. */
export const DASHBOARDS_USAGE = 'dashboards [--config FILE] [--out DIR] [--namespace NS]';

function configsOf(config: ResolvedConfig, kind: string, type: string): unknown[] {
  return [...config.components.values()].filter((c) => c.kind === kind && c.type === type).map((c) => c.config);
}

/** The Prometheus names the config's agent serves; a problem when the prometheus exporters disagree. */
export function nameOptions(config: ResolvedConfig, namespace?: string): NameOptions | string {
  let ns = namespace;
  if (ns === undefined) {
    const all = [...new Set(configsOf(config, 'exporter', 'prometheus').map((c) => (c as { namespace?: string }).namespace ?? ''))];
    if (all.length > 1) return `the prometheus exporters use different namespaces (${all.map((n) => JSON.stringify(n)).join(', ')}): choose one with --namespace`;
    ns = all[0] ?? '';
  }
  return { namespace: ns, telemetryPrefix: config.service.telemetry.metrics.prefix };
}

/** The dashboards for a config, by file name. */
export function buildDashboards(config: ResolvedConfig, names: NameOptions): { file: string; dashboard: Dashboard }[] {
  const m = metricNames(names);
  const out = [
    { file: 'tyk-apis.json', dashboard: apisDashboard(m) },
    { file: 'tyk-otel-pump-agent.json', dashboard: agentDashboard(m) },
  ];
  const slos = config.shared.slos;
  if (slos.length > 0) {
    out.push({ file: 'tyk-slos.json', dashboard: slosDashboard(slos) });
    if (configsOf(config, 'processor', 'slo').length > 0) out.push({ file: 'tyk-slos-gauges.json', dashboard: sloGaugesDashboard(slos, m) });
  }
  if (configsOf(config, 'processor', 'sli').some((c) => (c as SliConfig).tyk_compatible.enabled)) {
    out.push({ file: 'tyk-apis-tyk-pump.json', dashboard: tykCompatibleDashboard(m) });
  }
  return out;
}

/** Runs `dashboards`; returns the exit code (0 written, 1 invalid config, 2 usage). */
export async function runDashboards(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONFIG_OPTION,
      out: { type: 'string', short: 'o', default: './dashboards' },
      namespace: { type: 'string' },
    },
    strict: true,
  });
  const file = values.config;
  const config = await loadConfig(file, io);
  if (!config) return 1;
  const names = nameOptions(config, values.namespace);
  if (typeof names === 'string') {
    io.err(`${file}: ${names}`);
    return 1;
  }
  const dashboards = buildDashboards(config, names);
  await mkdir(values.out, { recursive: true });
  for (const d of dashboards) {
    const path = join(values.out, d.file);
    // Write then rename: Grafana's file provisioning may read the directory at any time.
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(d.dashboard, null, 2)}\n`);
    await rename(tmp, path);
    io.out(`wrote ${path} (${d.dashboard.title})`);
  }
  if (config.shared.slos.length === 0) io.err('note: no slos in the config: no SLO dashboard written');
  return 0;
}

/** The `dashboards` command. */
export const dashboardsCommand: Command = {
  summary: 'write Grafana dashboards (APIs, SLOs, agent) for the config to a directory',
  usage: DASHBOARDS_USAGE,
  run: runDashboards,
};
