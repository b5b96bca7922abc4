/**
 * The shared Redis connection keys (`config.ts`), endpoint parsing (`endpoint.ts`) and their translation
 * into ioredis options (`connection.ts`), without a server. Behaviour against real servers is tested in
 * `test/redis-database.test.ts` (the database guard), `test/redis-client-secrets.test.ts` (no password in
 * errors), `test/slo-connection.test.ts` and `test/receiver-connection.test.ts` (Sentinel, Cluster, TLS,
 * ACL).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseWithProblems } from '../../src/config/load.js';
import { checkRedisConnection, redisConnectionFields } from './config.js';
import { backoffDelay, connectionPlan } from './connection.js';
import { parseEndpoint } from './endpoint.js';

/** A component schema made of the connection keys only, composed as components compose it. */
const schema = z.strictObject(redisConnectionFields({ purpose: 'Test Redis', commandTimeout: '7s' })).superRefine((c, ctx) => checkRedisConnection(c, ctx));
const parse = (v: Record<string, unknown>) => schema.parse(v);
const problems = (v: unknown) => parseWithProblems(schema, v, ['processors', 'x']).problems;

describe('redis connection keys', () => {
  it('defaults: 127.0.0.1:6379 database 0, the component\'s command timeout, standalone', () => {
    const c = parse({});
    assert.equal(c.endpoint, 'redis://127.0.0.1:6379/0');
    assert.equal(c.command_timeout, 7000);
    assert.equal(c.connect_timeout, 5000);
    assert.deepEqual(c.reconnect, { initial_interval: 100, max_interval: 10_000 });
    assert.equal(connectionPlan(c, '/').mode, 'standalone');
  });

  it('reports cross-key problems with their paths, never echoing a password', () => {
    assert.equal(problems({ sentinel: { master_name: 'm' } })[0]?.path, 'processors::x::sentinel::addrs');
    assert.equal(problems({ sentinel: { master_name: 'm', addrs: ['s:26379'] }, cluster: { addrs: ['c:7000'] } })[0]?.message, 'must not be combined with cluster.addrs (choose Sentinel or Cluster)');
    assert.equal(problems({ tls: { cert_file: 'c.pem' } })[0]?.path, 'processors::x::tls::key_file');
    assert.equal(problems({ reconnect: { initial_interval: '1m' } })[0]?.message, 'must not exceed max_interval (10s)');
    // Cluster has database 0 only: another number is refused rather than silently replaced by 0.
    const db = problems({ cluster: { addrs: ['c:7000'] }, database: 3 });
    assert.equal(db[0]?.path, 'processors::x::database');
    assert.match(db[0]?.message ?? '', /^must be 0 in Cluster mode/);
    const url = problems({ cluster: { addrs: ['c:7000'] }, endpoint: 'redis://u:topsecret@h:1/4' });
    assert.equal(url[0]?.path, 'processors::x::endpoint');
    assert.match(url[0]?.message ?? '', /database 4 in Cluster mode/);
    assert.ok(!JSON.stringify(url).includes('topsecret'));
    assert.equal(problems({ cluster: { addrs: ['c:7000'] }, database: 0 }).length, 0);
    const bad = problems({ endpoint: 'redis://u:s3cret@host:99999' });
    assert.equal(bad[0]?.path, 'processors::x::endpoint');
    assert.ok(!JSON.stringify(bad).includes('s3cret'));
  });

  it('parses endpoints: redis://, rediss://, user info, database, IPv6, bare host:port', () => {
    assert.deepEqual(parseEndpoint('redis://127.0.0.1:6379/0'), { host: '127.0.0.1', port: 6379, tls: false, username: '', password: '', database: 0 });
    assert.deepEqual(parseEndpoint('rediss://app:p%40ss@redis.example:6380/3'), { host: 'redis.example', port: 6380, tls: true, username: 'app', password: 'p@ss', database: 3 });
    assert.deepEqual(parseEndpoint('redis://[::1]'), { host: '::1', port: 6379, tls: false, username: '', password: '', database: undefined });
    assert.deepEqual(parseEndpoint('redis.internal:6379'), { host: 'redis.internal', port: 6379, tls: false, username: '', password: '', database: undefined });
    for (const bad of ['http://x:1', 'redis://h:1/db', 'redis://', 'justahost', ':6379']) assert.equal(parseEndpoint(bad), undefined, bad);
  });

  it('the printed (encoded) config masks a password in the endpoint URL; the parsed value keeps it', () => {
    const c = parse({ endpoint: 'redis://pump:p@ss:wd@10.0.0.5:6390/2' });
    assert.equal(c.endpoint, 'redis://pump:p@ss:wd@10.0.0.5:6390/2');
    const printed = z.encode(schema, c) as { endpoint: string };
    assert.equal(printed.endpoint, 'redis://<redacted>@10.0.0.5:6390/2');
    // The printout is a valid config again.
    assert.equal(parseEndpoint(printed.endpoint)?.host, '10.0.0.5');
    assert.equal((z.encode(schema, parse({ endpoint: 'redis://10.0.0.5:6390/2' })) as { endpoint: string }).endpoint, 'redis://10.0.0.5:6390/2');
  });
});

