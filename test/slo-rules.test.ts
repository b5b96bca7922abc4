/**
 * The Prometheus rules generator, proven with the real tools: `promtool check rules` is clean, and
 * `promtool test rules` suites feed synthetic series of our own metric names through the generated rules:
 * no alert at 0.5× burn, a ticket (not a page) at 2×, a page at 20× once the long window agrees, the page
 * resolving within the short window after the burn stops, and the budget-remaining rule at known points
 * (expected values computed here in closed form, not by the generator).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { compileErrorDefinition } from '../src/error-definition.js';
import { resolveSlos, slosSchema, type Slo } from '../src/slo/definition.js';
import { generateRules, renderRules, RULE_NAMES, defaultAlertName, type AlertingRule, type RecordingRule } from '../src/slo/rules.js';
import { promString, quoteMeta, statusCodeRegex } from '../src/slo/promql.js';
import { burnFactor, BURN_RATE_CONDITIONS, promDuration } from '../src/slo/windows.js';

const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';
const API_ID = '3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b';
const API_NAME = 'Payments "v2" | EU';

const GLOBAL = compileErrorDefinition();

/** The SLOs under test: availability (99.9 %), latency (99 %, 0.25 s), and a stricter availability SLO with its own error definition. */
function testSlos(): Slo[] {
  return resolveSlos(
    slosSchema.parse([
      {
        name: 'pay-availability',
        service: 'payments',
        description: 'Payments answer without server errors.',
        objective: 99.9,
        selector: { api_ids: [API_ID] },
        sli: { type: 'availability' },
        labels: { team: 'payments' },
        alerting: { name: 'PayAvailabilityBurn', labels: { routing: 'pay-oncall' }, page_alert: { labels: { severity: 'critical' } } },
      },
      {
        name: 'pay-latency',
        service: 'payments',
        objective: 99,
        selector: { api_ids: [API_ID], methods: ['GET'] },
        sli: { type: 'latency', threshold_seconds: 0.25 },
      },
      {
        // Selected by two names (a regex): quotes and | in one, a regex metacharacter in the other.
        name: 'pay-strict',
        service: 'payments',
        objective: 99.9,
        selector: { api_names: [API_NAME, 'Pay.ments'] },
        sli: { type: 'availability', error_definition: { status_classes: ['5xx'], status_codes: [404] } },
        alerting: { name: 'PayStrictBurn' },
      },
    ]),
    GLOBAL,
  );
}

