/**
 * The `sli` processor's emission window across a shutdown, end to end with real parts: real Redis, the
 * real `tyk_redis` receiver in at-least-once mode with a fixed instance id, `route → sli`, and `otlp_http`
 * (delta temporality) to a local OTLP/HTTP sink. The window is configured so that only a shutdown ends it
 * (a long `emit_interval`, more chunks than the receiver may leave unacknowledged): the receiver claims
 * `max_unacked_chunks` chunks, the window holds them, and the drain stalls. Stopping the agent must emit
 * the held chunks and acknowledge them — not leave them in Redis for the next start to count again — and a
 * second agent on the same lists drains the rest: the sink's request total equals the records pushed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, waitFor } from './helpers/agent.js';
import { sinkAndRedis } from './helpers/sink-and-redis.js';
import { syntheticReceiverYaml, syntheticRecord } from './helpers/synthetic-records.js';
import { sumSamples as metric } from './helpers/exposition.js';

const RECORDS = 1000;
const CHUNK = 50;
const UNACKED = 4;

describe('sli emission window across shutdown (real Redis, at-least-once, otlp_http delta)', () => {
  const suite = sinkAndRedis('window');

  const yaml = (sli: string) => `
${syntheticReceiverYaml(suite.redis)}
    chunk_size: ${CHUNK}
    max_unacked_chunks: ${UNACKED}
    poll_interval: 50ms
    at_least_once: { instance_id: window-test }
processors:
  route: {}
  sli: ${sli}
exporters:
  otlp_http:
    endpoint: ${suite.sink.url}
    temporality: delta
    export_interval: 100ms
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [otlp_http] }
`;

  const requests = () => suite.sink.points().filter((p) => p.name === 'tyk.api.requests').reduce((n, p) => n + (p.value ?? 0), 0);

  it('a shutdown emits and acknowledges the held chunks; the next start counts only the rest: every request exactly once', { timeout: 60_000 }, async () => {
    const { redis } = suite;
    const key = `${redis.prefix}analytics-tyk-system-analytics`;
    await redis.push(key, Array.from({ length: RECORDS }, (_, i) => syntheticRecord(i)));

    // Only a shutdown ends this window: it holds the receiver's every unacknowledged chunk.
    const first = await startAgent(yaml(`{ emit_interval: 1m, emit_max_chunks: 1000 }`));
    let held = 0;
    try {
      held = await waitFor('the window to hold the receiver\'s unacknowledged chunks', async () => {
        const scrape = await (await fetch(`${first.telemetryUrl}/metrics`)).text();
        const n = metric(scrape, 'tyk_otel_pump_processor_accepted_items_total', ['processor="sli@metrics"']);
        return n === UNACKED * CHUNK ? n : 0;
      }, 20_000);
      assert.equal(requests(), 0, 'nothing emitted while the window is open');
    } finally {
      // Without the window being emitted when shutdown begins, the receiver would wait for these chunks
      // until its shutdown timeout and leave them in their in-flight lists, counted all the same.
      await first.stop();
    }
    assert.equal(requests(), held, 'the held chunks were emitted at shutdown');
    assert.equal(await redis.client.llen(key), RECORDS - held, 'only the unclaimed records are left in the source list');
    // In-flight lists are named `{<source key's hash tag>}:tyk-otel-pump-inflight:<instance>:…`.
    const inflight = (await redis.client.keys(`*tyk-otel-pump-inflight:window-test:*`)).filter((k) => k.includes(redis.prefix));
    assert.ok(inflight.length > 0 || (await redis.client.keys(`*${redis.prefix}*`)).length > 0, 'the receiver\'s keys are where we look');
    const lists = [...new Set([...inflight, ...(await redis.client.keys(`*${redis.prefix}*`))])].filter((k) => k !== key);
    const leftovers = await Promise.all(lists.map(async (k) => ((await redis.client.type(k)) === 'list' ? redis.client.llen(k) : 0)));
    assert.ok(leftovers.every((n) => n === 0), 'acknowledged: no in-flight list holds records');

    const second = await startAgent(yaml('{}'));
    try {
      await waitFor('every record counted once', () => requests() >= RECORDS && redis.client.llen(key).then((n) => n === 0), 30_000, 100);
    } finally {
      await second.stop();
    }
    assert.equal(requests(), RECORDS, 'every request exactly once across the two agents');
  });
});
