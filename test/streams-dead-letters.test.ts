/**
 * `tyk-otel-pump dead-letters` on a `redis_stream` receiver's list, against a real Redis and real agents:
 * group P's destination refuses records for good (HTTP 400) and two entries do not decode, so P
 * dead-letters all of them; group Q (a file) delivers the records. `list` and `show` read P's list, `replay`
 * appends the refused records to the stream again for group P only — P delivers them, Q acknowledges them
 * unseen — and leaves the undecodable ones in place; `purge` removes them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startOtlpSink, type OtlpSink } from './helpers/otlp-sink.js';
import { syntheticIndex, syntheticRecord } from './helpers/synthetic-records.js';
import { main } from '../src/cli.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function consumer(redis: TestRedis, stream: string, group: string, sections: string, pipeline: string): string {
  return `
receivers:
  redis_stream:
    endpoint: ${redis.url}
    stream: ${stream}
    group: ${group}
    instance_id: ${group}1
    from: earliest
    block: 200ms
    lag_interval: 100ms
    retry_initial_interval: 100ms
    retry_max_interval: 300ms
${sections}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    ${pipeline}
`;
}

async function drained(redis: TestRedis, stream: string, name: string): Promise<boolean> {
  for (const flat of (await redis.client.call('XINFO', 'GROUPS', stream)) as unknown[][]) {
    const g = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) g.set(String(flat[i]), flat[i + 1]);
    if (g.get('name') === name) return Number(g.get('pending')) === 0 && Number(g.get('lag')) === 0;
  }
  return false;
}

describe('dead-letters command on a redis_stream receiver', () => {
  let redis: TestRedis;
  let sink: OtlpSink;
  let dir: string;
  const agents: RunningAgent[] = [];
  before(async () => {
    redis = await testRedis('stream-dlq');
    sink = await startOtlpSink();
    dir = mkdtempSync(join(tmpdir(), 'stream-dlq-'));
  });
  after(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await sink.close();
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('list, show, replay for the dead letter\'s group only, purge', { timeout: 120_000 }, async () => {
    const stream = `${redis.prefix}records`;
    const p = redis.client.pipeline();
    for (let i = 0; i < 5; i++) p.xadd(stream, '*', 'data', syntheticRecord(i), 'source', 'gw-list', 'format', 'msgpack');
    p.xadd(stream, '*', 'data', Buffer.from('{"not":"msgpack"}'), 'source', 'gw-list', 'format', 'msgpack');
    p.xadd(stream, '*', 'data', syntheticRecord(5), 'source', 'gw-list', 'format', 'avro');
    await p.exec();
    let refuse = true;
    sink.reply(() => (refuse ? { status: 400, body: 'schema rejected' } : { status: 200 }));
    const pConfig = join(dir, 'p.yaml');
    const pYaml = consumer(redis, stream, 'P', `processors:\n  audit_log: {}\nexporters:\n  otlp_http:\n    endpoint: ${sink.url}\n    retry_on_failure: { initial_interval: 100ms, max_interval: 300ms }`,
      'logs: { receivers: [redis_stream], processors: [audit_log], exporters: [otlp_http] }');
    writeFileSync(pConfig, pYaml);
    const qFile = join(dir, 'q.jsonl');
    agents.push(await startAgent(pYaml));
    agents.push(await startAgent(consumer(redis, stream, 'Q', `exporters:\n  file: { path: ${qFile} }`, 'records: { receivers: [redis_stream], exporters: [file] }')));
    const dlq = `${stream}:dead-letter:P`;
    await waitFor('group P to dead-letter everything', async () => (await drained(redis, stream, 'P')) && (await redis.client.llen(dlq)) === 7, 30_000, 100);
    await waitFor('group Q to deliver the records', () => drained(redis, stream, 'Q'), 30_000, 100);
    const qLines = () => (existsSync(qFile) ? readFileSync(qFile, 'utf8').split('\n').filter((l) => l !== '').length : 0);
    assert.equal(qLines(), 5);

    const list = await cli(['dead-letters', 'list', '--config', pConfig, '--json']);
    assert.equal(list.code, 0, list.err);
    const entries = list.out.split('\n').map((l) => JSON.parse(l) as { index: number; reason: string; source: string; format: string; error: string });
    const reasons = entries.map((e) => e.reason).sort();
    assert.deepEqual(reasons.filter((r) => r === 'delivery_failed_permanently').length, 5, reasons.join(','));
    assert.ok(reasons.includes('not_a_record'), 'the entry of an unknown format');
    assert.equal(entries.length, 7);
    assert.ok(entries.every((e) => e.source === 'gw-list'));
    const table = await cli(['dead-letters', 'list', '--config', pConfig]);
    assert.match(table.out, new RegExp(`${dlq}.*: 7 entries`));
    const bad = entries.find((e) => e.reason !== 'delivery_failed_permanently' && e.reason !== 'not_a_record');
    assert.ok(bad, 'the undecodable entry');
    const show = await cli(['dead-letters', 'show', String(bad.index), '--config', pConfig]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /typed decoder/);

    refuse = false;
    const replay = await cli(['dead-letters', 'replay', '--config', pConfig]);
    assert.equal(replay.code, 1, 'the entries this version cannot decode are left: exit code 1');
    assert.match(replay.out, /replayed 5 entries \(.*group P\)\); 2 left in place/);
    await waitFor('group P to deliver the replayed records', () => new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size === 5, 30_000, 100);
    await waitFor('both groups drained', async () => (await drained(redis, stream, 'P')) && (await drained(redis, stream, 'Q')), 30_000, 100);
    assert.equal(sink.logs().length, 5, 'each replayed record delivered once to group P');
    assert.equal(qLines(), 5, 'group Q acknowledged the replayed entries without delivering them again');
    assert.equal(await redis.client.llen(dlq), 2);

    const purge = await cli(['dead-letters', 'purge', '--config', pConfig, '--all']);
    assert.equal(purge.code, 0, purge.err);
    assert.match(purge.out, /purged 2 entries/);
    assert.equal(await redis.client.llen(dlq), 0);
  });
});
