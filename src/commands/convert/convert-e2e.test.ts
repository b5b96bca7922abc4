/**
 * End to end: a Tyk Pump pump.conf with a Prometheus pump → `convert` → an agent started from the converted
 * config → the gateway fixtures' real wire bytes in a real Redis → a scrape of the pump's listen_address.
 * The families, label names and label values a Tyk Pump user scrapes are computed here from the fixtures'
 * expected values with Tyk Pump's rules (pump `pumps/prometheus.go`), never from our code, and the scrape
 * goes through `promtool check metrics`. The pump has the custom_metrics of Tyk's SLO demo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pushFixtures, type Fixture } from '../../../test/helpers/fixtures.js';
import { analyticsFixtures, httpFixtures, parseExposition, tykObfuscated as obfuscate, type Sample } from '../../../test/helpers/exposition.js';
import { testRedis, TEST_REDIS_URL, type TestRedis } from '../../../test/helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from '../../../test/helpers/agent.js';
import { freePort } from '../../../test/helpers/tyk-redis.js';
import { convert } from './convert.js';

const ANALYTICS = analyticsFixtures();
// Network-stats records (code -1): Tyk Pump counts them as code "-1"; the agent does not (README).
const HTTP = httpFixtures(ANALYTICS);

/** Tyk Pump's label names per family, in its order. */
const TYK_LABELS: Readonly<Record<string, readonly string[]>> = {
  tyk_http_status: ['code', 'api'],
  tyk_http_status_per_path: ['code', 'api', 'path', 'method'],
  tyk_http_status_per_key: ['code', 'key'],
  tyk_http_status_per_oauth_client: ['code', 'client_id'],
  tyk_latency: ['type', 'api'],
  // custom_metrics, as Tyk's SLO demo defines them: label names as configured, histograms with type first.
  tyk_http_requests_total: ['response_code', 'api_name', 'method', 'api_key', 'alias', 'path'],
  tyk_http_latency: ['type', 'response_code', 'api_name'],
};

function tally(items: readonly Fixture[], key: (f: Fixture) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of items) m.set(key(f), (m.get(key(f)) ?? 0) + 1);
  return m;
}

function byLabels(samples: readonly Sample[], name: string, labels: readonly string[]): Map<string, number> {
  return new Map(samples.filter((s) => s.name === name).map((s) => [labels.map((l) => s.labels[l]).join('|'), s.value]));
}

const e = (f: Fixture, k: string): string => String(f.expected[k] ?? '');

