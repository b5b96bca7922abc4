import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import type { AnalyticsRecord, MetricsBatch } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { componentContext } from '../../test/helpers/context.js';
import { httpRecord, networkRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { sliConfigSchema } from './config.js';
import { goTimeString } from './custom-metrics.js';
import { SliProcessor } from './sli.js';

const T0 = Date.UTC(2026, 10, 26, 12);

function problems(config: unknown): string[] {
  return parseWithProblems(sliConfigSchema, config, ['processors', 'sli']).problems.map((p) => `${p.path}: ${p.message}`);
}

async function run(customMetrics: unknown[], records: AnalyticsRecord[], over: Record<string, unknown> = {}): Promise<MetricsBatch | undefined> {
  const self = new SelfTelemetry('test');
  const ctx = componentContext({ id: 'sli@metrics', telemetry: self.forComponent('processor', 'sli@metrics') });
  const next = new RecordingConsumer<'metrics'>();
  const config = sliConfigSchema.parse({ tyk_compatible: { enabled: true, custom_metrics: customMetrics, ...over } });
  const proc = new SliProcessor(ctx, config, next, { now: () => T0 + 60_000 });
  const err = await tracked((c) => proc.consume(records, c));
  await self.shutdown();
  if (err) throw err;
  return next.batches[0];
}

function points<T>(batch: MetricsBatch | undefined, name: string): DataPoint<T>[] {
  return (batch?.metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as DataPoint<T>[];
}

describe('sli: Tyk custom_metrics', () => {
  it('refuses an unknown label, an unknown metric type, a duplicate and a clashing name, each with its path', () => {
    const lines = problems({
      tyk_compatible: {
        custom_metrics: [
          { name: 'a_total', metric_type: 'counter', labels: ['api_id', 'nope', 'type'] },
          { name: 'b', metric_type: 'gauge' },
          { name: 'a_total', metric_type: 'counter' },
          { name: 'tyk_latency', metric_type: 'histogram' },
          { name: 'tyk_api_requests_total', metric_type: 'counter' },
          { name: 'c', metric_type: 'histogram', labels: ['type', 'code', 'code'], buckets: [5, 1] },
          { name: 'bad-name', metric_type: 'counter' },
        ],
      },
    });
    const expect = [
      'processors::sli::tyk_compatible::custom_metrics[0]::labels[1]: unknown label "nope"',
      'processors::sli::tyk_compatible::custom_metrics[0]::labels[2]: unknown label "type"',
      'processors::sli::tyk_compatible::custom_metrics[1]::metric_type: must be counter or histogram',
      'processors::sli::tyk_compatible::custom_metrics[2]::name: "a_total" is defined twice',
      'processors::sli::tyk_compatible::custom_metrics[3]::name: "tyk_latency" is a Tyk Pump base family',
      "processors::sli::tyk_compatible::custom_metrics[4]::name: \"tyk_api_requests_total\" is the Prometheus name of this processor's own tyk.api.requests",
      'processors::sli::tyk_compatible::custom_metrics[5]::labels[2]: must not list "code" twice',
      'processors::sli::tyk_compatible::custom_metrics[5]::buckets: must be strictly increasing',
      'processors::sli::tyk_compatible::custom_metrics[6]::name: must be a Prometheus metric name',
    ];
    for (const e of expect) assert.ok(lines.some((l) => l.startsWith(e)), `missing "${e}" in\n${lines.join('\n')}`);
    assert.deepEqual(problems({ tyk_compatible: { custom_metrics: [{ name: 'h', metric_type: 'histogram', labels: ['type', 'api'], description: 'x', obfuscate_api_keys_length: 6 }] } }), []);
  });

  it("counts per label values with Tyk's vocabulary, aliases, obfuscation and hidden paths; skips network records", async () => {
    const rec = (over: Partial<AnalyticsRecord>): AnalyticsRecord => httpRecord({ apiId: 'orders', apiName: 'Orders', method: 'GET', path: '/orders/1', ...over });
    const batch = await run(
      [{ name: 'tyk_http_requests_total', metric_type: 'counter', labels: ['response_code', 'api_name', 'method', 'api_key', 'alias', 'path', 'api', 'code'], obfuscate_api_keys: true }],
      [
        rec({ responseCode: 200, apiKey: 'abcdef123456', alias: 'alice' }),
        rec({ responseCode: 200, apiKey: 'zzzz00123456', alias: 'alice' }),
        rec({ responseCode: 500, apiKey: 'abc', alias: '', trackPath: true }),
        networkRecord(),
      ],
    );
    const got = points<number>(batch, 'tyk_http_requests_total').map((p) => ({ ...p.attributes, value: p.value }));
    assert.deepEqual(got, [
      { response_code: '200', api_name: 'Orders', method: 'GET', api_key: '****3456', alias: 'alice', path: 'unknown', api: 'orders', code: '200', value: 2 },
      { response_code: '500', api_name: 'Orders', method: 'GET', api_key: '--', alias: '', path: '/orders/1', api: 'orders', code: '500', value: 1 },
    ]);
    assert.ok(batch?.verbatimNames?.has('tyk_http_requests_total'), 'the exporter is told to keep the name');
  });

  it('a histogram observes the request time under type="total" (first), into the configured buckets; mcp_only counts MCP records only', async () => {
    const mcp = { isMCP: true, jsonRpcMethod: 'tools/call', primitiveType: 'tool', primitiveName: 'weather' };
    const batch = await run(
      [
        { name: 'tyk_http_latency', metric_type: 'histogram', labels: ['api_id', 'type'], buckets: [10, 100] },
        { name: 'mcp_calls_total', metric_type: 'counter', labels: ['mcp_method', 'mcp_primitive_type', 'mcp_primitive_name'], mcp_only: true },
      ],
      [httpRecord({ apiId: 'a', requestTime: 5 }), httpRecord({ apiId: 'a', requestTime: 10 }), httpRecord({ apiId: 'a', requestTime: 11 }), httpRecord({ apiId: 'a', requestTime: 900, mcpStats: mcp })],
    );
    const [h] = points<Histogram>(batch, 'tyk_http_latency');
    assert.deepEqual(Object.keys(h?.attributes ?? {}), ['type', 'api_id']);
    assert.deepEqual(h?.attributes, { type: 'total', api_id: 'a' });
    assert.deepEqual(h?.value.buckets, { boundaries: [10, 100], counts: [2, 1, 1] });
    assert.equal(h?.value.sum, 926);
    assert.deepEqual(points<number>(batch, 'mcp_calls_total').map((p) => [p.attributes, p.value]), [[{ mcp_method: 'tools/call', mcp_primitive_type: 'tool', mcp_primitive_name: 'weather' }, 1]]);
  });

  it('track_all_paths shows every path; time_stamp is Go\'s time format in UTC', async () => {
    const batch = await run([{ name: 'by_path', metric_type: 'counter', labels: ['path'] }], [httpRecord({ path: '/a' }), httpRecord({ path: '/b', trackPath: true })], { track_all_paths: true });
    assert.deepEqual(points<number>(batch, 'by_path').map((p) => p.attributes['path']), ['/a', '/b']);
    assert.equal(goTimeString(Date.UTC(2026, 10, 26, 12, 0, 0, 37), 727_887), '2026-11-26 12:00:00.037727887 +0000 UTC');
    assert.equal(goTimeString(Date.UTC(2026, 10, 26, 12), 0), '2026-11-26 12:00:00 +0000 UTC');
    assert.equal(goTimeString(null, 0), '0001-01-01 00:00:00 +0000 UTC');
  });
});
