/**
 * Exactly-once across agents: four `tyk_redis` receivers in separate processes drain one list of 200 000
 * unique records at the same time (a private redis-server, so the volume never touches the shared one).
 * Every record must be seen by exactly one of them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushUnique, smallTemplate, startPrivateRedis, type PrivateRedis } from './helpers/tyk-redis.js';
import { waitFor } from './helpers/agent.js';
import { startDrainChild, type DrainChild } from './receiver/children.js';

const N = 200_000;

describe('tyk_redis: four agents drain one list concurrently', () => {
  let redis: PrivateRedis;
  const children: DrainChild[] = [];
  before(async () => {
    redis = await startPrivateRedis();
  });
  after(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await redis.destroy();
  });

  // At-least-once (the same claim, moving records into in-flight lists) is covered by four receivers in one
  // process in receivers/tyk_redis/tyk_redis.test.ts.
  it(`4 processes × one list of ${N} records → every record exactly once`, async () => {
    const client = await redis.client();
    const prefix = 'conc-';
    const config = { endpoint: redis.url, key_prefix: prefix, uptime: false, poll_interval: '20ms', chunk_size: 1000 };
    const mine = [0, 1, 2, 3].map((i) => startDrainChild({ DRAIN_CONFIG: JSON.stringify(config), DRAIN_INSTANCE: `conc-${i}` }));
    children.push(...mine);
    await waitFor('all four ready', () => mine.every((c) => c.ready), 30_000);
    // Build the list aside, then make it appear at once so all four start on a full list.
    await pushUnique(client, `${prefix}staging`, smallTemplate(), 0, N);
    await client.rename(`${prefix}staging`, `${prefix}tyk-system-analytics`);
    await waitFor('the list drained', async () => mine.reduce((n, c) => n + c.count, 0) >= N, 60_000, 100);
    for (const c of mine) c.proc.send('stop');
    await waitFor('every child reported', () => mine.every((c) => c.ids !== undefined), 30_000);
    const seen = new Uint8Array(N);
    let total = 0;
    let dup = 0;
    for (const c of mine) {
      for (const id of c.ids as Uint32Array) {
        assert.ok(id < N, `unknown id ${id}`);
        if (seen[id] === 1) dup++;
        seen[id] = 1;
        total++;
      }
    }
    assert.equal(dup, 0, 'no record delivered twice');
    assert.equal(total, N);
    assert.equal(seen.indexOf(0), -1, 'no record missing');
    // The drain really was concurrent: every agent got a share.
    for (const [i, c] of mine.entries()) assert.ok((c.ids as Uint32Array).length > 0, `agent ${i} drained nothing`);
    assert.equal(await client.llen(`${prefix}tyk-system-analytics`), 0);
    client.disconnect();
  });
});
