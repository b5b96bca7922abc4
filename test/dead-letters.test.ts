/**
 * `tyk-otel-pump dead-letters` against a real Redis: a real agent dead-letters corrupt and
 * valid-but-unexpected elements; `list` shows them, `show` dumps them with the refused field flagged and the
 * API key masked, `replay` puts back what this version decodes (here: an entry an older, stricter version
 * refused) and leaves the rest, `purge` removes by reason. Then the same on a three-node Redis Cluster.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { startSentinel, type PrivateSentinel } from './helpers/redis-topology.js';
import { pack, unpack } from 'msgpackr';
import { loadFixtures } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor } from './helpers/agent.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/tyk-redis.js';
import { main } from '../src/cli.js';

const API_KEY = '5e9d9544a1dcd60001d0ed20secretkey42';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A fixture record re-packed with some fields changed. */
function variant(over: Record<string, unknown>): Buffer {
  const o = unpack(loadFixtures('gateway-msgpack.jsonl')[0]!.bytes) as Record<string, unknown>;
  return pack({ ...o, ...over });
}

/** The envelope the receiver writes, as an older version would have written it. */
function envelope(source: string, reason: string, error: string, bytes: Buffer): string {
  return JSON.stringify({ source_key: source, reason, error, receiver: 'tyk_redis', instance: 'old', time: new Date().toISOString(), size_bytes: bytes.length, bytes_b64: bytes.toString('base64') });
}

describe('dead-letters command (standalone Redis)', () => {
  let redis: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'dead-letters-'));
  let config: string;
  let source: string;
  let dlq: string;
  before(async () => {
    redis = await testRedis('dead-letters');
    source = `${redis.prefix}analytics-tyk-system-analytics`;
    dlq = `${redis.prefix}analytics-tyk-otel-pump-dead-letter`;
    config = join(dir, 'otel-config.yaml');
    writeFileSync(config, `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    poll_interval: 50ms
exporters:
  file: { path: ${join(dir, 'out.jsonl')} }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [file] }
`);
  });
  after(async () => {
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a real agent dead-letters what it cannot decode; list shows it', async () => {
    const good = loadFixtures('gateway-msgpack.jsonl').map((f) => f.bytes);
    const bad = [
      Buffer.from('{"not":"msgpack"}'),
      variant({ APIID: { id: 'x' }, APIKey: API_KEY }),
      good[0]!.subarray(0, 40),
    ];
    await redis.push(source, [...good, ...bad]);
    const agent = await startAgent(readFileSync(config, 'utf8'));
    try {
      await waitFor('3 dead letters', async () => (await redis.client.llen(dlq)) === 3, 15_000);
      await waitFor('source drained', async () => (await redis.client.llen(source)) === 0);
    } finally {
      await agent.stop();
    }
    const r = await cli(['dead-letters', 'list', '--config', config]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /3 entries/);
    for (const reason of ['not_msgpack', 'wrong_type', 'truncated']) assert.match(r.out, new RegExp(`\\b${reason}\\b`));
    assert.match(r.out, new RegExp(source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const json = await cli(['dead-letters', 'list', '--config', config, '--json', '--reason', 'wrong_type']);
    const lines = json.out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!['format'], 'msgpack');
    assert.match(String(lines[0]!['error']), /APIID/);
  });

  it('show dumps every key, flags the refused field and masks the API key', async () => {
    const idx = (JSON.parse((await cli(['dead-letters', 'list', '--config', config, '--json', '--reason', 'wrong_type'])).out) as { index: number }).index;
    const r = await cli(['dead-letters', 'show', String(idx), '--config', config]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /APIID: \(map of 1\)\s+<-- refused by the typed decoder/);
    assert.match(r.out, /APIName: "Orders API"/);
    assert.ok(!r.out.includes(API_KEY), 'the API key is masked');
    assert.match(r.out, /APIKey: "\*\*\*\*ey42"/);
    assert.match(r.out, /tolerant decoder: wrong_type/);
    const raw = await cli(['dead-letters', 'show', '0', '--config', config]);
    assert.match(raw.out, /msgpack: not readable|typed decoder: not_msgpack/);
  });

  it('replay puts back what this version decodes, leaves the rest; purge removes by reason', async () => {
    // An entry an older, stricter decoder refused: RequestTime as a float. This version decodes it.
    const fixed = variant({ RequestTime: 24.5 });
    await redis.client.rpush(dlq, envelope(source, 'wrong_type', 'msgpack: RequestTime: expected an integer, got float', fixed));
    const r = await cli(['dead-letters', 'replay', '--config', config]);
    assert.equal(r.code, 1, 'entries left in place make the exit code 1');
    assert.match(r.out, /replayed 1 entry \(.*\); 3 left in place/);
    const back = await redis.client.lrangeBuffer(source, 0, -1);
    assert.equal(back.length, 1);
    assert.ok(back[0]!.equals(fixed), 'the exact bytes went back to the source list');
    assert.equal(await redis.client.llen(dlq), 3);

    const refuse = await cli(['dead-letters', 'purge', '--config', config]);
    assert.equal(refuse.code, 2, 'purge without a selection is refused');
    const p = await cli(['dead-letters', 'purge', '--config', config, '--reason', 'not_msgpack', '--reason', 'truncated']);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /purged 2 entries/);
    const left = await cli(['dead-letters', 'list', '--config', config, '--json']);
    assert.deepEqual(left.out.split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason), ['wrong_type']);
  });

  it('bad usage and unreachable Redis are clear errors', async () => {
    assert.equal((await cli(['dead-letters', 'frobnicate', '--config', config])).code, 2);
    assert.equal((await cli(['dead-letters', 'show', '--config', config])).code, 2);
    const unreachable = join(dir, 'unreachable.yaml');
    writeFileSync(unreachable, 'receivers: { tyk_redis: { endpoint: "redis://:hunter2@127.0.0.1:1/0", connect_timeout: 200ms } }\nexporters: { file: { path: /dev/null } }\nservice: { pipelines: { records: { receivers: [tyk_redis], exporters: [file] } } }\n');
    const r = await cli(['dead-letters', 'list', '--config', unreachable]);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot connect to redis:\/\/127\.0\.0\.1:1\/0/);
    assert.ok(!r.err.includes('hunter2'), 'no password in the error');
  });
});

