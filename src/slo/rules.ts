/**
 * The Prometheus rules generator behind `tyk-otel-pump slo-rules`: per SLO, Sloth-compatible SLI
 * recording rules (`slo:sli_error:ratio_rate<window>` with `sloth_id/service/slo/window` labels), metadata
 * rules (objective, budget, burn rates, budget remaining, `sloth_slo_info`) and the two multi-window
 * multi-burn-rate alerts (`sloth_severity: page|ticket`), querying the metric names our `sli` processor and
 * `prometheus` exporter serve. Existing Sloth dashboards work on the output unchanged.
 *
 * One deliberate difference from Sloth: the full-period ratio is event-weighted —
 * `sum_over_time(bad 5m rate) / sum_over_time(total 5m rate)` over the period, from two extra recording
 * rules — instead of Sloth's average of 5-minute ratios, which weighs a quiet night like a peak hour and
 * turns NaN (hence useless) after any five minutes without traffic.
 */
import { stringify } from 'yaml';
import type { ErrorDefinition } from '../error-definition.js';
import { sameErrorDefinition, type Slo } from './definition.js';
import { braces, PROM_LABELS, PROM_METRICS, promString, selectorMatchers, statusCodeRegex } from './promql.js';
import { BURN_RATE_CONDITIONS, burnFactor, SLI_WINDOWS, type Severity } from './windows.js';

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** A Prometheus rule file. */
export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

/** Options of {@link generateRules}. */
export interface RulesOptions {
  /**
   * The error definition the metrics' `error_type` label was computed with (the `sli` processor's own
   * override, else the top-level one). An availability SLO counting the same codes as bad queries
   * `error_type!=""`; any other SLO gets an explicit status-code regex. Undefined: always the regex.
   */
  readonly metricsErrorDefinition?: ErrorDefinition;
  /** Written into `sloth_slo_info{sloth_version}`. */
  readonly version: string;
  /** The `prometheus` exporter's `namespace` (prefix `<namespace>_` of every metric name); default none. */
  readonly namespace?: string;
}

/** Recording-rule names (Sloth's, plus the two event-rate rules of the event-weighted period ratio). */
export const RULE_NAMES = {
  errorRatio: (window: string) => `slo:sli_error:ratio_rate${window}`,
  badRate5m: 'slo:sli_error_events:rate5m',
  totalRate5m: 'slo:sli_total_events:rate5m',
  objective: 'slo:objective:ratio',
  errorBudget: 'slo:error_budget:ratio',
  periodDays: 'slo:time_period:days',
  currentBurnRate: 'slo:current_burn_rate:ratio',
  periodBurnRate: 'slo:period_burn_rate:ratio',
  budgetRemaining: 'slo:period_error_budget_remaining:ratio',
  info: 'sloth_slo_info',
} as const;

/** The default alert name of an SLO: its name in PascalCase + `ErrorBudgetBurn`. */
export function defaultAlertName(sloName: string): string {
  const pascal = sloName
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => (w[0] as string).toUpperCase() + w.slice(1))
    .join('');
  return `${/^[0-9]/.test(pascal) ? 'Slo' : ''}${pascal}ErrorBudgetBurn`;
}

/** The PromQL of an SLO's bad and total event rates over a window. */
export function sliQueries(slo: Slo, options: Pick<RulesOptions, 'metricsErrorDefinition' | 'namespace'>): { bad: (w: string) => string; total: (w: string) => string } {
  const sel = selectorMatchers(slo);
  const ns = options.namespace ? `${options.namespace}_` : '';
  if (slo.sli.type === 'latency') {
    const count = `${ns}${PROM_METRICS.durationCount}${braces(sel)}`;
    const bucket = `${ns}${PROM_METRICS.durationBucket}${braces([...sel, `le=${promString(String(slo.sli.thresholdSeconds))}`])}`;
    return {
      bad: (w) => `(sum(rate(${count}[${w}])) - sum(rate(${bucket}[${w}])))`,
      total: (w) => `sum(rate(${count}[${w}]))`,
    };
  }
  const requests = `${ns}${PROM_METRICS.requests}`;
  const total = `${requests}${braces(sel)}`;
  const metricsDef = options.metricsErrorDefinition;
  let badSelector: string;
  if (metricsDef && sameErrorDefinition(slo.sli.errorDefinition, metricsDef)) {
    badSelector = `${requests}${braces([...sel, `${PROM_LABELS.errorType}!=""`])}`;
  } else {
    // A regex that matches nothing when no status counts as bad, so the ratio is a clean 0.
    const regex = statusCodeRegex(slo.sli.errorDefinition) ?? '^$';
    badSelector = `${requests}${braces([...sel, `${PROM_LABELS.status}=~${promString(regex)}`])}`;
  }
  return {
    // `or vector(0)`: with no error series at all, the ratio is 0 rather than missing.
    bad: (w) => `(sum(rate(${badSelector}[${w}])) or vector(0))`,
    total: (w) => `sum(rate(${total}[${w}]))`,
  };
}

function idLabels(slo: Slo): Record<string, string> {
  return { sloth_id: slo.id, sloth_service: slo.service, sloth_slo: slo.name };
}

function idSelector(slo: Slo): string {
  return `{sloth_id=${promString(slo.id)}, sloth_service=${promString(slo.service)}, sloth_slo=${promString(slo.name)}}`;
}

