/**
 * Fan-out through Redis Streams consumer groups, end to end with a real Redis: a drainer agent
 * (tyk_redis → redis_stream) and consumer agents (redis_stream → file / otlp_http) in three groups; a group
 * whose destination fails falls behind and catches up; retention exceeded is counted and logged; trimming
 * bounds the stream with a slow group.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { unpack } from 'msgpackr';
import { join } from 'node:path';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startOtlpSink, type OtlpSink } from './helpers/otlp-sink.js';
import { syntheticIndex, syntheticRecord } from './helpers/synthetic-records.js';

/**
 * Records pushed into the gateway lists. The issue asks for 200k; the suite runs 50k, because on the 2 shared
 * cores the three-group test takes about a minute at 50k and would take four at 200k, past the whole suite's
 * budget. The same test at the size: `STREAMS_RECORDS=200000 npm test -- test/streams.test` (README,
 * "Redis Streams fan-out", gives the last such run).
 */
const RECORDS = Number(process.env['STREAMS_RECORDS'] ?? 50_000);
/** How long draining and catching up may take: a minute per 50k records (generous for 2 shared cores). */
const WAIT_MS = 60_000 * Math.max(1, RECORDS / 50_000);

/** A consumer agent's YAML: `redis_stream` in `group` as `instance`, feeding `pipeline` (processors and exporters). */
function consumerYaml(redis: TestRedis, o: { stream: string; group: string; instance: string; claimIdle: string; sections: string; pipeline: string; signal?: string }): string {
  return `
receivers:
  redis_stream:
    endpoint: ${redis.url}
    stream: ${o.stream}
    group: ${o.group}
    instance_id: ${o.instance}
    from: earliest
    count: 500
    block: 200ms
    claim_idle: ${o.claimIdle}
    lag_interval: 100ms
    retry_initial_interval: 100ms
    retry_max_interval: 500ms
${o.sections}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    ${o.signal ?? 'records'}: { receivers: [redis_stream], ${o.pipeline} }
`;
}

/** A consumer counting into its own file exporter. */
function fileConsumer(redis: TestRedis, stream: string, group: string, instance: string, path: string, claimIdle = '30s'): string {
  return consumerYaml(redis, { stream, group, instance, claimIdle, sections: `exporters:\n  file: { path: ${path} }`, pipeline: 'exporters: [file]' });
}

/** Record indexes in a file exporter's JSON lines. */
function indexes(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => syntheticIndex((JSON.parse(l) as { path: string }).path));
}

async function groupInfo(redis: TestRedis, stream: string): Promise<Map<string, { pending: number; lag: number | null }>> {
  const groups = (await redis.client.call('XINFO', 'GROUPS', stream)) as unknown[][];
  const out = new Map<string, { pending: number; lag: number | null }>();
  for (const flat of groups) {
    const g = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) g.set(String(flat[i]), flat[i + 1]);
    out.set(String(g.get('name')), { pending: Number(g.get('pending')), lag: g.get('lag') === null ? null : Number(g.get('lag')) });
  }
  return out;
}

