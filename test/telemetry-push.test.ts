/**
 * Self-telemetry pushed over OTLP/HTTP, the Collector's `service::telemetry::metrics::readers` shape: a real
 * agent drains fixture records from a real Redis while a local OTLP sink decodes its pushes with the
 * official protos. The receiver's accepted-items counter must rise to the number of records drained, under
 * the configured resource, with the configured header — in both http/protobuf and http/json.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { allFixtures, pushFixtures } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { startOtlpSink, type OtlpSink, type SinkPoint } from './helpers/otlp-sink.js';
import { loadConfigText } from '../src/config/load.js';
import { factories } from '../src/factories.js';

const ACCEPTED = 'tyk_otel_pump.receiver.accepted_items';

describe('self-telemetry pushed over OTLP/HTTP', () => {
  let sink: OtlpSink;
  let redis: TestRedis;
  before(async () => {
    sink = await startOtlpSink();
    redis = await testRedis('telemetry-push');
  });
  after(async () => {
    await sink.close();
    await redis.cleanup();
  });

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: the receiver's accepted-items counter rises as records are drained`, async () => {
      const before = sink.requests.length;
      const agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}${protocol.slice(5)}-analytics-
    uptime_key: ${redis.prefix}${protocol.slice(5)}-uptime
    poll_interval: 50ms
exporters:
  file: { path: /dev/null }
service:
  telemetry:
    resource: { deployment.environment.name: ci, service.version: null }
    metrics:
      address: 127.0.0.1:0
      readers:
        - periodic:
            interval: 1000
            exporter:
              otlp: { protocol: ${protocol}, endpoint: ${sink.url}, headers: [{ name: x-tenant, value: team-a }] }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [file] }
`);
      try {
        const accepted = (): number => {
          const pts: SinkPoint[] = sink.points().filter((p) => p.request >= before && p.name === ACCEPTED);
          const last = pts.at(-1)?.request;
          return pts.filter((p) => p.request === last).reduce((s, p) => s + (p.value ?? 0), 0);
        };
        // A first push before any record: the counter exists at 0 or is absent.
        await waitFor('a first push', () => sink.requests.length > before, 15_000);
        const zero = accepted();
        const fixtures = allFixtures().filter((f) => f.format === 'msgpack');
        await pushFixtures(redis, fixtures.map((f) => ({ ...f, redisKey: `${protocol.slice(5)}-${f.redisKey}` })));
        await waitFor(`accepted items reaching ${fixtures.length}`, () => accepted() - zero === fixtures.length, 20_000);
        const req = sink.requests.filter((r, i) => i >= before && r.path === '/v1/metrics').at(-1);
        assert.ok(req, 'pushed to /v1/metrics');
        assert.equal(req.headers['x-tenant'], 'team-a');
        assert.equal(req.contentType.startsWith(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf'), true, req.contentType);
        const point = sink.points().filter((p) => p.request >= before && p.name === ACCEPTED).at(-1);
        assert.equal(point?.resource['deployment.environment.name'], 'ci');
        assert.equal(point?.resource['service.name'], 'tyk-otel-pump');
        assert.equal('service.version' in (point?.resource ?? {}), false, 'null removes a default resource attribute');
        assert.equal(point?.temporality, 2, 'cumulative, like the pull endpoint');
      } finally {
        await agent.stop();
      }
    });
  }

  it('rejects a bad reader with a path-first problem', () => {
    const r = loadConfigText(`
receivers: { tyk_redis: {} }
exporters: { file: { path: /dev/null } }
service:
  telemetry:
    metrics:
      readers:
        - periodic: { exporter: { otlp: { protocol: grpc, endpoint: 'ftp://x' } } }
  pipelines: { records: { receivers: [tyk_redis], exporters: [file] } }
`, 'bad.yaml', factories, {});
    const text = r.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.match(text, /readers\[0\]::periodic::exporter::otlp::protocol: must be http\/protobuf or http\/json/);
    assert.match(text, /readers\[0\]::periodic::exporter::otlp::endpoint: must be an http\(s\) URL/);
  });
});
