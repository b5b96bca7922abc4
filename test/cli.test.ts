/**
 * The CLI as users run it: a real process (`bin/tyk-otel-pump.js`, TypeScript sources through tsx) with
 * the real registry — validate/graph on the shipped config, a broken config with five distinct mistakes,
 * `validate --print` (round trip, secrets masked), and `run` stopped by signals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { loadFixtures } from './helpers/fixtures.js';
import { waitFor } from './helpers/agent.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/tyk-otel-pump.js');
const env = { ...process.env, TYK_OTEL_PUMP_FROM_SOURCE: '1' };

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tyk-otel-pump-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tyk-otel-pump heap growth (TYK_OTEL_PUMP_HEAP_GROWING_PERCENT)', () => {
  it('a whole number of percent is taken, anything else is refused with the variable named', () => {
    assert.equal(cli(['validate'], { TYK_OTEL_PUMP_HEAP_GROWING_PERCENT: '50' }).code, 0);
    assert.equal(cli(['validate'], { TYK_OTEL_PUMP_HEAP_GROWING_PERCENT: '0' }).code, 0);
    for (const bad of ['fifty', '-5', '50%', '']) {
      const r = cli(['validate'], { TYK_OTEL_PUMP_HEAP_GROWING_PERCENT: bad });
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /^TYK_OTEL_PUMP_HEAP_GROWING_PERCENT: must be a whole number of percent/);
      assert.equal(r.stdout, '');
    }
  });
});

describe('tyk-otel-pump validate / graph', () => {
  it('the shipped otel-config.yaml is valid', () => {
    const r = cli(['validate']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /otel-config\.yaml: valid \(1 pipeline\(s\)\)/);
    assert.equal(r.stderr, '');
  });

  it('a config with five distinct mistakes prints five path-prefixed lines and exits 1', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, `
receivers:
  tyk_redis:
    endpoint: "http://127.0.0.1:6379"
    chunk_size: -5
processors:
  sli:
    buckets: [0.5, 0.1]
exporters:
  prometheus:
    endpoint: "9464"
service:
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [sli]
      exporters: [prometheus, otlp_http]
`);
    const r = cli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 5, r.stderr);
    for (const l of lines) assert.ok(l.startsWith(`${file}: `), l);
    assert.match(r.stderr, /receivers::tyk_redis::endpoint: /);
    assert.match(r.stderr, /receivers::tyk_redis::chunk_size: .*\(got -5\)/);
    assert.match(r.stderr, /processors::sli::buckets: must be strictly increasing \(got \[0\.5,0\.1\]\)/);
    assert.match(r.stderr, /exporters::prometheus::endpoint: must be host:port \(got "9464"\)/);
    assert.match(r.stderr, /service::pipelines::metrics::exporters\[1\]: unknown exporter "otlp_http"/);
    // run refuses to start with the same messages.
    const run = cli(['run', '--config', file]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(lines[0] as string));
    assert.match(run.stderr, /refusing to start/);
  });

  it('validate --print shows the effective config, secrets masked, and the output validates again', () => {
    const file = join(dir, 'secrets.yaml');
    writeFileSync(file, `
receivers:
  tyk_redis:
    endpoint: redis://127.0.0.1:6379/0
    password: \${env:THE_REDIS_PASSWORD}
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:4318
    headers: { api-key: "\${env:THE_VENDOR_KEY}" }
processors:
  audit_log: {}
service:
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`);
    const secrets = { THE_REDIS_PASSWORD: 'redis-pass-4f1c', THE_VENDOR_KEY: 'vendor-key-9a7e' };
    const r = cli(['validate', '--config', file, '--print'], secrets);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /redis-pass-4f1c|vendor-key-9a7e/);
    assert.match(r.stdout, /password: <redacted>/);
    assert.match(r.stdout, /api-key: <redacted>/);
    assert.match(r.stdout, /poll_interval: 1s/, 'durations print as duration strings');
    const printed = join(dir, 'printed.yaml');
    writeFileSync(printed, r.stdout);
    const again = cli(['validate', '--config', printed]);
    assert.equal(again.code, 0, again.stderr);
  });

  it('graph prints the resolved pipelines, as text and as Mermaid', () => {
    const text = cli(['graph']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trim(), 'metrics: [tyk_redis] --records--> route --records--> sli --metrics--> [prometheus]');
    const mermaid = cli(['graph', '--mermaid']);
    assert.equal(mermaid.code, 0);
    assert.match(mermaid.stdout, /^flowchart LR\n/);
    assert.match(mermaid.stdout, /fanout_metrics -->\|metrics\| exp_prometheus/);
  });
});

describe('tyk-otel-pump run and signals', () => {
  let redis: TestRedis;
  let blackHole: Server;
  let blackHolePort = 0;
  before(async () => {
    redis = await testRedis('cli');
    // An OTLP endpoint that accepts connections and never answers: shutdown has to wait for it.
    blackHole = createServer(() => undefined);
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    blackHolePort = (blackHole.address() as { port: number }).port;
  });
  after(async () => {
    blackHole.closeAllConnections();
    blackHole.close();
    await redis.cleanup();
  });

  function start(config: string): { child: ReturnType<typeof spawn>; stderr: () => string; exit: Promise<{ code: number | null; ms: number }> } {
    const file = join(dir, `run-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, config);
    const child = spawn(process.execPath, [bin, 'run', '--config', file], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    let signalledAt = 0;
    const kill = child.kill.bind(child);
    child.kill = (s?: NodeJS.Signals | number) => {
      signalledAt ||= Date.now();
      return kill(s);
    };
    const exit = new Promise<{ code: number | null; ms: number }>((resolve) => child.on('exit', (code) => resolve({ code, ms: Date.now() - signalledAt })));
    return { child, stderr: () => err, exit };
  }

  const metricsConfig = () => `
receivers:
  tyk_redis: { key_prefix: "${redis.prefix}", uptime: false, poll_interval: 100ms }
processors: { route: {}, sli: {} }
exporters:
  prometheus: { endpoint: "127.0.0.1:0" }
service:
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [prometheus] }
`;

  it('SIGTERM during run drains, flushes and exits 0', async () => {
    const a = start(metricsConfig());
    await waitFor('agent started', () => a.stderr().includes('"agent started"'), 30_000);
    const records = loadFixtures('gateway-msgpack.jsonl').slice(0, 50);
    await redis.push(`${redis.prefix}tyk-system-analytics`, records.map((f) => f.bytes));
    await waitFor('the list drained', async () => (await redis.client.llen(`${redis.prefix}tyk-system-analytics`)) === 0, 10_000);
    a.child.kill('SIGTERM');
    const { code, ms } = await a.exit;
    assert.equal(code, 0, a.stderr());
    assert.ok(ms < 10_000, `exited after ${ms} ms`);
    assert.match(a.stderr(), /"signal received: stopping"/);
    assert.match(a.stderr(), /"agent stopped"/);
  });

  it('a second signal exits at once (2); a shutdown stuck on a silent endpoint ends at shutdown_timeout and exits 0', async () => {
    // Every component wait may take the whole budget; the graph's deadline cuts them short.
    const config = (timeout: string) => `
receivers:
  tyk_redis: { key_prefix: "${redis.prefix}b-", uptime: false, poll_interval: 100ms, shutdown_timeout: ${timeout} }
processors: { audit_log: {} }
exporters:
  otlp_http:
    endpoint: "http://127.0.0.1:${blackHolePort}"
    timeout: 60s
    sending_queue: { drain_timeout: ${timeout} }
service:
  shutdown_timeout: ${timeout}
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`;
    const records = loadFixtures('gateway-msgpack.jsonl').filter((f) => f.expected['response_code'] !== -1).slice(0, 20).map((f) => f.bytes);

    const a = start(config('30s'));
    await waitFor('agent started', () => a.stderr().includes('"agent started"'), 30_000);
    await redis.push(`${redis.prefix}b-tyk-system-analytics`, records);
    await waitFor('the list drained', async () => (await redis.client.llen(`${redis.prefix}b-tyk-system-analytics`)) === 0, 10_000);
    a.child.kill('SIGTERM');
    await waitFor('shutdown began', () => a.stderr().includes('"shutting down"'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGTERM');
    const first = await a.exit;
    assert.equal(first.code, 2, a.stderr());
    assert.ok(first.ms < 5_000, `exited after ${first.ms} ms`);
    assert.match(a.stderr(), /"second signal: exiting at once"/);

    const b = start(config('4s'));
    await waitFor('agent started', () => b.stderr().includes('"agent started"'), 30_000);
    await redis.push(`${redis.prefix}b-tyk-system-analytics`, records);
    await waitFor('the list drained', async () => (await redis.client.llen(`${redis.prefix}b-tyk-system-analytics`)) === 0, 10_000);
    b.child.kill('SIGTERM');
    const second = await b.exit;
    assert.equal(second.code, 0, b.stderr());
    assert.ok(second.ms >= 3_000 && second.ms < 8_000, `exited after ${second.ms} ms (the receiver waits for the deliveries until the deadline)`);
    assert.match(b.stderr(), /"agent stopped"/);
  });
});
