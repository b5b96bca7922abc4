/**
 * The userinfo of a URL never reaches a message or a printout, whichever path it takes: config problems
 * (`validate`), `validate --print`, Redis client errors and the connection problem `/ready` shows, and
 * every log line. All of them mask with the one rule, `maskCredentials` (`src/config/schema.ts`), so each
 * path is checked here with the same awkward URLs: a password holding `/`, `@` or `<`, a user alone.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { main, type Io } from '../src/cli.js';
import { maskCredentials } from '../src/config/schema.js';
import { createLogger } from '../src/logger.js';
import { checkRedisConnection, redisConnectionFields } from '../internal/redis/config.js';
import { connectionPlan, createClient, redactRedisError } from '../internal/redis/connection.js';
import { ConnectionWatch } from '../internal/redis/watch.js';
import { testRedis } from './helpers/redis.js';

/** Each URL carries one secret `SECRETn`; none may be printed anywhere. */
const URLS = [
  'redis://pump:SECRET1@10.0.0.5:6379/2',
  'rediss://:SECRET2/x?y#z@10.0.0.6:6380/0',
  'redis://default:SECRET3@pw@10.0.0.7:6379',
  'https://SECRET4@otel.example:4318',
  'http://u:SECRET5<a>@collector:4318/v1',
] as const;

const LEAK = /SECRET\d/;

/** Every URL printed masked: `scheme://<redacted>@host…`. */
function assertMasked(text: string, what: string): void {
  assert.doesNotMatch(text, LEAK, `${what} leaks: ${text}`);
  for (const host of ['10.0.0.5:6379/2', '10.0.0.6:6380/0', '10.0.0.7:6379', 'otel.example:4318', 'collector:4318/v1']) {
    if (text.includes(host)) assert.match(text, new RegExp(`<redacted>@${host.replace(/[.]/g, '\\.')}`), `${what}: ${host} is shown masked`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'userinfo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], yaml: string): Promise<{ code: number; out: string; err: string }> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  const code = await main([...args, '--config', file], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const redisSchema = z.strictObject(redisConnectionFields({ purpose: 'Test', commandTimeout: '1s' })).superRefine((c, ctx) => checkRedisConnection(c, ctx));

describe('URL userinfo is masked on every message and print path', () => {
  it('the rule: the whole userinfo, whatever the password holds; a masked text stays as it is; no URL, no change', () => {
    for (const u of URLS) {
      const masked = maskCredentials(`connect ${u} failed`);
      assertMasked(masked, u);
      assert.equal(maskCredentials(masked), masked, 'idempotent');
    }
    assert.equal(maskCredentials('redis://h:1/0 and user@example.com'), 'redis://h:1/0 and user@example.com');
    assert.equal(maskCredentials('http://h/p?mail=a@b.example'), 'http://h/p?mail=a@b.example', 'an @ in the query is no userinfo');
    assert.equal(maskCredentials('{"endpoint":"redis://u:p@h:1","to":"x@y"}'), '{"endpoint":"redis://<redacted>@h:1","to":"x@y"}', 'a URL inside JSON ends at its quote');
  });

  it('validate: config problems, with the offending value shown', async () => {
    // Each URL where a URL is refused: a duration, a host:port endpoint, a Redis endpoint that does not parse.
    const r = await cli(['validate'], `
receivers:
${URLS.map((u, i) => `  tyk_redis/${i}: { endpoint: "${u.startsWith('redis') ? `${u}/extra` : u}", poll_interval: "${u}" }`).join('\n')}
exporters:
${URLS.map((u, i) => `  prometheus/${i}: { endpoint: "${u}" }`).join('\n')}
service:
  pipelines:
    metrics: { receivers: [${URLS.map((_, i) => `tyk_redis/${i}`).join(', ')}], processors: [sli], exporters: [${URLS.map((_, i) => `prometheus/${i}`).join(', ')}] }
processors:
  sli: {}
`);
    assert.equal(r.code, 1);
    assert.ok(r.err.split('\n').length >= 2 * URLS.length, r.err);
    assertMasked(r.err, 'validate problems');
    assert.match(r.err, /<redacted>@/);
  });

  it('validate --print: every URL in the effective config', async () => {
    const r = await cli(['validate', '--print'], `
receivers:
  tyk_redis: { endpoint: "${URLS[0]}" }
processors:
  audit_log: { resource: { ${URLS.map((u, i) => `url.${i}: "${u}"`).join(', ')} } }
exporters:
  otlp_http: { endpoint: "http://127.0.0.1:4318" }
service:
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`);
    assert.equal(r.code, 0, r.err);
    assertMasked(r.out, 'validate --print');
    assert.equal(r.out.match(/<redacted>@/g)?.length, URLS.length + 1, r.out);
  });

  it('Redis client errors (message and stack) and the connection problem /ready shows', async () => {
    const redis = await testRedis('mask');
    try {
      const plan = connectionPlan(redisSchema.parse({ endpoint: redis.url }), '/');
      const client = createClient(plan);
      const watch = new ConnectionWatch(client, plan.describe);
      const seen: Error[] = [];
      client.on('error', (err: Error) => seen.push(err));
      for (const u of URLS) client.emit('error', new Error(`cannot reach ${u} now`));
      client.disconnect();
      assert.equal(seen.length, URLS.length);
      for (const e of seen) {
        assertMasked(e.message, 'error message');
        assertMasked(e.stack ?? '', 'error stack');
      }
      // ConnectionWatch keeps the last error while not ready: that is what /ready and a refused batch say.
      assertMasked(watch.problem ?? '', 'connection problem');
      assert.match(watch.problem ?? '', /<redacted>@collector:4318/);
      // Cluster errors wrap node errors: masked too.
      const outer = Object.assign(new Error('cluster down'), { previousErrors: URLS.map((u) => new Error(`node ${u} refused`)) });
      redactRedisError(outer);
      for (const inner of outer.previousErrors) assertMasked(inner.message, 'node error');
    } finally {
      await redis.cleanup();
    }
  });

  it('every log line: a message, a field, an error object', () => {
    const chunks: string[] = [];
    const logger = createLogger('debug', {}, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c.toString('utf8')); cb(); } }));
    for (const u of URLS) {
      logger.warn({ endpoint: u, nested: { url: u } }, `could not reach ${u}`);
      logger.error({ err: new Error(`connect ${u} failed`) }, 'failed');
      logger.child({ component: 'x' }).info(`child ${u}`);
    }
    const text = chunks.join('');
    assert.equal(chunks.length, 3 * URLS.length);
    for (const line of chunks) JSON.parse(line);
    assertMasked(text, 'log lines');
    assert.equal(text.match(/<redacted>@/g)?.length, URLS.length * (3 + 2 + 1), 'each URL once per place it was logged (message, two fields, err message and stack, child message)');
  });
});
