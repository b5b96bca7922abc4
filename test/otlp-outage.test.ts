/**
 * A 30 s vendor outage (the OTLP endpoint answers 503), then recovery, with at-least-once delivery from
 * Redis: the backlog waits in Redis while the exporter's small queue is full (nothing is dropped, memory
 * does not grow with the backlog), and afterwards every log record arrives — at least once, duplicates
 * counted. Slow by nature (the outage is the point); everything else in the suite stays fast.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, waitFor } from './helpers/agent.js';
import { sinkAndRedis } from './helpers/sink-and-redis.js';
import { deliveredIndexes, duplicatesOf, pushSyntheticRecords, syntheticIndex, syntheticReceiverYaml } from './helpers/synthetic-records.js';
import { sumSamples as metric } from './helpers/exposition.js';

const RECORDS = 20_000;
const OUTAGE_MS = 30_000;
const QUEUE_SIZE = 200;

describe('otlp_http during a 30 s endpoint outage (at-least-once from Redis)', () => {
  const suite = sinkAndRedis('otlp-outage');

  it('keeps the backlog in Redis while the queue is full, then delivers every record', { timeout: 120_000 }, async (t) => {
    const { sink, redis } = suite;
    const key = await pushSyntheticRecords(redis, RECORDS);
    let outageEndsAt = Infinity;
    sink.reply(() => {
      if (outageEndsAt === Infinity) outageEndsAt = Date.now() + OUTAGE_MS;
      return Date.now() < outageEndsAt ? { status: 503, body: 'maintenance' } : { status: 200 };
    });
    const agent = await startAgent(`
${syntheticReceiverYaml(redis)}
    chunk_size: 100
    max_unacked_chunks: 4
    poll_interval: 50ms
    at_least_once: { retry_initial_interval: 200ms, retry_max_interval: 1s }
processors:
  audit_log: {}
exporters:
  otlp_http:
    endpoint: ${sink.url}
    sending_queue: { queue_size: ${QUEUE_SIZE}, num_consumers: 2 }
    retry_on_failure: { initial_interval: 200ms, max_interval: 2s }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`);
    try {
      await waitFor('the outage to start', () => outageEndsAt !== Infinity, 10_000);
      const heapAtStart = process.memoryUsage().heapUsed;
      let minLlen = Infinity;
      let maxQueue = 0;
      let maxHeapGrowth = 0;
      while (Date.now() < outageEndsAt - 1000) {
        minLlen = Math.min(minLlen, await redis.client.llen(key));
        const scrape = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
        maxQueue = Math.max(maxQueue, metric(scrape, 'tyk_otel_pump_exporter_queue_size{', ['exporter="otlp_http"']));
        maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - heapAtStart);
        await new Promise((r) => setTimeout(r, 500));
      }
      // Claimed at most: one chunk being sent per consumer + the queue + the receiver's unacked window.
      assert.ok(minLlen >= RECORDS - 1000, `the backlog stayed in Redis during the outage (min LLEN ${minLlen} of ${RECORDS})`);
      assert.ok(maxQueue <= QUEUE_SIZE, `exporter queue stayed within queue_size (max ${maxQueue})`);
      assert.ok(maxHeapGrowth < 64 * 1024 * 1024, `heap grew ${Math.round(maxHeapGrowth / 1048576)} MiB during the outage`);
      assert.equal(sink.logs().length, 0, 'nothing accepted during the outage');

      await waitFor('every record delivered after recovery', () => new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size >= RECORDS, 60_000, 200);
      const seen = deliveredIndexes(sink.logs());
      const duplicates = duplicatesOf(seen);
      assert.equal(seen.size, RECORDS);
      assert.ok(!seen.has(-1));
      await waitFor('Redis drained', async () => (await redis.client.llen(key)) === 0, 10_000);
      const scrape = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
      assert.equal(metric(scrape, 'tyk_otel_pump_exporter_dropped_items_total{'), 0, 'the exporter dropped nothing');
      assert.ok(metric(scrape, 'tyk_otel_pump_exporter_send_failed_items_total{', ['reason="http_503"']) > 0);
      assert.equal(metric(scrape, 'tyk_otel_pump_exporter_sent_items_total{', ['signal="logs"']), RECORDS + duplicates);
      const warnings = agent.logs.filter((l) => l.msg === 'OTLP logs export failed; retrying with backoff');
      assert.ok(warnings.length >= 1 && warnings.length <= 3, `${warnings.length} retry warnings (one per burst), not one per attempt`);
      assert.ok(agent.logs.some((l) => l.msg === 'OTLP logs endpoint recovered'));
      // Report duplicates (at-least-once permits them; this scenario should produce none).
      t.diagnostic(`outage: ${RECORDS} records, ${duplicates} duplicates, min LLEN ${minLlen}, max queue ${maxQueue}, heap growth ${Math.round(maxHeapGrowth / 1048576)} MiB`);
      assert.equal(duplicates, 0);
    } finally {
      await agent.stop();
    }
  });
});