describe('convert → agent → Prometheus scrape, as a Tyk Pump user sees it', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent;
  let metricsUrl: string;

  before(async () => {
    redis = await testRedis('convert-e2e');
    await pushFixtures(redis, ANALYTICS);
    const url = new URL(TEST_REDIS_URL);
    const listen = await freePort();
    const health = await freePort();
    const pumpConf = {
      analytics_storage_config: {
        type: 'redis',
        host: url.hostname,
        port: Number(url.port || 6379),
        database: Number(url.pathname.slice(1) || 0),
        key_prefix: `${redis.prefix}analytics-`,
      },
      purge_delay: 1,
      dont_purge_uptime_data: true,
      health_check_endpoint_port: health,
      pumps: {
        prometheus: {
          type: 'prometheus',
          meta: {
            listen_address: `127.0.0.1:${listen}`,
            path: '/metrics',
            custom_metrics: [
              { name: 'tyk_http_requests_total', description: 'Total of API requests', metric_type: 'counter', obfuscate_api_keys: true, labels: ['response_code', 'api_name', 'method', 'api_key', 'alias', 'path'] },
              { name: 'tyk_http_latency', description: 'Latency of API requests', metric_type: 'histogram', labels: ['type', 'response_code', 'api_name'] },
            ],
          },
        },
      },
    };
    const result = convert(JSON.stringify(pumpConf), {});
    // The health port is Tyk's (all interfaces); the test keeps it on loopback.
    agent = await startAgent(result.agentYaml.replace(`0.0.0.0:${health}`, `127.0.0.1:${health}`));
    metricsUrl = `http://127.0.0.1:${listen}/metrics`;
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
  });

  it('serves Tyk Pump\'s families with Tyk\'s label names and the values Tyk Pump computes', async () => {
    const samples = await waitFor('every request in tyk_http_status', async () => {
      const s = parseExposition(await (await fetch(metricsUrl)).text());
      const total = s.filter((x) => x.name === 'tyk_http_status').reduce((a, x) => a + x.value, 0);
      return total === HTTP.length ? s : undefined;
    }, 30_000, 250);

    // Only Tyk's families, each with exactly Tyk's label names.
    const families = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    assert.deepEqual([...families].sort(), Object.keys(TYK_LABELS).sort());
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      const want = [...(TYK_LABELS[family] ?? []), ...(s.name.endsWith('_bucket') ? ['le'] : [])];
      assert.deepEqual(Object.keys(s.labels).sort(), [...want].sort(), `labels of ${s.name}`);
    }

    assert.deepEqual(byLabels(samples, 'tyk_http_status', ['code', 'api']), tally(HTTP, (f) => `${e(f, 'response_code')}|${e(f, 'api_id')}`));
    // Untracked paths are "unknown" unless track_all_paths.
    assert.deepEqual(
      byLabels(samples, 'tyk_http_status_per_path', ['code', 'api', 'path', 'method']),
      tally(HTTP, (f) => `${e(f, 'response_code')}|${e(f, 'api_id')}|${f.expected['track_path'] === true ? e(f, 'path') : 'unknown'}|${e(f, 'method')}`),
    );
    assert.deepEqual(byLabels(samples, 'tyk_http_status_per_key', ['code', 'key']), tally(HTTP, (f) => `${e(f, 'response_code')}|${e(f, 'api_key')}`));
    assert.deepEqual(byLabels(samples, 'tyk_http_status_per_oauth_client', ['code', 'client_id']), tally(HTTP, (f) => `${e(f, 'response_code')}|${e(f, 'oauth_id')}`));

    const perApi = tally(HTTP, (f) => e(f, 'api_id'));
    for (const type of ['total', 'upstream', 'gateway']) {
      assert.deepEqual(
        new Map([...byLabels(samples, 'tyk_latency_count', ['type', 'api'])].filter(([k]) => k.startsWith(`${type}|`)).map(([k, v]) => [k.slice(type.length + 1), v])),
        perApi,
        `tyk_latency_count{type="${type}"}`,
      );
    }
    const sums = byLabels(samples, 'tyk_latency_sum', ['type', 'api']);
    for (const api of perApi.keys()) {
      const want = HTTP.filter((f) => e(f, 'api_id') === api).reduce((a, f) => a + (f.expected['request_time'] as number), 0);
      assert.equal(sums.get(`total|${api}`), want, `tyk_latency_sum{type="total",api="${api}"}`);
    }
    // Custom metrics: the counter per its labels (path "unknown" when untracked, keys obfuscated), the
    // histogram observing the request time under type="total".
    assert.deepEqual(
      byLabels(samples, 'tyk_http_requests_total', TYK_LABELS['tyk_http_requests_total'] ?? []),
      tally(HTTP, (f) => [e(f, 'response_code'), e(f, 'api_name'), e(f, 'method'), obfuscate(e(f, 'api_key')), e(f, 'alias'), f.expected['track_path'] === true ? e(f, 'path') : 'unknown'].join('|')),
    );
    assert.deepEqual(
      byLabels(samples, 'tyk_http_latency_count', ['type', 'response_code', 'api_name']),
      tally(HTTP, (f) => `total|${e(f, 'response_code')}|${e(f, 'api_name')}`),
    );
    const customSums = byLabels(samples, 'tyk_http_latency_sum', ['type', 'response_code', 'api_name']);
    for (const [k, want] of [...tally(HTTP, (f) => `total|${e(f, 'response_code')}|${e(f, 'api_name')}`).keys()].map((k) => [k, HTTP.filter((f) => `total|${e(f, 'response_code')}|${e(f, 'api_name')}` === k).reduce((a, f) => a + (f.expected['request_time'] as number), 0)] as const)) {
      assert.equal(customSums.get(k), want, `tyk_http_latency_sum{${k}}`);
    }
    assert.match(await (await fetch(metricsUrl)).text(), /^# HELP tyk_http_requests_total Total of API requests$/m, 'description became the HELP text');

    // Tyk's default buckets (ms).
    const les = new Set(samples.filter((s) => s.name === 'tyk_latency_bucket').map((s) => s.labels['le']));
    assert.deepEqual([...les].sort((a, b) => Number(a) - Number(b)), ['1', '2', '5', '7', '10', '15', '20', '25', '30', '40', '50', '60', '70', '80', '90', '100', '200', '300', '400', '500', '1000', '2000', '5000', '10000', '30000', '60000', '+Inf']);
  });

  it('passes promtool check metrics, but for the _total suffix Tyk\'s own counter names lack', async () => {
    const text = await (await fetch(metricsUrl)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n').sort();
    assert.deepEqual(lines, ['tyk_http_status', 'tyk_http_status_per_key', 'tyk_http_status_per_oauth_client', 'tyk_http_status_per_path'].map((n) => `${n} counter metrics should have "_total" suffix`));
  });
});
