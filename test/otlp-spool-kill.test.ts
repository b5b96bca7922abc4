/**
 * The agent is killed with SIGKILL during an OTLP endpoint outage while its spool holds the backlog it
 * drained from Redis. After a restart (endpoint back) the spooled log records are delivered, and what was
 * still in flight is re-delivered from Redis: every record arrives. What the spool guarantees is asserted
 * on the directory once the agent is dead (finished `<seq>-<items>.pb.gz` files; a kill may leave one
 * `.tmp` write in progress), and a `.tmp` left behind is never replayed and is removed on restart.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './helpers/agent.js';
import { killAgents, spawnAgent as runAgent, type AgentProcess } from './helpers/agent-process.js';
import { sinkAndRedis } from './helpers/sink-and-redis.js';
import { deliveredIndexes, duplicatesOf, pushSyntheticRecords, syntheticIndex, syntheticReceiverYaml } from './helpers/synthetic-records.js';

const RECORDS = 2000;

function spooled(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'LOCK') : [];
}

describe('otlp_http spool survives kill -9 during an outage', () => {
  let dir: string;
  const children: AgentProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'otlp-kill-'));
  });
  // Registered first, so it runs first: no agent is left sending to the sink or Redis while they close.
  after(() => {
    killAgents(children);
    rmSync(dir, { recursive: true, force: true });
  });
  const suite = sinkAndRedis('otlp-kill');

  it('delivers the spooled (and in-flight) log records after a restart', { timeout: 90_000 }, async (t) => {
    const { sink, redis } = suite;
    const key = await pushSyntheticRecords(redis, RECORDS);
    let up = false;
    sink.reply(() => (up ? { status: 200 } : { status: 503 }));
    const spoolDir = join(dir, 'spool', 'otlp_http');
    const configFile = join(dir, 'otel-config.yaml');
    writeFileSync(configFile, `
${syntheticReceiverYaml(redis)}
    chunk_size: 100
    poll_interval: 50ms
    at_least_once: { instance_id: kill9-${redis.prefix}, retry_initial_interval: 200ms }
processors:
  audit_log: {}
exporters:
  otlp_http:
    endpoint: ${sink.url}
    sending_queue: { queue_size: 100, num_consumers: 1 }
    retry_on_failure: { initial_interval: 200ms, max_interval: 1s }
    spool: { directory: spool, max_megabytes: 16 }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`);
    const first = runAgent(configFile);
    children.push(first);
    await waitFor('Redis drained into the spool', async () => (await redis.client.llen(key)) === 0 && spooled(spoolDir).length >= 10, 30_000, 100)
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\nagent stderr:\n${first.stderr.join('')}`);
      });
    assert.ok(sink.requests.length > 0 && sink.logs().length === 0, 'the endpoint was tried and refused everything');
    first.proc.kill('SIGKILL');
    assert.equal(await first.exited, null, 'killed, not exited');
    // The directory is still now: every finished request is a complete file, anything else a write the kill cut.
    const left = spooled(spoolDir);
    const files = left.filter((f) => !f.endsWith('.tmp'));
    assert.ok(files.every((f) => /^\d{12}-\d+\.pb\.gz$/.test(f)), left.join(', '));
    assert.ok(left.filter((f) => f.endsWith('.tmp')).every((f) => /^\d{12}-\d+\.pb\.gz\.tmp$/.test(f)), left.join(', '));
    const spooledItems = files.reduce((a, f) => a + Number(f.split('-')[1]?.split('.')[0]), 0);
    assert.ok(spooledItems >= RECORDS - 500, `${spooledItems} records spooled before the kill`);
    // A write cut by the kill, made certain: a half-written request that would decode to garbage.
    const cut = '999999999999-7.pb.gz.tmp';
    writeFileSync(join(spoolDir, cut), Buffer.from([0x1f, 0x8b, 0x08, 0x00]));

    up = true;
    const second = runAgent(configFile);
    children.push(second);
    await waitFor('every record delivered after the restart', () => new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size >= RECORDS, 45_000, 200)
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\nagent stderr:\n${second.stderr.join('')}`);
      });
    await waitFor('the spool emptied', () => spooled(spoolDir).length === 0, 10_000);
    assert.ok(sink.requests.every((r) => r.decodeError === undefined), 'the cut write was not replayed');
    second.proc.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.stderr.join(''));
    const counts = deliveredIndexes(sink.logs());
    assert.equal(counts.size, RECORDS);
    const duplicates = duplicatesOf(counts);
    t.diagnostic(`kill -9: ${spooledItems} records spooled, ${RECORDS - spooledItems} in flight, ${duplicates} duplicates after restart`);
    assert.ok(second.stderr.join('').includes('replaying spooled log requests'));
    assert.equal(existsSync(join(spoolDir, 'LOCK')), false, 'lock released on a clean stop');
  });
});
