/**
 * At-least-once survives `kill -9`: a receiver process is killed in the middle of delivering a chunk; a new
 * process (another instance id) adopts the dead one's in-flight list once its heartbeat expires and drains
 * the rest. No record may be missing; duplicates are at most the one chunk that was cut.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/agent.js';
import { smallTemplate, uniqueMsgpack } from './helpers/tyk-redis.js';
import { startDrainChild, type DrainChild } from './receiver/children.js';

const N = 10_000;
const CHUNK = 500;

describe('tyk_redis at-least-once: kill -9 mid-chunk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-crash-'));
  const children: DrainChild[] = [];
  let redis: TestRedis | undefined;
  after(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await redis?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`no record of ${N} is missing and at most one chunk is delivered twice`, async () => {
    redis = await testRedis('crash');
    const r = redis;
    const key = `${r.prefix}tyk-system-analytics`;
    const t = smallTemplate();
    await r.push(key, Array.from({ length: N }, (_, i) => uniqueMsgpack(t, i)));
    const out = join(dir, 'delivered.u32');
    const config = {
      endpoint: r.url, key_prefix: r.prefix, uptime: false, poll_interval: '20ms', chunk_size: CHUNK, delivery: 'at_least_once',
      max_unacked_chunks: 1, at_least_once: { heartbeat_interval: '100ms', heartbeat_timeout: '600ms' },
    };
    const env = { DRAIN_CONFIG: JSON.stringify(config), DRAIN_OUT: out, DRAIN_SLOW_MS: '40' };
    const delivered = () => {
      try {
        return statSync(out).size / 4;
      } catch {
        return 0;
      }
    };

    const first = startDrainChild({ ...env, DRAIN_INSTANCE: 'crash-a' });
    children.push(first);
    // Kill once a few chunks are through and the consumer has written half of the current one.
    await waitFor('half a chunk written', () => delivered() > 4 * CHUNK && delivered() % CHUNK !== 0, 30_000, 2);
    first.proc.kill('SIGKILL');
    await first.exited;
    const cut = delivered();
    assert.notEqual(cut % CHUNK, 0, 'killed mid-chunk');
    const inflight = await r.client.keys(`{${key}}:tyk-otel-pump-inflight:crash-a/*`);
    assert.equal(inflight.length, 1, 'the cut chunk is still in its in-flight list');
    // The chunk-id header, then the chunk.
    assert.equal(await r.client.llen(inflight[0] as string), CHUNK + 1);

    const second = startDrainChild({ ...env, DRAIN_INSTANCE: 'crash-b' });
    children.push(second);
    await waitFor('the rest drained', async () => (await r.client.llen(key)) === 0 && (await r.client.keys(`{${key}}*`)).length === 0, 60_000, 50);
    second.proc.send('stop');
    await second.exited;

    const ids = new Uint32Array(readFileSync(out).buffer.slice(0));
    const seen = new Uint8Array(N);
    let dup = 0;
    for (const id of ids) {
      assert.ok(id < N, `unknown id ${id}`);
      if (seen[id] === 1) dup++;
      seen[id] = 1;
    }
    assert.equal(seen.indexOf(0), -1, `missing records, e.g. id ${seen.indexOf(0)}`);
    // The half-written chunk was re-delivered in full: its first half twice, nothing else.
    assert.ok(dup > 0 && dup <= CHUNK, `duplicates ${dup}`);
    assert.equal(ids.length, N + dup);
    assert.deepEqual(await r.client.keys(`*${r.prefix}tyk-otel-pump-inflight*`), []);
  });
});
