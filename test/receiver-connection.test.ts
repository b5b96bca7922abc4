/**
 * Connection options of the `tyk_redis` receiver against private redis-server processes: an ACL user with
 * the documented minimal permissions, a database index, credentials in the URL or in keys (never logged),
 * a refused password (reported on `/ready`, no crash), TLS with a CA made here by openssl (server
 * verification and client certificates), Sentinel (with passwords) and a three-node Cluster in both
 * delivery modes (in-flight lists share their source key's slot).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './helpers/agent.js';
import { startCluster, startSentinel, type PrivateCluster, type PrivateSentinel } from './helpers/redis-topology.js';
import { CollectingConsumer, freePort, receiverHarness, smallTemplate, startPrivateRedis, uniqueId, uniqueMsgpack, type PrivateRedis, type ReceiverHarness } from './helpers/tyk-redis.js';
import { loadFixtures } from './helpers/fixtures.js';
import { drainKeys } from '../receivers/tyk_redis/keys.js';
import { tykRedisConfigSchema } from '../receivers/tyk_redis/config.js';

/**
 * The ACL the README documents for the receiver (analytics lists under `analytics-`, the uptime list, and
 * its own bookkeeping keys), here for the prefix `acl-`.
 */
const ACL = [
  'on', '>pump-secret-pw', 'resetkeys', '~acl-*', '~{acl-*', '~host-checker:*', '~{host-checker:*', 'resetchannels', '-@all',
  '+@connection', '+info', '+llen', '+lrange', '+ltrim', '+rpush', '+del', '+exists', '+multi', '+exec', '+eval', '+evalsha',
  '+hset', '+hdel', '+hgetall', '+sadd', '+srem', '+smembers', '+set', '+rename',
  '+type', '+sort', '+lindex', '+lpush', '+lpop', '+lpos', '+memory|usage',
];

const harnesses: ReceiverHarness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

function drain(config: Record<string, unknown>, opts: { instanceId?: string } = {}): { h: ReceiverHarness; c: CollectingConsumer } {
  const c = new CollectingConsumer();
  const h = receiverHarness({ poll_interval: '50ms', reconnect: { initial_interval: '50ms', max_interval: '300ms' }, ...config }, c, opts);
  harnesses.push(h);
  return { h, c };
}

