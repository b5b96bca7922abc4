/**
 * The path most users take first, end to end with real parts: the gateway fixtures' wire bytes in Redis →
 * `tyk_redis` → `route` → `sli` → `prometheus` exporter → a real Prometheus server scraping the agent.
 * Every expected number is computed here from the fixtures' `expected` JSON, never from our code.
 * A second pipeline from the same receiver feeds an `sli/tyk` processor with only the Tyk Pump families
 * to a second exporter on its own port (the way to add them without touching the default scrape).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadFixtures, pushFixtures, type Fixture } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { freePort } from './helpers/tyk-redis.js';
import { startPrometheus, type PromSample, type PrometheusServer } from './helpers/prometheus.js';

/** The agreed semantic-conventions buckets, written out independently of the processor's constant. */
const LE = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const ANALYTICS = [
  ...loadFixtures('gateway-msgpack.jsonl'),
  ...loadFixtures('gateway-legacy-v4.jsonl'),
  ...loadFixtures('gateway-pump18.jsonl'),
  ...loadFixtures('gateway-protobuf.jsonl'),
];
const UPTIME = loadFixtures('uptime-msgpack.jsonl');

const num = (f: Fixture, key: string): number => f.expected[key] as number;
const str = (f: Fixture, key: string): string => f.expected[key] as string;
const HTTP = ANALYTICS.filter((f) => num(f, 'response_code') !== -1);
const NETWORK = ANALYTICS.filter((f) => num(f, 'response_code') === -1);

function countBy<T>(items: readonly T[], key: (t: T) => string, value: (t: T) => number = () => 1): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + value(it));
  return m;
}

/** `promtool check metrics` on a scrape: exit status and everything it printed. */
function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function byLabel(samples: readonly PromSample[], ...labels: string[]): Map<string, number> {
  return new Map(samples.map((s) => [labels.map((l) => s.metric[l] ?? '').join('|'), s.value]));
}

