/**
 * End to end: real gateway fixture bytes in a real Redis → `tyk_redis` → `audit_log` → `otlp_http` →
 * a test OTLP receiver that decodes the protobuf with the official schema.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { allFixtures, type Fixture } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { startOtlpSink, type OtlpSink } from './helpers/otlp-sink.js';

function config(r: TestRedis, sinkUrl: string, extra = ''): string {
  return `
receivers:
  tyk_redis:
    endpoint: ${r.url}
    key_prefix: ${r.prefix}analytics-
    uptime_key: ${r.prefix}host-checker:tyk-uptime-analytics
    delivery: at_least_once
    poll_interval: 50ms
processors:
  audit_log:${extra === '' ? ' {}' : extra}
exporters:
  otlp_http:
    endpoint: ${sinkUrl}
    headers: { x-api-key: "\${env:OTLP_TEST_KEY}" }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`;
}

async function push(r: TestRedis, fixtures: readonly Fixture[]): Promise<void> {
  const byKey = new Map<string, Buffer[]>();
  for (const f of fixtures) {
    const key = `${r.prefix}${f.redisKey}`;
    byKey.set(key, [...(byKey.get(key) ?? []), f.bytes]);
  }
  for (const [key, values] of byKey) await r.push(key, values);
}

describe('logs pipeline end to end (fixtures → Redis → audit_log → OTLP/HTTP protobuf)', () => {
  let sink: OtlpSink;
  let redis: TestRedis;
  before(async () => {
    sink = await startOtlpSink();
    redis = await testRedis('otlp-logs');
  });
  after(async () => {
    await sink.close();
    await redis.cleanup();
  });

  it('delivers one log record per HTTP fixture record with the expected attributes; network/uptime counted as skipped', async () => {
    const fixtures = allFixtures();
    await push(redis, fixtures);
    const http = fixtures.filter((f) => f.format !== 'uptime' && f.expected['response_code'] !== -1);
    const skipped = fixtures.length - http.length;
    const agent = await startAgent(config(redis, sink.url), { env: { OTLP_TEST_KEY: 'k-very-secret-123' } });
    try {
      await waitFor('every HTTP record at the OTLP receiver', () => sink.logs().length >= http.length, 20_000);
      const logs = sink.logs();
      assert.equal(logs.length, http.length, 'exactly once each');
      const byKey = new Map(logs.map((l) => [`${l.timeUnixNano}|${String(l.attributes['url.path'])}|${String(l.attributes['http.request.method'])}`, l]));
      for (const f of http) {
        const e = f.expected as Record<string, unknown> & { latency: Record<string, number> };
        const ts = String(e['timestamp']);
        const ms = BigInt(Date.parse(ts));
        const frac = /\.(\d+)Z$/.exec(ts)?.[1] ?? '';
        const nanos = BigInt(Math.floor(Number(ms) / 1000)) * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0');
        const l = byKey.get(`${nanos}|${String(e['raw_path'] || e['path'])}|${String(e['method'])}`);
        assert.ok(l, `log for ${ts} ${String(e['path'])}`);
        const code = e['response_code'] as number;
        assert.equal(l.attributes['http.response.status_code'], code);
        assert.equal(l.attributes['tyk.api.id'], e['api_id']);
        assert.equal(l.attributes['tyk.latency.total_ms'], e.latency['total']);
        assert.equal(l.attributes['error.type'], code >= 500 ? String(code) : undefined);
        assert.equal(l.severityNumber, code >= 500 ? 17 : code >= 400 ? 13 : 9);
        assert.equal(l.body, `${String(e['method'])} ${String(e['path'])} ${code} ${e.latency['total']}ms`);
        assert.deepEqual(l.resource, { 'service.name': 'tyk-gateway' });
        assert.equal(l.scope, 'tyk-otel-pump/audit_log');
      }
      // The API key header went out, and never into a log line.
      assert.ok(sink.requests.every((r) => r.headers['x-api-key'] === 'k-very-secret-123' && r.contentEncoding === 'gzip' && r.contentType === 'application/x-protobuf'));
      assert.ok(!JSON.stringify(agent.logs).includes('k-very-secret-123'));
      const scrape = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
      const dropped = scrape.split('\n').find((l) => l.startsWith('tyk_otel_pump_processor_dropped_items_total{') && l.includes('reason="kind_not_selected"'));
      assert.equal(Number(dropped?.split(' ').pop()), skipped, scrape.split('\n').filter((l) => l.includes('dropped')).join('\n'));
      const sent = scrape.split('\n').find((l) => l.startsWith('tyk_otel_pump_exporter_sent_items_total{') && l.includes('signal="logs"'));
      assert.equal(Number(sent?.split(' ').pop()), http.length);
      assert.equal(await redis.client.llen(`${redis.prefix}analytics-tyk-system-analytics`), 0);
    } finally {
      await agent.stop();
    }
  });
});
