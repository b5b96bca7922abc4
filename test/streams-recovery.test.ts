/**
 * Redis Streams fan-out when consumers die, freeze or fall behind the stream's retention, with real parts
 * (a private redis-server, PostgreSQL, consumer agents as child processes):
 * - exactly-once in SQL across a re-claim: a consumer whose SQL commits landed but whose XACKs never did is
 *   killed; a peer with another `count` claims its entries, rebuilds the same reads, and the SQL exporter
 *   writes nothing twice;
 * - a consumer alive but slow keeps its entries (heartbeat); a frozen one (SIGSTOP) past `claim_idle` has
 *   them claimed, and when it resumes both deliver — duplicates bounded by what it held, nothing lost;
 * - a live slow group while a drainer appends with `max_len`: the stream stays bounded, what is trimmed
 *   before the group read it is counted and logged, and the group goes on with what remains;
 * - pending entries trimmed before a peer claims them (XAUTOCLAIM's deleted ids) are counted and logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { killAgents, spawnAgent as runAgent, type AgentProcess } from './helpers/agent-process.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/tyk-redis.js';
import { postgresYaml, testPostgres, type TestPostgres } from './helpers/postgres.js';
import { startOtlpSink, type OtlpSink } from './helpers/otlp-sink.js';
import { syntheticIndex, syntheticRecord } from './helpers/synthetic-records.js';
import { componentContext } from './helpers/context.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { withWire } from '../src/model.js';
import { decodeAnalytics } from '../internal/tyk-wire/decode.js';
import { RedisStreamExporter } from '../exporters/redis_stream/redis_stream.js';
import { redisStreamExporterConfigSchema } from '../exporters/redis_stream/config.js';

/** The `redis_stream` receiver section of a consumer. */
function receiver(url: string, o: { stream: string; group: string; instance: string; count: number; claimIdle: string; extra?: string }): string {
  return `receivers:
  redis_stream:
    endpoint: ${url}
    stream: ${o.stream}
    group: ${o.group}
    instance_id: ${o.instance}
    from: earliest
    count: ${o.count}
    max_unacked_reads: 4
    block: 200ms
    claim_idle: ${o.claimIdle}
    lag_interval: 100ms
    retry_initial_interval: 100ms
    retry_max_interval: 300ms
${o.extra ?? ''}`;
}

async function addEntries(client: Redis, stream: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 500) {
    const p = client.pipeline();
    for (let j = i; j < Math.min(to, i + 500); j++) p.xadd(stream, '*', 'data', syntheticRecord(j), 'source', 'list', 'format', 'msgpack');
    await p.exec();
  }
}

async function group(client: Redis, stream: string, name: string): Promise<{ pending: number; lag: number | null } | undefined> {
  for (const flat of (await client.call('XINFO', 'GROUPS', stream)) as unknown[][]) {
    const g = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) g.set(String(flat[i]), flat[i + 1]);
    if (g.get('name') === name) return { pending: Number(g.get('pending')), lag: g.get('lag') === null ? null : Number(g.get('lag')) };
  }
  return undefined;
}

async function drained(client: Redis, stream: string, name: string): Promise<boolean> {
  const g = await group(client, stream, name);
  return g?.pending === 0 && g.lag === 0;
}

