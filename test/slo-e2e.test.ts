/**
 * SLOs end to end with real parts:
 * - gateway fixtures (raw bytes RPUSHed into Redis) → a real agent (tyk_redis → route → sli → prometheus)
 *   → a real Prometheus scraping it every second and evaluating the rules `slo-rules` generated from the
 *   same config: the SLI recording rules return the error ratios the fixtures imply (computed here from
 *   their `expected` JSON), and the page alert fires;
 * - two real agents draining the same lists with the `slo` processor (state shared in Redis) report the
 *   same, complete SLO on their /metrics, and a restarted agent reports it again before any new traffic.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../src/config/load.js';
import { factories } from '../src/factories.js';
import { generateRules, renderRules } from '../src/slo/rules.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { allFixtures, pushFixtures } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startPrometheus, type PrometheusServer } from './helpers/prometheus.js';
import { syntheticRecord } from './helpers/synthetic-records.js';

const PAYMENTS = '3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b';
const LEGACY = 'Legacy--SOAP "quoted" api';

function agentYaml(redis: TestRedis, extra: { processors: string; pipeline: string; slos: string }): string {
  return `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}host-checker:tyk-uptime-analytics
    poll_interval: 50ms
processors:
  route: {}
${extra.processors}
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [${extra.pipeline}], exporters: [prometheus] }
  telemetry:
    metrics: { address: 127.0.0.1:0 }
slos:
${extra.slos}
`;
}

describe('SLO rules against a real Prometheus, fed by the real agent from gateway fixtures', () => {
  let redis: TestRedis;
  let agent: RunningAgent | undefined;
  let prom: PrometheusServer | undefined;

  before(async () => {
    redis = await testRedis('slo-e2e');
  });
  after(async () => {
    await prom?.stop();
    await agent?.stop();
    await redis.cleanup();
  });

  it('the recording rules return the error ratios the fixtures imply, and the page alert fires', async () => {
    const yaml = agentYaml(redis, {
      processors: '  sli: {}',
      pipeline: 'route, sli',
      slos: `
  - { name: pay-availability, objective: 99, selector: { api_ids: [${PAYMENTS}] }, sli: { type: availability } }
  - { name: pay-latency, objective: 99, selector: { api_ids: [${PAYMENTS}] }, sli: { type: latency, threshold_seconds: 0.25 } }
  - name: legacy-and-orders
    objective: 99
    selector: { api_names: [${JSON.stringify(LEGACY)}, Orders API] }
    sli: { type: availability, error_definition: { status_classes: [4xx, 5xx], exclude_status_codes: [404] } }
    alerting: { page_alert: { enabled: false }, ticket_alert: { enabled: false } }
`,
    });
    const loaded = loadConfigText(yaml, 'e2e.yaml', factories, {});
    assert.deepEqual(loaded.problems, []);
    const config = loaded.config;
    assert.ok(config);
    const rules = renderRules(generateRules(config.shared.slos, { metricsErrorDefinition: config.shared.errorDefinition, version: 'e2e' }), 'e2e.yaml');

    // What the fixtures imply, from their expected JSON only.
    const fixtures = allFixtures().filter((f) => f.format !== 'uptime');
    const http = fixtures.map((f) => f.expected).filter((e) => e['response_code'] !== -1);
    const ratio = (select: (e: Record<string, unknown>) => boolean, bad: (e: Record<string, unknown>) => boolean) => {
      const sel = http.filter(select);
      return sel.filter(bad).length / sel.length;
    };
    const code = (e: Record<string, unknown>) => e['response_code'] as number;
    const expected = {
      'pay-availability': ratio((e) => e['api_id'] === PAYMENTS, (e) => code(e) >= 500),
      'pay-latency': ratio((e) => e['api_id'] === PAYMENTS, (e) => (e['request_time'] as number) > 250),
      'legacy-and-orders': ratio(
        (e) => e['api_name'] === LEGACY || e['api_name'] === 'Orders API',
        (e) => code(e) >= 400 && code(e) < 600 && code(e) !== 404,
      ),
    };
    assert.ok(expected['pay-availability'] > 0.1 && expected['pay-latency'] > 0.01 && expected['legacy-and-orders'] > 0.1, JSON.stringify(expected));

    agent = await startAgent(yaml);
    const target = agent.telemetryUrl.replace('http://', '');
    prom = await startPrometheus({ targets: [target], rules: { 'slo-rules.yml': rules } });
    await prom.waitForTargets();
    const p = prom;
    const requests = async () => (await p.query('sum(tyk_api_requests_total)'))[0]?.value ?? 0;

    // Counters that appear already at their final value show no increase to rate(): push the fixtures once,
    // wait until Prometheus scraped all of them, push them again; every series then grows by exactly one
    // copy of the fixtures.
    const push = () => pushFixtures(redis, fixtures);
    await push();
    await waitFor('the first copy scraped', async () => (await requests()) === http.length, 20_000, 200);
    await push();
    await waitFor('the second copy scraped', async () => (await requests()) === 2 * http.length, 20_000, 200);

    for (const [slo, want] of Object.entries(expected)) {
      const got = await waitFor(`slo:sli_error:ratio_rate5m of ${slo}`, async () => {
        const r = await p.query(`slo:sli_error:ratio_rate5m{sloth_slo="${slo}"}`);
        const v = r[0]?.value;
        return v !== undefined && Math.abs(v - want) < 1e-9 ? r : undefined;
      }, 15_000, 250).catch(async (err: unknown) => {
        throw new Error(`${String(err)}; last value ${JSON.stringify(await p.query(`slo:sli_error:ratio_rate5m{sloth_slo="${slo}"}`))}, expected ${want}`);
      });
      assert.equal(got.length, 1);
      assert.equal(got[0]?.metric['sloth_window'], '5m');
    }
    // Burning at ~18× a 1 % budget over every window: the page alert fires.
    const alerts = await waitFor('the page alert', async () => {
      const r = await p.query('ALERTS{alertname="PayAvailabilityErrorBudgetBurn", alertstate="firing"}');
      return r.length > 0 ? r : undefined;
    }, 15_000, 250);
    assert.deepEqual(alerts.map((a) => a.metric['sloth_severity']).sort(), ['page', 'ticket']);
    const remaining = await p.query('slo:period_error_budget_remaining:ratio{sloth_slo="pay-availability"}');
    assert.ok(Math.abs((remaining[0]?.value ?? NaN) - (1 - expected['pay-availability'] / 0.01)) < 0.05, JSON.stringify(remaining));
  });
});

describe('slo processor in real agents sharing Redis', () => {
  let redis: TestRedis;
  const agents: RunningAgent[] = [];

  before(async () => {
    redis = await testRedis('slo-agents');
  });
  after(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await redis.cleanup();
  });

  async function gauges(a: RunningAgent): Promise<Record<string, number>> {
    const text = await (await fetch(`${a.telemetryUrl}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('tyk_slo_')) continue;
      const name = line.slice(0, line.lastIndexOf(' ')).replace(/,?otel_scope_name="[^"]*"/, '').replace('{,', '{');
      out[name] = Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return out;
  }

  it('two agents draining the same lists report the same, complete SLO; a restarted agent reports it at once', async () => {
    const yaml = agentYaml(redis, {
      processors: `  slo: { endpoint: "${redis.url}", key_prefix: "${redis.prefix}", evaluation_interval: 1s }`,
      pipeline: 'route, slo',
      slos: '  - { name: orders-availability, objective: 99, selector: { api_ids: [orders] }, sli: { type: availability } }',
    });
    agents.push(await startAgent(yaml), await startAgent(yaml));
    // 300 good requests first, then 100 server errors: any partial count shows a ratio below 0.25.
    const ids = [...Array(400).keys()];
    const good = ids.filter((i) => i % 4 !== 3).map((i) => syntheticRecord(i));
    const bad = ids.filter((i) => i % 4 === 3).map((i) => syntheticRecord(i));
    await redis.push(`${redis.prefix}analytics-tyk-system-analytics`, [...good, ...bad]);

    const ratio5m = 'tyk_slo_error_ratio{tyk_slo_name="orders-availability",window="5m"}';
    for (const a of agents) await waitFor('the complete SLO on every agent', async () => (await gauges(a))[ratio5m] === 0.25, 15_000, 100);
    // Both drained a part; each reports the whole.
    const [ga, gb] = [await gauges(agents[0] as RunningAgent), await gauges(agents[1] as RunningAgent)];
    assert.deepEqual(ga, gb);
    assert.equal(ga['tyk_slo_error_budget_remaining_ratio{tyk_slo_name="orders-availability"}'], 1 - 0.25 / 0.01);
    assert.equal(ga['tyk_slo_burn_rate_ratio{tyk_slo_name="orders-availability",window="1h"}'], 0.25 / 0.01);
    assert.equal(ga['tyk_slo_alert{tyk_slo_name="orders-availability",severity="page"}'], 1);
    assert.equal(ga['tyk_slo_objective_ratio{tyk_slo_name="orders-availability"}'], 0.99);

    await (agents.shift() as RunningAgent).stop();
    const restarted = await startAgent(yaml);
    agents.push(restarted);
    await waitFor('the restarted agent reporting the SLO from Redis', async () => (await gauges(restarted))[ratio5m] === 0.25, 10_000, 100);
  });
});
