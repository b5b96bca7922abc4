/**
 * `service.workers`, end to end with real parts: a real agent process (the CLI), real Redis, the receiver
 * and processors copied into worker threads that share one list, the exporters on the main thread.
 *
 * - A backlog drains into `prometheus` (metrics pipeline) and `file` (logs pipeline beside it): the
 *   Prometheus totals equal the records pushed, the file holds each record once, self-telemetry adds the
 *   workers' counts up, `/ready` lists each worker's components; SIGTERM mid-drain loses nothing: what
 *   the file holds plus what Redis still holds is every record, each once.
 * - At-least-once across `kill -9` of the agent mid-drain: a second agent adopts the dead workers'
 *   in-flight lists; no record is missing, duplicates are at most what the workers had in flight.
 * - A worker thread that crashes (an uncaught error) is started again after a backoff: `/ready` answers
 *   503 meanwhile and 200 once it runs, crashes and restarts are counted and logged, and with both
 *   threads crashed and restarted a new backlog drains into exact totals.
 * - `validate` refuses a pipeline whose processor cannot run in copies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { freePort } from './helpers/tyk-redis.js';
import { waitFor } from './helpers/agent.js';
import { AGENT_BIN as BIN, killAgents, spawnAgent, type AgentProcess } from './helpers/agent-process.js';
import { syntheticIndex, syntheticRecord } from './helpers/synthetic-records.js';
import { sumSamples as metric } from './helpers/exposition.js';

/** Preloaded into an agent: SIGUSR2 crashes its oldest live worker thread (an uncaught error in the thread). */
const CRASH_HOOK = new URL('./helpers/worker-crash-hook.mjs', import.meta.url).href;

/** The agent CLI, logging warnings and errors only. */
function runAgent(configFile: string, nodeArgs: readonly string[] = []): AgentProcess {
  return spawnAgent(configFile, { nodeArgs, env: { TYK_OTEL_PUMP_LOG_LEVEL: 'warn' } });
}

async function get(url: string): Promise<string> {
  try {
    return await (await fetch(url)).text();
  } catch {
    return '';
  }
}

/** Record indexes in a file exporter's output (logs: `url.path`; records: `path`). */
function fileIndexes(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const o = JSON.parse(l) as { attributes?: Record<string, unknown>; path?: unknown };
    return syntheticIndex(o.attributes ? o.attributes['url.path'] : o.path);
  });
}

/** Every list element of ours still in Redis (the analytics list and any in-flight list), as record indexes. */
async function leftInRedis(redis: TestRedis, packedToIndex: Map<string, number>): Promise<number[]> {
  const out: number[] = [];
  for (const k of await redis.client.keys(`*${redis.prefix}*`)) {
    if ((await redis.client.type(k)) !== 'list') continue;
    for (const el of await redis.client.lrangeBuffer(k, 0, -1)) {
      const i = packedToIndex.get(el.toString('base64'));
      if (i !== undefined) out.push(i);
    }
  }
  return out;
}

/** Elements in every list of ours under `prefix` (the analytics list and the in-flight lists). */
async function listedRecords(redis: TestRedis, prefix: string): Promise<number> {
  let n = 0;
  for (const k of await redis.client.keys(`*${prefix}*`)) if ((await redis.client.type(k)) === 'list') n += await redis.client.llen(k);
  return n;
}