describe('dead-letters command (Redis Cluster)', () => {
  const nodes: PrivateRedis[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dead-letters-cluster-'));
  before(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    await waitFor('cluster ok', () => nodes.every((n) => execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info']).toString().includes('cluster_state:ok')), 20_000, 100);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('list, show, replay and purge across slots', async () => {
    const cluster = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    try {
      const source = 'analytics-tyk-system-analytics';
      const dlq = 'dl-{other}';
      const fixed = variant({ RequestTime: 10.25 });
      const broken = Buffer.from([0xc1, 0x00]);
      await cluster.rpush(dlq, envelope(source, 'wrong_type', 'older version', fixed), envelope(source, 'not_msgpack', 'x', broken));
      const slots = await Promise.all([source, dlq].map((k) => cluster.call('CLUSTER', 'KEYSLOT', k)));
      assert.notEqual(slots[0], slots[1], 'the two lists live in different slots');
      const config = join(dir, 'c.yaml');
      writeFileSync(config, `receivers: { tyk_redis: { cluster: { addrs: [${nodes.map((n) => `"127.0.0.1:${n.port}"`).join(', ')}] }, dead_letter: { key: "${dlq}" } } }\nexporters: { file: { path: /dev/null } }\nservice: { pipelines: { records: { receivers: [tyk_redis], exporters: [file] } } }\n`);
      const l = await cli(['dead-letters', 'list', '--config', config]);
      assert.equal(l.code, 0, l.err);
      assert.match(l.out, /2 entries/);
      assert.match((await cli(['dead-letters', 'show', '0', '--config', config])).out, /RequestTime: 10\.25 \(float\)/);
      const r = await cli(['dead-letters', 'replay', '--config', config]);
      assert.match(r.out, /replayed 1 entry/);
      const back = await cluster.lrangeBuffer(source, 0, -1);
      assert.equal(back.length, 1);
      assert.ok(back[0]!.equals(fixed));
      assert.equal((await cli(['dead-letters', 'purge', '--all', '--config', config])).code, 0);
      assert.equal(await cluster.llen(dlq), 0);
      await cluster.del(source);
    } finally {
      cluster.disconnect();
    }
  });
});

describe('dead-letters command (Redis Sentinel)', () => {
  let s: PrivateSentinel;
  const dir = mkdtempSync(join(tmpdir(), 'dead-letters-sentinel-'));
  before(async () => { s = await startSentinel(); });
  after(async () => {
    await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('list, replay and purge through the Sentinel-found master', async () => {
    const master = new Redis({ host: '127.0.0.1', port: s.master.port, password: s.masterPassword });
    try {
      const source = 'analytics-tyk-system-analytics';
      const dlq = 'analytics-tyk-otel-pump-dead-letter';
      const fixed = variant({ RequestTime: 3.75 });
      await master.rpush(dlq, envelope(source, 'wrong_type', 'older version', fixed), envelope(source, 'truncated', 'x', Buffer.from([0x82])));
      const config = join(dir, 's.yaml');
      writeFileSync(config, `receivers: { tyk_redis: { sentinel: { master_name: ${s.masterName}, addrs: ["${s.sentinelAddr}"], password: ${s.sentinelPassword} }, password: ${s.masterPassword} } }\nexporters: { file: { path: /dev/null } }\nservice: { pipelines: { records: { receivers: [tyk_redis], exporters: [file] } } }\n`);
      const l = await cli(['dead-letters', 'list', '--config', config]);
      assert.equal(l.code, 0, l.err);
      assert.match(l.out, /sentinel master mymaster/);
      assert.match(l.out, /2 entries/);
      assert.ok(!l.out.includes(s.masterPassword) && !l.err.includes(s.masterPassword));
      assert.match((await cli(['dead-letters', 'replay', '--config', config])).out, /replayed 1 entry/);
      assert.ok((await master.lrangeBuffer(source, 0, -1))[0]!.equals(fixed));
      assert.match((await cli(['dead-letters', 'purge', '--reason', 'truncated', '--config', config])).out, /purged 1 entry/);
      assert.equal(await master.llen(dlq), 0);
    } finally {
      master.disconnect();
    }
  });
});