/** Sorted ids of the analytics records a consumer got (uptime records left out). */
const ids = (c: CollectingConsumer) => c.batches.flat().filter((r) => r.kind !== 'uptime').map((r) => uniqueId(r)).sort((a, b) => a - b);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('tyk_redis connection: ACL user, database, URL credentials', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  before(async () => {
    redis = await startPrivateRedis(['--requirepass', 'admin-pw'], { pingArgs: ['-a', 'admin-pw', '--no-auth-warning'] });
    admin = await redis.client({ password: 'admin-pw' });
    await admin.call('ACL', 'SETUSER', 'pump', ...ACL);
  });
  after(async () => {
    admin.disconnect();
    await redis.destroy();
  });

  for (const delivery of ['at_most_once', 'at_least_once']) {
    it(`${delivery}: drains database 3 as an ACL user with only the documented permissions`, async () => {
      await admin.select(3);
      const key = 'acl-tyk-system-analytics_2';
      await admin.rpush(key, ...range(50).map((i) => uniqueMsgpack(smallTemplate(), i)));
      await admin.rpush('acl-tyk-system-analytics', Buffer.from('corrupt'));
      await admin.rpush('host-checker:tyk-uptime-analytics', (loadFixtures('uptime-msgpack.jsonl')[0] as { bytes: Buffer }).bytes);
      const { h, c } = drain({ endpoint: `redis://127.0.0.1:${redis.port}/3`, username: 'pump', password: 'pump-secret-pw', key_prefix: 'acl-', delivery });
      await h.receiver.start();
      await waitFor('50 records + 1 uptime', () => c.count === 51);
      await waitFor('dead letter', async () => (await admin.llen('acl-tyk-otel-pump-dead-letter')) === 1);
      assert.deepEqual(ids(c), range(50));
      assert.equal(c.batches.flat().filter((r) => r.kind === 'uptime').length, 1);
      await h.close();
      assert.deepEqual((await admin.keys('acl-*')).sort(), ['acl-tyk-otel-pump-dead-letter']);
      assert.equal(await admin.exists('host-checker:tyk-uptime-analytics'), 0);
      await admin.del('acl-tyk-otel-pump-dead-letter');
      await admin.select(0);
      assert.ok(!JSON.stringify(h.logs).includes('pump-secret-pw'));
    });
  }

  it('takes credentials and the database from the URL, and never logs them', async () => {
    await admin.select(5);
    await admin.rpush('acl-tyk-system-analytics', ...range(10).map((i) => uniqueMsgpack(smallTemplate(), i)));
    await admin.select(0);
    const { h, c } = drain({ endpoint: `redis://pump:pump-secret-pw@127.0.0.1:${redis.port}/5`, key_prefix: 'acl-', uptime: false });
    await h.receiver.start();
    await waitFor('10 records', () => c.count === 10);
    assert.ok(h.logs.some((l) => l.msg === 'draining Tyk analytics from redis' && l['redis'] === `redis://127.0.0.1:${redis.port}/5`));
    assert.ok(!JSON.stringify(h.logs).includes('pump-secret-pw'));
  });

  it('a refused password: not ready with the reason, logged once without the password, no crash', async () => {
    const { h } = drain({ endpoint: `redis://127.0.0.1:${redis.port}/0`, username: 'pump', password: 'wrong-pw-123', key_prefix: 'acl-' });
    await h.receiver.start();
    const state = await waitFor('not ready', () => {
      const s = h.health.snapshot().components['tyk_redis'];
      return s && !s.ready && /WRONGPASS/.test(s.detail ?? '') ? s : undefined;
    });
    assert.match(state.detail ?? '', /^redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\/0\): WRONGPASS/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.logs.filter((l) => l.msg?.startsWith('redis unreachable')).length, 1);
    assert.ok(!JSON.stringify(h.logs).includes('wrong-pw-123'));
  });

  it('a user without the needed permissions: not ready with the NOPERM reason, retried, no crash', async () => {
    await admin.call('ACL', 'SETUSER', 'readonly', 'on', '>ro-pw', '~*', '-@all', '+@connection', '+info', '+llen');
    await admin.rpush('acl-tyk-system-analytics', uniqueMsgpack(smallTemplate(), 1));
    const { h, c } = drain({ endpoint: `redis://127.0.0.1:${redis.port}/0`, username: 'readonly', password: 'ro-pw', key_prefix: 'acl-', uptime: false });
    await h.receiver.start();
    const state = await waitFor('not ready', () => {
      const s = h.health.snapshot().components['tyk_redis'];
      return s && !s.ready && /NOPERM/.test(s.detail ?? '') ? s : undefined;
    });
    // Joining the instances (the heartbeat) is the first command that needs a permission.
    assert.match(state.detail ?? '', /^redis error: start-up: NOPERM/);
    assert.equal(c.count, 0);
    assert.equal(await admin.llen('acl-tyk-system-analytics'), 1);
    // Granting the permission later is picked up without a restart.
    await admin.call('ACL', 'SETUSER', 'readonly', ...ACL.filter((p) => p.startsWith('+')));
    await waitFor('drained after the grant', () => c.count === 1, 15_000);
    await waitFor('ready', () => h.health.snapshot().components['tyk_redis']?.ready === true);
  });
});

describe('tyk_redis connection: TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-tls-'));
  let redis: PrivateRedis;
  let port: number;
  before(async () => {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    // EC keys: generated in milliseconds, unlike RSA.
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tyk-otel-pump test CA');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      ssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'pump'}`);
      ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`);
    }
    port = await freePort();
    redis = await startPrivateRedis(
      ['--port', '0', '--tls-port', String(port), '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.pem'), '--tls-auth-clients', 'yes'],
      { port, pingArgs: ['--tls', '--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key')] },
    );
  });
  after(async () => {
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rediss:// with a private CA and a client certificate (mutual TLS), files relative to the config dir', async () => {
    const admin = await redis.client({ tls: { ca: readPem(dir, 'ca.pem'), cert: readPem(dir, 'client.pem'), key: readPem(dir, 'client.key'), servername: 'localhost' } });
    await admin.rpush('tls-tyk-system-analytics', ...range(20).map((i) => uniqueMsgpack(smallTemplate(), i)));
    const c = new CollectingConsumer();
    const h = receiverHarness({
      endpoint: `rediss://localhost:${port}`, key_prefix: 'tls-', uptime: false, poll_interval: '50ms',
      tls: { ca_file: join(dir, 'ca.pem'), cert_file: 'client.pem', key_file: 'client.key' },
    }, c, { configDir: dir });
    harnesses.push(h);
    await h.receiver.start();
    await waitFor('20 records over TLS', () => c.count === 20);
    assert.deepEqual(ids(c), range(20));
    admin.disconnect();
  });

  it('an untrusted server certificate: not ready with the TLS reason; insecure_skip_verify accepts it', async () => {
    const { h } = drain({ endpoint: `127.0.0.1:${port}`, tls: { enabled: true, cert_file: join(dir, 'client.pem'), key_file: join(dir, 'client.key') }, key_prefix: 'tls-' });
    await h.receiver.start();
    await waitFor('not ready (certificate)', () => /certificate/i.test(h.health.snapshot().components['tyk_redis']?.detail ?? ''));
    const { h: h2 } = drain({ endpoint: `127.0.0.1:${port}`, tls: { enabled: true, insecure_skip_verify: true, cert_file: join(dir, 'client.pem'), key_file: join(dir, 'client.key') }, key_prefix: 'tls-' });
    await h2.receiver.start();
    await waitFor('ready', () => h2.health.snapshot().components['tyk_redis']?.ready === true);
  });
});