describe('service.workers: the pipelines in worker threads', () => {
  let redis: TestRedis;
  let dir: string;
  const children: AgentProcess[] = [];
  before(async () => {
    redis = await testRedis('workers');
    dir = mkdtempSync(join(tmpdir(), 'workers-'));
  });
  after(async () => {
    killAgents(children);
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Writes `<dir>/<name>`: `tyk_redis` (at-least-once, lists under `prefix`) → `route` → `sli` → `prometheus`
   * in 2 worker threads, and with `file`, `audit_log` → `file` beside it; returns its path.
   */
  function drainConfig(name: string, o: { prefix: string; prom: number; telemetry: number; file?: string }): string {
    const config = join(dir, name);
    const logs = o.file !== undefined;
    writeFileSync(config, `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${o.prefix}
    uptime: false
    delivery: at_least_once
    chunk_size: 200
    poll_interval: 20ms
processors:
  route: {}
  sli: {}${logs ? '\n  audit_log: {}' : ''}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${o.prom}${logs ? `\n  file:\n    path: ${o.file}` : ''}
service:
  workers: 2
  telemetry: { metrics: { address: 127.0.0.1:${o.telemetry} } }
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [prometheus] }${logs ? '\n    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [file] }' : ''}
`);
    return config;
  }

  it('drains a backlog with 2 workers: Prometheus totals equal the records, a logs pipeline beside it gets each once, SIGTERM loses nothing', { timeout: 120_000 }, async () => {
    const N = 6000;
    const key = `${redis.prefix}a-tyk-system-analytics`;
    const records = Array.from({ length: N }, (_, i) => syntheticRecord(i));
    await redis.push(key, records);
    const telemetry = await freePort();
    const prom = await freePort();
    const file = join(dir, 'audit.jsonl');
    const agent = runAgent(drainConfig('drain.yaml', { prefix: `${redis.prefix}a-`, prom, telemetry, file }));
    children.push(agent);
    await waitFor('the backlog drained into Prometheus', async () => metric(await get(`http://127.0.0.1:${prom}/metrics`), 'tyk_api_requests_total') === N, 60_000, 100);
    await waitFor('the list drained', async () => (await redis.client.llen(key)) === 0, 10_000);
    // Readiness is each thread's last health message, posted as it changes: wait for it rather than take the
    // first answer (under CI load a worker's update can trail the drain), and name what is not ready.
    let ready: { status: string; components: Record<string, unknown> } = { status: '', components: {} };
    await waitFor('/ready to answer ready after the drain', async () => {
      ready = JSON.parse(await get(`http://127.0.0.1:${telemetry}/ready`)) as typeof ready;
      if (ready.status !== 'ready') throw new Error(JSON.stringify(ready.components));
      return true;
    }, 15_000, 100);
    for (const id of ['workers', 'tyk_redis#w1', 'tyk_redis#w2', 'sli@metrics#w1', 'audit_log@logs#w2', 'prometheus', 'file']) assert.ok(id in ready.components, `/ready lists ${id}: ${Object.keys(ready.components).join(', ')}`);
    const self = await get(`http://127.0.0.1:${telemetry}/metrics`);
    assert.equal(metric(self, 'tyk_otel_pump_receiver_accepted_items_total{', ['receiver="tyk_redis"']), N, 'the workers\' receiver counts add up');
    assert.equal(metric(self, 'tyk_otel_pump_exporter_sent_items_total{', ['exporter="file"']), N);
    assert.equal(metric(self, 'tyk_otel_pump_receiver_unacked_chunks{', ['worker="1"']), 0, 'gauges keep the worker apart');
    assert.equal((self.match(/^# TYPE tyk_otel_pump_receiver_accepted_items_total /gm) ?? []).length, 1, 'one family');
    assert.equal(spawnSync('promtool', ['check', 'metrics'], { input: self, encoding: 'utf8' }).status, 0, 'self /metrics passes promtool');

    // More records, then SIGTERM while they drain: each is either in the file or still in Redis, once.
    const more = Array.from({ length: N }, (_, i) => syntheticRecord(N + i));
    await redis.push(key, more);
    await waitFor('the second backlog started', () => fileIndexes(file).length > N, 30_000, 5);
    agent.proc.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.stderr.join(''));
    const byBytes = new Map<string, number>();
    [...records, ...more].forEach((b, i) => byBytes.set(b.toString('base64'), i));
    const seen = new Map<number, number>();
    for (const i of [...fileIndexes(file), ...(await leftInRedis(redis, byBytes))]) seen.set(i, (seen.get(i) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n !== 1), [], 'no record twice');
    assert.equal(seen.size, 2 * N, 'no record lost');
  });

  it('at-least-once across kill -9 of the agent mid-drain: nothing lost, duplicates at most what was in flight', { timeout: 120_000 }, async () => {
    const N = 20_000;
    const CHUNK = 100;
    const UNACKED = 2;
    const WORKERS = 2;
    const key = `${redis.prefix}k-tyk-system-analytics`;
    await redis.push(key, Array.from({ length: N }, (_, i) => syntheticRecord(i)));
    const file = join(dir, 'records.jsonl');
    const yaml = (telemetry: number) => `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}k-
    uptime: false
    delivery: at_least_once
    chunk_size: ${CHUNK}
    max_unacked_chunks: ${UNACKED}
    poll_interval: 20ms
    at_least_once: { heartbeat_interval: 100ms, heartbeat_timeout: 600ms }
exporters:
  file:
    path: ${file}
service:
  workers: ${WORKERS}
  telemetry: { metrics: { address: 127.0.0.1:${telemetry} } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [file] }
`;
    const first = join(dir, 'kill-1.yaml');
    writeFileSync(first, yaml(await freePort()));
    const a = runAgent(first);
    children.push(a);
    await waitFor('a part of the backlog written', () => fileIndexes(file).length > N / 4, 60_000, 2);
    a.proc.kill('SIGKILL');
    assert.equal(await a.exited, null, 'killed');
    const cut = fileIndexes(file).length;
    assert.ok(cut < N, `killed mid-drain (${cut} of ${N} written)`);

    const second = join(dir, 'kill-2.yaml');
    writeFileSync(second, yaml(await freePort()));
    const b = runAgent(second);
    children.push(b);
    await waitFor('the rest drained and every in-flight list adopted', async () =>
      (await listedRecords(redis, `${redis.prefix}k-`)) === 0, 60_000, 50).catch(async (err: unknown) => {
      const keys = await redis.client.keys(`*${redis.prefix}k-*`);
      throw new Error(`${String(err)}; keys: ${(await Promise.all(keys.map(async (k) => `${k} (${await redis.client.type(k)})`))).join(', ')}; stderr: ${b.stderr.join('').slice(-2000)}`);
    });
    b.proc.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.stderr.join(''));

    const seen = new Uint8Array(N);
    let dup = 0;
    const ids = fileIndexes(file);
    for (const i of ids) {
      assert.ok(i >= 0 && i < N, `unknown record ${i}`);
      if (seen[i] === 1) dup++;
      seen[i] = 1;
    }
    assert.equal(seen.indexOf(0), -1, `missing records, e.g. ${seen.indexOf(0)}`);
    assert.ok(dup <= WORKERS * UNACKED * CHUNK, `duplicates ${dup} > what ${WORKERS} workers may have in flight`);
  });

  it('restarts a crashed worker thread: /ready 503 until it runs again, crashes and restarts counted and logged, exact totals after both threads were restarted', { timeout: 120_000 }, async () => {
    const N = 3000;
    const key = `${redis.prefix}r-tyk-system-analytics`;
    const telemetry = await freePort();
    const prom = await freePort();
    const agent = runAgent(drainConfig('restart.yaml', { prefix: `${redis.prefix}r-`, prom, telemetry }), ['--import', CRASH_HOOK]);
    children.push(agent);
    const ready = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${telemetry}/ready`);
        return { status: res.status, body: (await res.json()) as { components: Record<string, { ready: boolean; detail?: string }> } };
      } catch {
        return { status: 0, body: { components: {} } };
      }
    };
    const requests = async () => metric(await get(`http://127.0.0.1:${prom}/metrics`), 'tyk_api_requests_total');
    const self = () => get(`http://127.0.0.1:${telemetry}/metrics`);
    await waitFor('the agent ready', async () => (await ready()).status === 200, 60_000, 50);
    await redis.push(key, Array.from({ length: N }, (_, i) => syntheticRecord(i)));
    await waitFor('the first backlog counted', async () => (await requests()) === N, 60_000, 50);

    // Crash each thread in turn, while idle (nothing in flight, so nothing is delivered twice).
    for (const worker of [1, 2]) {
      agent.proc.kill('SIGUSR2');
      const down = await waitFor(`/ready to answer 503 for worker ${worker}`, async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      }, 10_000, 10);
      assert.match(down.body.components['workers']?.detail ?? '', new RegExp(`^worker ${worker} exited \\(code 1\\); restarting in 1s$`));
      assert.equal(down.body.components[`tyk_redis#w${worker}`]?.ready, false, 'the dead thread\'s components are not ready');
      await waitFor(`/ready to answer 200 once worker ${worker} runs again`, async () => (await ready()).status === 200, 30_000, 50);
      const text = await self();
      assert.equal(metric(text, 'tyk_otel_pump_workers_crashes_total{', [`worker="${worker}"`]), 1, text);
      assert.equal(metric(text, 'tyk_otel_pump_workers_restarts_total{', [`worker="${worker}"`]), 1);
    }
    const text = await self();
    assert.equal(metric(text, 'tyk_otel_pump_workers_crashes_total{'), 2);
    assert.equal(metric(text, 'tyk_otel_pump_workers_restarts_total{'), 2);
    const log = agent.stderr.join('');
    assert.equal((log.match(/worker thread exited; restarting it after a backoff/g) ?? []).length, 2, log);
    assert.equal((log.match(/"msg":"restarting worker thread"/g) ?? []).length, 2, log);

    // Only the restarted threads can drain the second backlog: every record counted once.
    await redis.push(key, Array.from({ length: N }, (_, i) => syntheticRecord(N + i)));
    await waitFor('the second backlog counted', async () => (await requests()) >= 2 * N && (await redis.client.llen(key)) === 0, 60_000, 50);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await requests(), 2 * N, 'each record counted exactly once');
    assert.equal(metric(await self(), 'tyk_otel_pump_receiver_accepted_items_total{', ['receiver="tyk_redis"']), N, 'the restarted threads (their counters start at zero) took the whole second backlog');
    assert.equal(await listedRecords(redis, `${redis.prefix}r-`), 0, 'nothing left in flight');
    agent.proc.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.stderr.join(''));
  });

  it('validate refuses a processor that cannot run in copies, naming it', () => {
    const file = join(dir, 'refused.yaml');
    writeFileSync(file, `
receivers:
  tyk_redis: { endpoint: ${redis.url} }
processors:
  slo: {}
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  workers: 2
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [slo], exporters: [prometheus] }
slos: []
`);
    const r = spawnSync(process.execPath, [BIN, 'validate', '--config', file], { encoding: 'utf8', env: { ...process.env, TYK_OTEL_PUMP_FROM_SOURCE: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /service::workers: processor "slo" \(pipeline metrics\) cannot run in worker threads/);
  });
});
