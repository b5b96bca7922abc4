/**
 * End to end: real gateway fixture bytes in a real Redis → `tyk_redis` → `sli` → `otlp_http` → a test
 * OTLP receiver decoding the protobuf with the official schema. The cumulative histogram bucket counts and
 * request counters must equal what the fixtures' `expected` values say.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { allFixtures, pushFixtures } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { startOtlpSink, type OtlpSink, type SinkPoint } from './helpers/otlp-sink.js';

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

function bucketOf(seconds: number): number {
  let i = 0;
  while (i < BOUNDS.length && seconds > (BOUNDS[i] as number)) i++;
  return i;
}

describe('metrics pipeline end to end (fixtures → Redis → sli → OTLP/HTTP protobuf)', () => {
  let sink: OtlpSink;
  let redis: TestRedis;
  before(async () => {
    sink = await startOtlpSink();
    redis = await testRedis('otlp-metrics');
  });
  after(async () => {
    await sink.close();
    await redis.cleanup();
  });

  it('exports cumulative counters and histograms whose buckets match the fixtures', async () => {
    const fixtures = allFixtures();
    await pushFixtures(redis, fixtures);
    const http = fixtures.filter((f) => f.format !== 'uptime' && f.expected['response_code'] !== -1);
    const agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}host-checker:tyk-uptime-analytics
    poll_interval: 50ms
processors:
  sli: {}
exporters:
  otlp_http:
    endpoint: ${sink.url}
    export_interval: 200ms
    resource: { deployment.environment.name: test }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [sli], exporters: [otlp_http] }
`);
    try {
      const latest = (): SinkPoint[] => {
        const pts = sink.points();
        const last = pts.at(-1)?.request;
        return pts.filter((p) => p.request === last);
      };
      const total = (name: string) => latest().filter((p) => p.name === name).reduce((a, p) => a + (p.value ?? p.count ?? 0), 0);
      await waitFor('every HTTP record counted in an export', () => total('tyk.api.requests') >= http.length, 20_000);
      const pts = latest();
      assert.equal(total('tyk.api.requests'), http.length);

      const durations = pts.filter((p) => p.name === 'http.server.request.duration');
      assert.ok(durations.length > 1);
      const buckets = new Array<number>(BOUNDS.length + 1).fill(0);
      for (const p of durations) {
        assert.equal(p.type, 'histogram');
        assert.equal(p.temporality, 2, 'cumulative');
        assert.equal(p.unit, 's');
        assert.deepEqual(p.explicitBounds, BOUNDS);
        assert.equal(p.resource['deployment.environment.name'], 'test', 'exporter resource merged over the batch resource');
        p.bucketCounts?.forEach((c, i) => (buckets[i] = (buckets[i] ?? 0) + c));
      }
      const expected = new Array<number>(BOUNDS.length + 1).fill(0);
      for (const f of http) {
        const i = bucketOf((f.expected['latency'] as { total: number }).total / 1000);
        expected[i] = (expected[i] ?? 0) + 1;
      }
      assert.deepEqual(buckets, expected, 'bucket counts over all series equal the fixtures');

      // Per series: the request counter of each (api id, status) equals the fixture count.
      const want = new Map<string, number>();
      for (const f of http) {
        const k = `${String(f.expected['api_id'])}|${String(f.expected['response_code'])}`;
        want.set(k, (want.get(k) ?? 0) + 1);
      }
      const got = new Map<string, number>();
      for (const p of pts.filter((x) => x.name === 'tyk.api.requests')) {
        assert.equal(p.isMonotonic, true);
        const k = `${String(p.attributes['tyk.api.id'])}|${String(p.attributes['http.response.status_code'])}`;
        got.set(k, (got.get(k) ?? 0) + (p.value ?? 0));
        assert.equal(p.attributes['error.type'], Number(p.attributes['http.response.status_code']) >= 500 ? String(p.attributes['http.response.status_code']) : undefined);
      }
      assert.deepEqual(got, want);
    } finally {
      await agent.stop();
    }
  });
});