describe('redis connection plan', () => {
  it('standalone: explicit username/password/database win over the URL; the description has no secret', () => {
    const plan = connectionPlan(parse({ endpoint: 'redis://urluser:urlpass@10.0.0.5:6390/2', password: 'keypass', database: 5 }), '/');
    assert.equal(plan.mode, 'standalone');
    if (plan.mode !== 'standalone') return;
    assert.equal(plan.options.host, '10.0.0.5');
    assert.equal(plan.options.port, 6390);
    assert.equal(plan.options.username, 'urluser');
    assert.equal(plan.options.password, 'keypass');
    assert.equal(plan.options.db, 5);
    assert.equal(plan.options.enableOfflineQueue, false);
    assert.equal(plan.options.autoResendUnfulfilledCommands, false);
    // A failed-over master (READONLY) triggers a reconnect, never a re-send of the command.
    assert.equal(plan.options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")), 1);
    assert.equal(plan.options.reconnectOnError?.(new Error('NOPERM this user has no permissions')), false);
    // A refused SELECT outside the connection set-up closes the connection too (never another database).
    assert.equal(plan.options.reconnectOnError?.(Object.assign(new Error('ERR DB index is out of range'), { command: { name: 'select', args: ['5'] } })), 1);
    assert.equal(plan.options.enableReadyCheck, true);
    assert.equal(plan.options.tls, undefined);
    assert.equal(plan.describe, 'redis://10.0.0.5:6390/5');
    assert.ok(!plan.describe.includes('pass'));
  });

  it('TLS: rediss:// or tls.enabled, PEM files relative to the config dir, server name, skip-verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-plan-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), 'CA');
      writeFileSync(join(dir, 'c.pem'), 'CERT');
      writeFileSync(join(dir, 'k.pem'), 'KEY');
      const plan = connectionPlan(parse({ endpoint: 'rediss://cache.example:6380', tls: { ca_file: 'ca.pem', cert_file: 'c.pem', key_file: 'k.pem', min_version: '1.3' } }), dir);
      assert.equal(plan.mode, 'standalone');
      if (plan.mode !== 'standalone') return;
      const tls = plan.options.tls as Record<string, unknown>;
      assert.equal(String(tls['ca']), 'CA');
      assert.equal(String(tls['cert']), 'CERT');
      assert.equal(String(tls['key']), 'KEY');
      assert.equal(tls['servername'], 'cache.example');
      assert.equal(tls['minVersion'], 'TLSv1.3');
      assert.equal(tls['rejectUnauthorized'], true);
      assert.ok(plan.describe.startsWith('rediss://'));
      const insecure = connectionPlan(parse({ endpoint: '10.1.1.1:6379', tls: { enabled: true, insecure_skip_verify: true, server_name: 'redis.internal' } }), dir);
      const t2 = (insecure.mode === 'standalone' ? insecure.options.tls : undefined) as Record<string, unknown>;
      assert.equal(t2['rejectUnauthorized'], false);
      assert.equal(t2['servername'], 'redis.internal');
      assert.equal(typeof t2['checkServerIdentity'], 'function');
      assert.throws(() => connectionPlan(parse({ tls: { enabled: true, ca_file: 'missing.pem' } }), dir), /cannot read tls.ca_file .*missing.pem: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Sentinel: master name, sentinel addresses and credentials, data-node credentials and database', () => {
    const plan = connectionPlan(parse({
      sentinel: { master_name: 'mymaster', addrs: ['10.0.0.1:26379', '10.0.0.2:26379'], password: 'spass', username: 'suser' },
      password: 'dpass', database: 1,
    }), '/');
    assert.equal(plan.mode, 'sentinel');
    const o = plan.options as Record<string, unknown>;
    assert.equal(o['name'], 'mymaster');
    assert.deepEqual(o['sentinels'], [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }]);
    assert.equal(o['sentinelPassword'], 'spass');
    assert.equal(o['sentinelUsername'], 'suser');
    assert.equal(o['password'], 'dpass');
    assert.equal(o['db'], 1);
    assert.ok(!plan.describe.includes('pass'));
  });

  it('Cluster: seed nodes, credentials and TLS per node, no offline queue', () => {
    const plan = connectionPlan(parse({ cluster: { addrs: ['10.0.0.1:7000', '10.0.0.2:7001'] }, username: 'u', password: 'p', tls: { enabled: true } }), '/');
    assert.equal(plan.mode, 'cluster');
    if (plan.mode !== 'cluster') return;
    assert.deepEqual(plan.nodes, [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }]);
    assert.equal(plan.options.enableOfflineQueue, false);
    assert.equal(plan.options.redisOptions?.username, 'u');
    assert.equal(plan.options.redisOptions?.password, 'p');
    assert.ok(plan.options.redisOptions?.tls);
    assert.equal(typeof plan.options.clusterRetryStrategy, 'function');
  });

  it('reconnects with exponential backoff, capped, with jitter', () => {
    assert.equal(backoffDelay(1, 100, 10_000, () => 0.5), 100);
    assert.equal(backoffDelay(4, 100, 10_000, () => 0.5), 800);
    assert.equal(backoffDelay(30, 100, 10_000, () => 0.5), 10_000);
    assert.equal(backoffDelay(30, 100, 10_000, () => 1), 11_000);
  });
});