/** Sum of the samples of a self-telemetry metric whose line contains every one of `parts`. */
async function metric(agent: RunningAgent, ...parts: string[]): Promise<number> {
  const text = await (await fetch(`${agent.telemetryUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (!line.startsWith('#') && parts.every((p) => line.includes(p))) sum += Number(line.split(' ').pop());
  return sum;
}

function indexes(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => syntheticIndex((JSON.parse(l) as { path: string }).path));
}

describe('redis streams: recovery, frozen consumers, retention', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let db: TestPostgres;
  let dir: string;
  const children: AgentProcess[] = [];
  const agents: RunningAgent[] = [];
  const sinks: OtlpSink[] = [];

  before(async () => {
    server = await startPrivateRedis();
    admin = await server.client();
    db = await testPostgres('streams_sql');
    dir = mkdtempSync(join(tmpdir(), 'streams-recovery-'));
  });
  after(async () => {
    killAgents(children);
    for (const a of agents.splice(0)) await a.stop().catch(() => undefined);
    for (const s of sinks) await s.close();
    admin.disconnect();
    await server.destroy();
    await db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SQL exactly once across a re-claim: a peer with another count rebuilds the dead consumer\'s reads', { timeout: 120_000 }, async () => {
    const stream = 'sql-stream';
    const N = 3000;
    await addEntries(admin, stream, 0, N);
    // The victim may do anything but XACK: every read it commits to PostgreSQL stays pending in the group.
    await admin.call('ACL', 'SETUSER', 'victim', 'on', '>victim-pw', '~*', '&*', '+@all', '-xack');
    const pgKeys = postgresYaml(db, '    ');
    const sections = (url: string, instance: string, count: number, auth: string) => `${receiver(url, { stream, group: 'S', instance, count, claimIdle: '1s', extra: auth })}exporters:
  sql:
    ${pgKeys}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [redis_stream], exporters: [sql] }
`;
    const config = join(dir, 'victim.yaml');
    writeFileSync(config, sections(server.url, 'victim', 300, '    username: victim\n    password: victim-pw\n'));
    const victim = runAgent(config);
    children.push(victim);
    const rows = async () => Number((await db.rows<{ n: string }>('SELECT count(*) AS n FROM tyk_analytics').catch(() => [{ n: '0' }]))[0]?.n);
    // Four reads of 300 (max_unacked_reads) committed, none acknowledged.
    await waitFor('the victim to commit 4 reads it cannot acknowledge', async () => (await rows()) === 1200 && (await group(admin, stream, 'S'))?.pending === 1200, 60_000, 100);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    // The peer claims with COUNT 1000: without the registered reads it would cut [0, 1000) and [1000, 1200).
    const peer = await startAgent(sections(server.url, 'peer', 1000, ''));
    agents.push(peer);
    await waitFor('the peer to claim and deliver everything', () => drained(admin, stream, 'S'), 60_000, 100);
    assert.ok(await metric(peer, 'stream_claimed_entries') >= 1200, 'the peer claimed the victim\'s entries');
    const [totals] = await db.rows<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT path) AS d FROM tyk_analytics');
    assert.deepEqual(totals, { n: String(N), d: String(N) }, 'every record exactly once in SQL');
    await peer.stop();
    agents.splice(agents.indexOf(peer), 1);
    assert.equal(await admin.hlen(`${stream}:reads:S`), 0, 'acknowledged reads are forgotten');
  });

  it('a slow but live consumer keeps its entries; a frozen one past claim_idle has them claimed, and when it resumes both deliver — duplicates bounded by what it held', { timeout: 120_000 }, async () => {
    const stream = 'stall-stream';
    const N = 400; // exactly what the victim holds: 4 reads of 100
    await addEntries(admin, stream, 0, N);
    const sink = await startOtlpSink();
    sinks.push(sink);
    let up = false;
    sink.reply(() => (up ? { status: 200 } : { status: 503, body: 'down' }));
    const yaml = (instance: string, file: string) => `${receiver(server.url, { stream, group: 'T', instance, count: 100, claimIdle: '1s' })}processors:
  audit_log: {}
exporters:
  file: { path: ${file} }
  otlp_http:
    endpoint: ${sink.url}
    retry_on_failure: { initial_interval: 100ms, max_interval: 300ms }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [redis_stream], exporters: [file] }
    logs: { receivers: [redis_stream], processors: [audit_log], exporters: [otlp_http] }
`;
    const config = join(dir, 'stall.yaml');
    writeFileSync(config, yaml('frozen', join(dir, 'frozen.jsonl')));
    const victim = runAgent(config);
    children.push(victim);
    await waitFor('the victim to hold every entry pending', async () => (await group(admin, stream, 'T'))?.pending === N, 30_000, 100);
    const peerFile = join(dir, 'peer.jsonl');
    const peer = await startAgent(yaml('peer', peerFile));
    agents.push(peer);
    // Alive but slow: the victim's destination keeps failing for three claim_idle periods (six claim checks
    // of the peer), measured by the victim's own attempts reaching the sink.
    const since = Date.now();
    await waitFor('the victim to keep retrying for 3 s', () => sink.requests.some((r) => r.receivedAt - since > 3000), 30_000, 100);
    assert.equal(await metric(peer, 'stream_claimed_entries'), 0, 'no entry of a live consumer was claimed');
    victim.proc.kill('SIGSTOP');
    await waitFor('the peer to claim the frozen consumer\'s entries', async () => (await metric(peer, 'stream_claimed_entries')) === N, 30_000, 100);
    up = true;
    await waitFor('the peer to deliver them', () => drained(admin, stream, 'T'), 30_000, 100);
    victim.proc.kill('SIGCONT');
    // The resumed victim delivers what it held (its file had it already; the sink gets it now) and
    // acknowledges entries the peer owns and acknowledged: harmless.
    const count = () => {
      const n = new Map<number, number>();
      for (const l of sink.logs()) n.set(syntheticIndex(l.attributes['url.path']), (n.get(syntheticIndex(l.attributes['url.path'])) ?? 0) + 1);
      return n;
    };
    await waitFor('the resumed victim to deliver what it held', () => [...count().values()].reduce((a, b) => a + b, 0) === 2 * N, 30_000, 100);
    const seen = count();
    assert.equal(seen.size, N, 'every entry delivered');
    assert.ok([...seen.values()].every((n) => n === 2), 'each delivered at most twice: once by the peer, once by the frozen consumer that held it');
    assert.equal(new Set(indexes(peerFile)).size, N, 'the peer\'s file has every entry');
    assert.ok(await drained(admin, stream, 'T'), 'nothing left pending');
    victim.proc.kill('SIGKILL');
    await victim.exited;
  });

  it('a live slow group while a drainer appends with max_len: the stream stays bounded, entries trimmed before the group read them are counted and logged, the group goes on with the rest', { timeout: 180_000 }, async () => {
    const stream = 'retention-stream';
    const N = 6000;
    const MAX_LEN = 500;
    const sink = await startOtlpSink();
    sinks.push(sink);
    let up = false;
    sink.reply(() => (up ? { status: 200 } : { status: 503, body: 'down' }));
    const yaml = (g: string, pipeline: string, sections: string) => `${receiver(server.url, { stream, group: g, instance: `${g}1`, count: 50, claimIdle: '30s' })}${sections}
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    ${pipeline}
`;
    const fastFile = join(dir, 'fast.jsonl');
    const fast = await startAgent(yaml('fast', 'records: { receivers: [redis_stream], exporters: [file] }', `exporters:\n  file: { path: ${fastFile} }`));
    agents.push(fast);
    const slow = await startAgent(yaml('slow', 'logs: { receivers: [redis_stream], processors: [audit_log], exporters: [otlp_http] }',
      `processors:\n  audit_log: {}\nexporters:\n  otlp_http:\n    endpoint: ${sink.url}\n    retry_on_failure: { initial_interval: 100ms, max_interval: 300ms }`));
    agents.push(slow);
    // The drainer's exporter, appending batches as a tyk_redis → redis_stream agent does.
    const drainer = new RedisStreamExporter(componentContext({ id: 'redis_stream', telemetry: new SelfTelemetry('d').forComponent('exporter', 'redis_stream') }),
      redisStreamExporterConfigSchema.parse({ endpoint: server.url, stream, max_len: MAX_LEN }));
    await drainer.start();
    const memory: number[] = [];
    try {
      for (let i = 0; i < N; i += 250) {
        const bytes = Array.from({ length: 250 }, (_, k) => syntheticRecord(i + k));
        await drainer.consumeRecords(withWire(bytes.map((b) => decodeAnalytics(b, 'msgpack')), { bytes, runs: [{ end: 250, source: 'list', format: 'msgpack' }] }));
        // The fast group keeps up (the test waits for it); the slow one holds 4 reads and reads no more.
        await waitFor('the fast group to keep up', () => drained(admin, stream, 'fast'), 30_000, 20);
        // The slow group holds max_unacked_reads reads of 50 before the stream moves past them.
        if (i === 0) await waitFor('the slow group to hold 4 reads', async () => (await group(admin, stream, 'slow'))?.pending === 200, 30_000, 20);
        if (i >= 2 * MAX_LEN) memory.push(Number(await admin.call('MEMORY', 'USAGE', stream, 'SAMPLES', '0')));
        assert.ok((await admin.xlen(stream)) < MAX_LEN + 250, 'the stream holds about max_len entries');
      }
    } finally {
      await drainer.shutdown();
    }
    const [lo, hi] = [Math.min(...memory), Math.max(...memory)];
    assert.ok(hi <= lo * 1.5, `the stream's memory stays bounded while the slow group is behind (${lo}..${hi} bytes over ${memory.length} samples)`);
    up = true;
    // Not `drained` alone: the heartbeat drops trimmed entries from the pending list while the consumer still
    // holds them, so the group may look drained before the held reads' retries delivered them.
    const deliveredSet = () => new Set(sink.logs().map((l) => syntheticIndex(l.attributes['url.path'])));
    const lostNow = () => metric(slow, 'stream_lost_entries', 'trimmed_unread');
    await waitFor('the slow group to go on with what remains', async () => (await drained(admin, stream, 'slow')) && deliveredSet().size + (await lostNow()) === N, 60_000, 100)
      .catch(async (err: unknown) => {
        throw new Error(`${String(err)} (delivered ${deliveredSet().size}, lost ${await lostNow()})`);
      });
    const delivered = deliveredSet();
    const lost = await lostNow();
    assert.ok(lost > 0, 'entries were trimmed before the slow group read them');
    // The entries the slow consumer held when they were trimmed are delivered from memory (else this is N - 200).
    assert.equal(delivered.size + lost, N, `nothing silent: delivered (${delivered.size}) + counted as lost (${lost}) = appended`);
    for (let i = N - MAX_LEN; i < N; i++) assert.ok(delivered.has(i), `the entries the stream still holds are delivered (${i})`);
    assert.ok(slow.logs.some((l) => l.level === 'error' && l['reason'] === 'trimmed_unread'), 'the loss is logged');
    assert.equal(await metric(fast, 'stream_lost_entries'), 0, 'the group that kept up lost nothing');
    assert.equal(new Set(indexes(fastFile)).size, N);
  });

  it('pending entries of a dead consumer trimmed before a peer claims them are counted and logged (XAUTOCLAIM\'s deleted ids)', async () => {
    const stream = 'claim-trimmed';
    await addEntries(admin, stream, 0, 100);
    await admin.xgroup('CREATE', stream, 'D', '0');
    // A consumer that read 100 entries and died.
    await admin.xreadgroup('GROUP', 'D', 'ghost', 'COUNT', 100, 'STREAMS', stream, '>');
    await admin.xtrim(stream, 'MAXLEN', 0);
    await addEntries(admin, stream, 100, 150);
    const file = join(dir, 'claimer.jsonl');
    const peer = await startAgent(`${receiver(server.url, { stream, group: 'D', instance: 'claimer', count: 100, claimIdle: '100ms' })}exporters:
  file: { path: ${file} }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [redis_stream], exporters: [file] }
`);
    agents.push(peer);
    await waitFor('the claim to find the trimmed entries and the rest to be read', async () => (await drained(admin, stream, 'D')) && (await metric(peer, 'stream_lost_entries', 'trimmed_pending')) === 100, 30_000, 50);
    assert.ok(peer.logs.some((l) => l.level === 'error' && l['reason'] === 'trimmed_pending' && l['entries'] === 100), 'logged');
    assert.deepEqual(indexes(file).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => 100 + i), 'the entries that remain are delivered');
  });
});