function readPem(dir: string, name: string): Buffer {
  return readFileSync(join(dir, name));
}

describe('tyk_redis connection: Sentinel', () => {
  let sen: PrivateSentinel;
  before(async () => {
    sen = await startSentinel();
  });
  after(async () => {
    await sen.destroy();
  });

  it('finds the master by name through a password-protected Sentinel and drains it', async () => {
    const admin = await sen.master.client({ password: sen.masterPassword });
    await admin.rpush('sen-tyk-system-analytics_7', ...range(30).map((i) => uniqueMsgpack(smallTemplate(), i)));
    const { h, c } = drain({
      sentinel: { master_name: sen.masterName, addrs: [sen.sentinelAddr], password: sen.sentinelPassword }, password: sen.masterPassword,
      key_prefix: 'sen-', uptime: false, delivery: 'at_least_once',
    });
    await h.receiver.start();
    await waitFor('30 records via Sentinel', () => c.count === 30);
    assert.deepEqual(ids(c), range(30));
    assert.ok(h.logs.some((l) => l['mode'] === 'sentinel'));
    assert.ok(!JSON.stringify(h.logs).includes('-pw'));
    admin.disconnect();
  });
});

describe('tyk_redis connection: Cluster', () => {
  let cl: PrivateCluster;
  before(async () => {
    cl = await startCluster();
  });
  after(async () => {
    await cl.destroy();
  });

  for (const delivery of ['at_most_once', 'at_least_once']) {
    it(`${delivery}: drains all 23 lists spread over the cluster's slots`, async () => {
      const prefix = `cl-${delivery}-`;
      const cluster = cl.client();
      const keys = drainKeys(tykRedisConfigSchema.parse({ key_prefix: prefix, uptime_key: `${prefix}uptime`, protobuf: false }));
      const expected: number[] = [];
      for (const [n, k] of keys.entries()) {
        if (k.encoding === 'uptime') {
          await cluster.rpush(k.key, (loadFixtures('uptime-msgpack.jsonl')[0] as { bytes: Buffer }).bytes);
          continue;
        }
        expected.push(...range(25, n * 100));
        await cluster.rpush(k.key, ...range(25, n * 100).map((i) => uniqueMsgpack(smallTemplate(), i)));
      }
      const slots = new Set(await Promise.all(keys.map((k) => cluster.call('CLUSTER', 'KEYSLOT', k.key))));
      assert.ok(slots.size > 3, 'the lists live in many slots');
      const { h, c } = drain({ cluster: { addrs: [...cl.addrs] }, key_prefix: prefix, uptime_key: `${prefix}uptime`, protobuf: false, delivery, chunk_size: 40 });
      await h.receiver.start();
      await waitFor('every list drained', () => c.count === 11 * 25 + 1, 20_000);
      const got = c.batches.flat().filter((r) => r.kind !== 'uptime').map((r) => uniqueId(r)).sort((x, y) => x - y);
      assert.deepEqual(got, expected);
      for (const k of keys) assert.equal(await cluster.exists(k.key), 0, k.key);
      await h.close();
      harnesses.splice(harnesses.indexOf(h), 1);
      for (const node of cl.nodes) {
        const r = new Redis({ port: node.port, lazyConnect: true });
        await r.connect();
        assert.deepEqual(await r.keys(`*${prefix}*`), [], `node ${node.port} has no in-flight or bookkeeping keys left`);
        r.disconnect();
      }
    });
  }
});
