/**
 * The SLOs dashboard, one row per SLO of the config: on the Sloth-compatible recording rules that
 * `slo-rules` generates (`src/slo/rules.ts`), or — for users without the rules — on the `slo` processor's
 * `tyk_slo_*` gauges. Windows and burn-rate factors come from `src/slo/windows.ts`, the same table the
 * alerts use.
 */
import type { Dashboard, Panel, RowPanel } from '@grafana/schema';
import type { Slo } from '../slo/definition.js';
import { promString } from '../slo/promql.js';
import { defaultAlertName, RULE_NAMES } from '../slo/rules.js';
import { BURN_RATE_CONDITIONS, burnFactor } from '../slo/windows.js';
import { dashboard, panel, row } from './grafana.js';
import { LABELS, type MetricNames } from './names.js';

/** The alert windows, long and short, in the order of the burn-rate table (duplicates removed). */
function alertWindows(): string[] {
  const out: string[] = [];
  for (const c of BURN_RATE_CONDITIONS) for (const w of [c.long, c.short]) if (!out.includes(w)) out.push(w);
  return out;
}

function idSelector(slo: Slo): string {
  return `sloth_id=${promString(slo.id)}, sloth_service=${promString(slo.service)}, sloth_slo=${promString(slo.name)}`;
}

function title(slo: Slo): string {
  const what = slo.sli.type === 'latency' ? `latency ≤ ${slo.sli.thresholdSeconds}s` : 'availability';
  return `${slo.name} — ${slo.objective}% ${what} over ${slo.period}`;
}

/** The tightest factor × budget of the page alert: where the burn-rate panel turns red. */
function pageThreshold(slo: Slo): number {
  return Math.min(...BURN_RATE_CONDITIONS.filter((c) => c.severity === 'page').map((c) => burnFactor(c, slo.period)));
}

function rulesRow(slo: Slo): (Panel | RowPanel)[] {
  const id = idSelector(slo);
  const period = slo.periodWindow.label;
  const alert = slo.alerting.name ?? defaultAlertName(slo.name);
  return [
    row(title(slo)),
    panel({ kind: 'stat', title: 'Objective', w: 4, h: 5, unit: 'percentunit', decimals: 3, targets: [{ expr: `${RULE_NAMES.objective}{${id}}` }] }),
    panel({
      kind: 'stat', title: `SLI over ${period}`, w: 4, h: 5, unit: 'percentunit', decimals: 3,
      thresholds: [[0, 'red'], [slo.objectiveRatio, 'green']],
      targets: [{ expr: `1 - ${RULE_NAMES.errorRatio(period)}{${id}}` }],
    }),
    panel({
      kind: 'stat', title: 'Error budget remaining', w: 4, h: 5, unit: 'percentunit', decimals: 1,
      thresholds: [[0, 'red'], [0.25, 'orange'], [0.5, 'green']],
      targets: [{ expr: `${RULE_NAMES.budgetRemaining}{${id}}` }],
    }),
    panel({
      kind: 'stat', title: 'Alerts firing', w: 4, h: 5, unit: 'short', thresholds: [[1, 'red']],
      description: `Prometheus ALERTS of ${alert} (page and ticket).`,
      // ALERTS only has series while an alert is pending or firing: none means 0.
      targets: [{ expr: `count(ALERTS{alertname=${promString(alert)}, alertstate="firing", ${id}}) or vector(0)` }],
    }),
    panel({
      kind: 'timeseries', title: 'Burn rate per alert window', w: 8, h: 10, unit: 'x', min: 0,
      thresholds: [[1, 'orange'], [pageThreshold(slo), 'red']],
      description: 'Error ratio over each window divided by the error budget (1 = the budget lasts exactly the SLO period).',
      targets: alertWindows().map((w) => ({ expr: `${RULE_NAMES.errorRatio(w)}{${id}} / ${slo.budget}`, legend: w })),
    }),
    panel({
      kind: 'timeseries', title: 'Error ratio (5m) vs budget', w: 24, h: 7, unit: 'percentunit', min: 0,
      targets: [
        { expr: `${RULE_NAMES.errorRatio('5m')}{${id}}`, legend: 'error ratio 5m' },
        { expr: `${RULE_NAMES.errorBudget}{${id}}`, legend: 'error budget' },
      ],
    }),
  ];
}

function gaugesRow(slo: Slo, m: MetricNames): (Panel | RowPanel)[] {
  const name = `${LABELS.sloName}=${promString(slo.name)}`;
  const period = slo.periodWindow.label;
  return [
    row(title(slo)),
    panel({ kind: 'stat', title: 'Objective', w: 4, h: 5, unit: 'percentunit', decimals: 3, targets: [{ expr: `${m.slo.objective}{${name}}` }] }),
    panel({
      kind: 'stat', title: `SLI over ${period}`, w: 4, h: 5, unit: 'percentunit', decimals: 3,
      thresholds: [[0, 'red'], [slo.objectiveRatio, 'green']],
      targets: [{ expr: `1 - ${m.slo.errorRatio}{${name}, ${LABELS.window}=${promString(period)}}` }],
    }),
    panel({
      kind: 'stat', title: 'Error budget remaining', w: 4, h: 5, unit: 'percentunit', decimals: 1,
      thresholds: [[0, 'red'], [0.25, 'orange'], [0.5, 'green']],
      targets: [{ expr: `${m.slo.budgetRemaining}{${name}}` }],
    }),
    panel({
      kind: 'stat', title: 'Alerts firing', w: 4, h: 5, unit: 'short', thresholds: [[1, 'red']],
      targets: [{ expr: `sum(${m.slo.alert}{${name}})` }],
    }),
    panel({
      kind: 'timeseries', title: 'Burn rate per alert window', w: 8, h: 10, unit: 'x', min: 0,
      thresholds: [[1, 'orange'], [pageThreshold(slo), 'red']],
      targets: [{ expr: `${m.slo.burnRate}{${name}, ${LABELS.window}=~${promString(alertWindows().join('|'))}}`, legend: `{{${LABELS.window}}}` }],
    }),
    panel({
      kind: 'timeseries', title: 'Alert state', w: 24, h: 7, unit: 'short', min: 0, max: 1,
      targets: [{ expr: `${m.slo.alert}{${name}}`, legend: `{{${LABELS.severity}}}` }],
    }),
  ];
}

/** The SLOs dashboard on the recording rules of `slo-rules`. */
export function slosDashboard(slos: readonly Slo[]): Dashboard {
  return dashboard({
    uid: 'tyk-otel-pump-slos',
    title: 'Tyk SLOs',
    description: 'Objective, SLI, error budget, burn rates and alerts of every SLO, on the Sloth-compatible recording rules of `tyk-otel-pump slo-rules`.',
    tags: ['tyk', 'tyk-otel-pump', 'slo'],
    variables: [],
    panels: slos.flatMap(rulesRow),
    from: '6h',
  });
}

/** The SLOs dashboard on the `slo` processor's gauges (no recording rules needed). */
export function sloGaugesDashboard(slos: readonly Slo[], m: MetricNames): Dashboard {
  return dashboard({
    uid: 'tyk-otel-pump-slos-gauges',
    title: 'Tyk SLOs (slo processor)',
    description: "Objective, SLI, error budget, burn rates and alert state of every SLO, on the slo processor's tyk_slo_* gauges.",
    tags: ['tyk', 'tyk-otel-pump', 'slo'],
    variables: [],
    panels: slos.flatMap((s) => gaugesRow(s, m)),
    from: '6h',
  });
}
