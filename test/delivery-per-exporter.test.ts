/**
 * Per-exporter acknowledgement, end to end with real parts: real Redis, the real `tyk_redis` receiver in
 * at-least-once mode, `audit_log`, and one logs pipeline with two exporters — `otlp_http` to a local
 * OTLP/HTTP endpoint that answers 503 for its first requests, and `file`. Each refused request makes the
 * receiver re-deliver the chunk; the re-delivery must go to `otlp_http` only, so after recovery the file
 * holds every record exactly once and the endpoint received every record exactly once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, waitFor } from './helpers/agent.js';
import { sinkAndRedis } from './helpers/sink-and-redis.js';
import { deliveredIndexes, pushSyntheticRecords, syntheticIndex, syntheticReceiverYaml } from './helpers/synthetic-records.js';
import { sumSamples as metric } from './helpers/exposition.js';

const RECORDS = 600;
const CHUNK = 50;
/** Requests the endpoint refuses before it recovers: more than one per chunk, so chunks are refused repeatedly. */
const REFUSED = 18;

function assertEachOnce(what: string, seen: Map<number, number>): void {
  const wrong = [...seen].filter(([, n]) => n !== 1);
  assert.deepEqual(wrong, [], `${what}: records seen more than once ([index, times])`);
  assert.equal(seen.size, RECORDS, `${what}: every record`);
  assert.ok(!seen.has(-1), `${what}: only our records`);
}

describe('per-exporter acknowledgement: otlp_http refusing beside file in one logs pipeline (at-least-once)', () => {
  const suite = sinkAndRedis('per-exporter');
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'per-exporter-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('re-delivers only to the endpoint: the file and the endpoint each hold every record exactly once', { timeout: 60_000 }, async () => {
    const { sink, redis } = suite;
    await pushSyntheticRecords(redis, RECORDS);
    let refused = 0;
    sink.reply(() => (refused < REFUSED ? (refused++, { status: 503, body: 'maintenance' }) : { status: 200 }));
    const file = join(dir, 'audit.jsonl');
    const agent = await startAgent(`
${syntheticReceiverYaml(redis)}
    chunk_size: ${CHUNK}
    max_unacked_chunks: 4
    poll_interval: 50ms
    at_least_once: { retry_initial_interval: 20ms, retry_max_interval: 100ms }
processors:
  audit_log: {}
exporters:
  otlp_http:
    endpoint: ${sink.url}
    # Every 503 is final for the exporter, so the receiver's re-delivery is what gets the chunk through.
    retry_on_failure: { enabled: false }
  file:
    path: ${file}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http, file] }
`);
    let stopped = false;
    try {
      await waitFor('the endpoint to receive every record', () => new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size >= RECORDS, 45_000, 100);
      await waitFor('every chunk acknowledged (Redis holds nothing of ours but bookkeeping)', async () => {
        const lists = await redis.client.keys(`*${redis.prefix}analytics-*`);
        const lengths = await Promise.all(lists.map(async (k) => ((await redis.client.type(k)) === 'list' ? redis.client.llen(k) : 0)));
        return lengths.every((n) => n === 0);
      }, 15_000);
      const scrape = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
      const redelivered = metric(scrape, 'tyk_otel_pump_receiver_redelivered_items_total');
      await agent.stop();
      stopped = true;

      assert.equal(refused, REFUSED, 'the endpoint refused its first requests');
      assert.ok(sink.requests.filter((r) => r.status === 503).length === REFUSED);
      assert.ok(redelivered >= CHUNK, `the receiver re-delivered refused chunks (${redelivered} records)`);
      assertEachOnce('endpoint', deliveredIndexes(sink.logs()));
      const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
      assertEachOnce('file', deliveredIndexes(lines.map((l) => JSON.parse(l) as { attributes: Record<string, unknown> })));
      assert.equal(metric(scrape, 'tyk_otel_pump_exporter_sent_items_total{', ['exporter="file"']), RECORDS, 'the file exporter sent each record once');
    } finally {
      if (!stopped) await agent.stop();
    }
  });
});
