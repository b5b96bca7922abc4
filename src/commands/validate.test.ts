/**
 * `validate` with the real components: secrets in URLs are masked in every problem and in `--print`, and
 * a duration a Node.js timer cannot hold is refused with the maximum.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type Io } from '../cli.js';

const dir = mkdtempSync(join(tmpdir(), 'validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function io(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t) };
}

async function validate(name: string, yaml: string, ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  const o = io();
  const code = await main(['validate', '--config', file, ...flags], o);
  return { code, out: o.stdout.join('\n'), err: o.stderr.join('\n') };
}

const PIPELINES = `
service:
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`;

describe('validate: secrets and limits', () => {
  it('--print masks a Redis URL password and keeps the rest of the URL', async () => {
    const r = await validate('print.yaml', `receivers:\n  tyk_redis: { endpoint: "redis://default:hunter2@127.0.0.1:6379/3" }\nprocessors:\n  audit_log: {}\nexporters:\n  otlp_http: {}\n${PIPELINES}`, '--print');
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes('hunter2'), r.out);
    assert.match(r.out, /endpoint: redis:\/\/(default:)?<redacted>@127\.0\.0\.1:6379\/3/);
  });

  it('an endpoint with credentials is refused without echoing them', async () => {
    const r = await validate('creds.yaml', `receivers:\n  tyk_redis: {}\nprocessors:\n  audit_log: {}\nexporters:\n  otlp_http: { endpoint: "http://user:hunter2@collector:4318" }\n${PIPELINES}`);
    assert.equal(r.code, 1);
    assert.ok(!r.err.includes('hunter2'), r.err);
    assert.match(r.err, /exporters::otlp_http::endpoint: .*credentials.* \(got "http:\/\/<redacted>@collector:4318"\)$/m);
  });

  it('command_timeout: 1000000h is refused with the maximum', async () => {
    const r = await validate('timeout.yaml', `receivers:\n  tyk_redis: { command_timeout: 1000000h }\nprocessors:\n  audit_log: {}\nexporters:\n  otlp_http: { metrics: { metric_expiration: 9999h } }\n${PIPELINES}`);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.split('\n').filter((l) => l !== '').map((l) => l.replace(/^.*timeout\.yaml: /, '')), [
      'receivers::tyk_redis::command_timeout: must be at most 2147483647ms (about 24.8 days, the longest timer Node.js supports) (got "1000000h")',
      'exporters::otlp_http::metrics::metric_expiration: must be at most 2147483647ms (about 24.8 days, the longest timer Node.js supports) (got "9999h")',
    ]);
  });
});
