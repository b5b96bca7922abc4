/**
 * Every query of every generated dashboard, executed against a real Prometheus that scrapes a real agent
 * fed by `demo` traffic and evaluates the rules `slo-rules` generates from the same config: each returns
 * data without error, and every metric and label it names exists in what the agent serves (so a dashboard
 * querying a metric or label we do not emit fails here, even behind `or vector(0)`). Template variable
 * queries (`label_values`) are checked the same way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dashboard, Panel } from '@grafana/schema';
import { loadConfigFile, type ResolvedConfig } from '../src/config/load.js';
import { agentRules, DEFAULT_AGENT_RULES } from '../src/mixin/agent-rules.js';
import { metricNames, type NameOptions } from '../src/mixin/names.js';
import { factories } from '../src/factories.js';
import { generateRules, renderRules } from '../src/slo/rules.js';
import { buildDashboards, nameOptions } from '../src/commands/dashboards.js';
import { dashboardQueries } from '../src/mixin/grafana.js';
import { startDemoAgent, type DemoAgent } from './helpers/demo-agent.js';
import { startPrometheus, type PrometheusServer } from './helpers/prometheus.js';
import { waitFor } from './helpers/agent.js';
import { BUILTIN_LABELS, BUILTIN_METRICS, checkQuery, grafanaExpand, referenced, type Checker } from './helpers/promql-check.js';

/** `label_values(metric, label)` of a variable query. */
function variableQueries(d: Dashboard): { name: string; metric: string; label: string }[] {
  const out: { name: string; metric: string; label: string }[] = [];
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : String((v.query as { query?: string }).query);
    const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: unexpected query ${q}`);
    out.push({ name: v.name, metric: m[1] as string, label: m[2] as string });
  }
  return out;
}

describe('generated dashboards against a real Prometheus scraping a demo-fed agent', { timeout: 240_000 }, () => {
  let demo: DemoAgent;
  let prom: PrometheusServer;
  let checker: Checker;
  let dashboards: ReturnType<typeof buildDashboards>;
  let config: ResolvedConfig;

  before(async () => {
    demo = await startDemoAgent();
    const loaded = await loadConfigFile(demo.configFile, factories);
    assert.ok(loaded.config, JSON.stringify(loaded.problems));
    config = loaded.config;
    const names = nameOptions(config);
    assert.ok(typeof names !== 'string', String(names));
    dashboards = buildDashboards(config, names);
    const rules = renderRules(generateRules(config.shared.slos, { metricsErrorDefinition: config.shared.errorDefinition, version: 'e2e' }), demo.configFile);
    // Every 2 s (the scrape timeout is the interval): one scrape of this agent is about 2 MB, and the test
    // machine is shared.
    prom = await startPrometheus({ targets: [demo.agent.telemetryUrl.replace('http://', '')], rules: { 'slo.yml': rules }, scrapeInterval: '2s' });
    await prom.waitForTargets();
    const url = prom.url;
    const labelCache = new Map<string, Set<string>>();
    checker = {
      async labelsOf(metric) {
        const cached = labelCache.get(metric);
        if (cached && cached.size > 0) return cached;
        const r = await fetch(`${url}/api/v1/series?match[]=${encodeURIComponent(metric)}&start=${Date.now() / 1000 - 600}`);
        const body = (await r.json()) as { data: Record<string, string>[] };
        const set = new Set<string>();
        for (const s of body.data) for (const k of Object.keys(s)) set.add(k);
        labelCache.set(metric, set);
        return set;
      },
      query: (expr) => prom.query(expr),
    };
  });
  after(async () => {
    await prom?.stop();
    await demo?.stop();
  });

  it('writes the APIs, agent, SLOs (rules and gauges) and Tyk Pump compatible dashboards, with a datasource variable and no data source uid', () => {
    assert.deepEqual(dashboards.map((d) => d.file).sort(), ['tyk-apis-tyk-pump.json', 'tyk-apis.json', 'tyk-otel-pump-agent.json', 'tyk-slos-gauges.json', 'tyk-slos.json']);
    for (const { file, dashboard } of dashboards) {
      assert.equal(dashboard.templating?.list?.[0]?.type, 'datasource', file);
      const json = JSON.stringify(dashboard);
      for (const m of json.matchAll(/"uid":"([^"]*)"/g)) assert.ok(m[1] === '${datasource}' || m[1] === dashboard.uid, `${file}: hard-coded uid ${m[1]}`);
      for (const p of dashboard.panels ?? []) if (p.type !== 'row') assert.ok(((p as Panel).targets ?? []).length > 0, `${file}: ${p.title} has no query`);
    }
    // One row of panels per SLO of the config.
    const slos = dashboards.find((d) => d.file === 'tyk-slos.json')?.dashboard;
    assert.deepEqual((slos?.panels ?? []).filter((p) => p.type === 'row').map((p) => p.title?.split(' ')[0]), ['orders-availability', 'payments-latency', 'all-availability']);
  });

  it('the checker fails a query naming a metric or label the agent does not emit', async () => {
    const requests = metricNames(nameOptions(config) as NameOptions).requests;
    await waitFor('requests scraped', async () => (await checker.labelsOf(requests)).size > 0, 30_000, 500);
    const any = dashboards[0]?.dashboard as Dashboard;
    const expr = dashboardQueries(any)[0]?.expr as string;
    const metric = referenced(expr).metrics[0] as string;
    // Two scrapes, so the rate below has data and the legend check has series to look at.
    await waitFor('a rate', async () => (await prom.query(`sum(rate(${metric}[1m]))`)).length > 0, 30_000, 500);
    const cases: [string, string | undefined, string][] = [
      [expr.replace(metric, `${metric}_nope`), undefined, 'has no series'],
      [`sum by (tyk_api_nam) (rate(${metric}[1m])) or vector(0)`, undefined, 'label tyk_api_nam'],
      [`sum(rate(${metric}[1m]))`, '{{tyk_api_name}}', 'legend label'],
    ];
    for (const [q, legend, want] of cases) {
      const problems = await checkQuery(checker, q, legend);
      assert.ok(problems.some((p) => p.includes(want)), `${q}: ${JSON.stringify(problems)}`);
    }
  });

  it('every panel query returns data, without errors, naming only metrics and labels that exist', async () => {
    const queries = dashboards.flatMap(({ file, dashboard }) =>
      (dashboard.panels ?? []).flatMap((p) =>
        ((p as Panel).targets ?? []).map((t) => ({ where: `${file} / ${p.title} / ${String(t['refId'])}`, expr: String(t['expr']), legend: t['legendFormat'] as string | undefined })),
      ),
    );
    assert.ok(queries.length > 60, `only ${queries.length} queries`);
    let failures: string[] = [];
    // Rates need two scrapes, the slo gauges an evaluation, the OTLP failures a first attempt: retry until all answer.
    await waitFor('every dashboard query to return data', async () => {
      failures = [];
      for (const q of queries) {
        const problems = await checkQuery(checker, q.expr, q.legend);
        if (problems.length > 0) failures.push(`${q.where}: ${problems.join('; ')}\n    ${q.expr}`);
      }
      return failures.length === 0;
    }, 90_000, 2000).catch(() => undefined);
    assert.deepEqual(failures, [], `${failures.length} of ${queries.length} queries failed:\n${failures.join('\n')}`);
  });

  it('the agent alert rules name only metrics and labels the agent serves', async () => {
    const rules = agentRules(metricNames(nameOptions(config) as NameOptions), { ...DEFAULT_AGENT_RULES, queueCapacities: { otlp_http: 5000 } });
    let problems: string[] = [];
    await waitFor('every rule expression to name existing metrics and labels', async () => {
      problems = [];
      for (const r of rules.groups[0]?.rules ?? []) {
        if (!('alert' in r)) continue;
        const { metrics, labels } = referenced(r.expr);
        const known = new Set(BUILTIN_LABELS);
        for (const metric of metrics) {
          const l = await checker.labelsOf(metric);
          if (l.size === 0 && !BUILTIN_METRICS.has(metric)) problems.push(`${r.alert}: metric ${metric} has no series`);
          for (const x of l) known.add(x);
        }
        for (const label of labels) if (!known.has(label)) problems.push(`${r.alert}: label ${label} exists on none of ${metrics.join(', ')}`);
        // The expression itself is valid PromQL that Prometheus evaluates.
        await prom.query(r.expr);
      }
      return problems.length === 0;
    }, 60_000, 2000).catch(() => undefined);
    assert.deepEqual(problems, []);
  });

  it('every template variable query finds values', async () => {
    for (const { file, dashboard } of dashboards) {
      for (const v of variableQueries(dashboard)) {
        const r = await fetch(`${prom.url}/api/v1/label/${v.label}/values?match[]=${encodeURIComponent(grafanaExpand(v.metric))}`);
        const body = (await r.json()) as { status: string; data: string[] };
        assert.equal(body.status, 'success', `${file} $${v.name}`);
        assert.ok(body.data.length > 0, `${file} $${v.name}: label_values(${v.metric}, ${v.label}) is empty`);
      }
    }
  });
});
