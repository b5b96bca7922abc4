/**
 * Errors of the agent's Redis clients (`internal/redis`) never carry a password to a log line: ioredis
 * attaches the refused `HELLO … AUTH user password` command to the error it emits, so a component logging
 * the error object would print the password. Against a private password-protected `redis-server`. And
 * `validate --print` shows a Redis URL without its password, for every component using the connection keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import pino from 'pino';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRedisConnection, redisConnectionFields } from '../internal/redis/config.js';
import { connectionPlan, createClient } from '../internal/redis/connection.js';
import { ConnectionWatch } from '../internal/redis/watch.js';
import { waitFor } from './helpers/agent.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/tyk-redis.js';

const schema = z.strictObject(redisConnectionFields({ purpose: 'Test', commandTimeout: '1s' })).superRefine((c, ctx) => checkRedisConnection(c, ctx));

/** A pino logger writing into `out` (the way components log: the error object under `err`). */
function logger(out: string[]) {
  return pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  }));
}

describe('redis client errors carry no secret', () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis(['--requirepass', 'right-pw'], { pingArgs: ['-a', 'right-pw', '--no-auth-warning'] });
  });
  after(async () => {
    await redis.destroy();
  });

  it('a refused password: the error object logged whole names the command but not the password', async () => {
    const lines: string[] = [];
    const log = logger(lines);
    const plan = connectionPlan(schema.parse({ endpoint: `redis://pump:very-secret-pw@127.0.0.1:${redis.port}/0`, reconnect: { initial_interval: '50ms', max_interval: '200ms' } }), '/');
    const client = createClient(plan);
    const watch = new ConnectionWatch(client, plan.describe);
    const errors: Error[] = [];
    client.on('error', (err: Error) => {
      errors.push(err);
      log.error({ err }, 'redis error');
    });
    client.connect().catch(() => undefined);
    try {
      await waitFor('two refused attempts', () => errors.length >= 2);
      assert.match(errors[0]?.message ?? '', /WRONGPASS/);
      const command = (errors[0] as Error & { command?: { name: string; args: string[] } }).command;
      assert.equal(command?.name, 'hello', 'ioredis attaches the handshake command');
      assert.ok(command?.args.every((a) => a === '<redacted>'), JSON.stringify(command));
      const text = lines.join('');
      assert.match(text, /WRONGPASS/);
      assert.ok(!text.includes('very-secret-pw'), text);
      assert.match(watch.problem ?? '', /WRONGPASS/);
      assert.ok(!(watch.problem ?? '').includes('very-secret-pw'));
    } finally {
      client.disconnect();
    }
  });

  it('a URL with user info in an error message or stack is masked for every listener', () => {
    const plan = connectionPlan(schema.parse({ endpoint: `127.0.0.1:${redis.port}` }), '/');
    const client = createClient(plan);
    const seen: Error[] = [];
    client.on('error', (err: Error) => seen.push(err));
    const err = new Error('cannot reach redis://pump:url-secret@10.0.0.1:6379/0 now');
    client.emit('error', err);
    assert.equal(seen[0]?.message, 'cannot reach redis://<redacted>@10.0.0.1:6379/0 now');
    assert.ok(!(seen[0]?.stack ?? '').includes('url-secret'));
    client.disconnect();
  });
});

describe('validate --print masks a Redis URL password', () => {
  it('in the receiver and the slo processor; the printout validates again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-print-'));
    try {
      const config = join(dir, 'config.yaml');
      writeFileSync(config, `
receivers:
  tyk_redis: { endpoint: "redis://pump:recv-url-pw@10.0.0.5:6379/2" }
processors:
  slo: { endpoint: "rediss://:slo-url-pw@10.0.0.6:6380/0" }
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [slo], exporters: [prometheus] }
slos:
  - { name: orders, objective: 99.9, selector: { api_ids: [orders] }, sli: { type: availability } }
`);
      const bin = fileURLToPath(new URL('../bin/tyk-otel-pump.js', import.meta.url));
      const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
      const r = run(['validate', '--config', config, '--print']);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /recv-url-pw|slo-url-pw/);
      assert.match(r.stdout, /endpoint: redis:\/\/<redacted>@10\.0\.0\.5:6379\/2/);
      assert.match(r.stdout, /endpoint: rediss:\/\/<redacted>@10\.0\.0\.6:6380\/0/);
      const printed = join(dir, 'printed.yaml');
      writeFileSync(printed, r.stdout);
      const again = run(['validate', '--config', printed]);
      assert.equal(again.status, 0, again.stdout + again.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