function promtool(args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Counter values, one per minute, as promtool series notation: phases of `[minutes, increase per minute]`. */
function counter(phases: readonly (readonly [number, number])[], opts: { absentWhileZero?: boolean } = {}): string {
  const tokens: string[] = [];
  let rest = [...phases];
  if (opts.absentWhileZero) {
    let leading = 0;
    while (rest.length > 0 && (rest[0] as readonly [number, number])[1] === 0) {
      leading += (rest[0] as readonly [number, number])[0];
      rest = rest.slice(1);
    }
    if (leading > 0) tokens.push(`_x${leading}`);
  }
  tokens.push('0');
  let v = 0;
  for (const [n, r] of rest) {
    tokens.push(r === 0 ? `${v}x${n - 1}` : `${v + r}+${r}x${n - 1}`);
    v += n * r;
  }
  return tokens.join(' ');
}

function series(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${promString(v)}`).join(',')}}`;
}

const PAY = { tyk_api_id: API_ID, tyk_api_name: API_NAME, tyk_org_id: 'org1', http_request_method: 'GET', http_route: '/pay/{id}' };
const OTHER = { tyk_api_id: 'other', tyk_api_name: 'PayXments', tyk_org_id: 'org1', http_request_method: 'GET', http_route: '/x' };
/** Requests per minute of the payments API. */
const RPM = 2000;

/**
 * Input series for phases of `[minutes, burn]`, burn being the multiple of each SLO's budget: per minute
 * the availability SLO (budget 0.001) sees `2 × burn` server errors and the latency SLO (budget 0.01)
 * `20 × burn` slow requests out of 2000; 100 404s a minute are good for both but bad for `pay-strict`.
 * Another API fails and is slow all the time and must never count.
 */
function inputSeries(phases: readonly (readonly [number, number])[]) {
  const per = (f: (burn: number) => number) => phases.map(([n, burn]) => [n, f(burn)] as const);
  return [
    { series: series('tyk_api_requests_total', { ...PAY, http_response_status_code: '200' }), values: counter(per((b) => RPM - 100 - 2 * b)) },
    { series: series('tyk_api_requests_total', { ...PAY, http_response_status_code: '404' }), values: counter(per(() => 100)) },
    { series: series('tyk_api_requests_total', { ...PAY, http_response_status_code: '500', error_type: '500' }), values: counter(per((b) => 2 * b), { absentWhileZero: true }) },
    { series: series('tyk_api_requests_total', { ...OTHER, http_response_status_code: '503', error_type: '503' }), values: counter(per(() => 1000)) },
    { series: series('http_server_request_duration_seconds_count', PAY), values: counter(per(() => RPM)) },
    { series: series('http_server_request_duration_seconds_bucket', { ...PAY, le: '0.1' }), values: counter(per((b) => RPM - 100 - 20 * b)) },
    { series: series('http_server_request_duration_seconds_bucket', { ...PAY, le: '0.25' }), values: counter(per((b) => RPM - 20 * b)) },
    { series: series('http_server_request_duration_seconds_bucket', { ...PAY, le: '+Inf' }), values: counter(per(() => RPM)) },
    { series: series('http_server_request_duration_seconds_count', OTHER), values: counter(per(() => 1000)) },
    { series: series('http_server_request_duration_seconds_bucket', { ...OTHER, le: '0.25' }), values: counter(per(() => 0)) },
    { series: series('http_server_request_duration_seconds_bucket', { ...OTHER, le: '+Inf' }), values: counter(per(() => 1000)) },
  ];
}

/** Closed form: the error ratio over the whole history at minute `t`, as a multiple of the budget (burn). */
function periodBurn(phases: readonly (readonly [number, number])[], t: number): number {
  let burnMinutes = 0;
  let start = 0;
  for (const [n, burn] of phases) {
    burnMinutes += Math.max(0, Math.min(t, start + n) - start) * burn;
    start += n;
  }
  return burnMinutes / t;
}

function idLabels(slo: Slo): Record<string, string> {
  return { ...slo.labels, sloth_id: slo.id, sloth_service: slo.service, sloth_slo: slo.name };
}

function labelText(labels: Readonly<Record<string, string>>, name = ''): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${promString(v)}`).join(', ')}}`;
}

/** `|budget remaining − expected| < tolerance` evaluates to 1 (float rounding aside, the values are exact). */
function budgetRemainingNear(slo: Slo, evalMinutes: number, expected: number, tolerance = 1e-9) {
  return {
    expr: `abs(${RULE_NAMES.budgetRemaining}{sloth_slo=${promString(slo.name)}} - (${expected})) < bool ${tolerance}`,
    eval_time: `${evalMinutes}m`,
    // As with Sloth, burn-rate and budget rules keep the sloth_window of the ratio they derive from.
    exp_samples: [{ labels: labelText({ ...idLabels(slo), sloth_window: slo.periodWindow.label }), value: 1 }],
  };
}

/** `round(rule × scale)` equals `value` exactly. */
function rounded(rule: string, slo: Slo, evalMinutes: number, scale: number, value: number, window: string) {
  return {
    expr: `round(${rule}{sloth_slo=${promString(slo.name)}} * ${scale})`,
    eval_time: `${evalMinutes}m`,
    exp_samples: [{ labels: labelText({ ...idLabels(slo), sloth_window: window }), value }],
  };
}

function expectedAlert(slo: Slo, severity: 'page' | 'ticket') {
  const toggle = severity === 'page' ? slo.alerting.page_alert : slo.alerting.ticket_alert;
  const annotations: Record<string, string> = {
    title: `(${severity}) ${slo.service} ${slo.name} SLO error budget burn rate is too fast.`,
    summary: `${slo.service} ${slo.name} SLO error budget burn rate is over expected.`,
  };
  if (slo.description !== '') annotations['description'] = slo.description;
  return {
    exp_labels: { ...idLabels(slo), ...slo.alerting.labels, ...toggle.labels, sloth_severity: severity },
    exp_annotations: annotations,
  };
}