describe('Redis → tyk_redis → route → sli → prometheus → Prometheus', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent;
  let prom: PrometheusServer;
  let target: string;
  let tykTarget: string;

  before(async () => {
    redis = await testRedis('prom-e2e');
    await pushFixtures(redis, [...ANALYTICS, ...UPTIME], { uptimeKey: 'uptime' });
    tykTarget = `127.0.0.1:${await freePort()}`;
    agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    poll_interval: 100ms
processors:
  route: {}
  sli: {}
  sli/tyk:
    disabled_metrics: [http.server.request.duration, tyk.upstream.request.duration, tyk.gateway.request.duration, tyk.api.requests, http.server.request.body.size, tyk.network.connections.opened, tyk.network.connections.closed, tyk.network.io, tyk.uptime.check.duration, tyk.uptime.checks]
    tyk_compatible:
      enabled: true
      latency_buckets_ms: [10, 100, 1000]
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
  prometheus/tyk:
    endpoint: ${tykTarget}
    without_target_info: true
service:
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [route, sli]
      exporters: [prometheus]
    metrics/tyk:
      receivers: [tyk_redis]
      processors: [sli/tyk]
      exporters: [prometheus/tyk]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`);
    target = agent.telemetryUrl.replace('http://', '');
    prom = await startPrometheus({ targets: [target, tykTarget], scrapeInterval: '1s' });
  });

  after(async () => {
    await prom?.stop();
    await agent?.stop();
    await redis?.cleanup();
  });

  it('Prometheus sees every request, per API, with the right error counts and histogram buckets', async () => {
    const wantRequests = countBy(HTTP, (f) => str(f, 'api_id'));
    const wantTotal = HTTP.length;
    await waitFor('Prometheus to have scraped every request', async () => {
      const r = await prom.query('sum(tyk_api_requests_total)');
      return r[0]?.value === wantTotal;
    }, 25_000, 250);

    const up = await prom.query(`up{instance=${JSON.stringify(target)}}`);
    assert.equal(up[0]?.value, 1);

    assert.deepEqual(byLabel(await prom.query('sum by (tyk_api_id) (tyk_api_requests_total)'), 'tyk_api_id'), wantRequests);

    // Default error definition: 5xx is bad.
    const bad = HTTP.filter((f) => num(f, 'response_code') >= 500 && num(f, 'response_code') <= 599);
    assert.ok(bad.length > 0);
    assert.deepEqual(byLabel(await prom.query('sum by (tyk_api_id) (tyk_api_requests_total{error_type!=""})'), 'tyk_api_id'), countBy(bad, (f) => str(f, 'api_id')));
    const errorTypes = await prom.query('sum by (error_type, http_response_status_code) (tyk_api_requests_total{error_type!=""})');
    for (const s of errorTypes) assert.equal(s.metric['error_type'], s.metric['http_response_status_code'], 'error.type is the status code');

    assert.deepEqual(byLabel(await prom.query('sum by (tyk_api_id) (http_server_request_duration_seconds_count)'), 'tyk_api_id'), wantRequests);
    const buckets = byLabel(await prom.query('sum by (tyk_api_id, le) (http_server_request_duration_seconds_bucket)'), 'tyk_api_id', 'le');
    const wantBuckets = new Map<string, number>();
    for (const api of wantRequests.keys()) {
      const times = HTTP.filter((f) => str(f, 'api_id') === api).map((f) => num(f, 'request_time') / 1000);
      for (const le of LE) wantBuckets.set(`${api}|${le}`, times.filter((t) => t <= le).length);
      wantBuckets.set(`${api}|+Inf`, times.length);
    }
    assert.deepEqual(buckets, wantBuckets);
    const sums = byLabel(await prom.query('sum by (tyk_api_id) (http_server_request_duration_seconds_sum)'), 'tyk_api_id');
    for (const [api, want] of countBy(HTTP, (f) => str(f, 'api_id'), (f) => num(f, 'request_time') / 1000)) {
      assert.ok(Math.abs((sums.get(api) ?? NaN) - want) < 1e-6, `sum of ${api}: ${sums.get(api)} vs ${want}`);
    }

    // Names as Tyk sends them (quotes, `--`, non-ASCII) survive the exposition.
    const names = await prom.query('count by (tyk_api_id, tyk_api_name) (tyk_api_requests_total)');
    const wantNames = new Set(HTTP.map((f) => `${str(f, 'api_id')}|${str(f, 'api_name')}`));
    assert.deepEqual(new Set(names.map((s) => `${s.metric['tyk_api_id']}|${s.metric['tyk_api_name']}`)), wantNames);

    // Network-stats records are connection/byte counters, not requests.
    assert.equal((await prom.query('sum(tyk_network_connections_opened_total)'))[0]?.value, NETWORK.reduce((a, f) => a + ((f.expected['network'] as Record<string, number>)['open_connections'] ?? 0), 0));
    const io = byLabel(await prom.query('sum by (network_io_direction) (tyk_network_io_bytes_total)'), 'network_io_direction');
    assert.equal(io.get('receive'), NETWORK.reduce((a, f) => a + ((f.expected['network'] as Record<string, number>)['bytes_in'] ?? 0), 0));
    assert.equal(io.get('transmit'), NETWORK.reduce((a, f) => a + ((f.expected['network'] as Record<string, number>)['bytes_out'] ?? 0), 0));

    // Uptime checks, up/down as the gateway judged them.
    const checks = byLabel(await prom.query('sum by (tyk_uptime_status) (tyk_uptime_checks_total)'), 'tyk_uptime_status');
    const down = UPTIME.filter((f) => f.expected['tcp_error'] === true || f.expected['server_error'] === true).length;
    assert.equal(checks.get('down') ?? 0, down);
    assert.equal(checks.get('up') ?? 0, UPTIME.length - down);
  });

  it('serves Tyk Pump\'s families under Tyk\'s names for existing dashboards (network records excluded)', async () => {
    await waitFor('Prometheus to have scraped the Tyk families', async () => {
      const r = await prom.query('sum(tyk_http_status)');
      return r[0]?.value === HTTP.length;
    }, 25_000, 250);
    assert.deepEqual(byLabel(await prom.query('sum by (api) (tyk_http_status)'), 'api'), countBy(HTTP, (f) => str(f, 'api_id')));
    assert.deepEqual(byLabel(await prom.query('sum by (code) (tyk_http_status)'), 'code'), countBy(HTTP, (f) => String(num(f, 'response_code'))));
    const paths = await prom.query('sum by (path) (tyk_http_status_per_path)');
    const tracked = HTTP.filter((f) => f.expected['track_path'] === true);
    assert.equal(byLabel(paths, 'path').get('unknown'), HTTP.length - tracked.length, 'untracked paths are "unknown"');
    const latency = byLabel(await prom.query('sum by (le) (tyk_latency_bucket{type="total"})'), 'le');
    const times = HTTP.map((f) => num(f, 'request_time'));
    assert.deepEqual(latency, new Map([['10', times.filter((t) => t <= 10).length], ['100', times.filter((t) => t <= 100).length], ['1000', times.filter((t) => t <= 1000).length], ['+Inf', times.length]]));
    assert.equal((await prom.query('count(tyk_api_requests_total{otel_scope_name="tyk-otel-pump/sli/tyk"})')).length, 0, 'only Tyk families from sli/tyk');
    const lint = promtoolCheckMetrics(await (await fetch(`http://${tykTarget}/metrics`)).text());
    assert.deepEqual(lint.output.split('\n').sort(), ['tyk_http_status', 'tyk_http_status_per_key', 'tyk_http_status_per_oauth_client', 'tyk_http_status_per_path'].map((n) => `${n} counter metrics should have "_total" suffix`));
  });

  it('serves a scrape promtool finds nothing wrong with, with the text 0.0.4 Content-Type', async () => {
    const res = await fetch(`${agent.telemetryUrl}/metrics`);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.match(text, /^http_server_request_duration_seconds_bucket\{/m);
    assert.match(text, /^tyk_otel_pump_/m, 'self-telemetry shares the default address');
    const lint = promtoolCheckMetrics(text);
    assert.equal(lint.output, '');
    assert.equal(lint.status, 0);
  });
});