/** Sum of every sample of a self-telemetry metric whose name contains `name`. */
async function metric(agent: RunningAgent, name: string): Promise<number> {
  const text = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (!line.startsWith('#') && line.includes(name)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Appends entries for records [from, to) as the redis_stream exporter writes them. */
async function addEntries(redis: TestRedis, stream: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 500) {
    const p = redis.client.pipeline();
    for (let j = i; j < Math.min(to, i + 500); j++) p.xadd(stream, '*', 'data', syntheticRecord(j), 'source', 'list', 'format', 'msgpack');
    await p.exec();
  }
}

const BIN = fileURLToPath(new URL('../bin/tyk-otel-pump.js', import.meta.url));

describe('redis streams fan-out', () => {
  let redis: TestRedis;
  let dir: string;
  let sink: OtlpSink;
  const agents: RunningAgent[] = [];

  before(async () => {
    redis = await testRedis('streams');
    dir = mkdtempSync(join(tmpdir(), 'streams-'));
    sink = await startOtlpSink();
  });
  after(async () => {
    for (const a of agents.splice(0)) await a.stop().catch(() => undefined);
    await sink.close();
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('three groups (2, 1 and 3 consumers) each see every drained record exactly once, shared within the group', async () => {
    const stream = `${redis.prefix}stream`;
    const layout: Record<string, number> = { A: 2, B: 1, C: 3 };
    const files = new Map<string, string[]>();
    const consumers: RunningAgent[] = [];
    for (const [group, n] of Object.entries(layout)) {
      files.set(group, []);
      for (let i = 1; i <= n; i++) {
        const path = join(dir, `${group}${i}.jsonl`);
        files.get(group)?.push(path);
        consumers.push(await startAgent(fileConsumer(redis, stream, group, `${group.toLowerCase()}${i}`, path)));
      }
    }
    agents.push(...consumers);
    // Gateway lists: the base list and one shard.
    const base = `${redis.prefix}analytics-tyk-system-analytics`;
    const pushed = Array.from({ length: RECORDS }, (_, i) => syntheticRecord(i));
    await redis.push(base, pushed.slice(0, RECORDS / 2));
    await redis.push(`${base}_3`, pushed.slice(RECORDS / 2));
    const drainer = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime: false
    delivery: at_least_once
    poll_interval: 50ms
exporters:
  redis_stream:
    endpoint: ${redis.url}
    stream: ${stream}
    max_len: ${RECORDS * 2}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [redis_stream] }
`);
    agents.push(drainer);
    await waitFor('the lists drained into the stream', async () => (await redis.client.xlen(stream)) === RECORDS && (await redis.client.llen(base)) === 0, WAIT_MS, 100);
    await waitFor('every group caught up', async () => {
      const info = await groupInfo(redis, stream);
      return ['A', 'B', 'C'].every((g) => info.get(g)?.lag === 0 && info.get(g)?.pending === 0);
    }, WAIT_MS, 100);
    // The exact bytes travelled: an entry's data is the gateway's msgpack element.
    const [first] = (await redis.client.xrangeBuffer(stream, '-', '+', 'COUNT', 1)) as [Buffer, Buffer[]][];
    const fields = first?.[1] ?? [];
    assert.deepEqual(fields.filter((_, i) => i % 2 === 0).map(String), ['data', 'source', 'format']);
    const data = fields[1] as Buffer;
    const index = syntheticIndex((unpack(data) as { Path: string }).Path);
    assert.ok((pushed[index] as Buffer).equals(data), 'the entry holds the list element\'s bytes unchanged');
    assert.equal(String(fields[3]), index < RECORDS / 2 ? base : `${base}_3`);
    assert.equal(String(fields[5]), 'msgpack');
    for (const a of consumers) await a.stop();
    for (const [group, paths] of files) {
      const seen = new Uint8Array(RECORDS);
      const perInstance = paths.map((p) => indexes(p));
      for (const list of perInstance) for (const i of list) seen[i] = (seen[i] as number) + 1;
      const wrong = [...seen].map((n, i) => [i, n] as const).filter(([, n]) => n !== 1);
      assert.deepEqual(wrong.slice(0, 5), [], `group ${group}: every record exactly once`);
      if (paths.length > 1) for (const [k, list] of perInstance.entries()) assert.ok(list.length > 0, `group ${group}: instance ${k + 1} took part (${perInstance.map((l) => l.length).join('/')})`);
    }
  });

  it('kill -9 of a consumer: a peer claims its pending entries after claim_idle; nothing lost, duplicates bounded by what was pending', async () => {
    const stream = `${redis.prefix}kill`;
    const N = 2000;
    await addEntries(redis, stream, 0, N);
    // The victim's destination never answers 2xx: everything it reads stays pending in the group.
    sink.reply(() => ({ status: 503, body: 'down' }));
    const victimFile = join(dir, 'k1.jsonl');
    const config = join(dir, 'k1.yaml');
    writeFileSync(config, consumerYaml(redis, {
      stream, group: 'K', instance: 'k1', claimIdle: '2s', signal: 'records',
      sections: `processors:\n  audit_log: {}\nexporters:\n  file: { path: ${victimFile} }\n  otlp_http:\n    endpoint: ${sink.url}\n    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }`,
      pipeline: 'exporters: [file] }\n    logs: { receivers: [redis_stream], processors: [audit_log], exporters: [otlp_http]',
    }));
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], { env: { ...process.env, TYK_OTEL_PUMP_FROM_SOURCE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor('the victim to hold entries pending', async () => {
        const p = (await groupInfo(redis, stream).catch(() => new Map())).get('K')?.pending ?? 0;
        return p >= 1000 ? p : 0;
      }, 30_000, 100);
      child.kill('SIGKILL');
      await exited;
      // Read once the victim is dead: it may have read more between the poll above and the kill.
      const pendingAtKill = (await groupInfo(redis, stream)).get('K')?.pending ?? 0;
      await addEntries(redis, stream, N, N + 500); // the stream goes on
      const peerFile = join(dir, 'k2.jsonl');
      const peer = await startAgent(fileConsumer(redis, stream, 'K', 'k2', peerFile, '2s'));
      agents.push(peer);
      await waitFor('the peer to claim and deliver everything', async () => {
        const g = (await groupInfo(redis, stream)).get('K');
        return g?.pending === 0 && g.lag === 0;
      }, 30_000, 100);
      assert.ok(await metric(peer, 'stream_claimed_entries') >= pendingAtKill, 'the peer claimed the victim\'s pending entries');
      await peer.stop();
      const seen = new Uint8Array(N + 500);
      for (const i of indexes(peerFile)) seen[i] = (seen[i] as number) + 1;
      const victim = indexes(victimFile);
      assert.deepEqual([...seen].map((n, i) => [i, n]).filter(([, n]) => n !== 1).slice(0, 5), [], 'the peer delivered every entry exactly once');
      // The victim's file got what it read before the kill; none of it was acknowledged, so all of it came again.
      assert.ok(victim.length <= pendingAtKill, `duplicates (${victim.length}) bounded by the entries pending at the kill (${pendingAtKill})`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      sink.reply(() => ({ status: 200 }));
    }
  });

  it('a group whose destination fails falls behind and catches up; entries trimmed before it read them are counted and logged', async () => {
    const stream = `${redis.prefix}slow`;
    const N = 2000;
    let up = false;
    sink.reply(() => (up ? { status: 200 } : { status: 503, body: 'maintenance' }));
    const fast = await startAgent(fileConsumer(redis, stream, 'G', 'g1', join(dir, 'g1.jsonl')));
    agents.push(fast);
    const slowYaml = consumerYaml(redis, {
      stream, group: 'F', instance: 'f1', claimIdle: '30s', signal: 'logs',
      sections: `processors:\n  audit_log: {}\nexporters:\n  otlp_http:\n    endpoint: ${sink.url}\n    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }`,
      pipeline: 'processors: [audit_log], exporters: [otlp_http]',
    });
    let slow = await startAgent(slowYaml);
    agents.push(slow);
    await addEntries(redis, stream, 0, N);
    await waitFor('group G caught up', async () => {
      const g = (await groupInfo(redis, stream)).get('G');
      return g?.pending === 0 && g.lag === 0;
    }, 30_000, 100);
    const behind = (await groupInfo(redis, stream)).get('F');
    assert.ok((behind?.pending ?? 0) + (behind?.lag ?? 0) > 0, 'group F is behind while its destination fails');
    assert.equal(sink.logs().length, 0);
    up = true;
    await waitFor('group F caught up after recovery', async () => {
      const g = (await groupInfo(redis, stream)).get('F');
      return g?.pending === 0 && g.lag === 0;
    }, 30_000, 100);
    assert.equal(new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size, N, 'no loss after recovery');
    // Retention exceeded: F is stopped while 3000 more arrive and the stream keeps only the newest 1000.
    await slow.stop();
    await addEntries(redis, stream, N, N + 3000);
    await waitFor('group G caught up again', async () => (await groupInfo(redis, stream)).get('G')?.lag === 0, 30_000, 100);
    await redis.client.xtrim(stream, 'MAXLEN', 1000);
    slow = await startAgent(slowYaml);
    agents.push(slow);
    await waitFor('group F read what is left', async () => (await groupInfo(redis, stream)).get('F')?.pending === 0 && new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path']))).size === N + 1000, 30_000, 100);
    assert.equal(await metric(slow, 'stream_lost_entries'), 2000, 'the 2000 entries trimmed before F read them are counted');
    assert.ok(slow.logs.some((l) => l.level === 'error' && l['reason'] === 'trimmed_unread' && l['entries'] === 2000), 'and logged');
    assert.equal(await metric(fast, 'stream_lost_entries'), 0, 'group G, which kept up, lost nothing');
  });
});
