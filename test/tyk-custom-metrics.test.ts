/**
 * Tyk Pump's Prometheus `custom_metrics` end to end: real fixture records in Redis → tyk_redis → sli
 * (Tyk-compatible mode with the custom metrics of Tyk's SLO demo) → prometheus. Every family, label set
 * and value served is compared with what the fixtures' expected JSON implies under Tyk's rules, computed
 * here on its own (path "unknown" unless tracked, api_key obfuscated, request time in the configured
 * buckets, MCP-only counting, network records excluded), and `promtool check metrics` passes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pushFixtures, type Fixture } from './helpers/fixtures.js';
import { analyticsFixtures, httpFixtures, parseExposition as parse, tykObfuscated as obfuscated, type Sample } from './helpers/exposition.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { testRedis, type TestRedis } from './helpers/redis.js';

const ANALYTICS = analyticsFixtures();
const HTTP = httpFixtures(ANALYTICS);
const BUCKETS = [10, 50, 100, 500, 1000];

/** The demo's labels of a fixture, in order. */
function demoLabels(f: Fixture): Record<string, string> {
  const e = f.expected;
  return {
    response_code: String(e['response_code']),
    api_name: String(e['api_name']),
    method: String(e['method']),
    api_key: obfuscated(String(e['api_key'])),
    alias: String(e['alias']),
    path: e['track_path'] === true ? String(e['path']) : 'unknown',
  };
}

function key(labels: Record<string, string>, names: readonly string[]): string {
  return JSON.stringify(names.map((n) => [n, labels[n]]));
}

describe('Tyk custom_metrics: fixture records → sli → prometheus', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent;

  before(async () => {
    redis = await testRedis('tyk-custom');
    await pushFixtures(redis, ANALYTICS);
    agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    poll_interval: 50ms
processors:
  sli:
    disabled_metrics: [http.server.request.duration, tyk.upstream.request.duration, tyk.gateway.request.duration, tyk.api.requests, http.server.request.body.size, tyk.network.connections.opened, tyk.network.connections.closed, tyk.network.io, tyk.uptime.check.duration, tyk.uptime.checks]
    tyk_compatible:
      enabled: true
      disabled_metrics: [tyk_http_status, tyk_http_status_per_path, tyk_http_status_per_key, tyk_http_status_per_oauth_client, tyk_latency]
      custom_metrics:
        - name: tyk_http_requests_total
          help: Total requests
          metric_type: counter
          labels: [response_code, api_name, method, api_key, alias, path]
          obfuscate_api_keys: true
        - name: tyk_http_latency
          help: Request latency in milliseconds
          metric_type: histogram
          buckets: [${BUCKETS.join(', ')}]
          labels: [type, response_code, api_name, method, api_key, alias, path]
          obfuscate_api_keys: true
        - name: tyk_mcp_requests_total
          help: MCP requests
          metric_type: counter
          labels: [api, mcp_method, mcp_primitive_type, mcp_primitive_name]
          mcp_only: true
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
    without_scope_info: true
    without_target_info: true
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [sli], exporters: [prometheus] }
  telemetry:
    metrics:
      address: 127.0.0.1:0
`);
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
  });

  it('serves the names, label names and label values Tyk Pump would, with the values the fixtures imply', async () => {
    const url = `${agent.telemetryUrl}/metrics`;
    let samples: Sample[] = [];
    await waitFor('every record counted', async () => {
      samples = parse(await (await fetch(url)).text());
      return samples.filter((s) => s.name === 'tyk_http_requests_total').reduce((a, s) => a + s.value, 0) === HTTP.length;
    }, 30_000, 200);
    const text = await (await fetch(url)).text();
    samples = parse(text);

    const demo = ['response_code', 'api_name', 'method', 'api_key', 'alias', 'path'];
    // Counter: one series per distinct label set, exactly Tyk's labels in Tyk's order, no others.
    const counters = samples.filter((s) => s.name === 'tyk_http_requests_total');
    const want = new Map<string, number>();
    for (const f of HTTP) {
      const k = key(demoLabels(f), demo);
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    assert.deepEqual(new Map(counters.map((s) => [key(s.labels, demo), s.value])), want);
    for (const s of counters) assert.deepEqual(Object.keys(s.labels), demo);
    assert.ok([...want.keys()].some((k) => k.includes('"unknown"')) && [...want.keys()].some((k) => !k.includes('"unknown"')), 'both hidden and tracked paths');

    // Histogram: request time in the configured buckets, type="total" first.
    const withType = ['type', ...demo];
    const wantBuckets = new Map<string, number>();
    const wantCount = new Map<string, number>();
    const wantSum = new Map<string, number>();
    for (const f of HTTP) {
      const k = key({ type: 'total', ...demoLabels(f) }, withType);
      const t = f.expected['request_time'] as number;
      for (const le of BUCKETS) wantBuckets.set(`${k}|${le}`, (wantBuckets.get(`${k}|${le}`) ?? 0) + (t <= le ? 1 : 0));
      wantBuckets.set(`${k}|+Inf`, (wantBuckets.get(`${k}|+Inf`) ?? 0) + 1);
      wantCount.set(k, (wantCount.get(k) ?? 0) + 1);
      wantSum.set(k, (wantSum.get(k) ?? 0) + t);
    }
    const buckets = samples.filter((s) => s.name === 'tyk_http_latency_bucket');
    for (const s of buckets) assert.deepEqual(Object.keys(s.labels), [...withType, 'le']);
    assert.deepEqual(new Map(buckets.map((s) => [`${key(s.labels, withType)}|${s.labels['le']}`, s.value])), wantBuckets);
    assert.deepEqual(new Map(samples.filter((s) => s.name === 'tyk_http_latency_count').map((s) => [key(s.labels, withType), s.value])), wantCount);
    assert.deepEqual(new Map(samples.filter((s) => s.name === 'tyk_http_latency_sum').map((s) => [key(s.labels, withType), s.value])), wantSum);

    // MCP-only counter: the MCP records alone.
    const mcpNames = ['api', 'mcp_method', 'mcp_primitive_type', 'mcp_primitive_name'];
    const wantMcp = new Map<string, number>();
    for (const f of HTTP) {
      const m = f.expected['mcp_stats'] as Record<string, unknown> | undefined;
      if (m?.['is_mcp'] !== true) continue;
      const k = key({ api: String(f.expected['api_id']), mcp_method: String(m['jsonrpc_method']), mcp_primitive_type: String(m['primitive_type']), mcp_primitive_name: String(m['primitive_name']) }, mcpNames);
      wantMcp.set(k, (wantMcp.get(k) ?? 0) + 1);
    }
    assert.ok(wantMcp.size > 0, 'the fixtures hold MCP records');
    assert.deepEqual(new Map(samples.filter((s) => s.name === 'tyk_mcp_requests_total').map((s) => [key(s.labels, mcpNames), s.value])), wantMcp);

    // Exactly the configured families under Tyk's names, and our own request counter not among them.
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).filter((f) => !f.startsWith('tyk_otel_pump_')));
    assert.deepEqual(families, new Set(['tyk_http_requests_total counter', 'tyk_http_latency histogram', 'tyk_mcp_requests_total counter']));

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');
    assert.equal(lint.status, 0);
  });
});