function alertsAt(slo: Slo, evalMinutes: number, severities: readonly ('page' | 'ticket')[]) {
  return {
    eval_time: `${evalMinutes}m`,
    alertname: slo.alerting.name ?? defaultAlertName(slo.name),
    exp_alerts: severities.map((s) => expectedAlert(slo, s)),
  };
}

describe('slo-rules: Prometheus rules', () => {
  let dir: string;
  const slos = testSlos();
  const [avail, latency, strict] = slos as [Slo, Slo, Slo];
  const file = generateRules(slos, { metricsErrorDefinition: GLOBAL, version: 'test' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slo-rules-'));
    writeFileSync(join(dir, 'rules.yml'), renderRules(file, 'test'));
  });
  after(() => { if (!process.env["KEEP"]) rmSync(dir, { recursive: true, force: true }); else console.log(dir); });

  it('uses Sloth rule names and labels, one group per SLO in dependency order', () => {
    const byGroup = new Map(file.groups.map((g) => [g.name, g.rules]));
    assert.deepEqual([...byGroup.keys()], ['sloth-slo-payments-pay-availability', 'sloth-slo-payments-pay-latency', 'sloth-slo-payments-pay-strict']);
    const rules = byGroup.get('sloth-slo-payments-pay-availability') ?? [];
    const recording = rules.filter((r): r is RecordingRule => 'record' in r);
    assert.deepEqual(
      recording.map((r) => `${r.record} ${r.labels['sloth_window'] ?? '-'}`),
      [
        ...['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => `slo:sli_error:ratio_rate${w} ${w}`),
        'slo:sli_error_events:rate5m 5m', 'slo:sli_total_events:rate5m 5m', 'slo:sli_error:ratio_rate30d 30d',
        'slo:objective:ratio -', 'slo:error_budget:ratio -', 'slo:time_period:days -', 'slo:current_burn_rate:ratio -',
        'slo:period_burn_rate:ratio -', 'slo:period_error_budget_remaining:ratio -', 'sloth_slo_info -',
      ],
    );
    assert.deepEqual(recording[0]?.labels, { team: 'payments', sloth_id: 'payments-pay-availability', sloth_service: 'payments', sloth_slo: 'pay-availability', sloth_window: '5m' });
    assert.equal(recording.find((r) => r.record === 'sloth_slo_info')?.labels['sloth_objective'], '99.9');
    const alerts = rules.filter((r): r is AlertingRule => 'alert' in r);
    assert.deepEqual(alerts.map((a) => [a.alert, a.labels['sloth_severity']]), [['PayAvailabilityBurn', 'page'], ['PayAvailabilityBurn', 'ticket']]);
    assert.equal(rules.indexOf(alerts[0] as AlertingRule), recording.length, 'alerts come after every recording rule');
    // The latency SLI: _count minus the le="0.25" bucket (the exporter prints le with String(n)).
    const lat = (byGroup.get('sloth-slo-payments-pay-latency')?.[0] as RecordingRule).expr;
    assert.match(lat, /http_server_request_duration_seconds_bucket\{tyk_api_id="3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b",http_request_method="GET",le="0.25"\}\[5m\]/);
    // Same definition as the metrics' error_type → error_type!=""; own definition → a status regex.
    assert.match(recording[0]?.expr ?? '', /error_type!=""/);
    const strictExpr = (byGroup.get('sloth-slo-payments-pay-strict')?.[0] as RecordingRule).expr;
    assert.match(strictExpr, /http_response_status_code=~"404\|5\.\."/);
    assert.doesNotMatch(strictExpr, /error_type/);
  });

  it('turns off an alert severity with its toggle, and defaults the alert name', () => {
    const [slo] = resolveSlos(slosSchema.parse([{ name: 'orders.read-latency', objective: 99, sli: { type: 'latency', threshold_seconds: 1 }, alerting: { page_alert: { enabled: false } } }]), GLOBAL) as [Slo];
    const alerts = (generateRules([slo], { version: 't' }).groups[0]?.rules ?? []).filter((r): r is AlertingRule => 'alert' in r);
    assert.deepEqual(alerts.map((a) => [a.alert, a.labels['sloth_severity']]), [['OrdersReadLatencyErrorBudgetBurn', 'ticket']]);
    const off = resolveSlos(slosSchema.parse([{ name: 'x', objective: 99, sli: { type: 'availability' }, alerting: { page_alert: { enabled: false }, ticket_alert: { enabled: false } } }]), GLOBAL);
    assert.equal((generateRules(off, { version: 't' }).groups[0]?.rules ?? []).filter((r) => 'alert' in r).length, 0);
  });

  it('scales burn factors to the SLO period (same budget share consumed) and names windows like Prometheus', () => {
    const factors = (period: '30d' | '28d' | '7d' | '90d') => BURN_RATE_CONDITIONS.map((c) => burnFactor(c, period));
    assert.deepEqual(factors('30d'), [14.4, 6, 3, 1]);
    assert.deepEqual(factors('28d'), [13.44, 5.6, 2.8, 0.933333333333]);
    assert.deepEqual(['7d', '28d', '30d', '90d'].map((d) => promDuration(Number(d.slice(0, -1)) * 86_400_000)), ['1w', '4w', '30d', '90d']);
  });

  it('status-code regexes match exactly the codes an error definition counts as bad', () => {
    const defs = [
      {},
      { status_classes: ['5xx' as const], exclude_status_codes: [501, 599] },
      { status_classes: ['4xx' as const, '5xx' as const], exclude_status_codes: [404] },
      { status_classes: [], status_codes: [429, 503, 504, 505, 500] },
      { status_classes: ['5xx' as const], status_codes: [408, 429] },
    ];
    for (const d of defs) {
      const def = compileErrorDefinition({ status_classes: ['5xx'], status_codes: [], exclude_status_codes: [], ...d });
      const re = new RegExp(`^(?:${statusCodeRegex(def) ?? '(?!)'})$`);
      for (let code = 100; code < 600; code++) assert.equal(re.test(String(code)), def.isBad(code), `${JSON.stringify(d)}: ${code}`);
    }
    assert.equal(statusCodeRegex(compileErrorDefinition({ status_classes: ['5xx'], status_codes: [429], exclude_status_codes: [501] })), '429|50[02-9]|5[1-9].');
    assert.equal(statusCodeRegex(compileErrorDefinition({ status_classes: [], status_codes: [], exclude_status_codes: [] })), undefined);
    assert.equal(quoteMeta('a.b|c"d'), 'a\\.b\\|c"d');
  });

  it('promtool check rules is clean, with every lint', () => {
    const r = promtool(['check', 'rules', '--lint=all', '--lint-fatal', 'rules.yml'], dir);
    assert.equal(r.code, 0, r.out);
    const { recording, alerting } = { recording: 3 * 17, alerting: 6 };
    assert.match(r.out, new RegExp(`SUCCESS: ${recording + alerting} rules found`));
  });

  it('promtool test rules: burn scenarios for an availability and a latency SLO', () => {
    // 0.5× for 8 h: never an alert; budget half used.
    const half: [number, number][] = [[480, 0.5]];
    // Clean 2 h, 2× for 5 h, clean 3.3 h: a ticket (never a page) once 6h and 3d exceed 1× (after 4 h),
    // cleared once fewer than 3 of the last 6 hours burnt.
    const slow: [number, number][] = [[120, 0], [300, 2], [200, 0]];
    // Clean 6 h, 20× for 50 min, clean: a ticket after 19 min (6h and 3d over 1×), a page once 1h exceeds
    // 14.4× (after 43.2 min); the page is gone 5 min after the burn stops (5m window clean, 6h under 6×).
    const fast: [number, number][] = [[360, 0], [50, 20], [70, 0]];
    const tests = [
      {
        name: '0.5x burn',
        interval: '1m',
        input_series: inputSeries(half),
        alert_rule_test: [10, 60, 360, 480].flatMap((m) => [alertsAt(avail, m, []), alertsAt(latency, m, [])]),
        promql_expr_test: [
          // Steady state, exact: 1 of 2000 (availability), 10 of 2000 (latency); burn 0.5.
          rounded('slo:sli_error:ratio_rate1h', avail, 120, 1e6, 500, '1h'),
          rounded('slo:sli_error:ratio_rate1h', latency, 120, 1e5, 500, '1h'),
          rounded(RULE_NAMES.currentBurnRate, avail, 120, 100, 50, '5m'),
          rounded(RULE_NAMES.currentBurnRate, latency, 120, 100, 50, '5m'),
          // The strict SLO also counts the 100 404s a minute: (1 + 100) / 2000; the failing "PayXments" API is not selected.
          rounded('slo:sli_error:ratio_rate1h', strict, 120, 1e4, 505, '1h'),
          budgetRemainingNear(avail, 480, 1 - periodBurn(half, 480)),
          budgetRemainingNear(latency, 480, 1 - periodBurn(half, 480)),
          { expr: `${RULE_NAMES.objective}{sloth_slo="pay-availability"}`, eval_time: '10m', exp_samples: [{ labels: labelText(idLabels(avail), RULE_NAMES.objective), value: 0.999 }] },
          { expr: `${RULE_NAMES.errorBudget}{sloth_slo="pay-latency"}`, eval_time: '10m', exp_samples: [{ labels: labelText(idLabels(latency), RULE_NAMES.errorBudget), value: 0.01 }] },
          { expr: `${RULE_NAMES.periodDays}{sloth_slo="pay-latency"}`, eval_time: '10m', exp_samples: [{ labels: labelText(idLabels(latency), RULE_NAMES.periodDays), value: 30 }] },
        ],
      },
      {
        name: '2x burn',
        interval: '1m',
        input_series: inputSeries(slow),
        alert_rule_test: [
          alertsAt(avail, 200, []), alertsAt(latency, 200, []),
          alertsAt(avail, 300, ['ticket']), alertsAt(latency, 300, ['ticket']),
          alertsAt(avail, 420, ['ticket']), alertsAt(latency, 420, ['ticket']),
          alertsAt(avail, 620, []), alertsAt(latency, 620, []),
        ],
        promql_expr_test: [
          budgetRemainingNear(avail, 200, 1 - periodBurn(slow, 200)),
          budgetRemainingNear(avail, 300, 1 - periodBurn(slow, 300)),
          budgetRemainingNear(avail, 620, 1 - periodBurn(slow, 620)),
          budgetRemainingNear(latency, 300, 1 - periodBurn(slow, 300)),
          budgetRemainingNear(latency, 620, 1 - periodBurn(slow, 620)),
        ],
      },
      {
        name: '20x burn',
        interval: '1m',
        input_series: inputSeries(fast),
        alert_rule_test: [
          alertsAt(avail, 365, []), alertsAt(latency, 365, []),
          alertsAt(avail, 400, ['ticket']), alertsAt(latency, 400, ['ticket']),
          alertsAt(avail, 405, ['page', 'ticket']), alertsAt(latency, 405, ['page', 'ticket']),
          alertsAt(avail, 415, ['ticket']), alertsAt(latency, 415, ['ticket']),
        ],
        promql_expr_test: [
          rounded('slo:sli_error:ratio_rate5m', avail, 400, 1e4, 200, '5m'),
          budgetRemainingNear(avail, 480, 1 - periodBurn(fast, 480)),
          budgetRemainingNear(latency, 480, 1 - periodBurn(fast, 480)),
        ],
      },
    ];
    // Rules run every 5m over 1m samples: fast enough for `npm test`, and the 5m rates then tile the
    // history exactly, so the period ratio is the closed form up to float rounding.
    writeFileSync(join(dir, 'tests.yml'), stringify({ rule_files: ['rules.yml'], evaluation_interval: '5m', tests }, { lineWidth: 0 }));
    const r = promtool(['test', 'rules', 'tests.yml'], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('the promtool harness fails on a wrong expectation (so the suites above can fail)', () => {
    const tests = [{
      interval: '1m',
      input_series: inputSeries([[120, 0.5]]),
      alert_rule_test: [alertsAt(avail, 100, ['page'])],
    }];
    writeFileSync(join(dir, 'wrong.yml'), stringify({ rule_files: ['rules.yml'], evaluation_interval: '5m', tests }, { lineWidth: 0 }));
    const r = promtool(['test', 'rules', 'wrong.yml'], dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /FAILED/);
  });
});
