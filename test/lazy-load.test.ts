/**
 * The registry loads a component's module (and the packages under it) only when the config names its type:
 * an agent running `tyk_redis → route → sli → prometheus` never loads the PostgreSQL driver, hot-shots,
 * dd-trace or the OTLP exporters (BENCHMARKS.md, "Pipeline": ~30 MiB less RSS at start). Each case runs in
 * a fresh Node process (through tsx, as the CLI runs from sources) that reports the packages in the
 * CommonJS module cache — every one of those packages is CommonJS, so each would be listed once loaded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Packages only some components need. */
const HEAVY = ['pg', 'pg-copy-streams', 'hot-shots', 'dd-trace', '@opentelemetry/exporter-metrics-otlp-proto', '@opentelemetry/exporter-metrics-otlp-http', '@opentelemetry/otlp-transformer'];

/**
 * The child: loads `config` as `run` does (src/commands/io.ts); with `start`, also builds, starts and
 * stops the agent. Prints the npm packages in the CommonJS module cache as JSON.
 */
const CHILD = `
import { createRequire } from 'node:module';
import { loadConfig } from './src/commands/io.ts';
import { Agent } from './src/agent.ts';
import { silentLogger } from './src/logger.ts';
const [file, start] = process.argv.slice(1);
const config = await loadConfig(file, { out: () => {}, err: (t) => process.stderr.write(t + '\\n') });
if (!config) process.exit(3);
if (start === 'start') {
  const agent = new Agent(config, { logger: silentLogger() });
  await agent.start();
  await agent.shutdown();
}
const packages = new Set();
for (const k of Object.keys(createRequire(import.meta.url).cache)) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k.slice(k.lastIndexOf('node_modules/')));
  if (m) packages.add(m[1]);
}
console.log(JSON.stringify([...packages].sort()));
`;

function loadedPackages(yaml: string, start: boolean): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-load-'));
  try {
    const file = join(dir, 'otel-config.yaml');
    writeFileSync(file, yaml);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, file, start ? 'start' : 'load'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop() as string) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PREFIX = `lazy-load-test-${process.pid}-`;

describe('lazy loading of components', () => {
  it('an agent with a metrics-only config starts without loading pg, hot-shots, dd-trace or the OTLP exporters', () => {
    const loaded = loadedPackages(`
receivers:
  tyk_redis:
    endpoint: redis://127.0.0.1:6379/0
    key_prefix: ${PREFIX}
    uptime: false
processors:
  route: {}
  sli: {}
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
service:
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [route, sli]
      exporters: [prometheus]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`, true);
    assert.ok(loaded.includes('ioredis') && loaded.includes('@opentelemetry/sdk-metrics'), `the agent ran: ${loaded.join(', ')}`);
    assert.deepEqual(loaded.filter((p) => HEAVY.includes(p)), []);
  });

  it('a config naming the sql and statsd exporters loads their packages', () => {
    const loaded = loadedPackages(`
receivers:
  tyk_redis:
    endpoint: redis://127.0.0.1:6379/0
    key_prefix: ${PREFIX}
exporters:
  sql:
    connection_string: postgres://127.0.0.1:5432/test
  statsd:
    endpoint: 127.0.0.1:8125
service:
  pipelines:
    records:
      receivers: [tyk_redis]
      exporters: [sql, statsd]
`, false);
    for (const p of ['pg', 'hot-shots']) assert.ok(loaded.includes(p), `${p} in ${loaded.join(', ')}`);
  });

  it('a config naming an unknown type still lists every known type', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lazy-load-'));
    try {
      const file = join(dir, 'otel-config.yaml');
      writeFileSync(file, 'exporters:\n  promethus: {}\n');
      const r = spawnSync(process.execPath, [join(root, 'bin/tyk-otel-pump.js'), 'validate', '--config', file], {
        cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TYK_OTEL_PUMP_FROM_SOURCE: '1' },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /unknown exporter type "promethus" \(did you mean "prometheus"\?\) \(known: otlp_http, prometheus, dogstatsd, statsd, file, status, sql, sql_aggregate, redis_stream\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
