/**
 * Tolerant decoding end to end: a real agent drains fixture records mutated into a future shape (a float
 * `RequestTime`) from a real Redis. Every record reaches the file exporter, none is dead-lettered, and
 * `/metrics` counts one coercion per record under the field and reason; the log says so once, not per record.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr, unpack } from 'msgpackr';
import { loadFixtures } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { sample } from './helpers/tyk-redis.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

describe('tolerant decoding end to end', () => {
  let redis: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'tolerant-'));
  before(async () => { redis = await testRedis('tolerant'); });
  after(async () => {
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records of a future shape are exported and their coercions counted', async () => {
    const fixtures = loadFixtures('gateway-msgpack.jsonl');
    const mutated = fixtures.map((f) => {
      const o = unpack(f.bytes) as Record<string, unknown>;
      o['RequestTime'] = (o['RequestTime'] as number) + 0.5;
      return packr.pack(o);
    });
    await redis.push(`${redis.prefix}analytics-tyk-system-analytics`, mutated);
    const out = join(dir, 'records.jsonl');
    const agent = await startAgent(`
receivers:
  tyk_redis: { endpoint: ${redis.url}, key_prefix: ${redis.prefix}analytics-, uptime_key: ${redis.prefix}uptime, poll_interval: 50ms }
exporters:
  file: { path: ${out} }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines: { records: { receivers: [tyk_redis], exporters: [file] } }
`);
    try {
      const metrics = async (): Promise<string> => (await fetch(`${agent.telemetryUrl}/metrics`)).text();
      await waitFor('every record coerced', async () => sample(await metrics(), 'tyk_otel_pump_receiver_decode_coercions_total', { field: 'RequestTime', reason: 'float_to_int' }) === mutated.length, 15_000);
      await agent.stop();
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, mutated.length);
      assert.deepEqual(lines.map((l) => l['request_time']).sort(), fixtures.map((f) => f.expected['request_time']).sort());
      assert.equal(await redis.client.llen(`${redis.prefix}analytics-tyk-otel-pump-dead-letter`), 0);
      assert.equal(agent.logs.filter((l) => String(l.msg).includes('tolerant decoding')).length, 1, 'logged once per burst');
    } finally {
      await agent.stop();
    }
  });
});