function recordingRules(slo: Slo, options: RulesOptions): RecordingRule[] {
  const q = sliQueries(slo, options);
  const ids = { ...slo.labels, ...idLabels(slo) };
  const windowed = (window: string) => ({ ...ids, sloth_window: window });
  const sel = idSelector(slo);
  const period = slo.periodWindow.label;
  const rules: RecordingRule[] = SLI_WINDOWS.map((w) => ({
    record: RULE_NAMES.errorRatio(w.label),
    expr: `${q.bad(w.label)}\n/\n${q.total(w.label)}\n`,
    labels: windowed(w.label),
  }));
  rules.push(
    { record: RULE_NAMES.badRate5m, expr: `${q.bad('5m')}\n`, labels: windowed('5m') },
    { record: RULE_NAMES.totalRate5m, expr: `${q.total('5m')}\n`, labels: windowed('5m') },
    {
      record: RULE_NAMES.errorRatio(period),
      expr:
        `sum_over_time(${RULE_NAMES.badRate5m}${sel}[${period}])\n` +
        `/ ignoring (sloth_window)\n` +
        `sum_over_time(${RULE_NAMES.totalRate5m}${sel}[${period}])\n`,
      labels: windowed(period),
    },
    { record: RULE_NAMES.objective, expr: `vector(${slo.objectiveRatio})\n`, labels: ids },
    { record: RULE_NAMES.errorBudget, expr: `vector(${slo.budget})\n`, labels: ids },
    { record: RULE_NAMES.periodDays, expr: `vector(${slo.periodDays})\n`, labels: ids },
    // Divided by the budget literal rather than the slo:error_budget:ratio series (same value), so no
    // rule depends on one from another evaluation.
    { record: RULE_NAMES.currentBurnRate, expr: `${RULE_NAMES.errorRatio('5m')}${sel} / ${slo.budget}\n`, labels: ids },
    { record: RULE_NAMES.periodBurnRate, expr: `${RULE_NAMES.errorRatio(period)}${sel} / ${slo.budget}\n`, labels: ids },
    { record: RULE_NAMES.budgetRemaining, expr: `1 - ${RULE_NAMES.periodBurnRate}${sel}\n`, labels: ids },
    {
      record: RULE_NAMES.info,
      expr: 'vector(1)\n',
      labels: {
        ...ids,
        sloth_mode: 'cli-gen-prom',
        sloth_objective: String(slo.objective),
        sloth_spec: 'prometheus/v1',
        sloth_version: options.version,
      },
    },
  );
  return rules;
}

function alertExpr(slo: Slo, severity: Severity): string {
  const sel = idSelector(slo);
  const clauses = BURN_RATE_CONDITIONS.filter((c) => c.severity === severity).map((c) => {
    const threshold = `(${burnFactor(c, slo.period)} * ${slo.budget})`;
    return (
      `(\n` +
      `    max(${RULE_NAMES.errorRatio(c.short)}${sel} > ${threshold}) without (sloth_window)\n` +
      `    and\n` +
      `    max(${RULE_NAMES.errorRatio(c.long)}${sel} > ${threshold}) without (sloth_window)\n` +
      `)`
    );
  });
  return `${clauses.join('\nor\n')}\n`;
}

function alertingRules(slo: Slo): AlertingRule[] {
  const a = slo.alerting;
  const name = a.name ?? defaultAlertName(slo.name);
  const rules: AlertingRule[] = [];
  for (const [severity, toggle] of [['page', a.page_alert], ['ticket', a.ticket_alert]] as const) {
    if (!toggle.enabled) continue;
    const defaults: Record<string, string> = {
      title: `(${severity}) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.`,
      summary: `{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.`,
    };
    if (slo.description !== '') defaults['description'] = slo.description;
    rules.push({
      alert: name,
      expr: alertExpr(slo, severity),
      labels: { ...a.labels, ...toggle.labels, sloth_severity: severity },
      annotations: { ...defaults, ...a.annotations, ...toggle.annotations },
    });
  }
  return rules;
}

/**
 * One rule group per SLO, in dependency order: SLI ratios, the period ratio, metadata, then the alerts.
 * Prometheus evaluates the rules of a group in order at one timestamp, so every derived rule and alert
 * sees this evaluation's ratios (Sloth's separate groups lag one interval behind, and promtool runs
 * groups in random order).
 */
export function generateRules(slos: readonly Slo[], options: RulesOptions): RuleFile {
  return { groups: slos.map((slo) => ({ name: `sloth-slo-${slo.id}`, rules: [...recordingRules(slo, options), ...alertingRules(slo)] })) };
}

/** The rule file as YAML, with a header saying where it came from. */
export function renderRules(file: RuleFile, source: string): string {
  const header = [
    '# Prometheus rules generated by `tyk-otel-pump slo-rules` — do not edit, regenerate instead.',
    `# Source: ${source}`,
    '# SLI recording rules, SLO metadata and multi-window multi-burn-rate alerts (Sloth-compatible names).',
    '',
  ].join('\n');
  return header + stringify(file, { lineWidth: 0 });
}

/** Number of rules in a file. */
export function countRules(file: RuleFile): { recording: number; alerting: number } {
  let recording = 0;
  let alerting = 0;
  for (const g of file.groups) for (const r of g.rules) if ('record' in r) recording++; else alerting++;
  return { recording, alerting };
}
