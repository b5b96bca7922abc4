/**
 * `tyk-otel-pump slo-rules`: turns the `slos:` section of the config into a Prometheus rule file
 * (default) or Datadog SLO definitions (`--format datadog`). The whole config is validated first, so the
 * rules always match what the agent runs: the `sli` processor's error definition decides whether the
 * rules can use `error_type!=""`, the `prometheus` exporter's `namespace` prefixes the metric names, and
 * the `dogstatsd` exporter's namespace, tags and units shape the Datadog queries.
 */
import { parseArgs } from 'node:util';
import { rename, writeFile } from 'node:fs/promises';
import type { ResolvedConfig } from '../config/load.js';
import { compileErrorDefinition, type ErrorDefinition } from '../error-definition.js';
import { factories } from '../factories.js';
import { VERSION } from '../version.js';
import { configsOf, defaultConfigOf } from '../slo/components.js';
import { sameErrorDefinition, type Slo } from '../slo/definition.js';
import { countRules, generateRules, renderRules } from '../slo/rules.js';
import { datadogSlos, dogStatsdView } from '../slo/datadog.js';
import { CONFIG_OPTION, loadConfig, type Command, type Io } from './io.js';

/**
 * The error definition the metrics' `error_type` was computed with: the `sli` processors' (their override,
 * else the top-level one). Undefined when several `sli` processors disagree — the rules then use an
 * explicit status-code regex for every SLO.
 */
function metricsErrorDefinition(config: ResolvedConfig): ErrorDefinition | undefined {
  const defs = configsOf(config.components, 'processor/sli').map(([, c]) =>
    c.error_definition ? compileErrorDefinition(c.error_definition) : config.shared.errorDefinition,
  );
  if (defs.length === 0) return config.shared.errorDefinition;
  const [first, ...rest] = defs as [ErrorDefinition, ...ErrorDefinition[]];
  return rest.every((d) => sameErrorDefinition(first, d)) ? first : undefined;
}

async function output(text: string, out: string | undefined, io: Io): Promise<void> {
  if (out === undefined || out === '-') {
    io.out(text);
    return;
  }
  // Write then rename, so a Prometheus watching the file never reads half of it.
  const tmp = `${out}.tmp-${process.pid}`;
  await writeFile(tmp, text.endsWith('\n') ? text : `${text}\n`);
  await rename(tmp, out);
}

/** Runs `slo-rules`; returns the exit code (0 written, 1 invalid config or an SLO that cannot be expressed, 2 usage). */
async function runSloRules(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONFIG_OPTION,
      out: { type: 'string', short: 'o' },
      format: { type: 'string', default: 'prometheus' },
      slo: { type: 'string', multiple: true },
      namespace: { type: 'string' },
    },
    strict: true,
  });
  const format = values.format;
  if (format !== 'prometheus' && format !== 'datadog') {
    io.err(`--format must be prometheus or datadog (got ${JSON.stringify(format)})`);
    return 2;
  }
  const file = values.config;
  const config = await loadConfig(file, io);
  if (!config) return 1;

  let slos: readonly Slo[] = config.shared.slos;
  if (slos.length === 0) {
    io.err(`${file}: no SLOs to generate rules for: define them in the top-level slos section`);
    return 1;
  }
  if (values.slo && values.slo.length > 0) {
    const wanted = values.slo;
    const unknown = wanted.filter((n) => !slos.some((s) => s.name === n));
    if (unknown.length > 0) {
      io.err(`--slo: no SLO named ${unknown.map((n) => JSON.stringify(n)).join(', ')} (known: ${slos.map((s) => s.name).join(', ')})`);
      return 2;
    }
    slos = slos.filter((s) => wanted.includes(s.name));
  }

  if (format === 'datadog') {
    const exporters = configsOf(config.components, 'exporter/dogstatsd');
    if (exporters.length === 0) io.err('warning: no dogstatsd exporter in the config: using its defaults (namespace tyk, seconds, default tags)');
    else if (exporters.length > 1) io.err(`warning: several dogstatsd exporters: using ${exporters[0]?.[0] ?? ''}`);
    const dogstatsd = exporters[0]?.[1] ?? defaultConfigOf(factories, 'exporter/dogstatsd');
    if (!dogstatsd) {
      io.err('slo-rules: this build has no dogstatsd exporter');
      return 1;
    }
    const view = dogStatsdView(dogstatsd, config.shared.errorDefinition);
    const r = datadogSlos(slos, view);
    for (const w of r.warnings) io.err(`warning: ${w}`);
    for (const p of r.problems) io.err(`${file}: slos: ${p}`);
    if (r.problems.length > 0) return 1;
    await output(`${JSON.stringify(r.slos, null, 2)}\n`, values.out, io);
    if (values.out !== undefined && values.out !== '-') io.err(`wrote ${r.slos.length} Datadog SLO definition(s) to ${values.out}`);
    return 0;
  }

  let namespace = values.namespace;
  if (namespace === undefined) {
    const namespaces = [...new Set(configsOf(config.components, 'exporter/prometheus').map(([, c]) => c.namespace))];
    if (namespaces.length > 1) {
      io.err(`${file}: the prometheus exporters use different namespaces (${namespaces.map((n) => JSON.stringify(n)).join(', ')}): choose one with --namespace`);
      return 1;
    }
    namespace = namespaces[0] ?? '';
  }
  if (configsOf(config.components, 'processor/sli').length === 0) {
    io.err('warning: no sli processor in the config: the rules query the metrics it would produce (tyk_api_requests_total, http_server_request_duration_seconds_*)');
  }
  const rules = generateRules(slos, { metricsErrorDefinition: metricsErrorDefinition(config), version: `tyk-otel-pump-${VERSION}`, namespace });
  await output(renderRules(rules, file), values.out, io);
  if (values.out !== undefined && values.out !== '-') {
    const n = countRules(rules);
    io.err(`wrote ${n.recording} recording and ${n.alerting} alerting rule(s) for ${slos.length} SLO(s) to ${values.out}`);
  }
  return 0;
}

/** The `slo-rules` command. */
export const sloRulesCommand: Command = {
  summary: 'write Prometheus alert rules (or Datadog SLOs with --format datadog) for the slos section',
  usage: 'slo-rules [--config FILE] [--out FILE] [--format prometheus|datadog] [--slo NAME]...',
  run: runSloRules,
};
