/**
 * `service.shutdown_timeout` as one deadline for the whole graph: config validation refuses a component
 * wait longer than it, the graph hands the same deadline to every component (also when a failed start
 * stops what had started), and the components that wait at shutdown — the `tyk_redis` receiver (real
 * Redis) and the `otlp_http` exporter (a real local endpoint that never answers) — stop waiting at it
 * even when their own timeouts are longer.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, ShutdownDeadline } from '../src/component.js';
import { loadConfigText } from '../src/config/load.js';
import { ExportError, TimeoutError, formatProblem, isRetryable } from '../src/errors.js';
import { factories } from '../src/factories.js';
import { HttpServers } from '../src/http-server.js';
import { silentLogger } from '../src/logger.js';
import { shutdownReserveMs } from '../src/graph.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { Delivery } from '../src/delivery.js';
import { otlpHttpExporterFactory } from '../exporters/otlp_http/index.js';
import { startAgent } from './helpers/agent.js';
import { events, fakeFactories, shutdownDeadlines } from './helpers/fake-components.js';
import { componentContext } from './helpers/context.js';
import { startOtlpSink } from './helpers/otlp-sink.js';
import { testRedis } from './helpers/redis.js';
import { receiverHarness } from './helpers/tyk-redis.js';
import { syntheticRecord } from './helpers/synthetic-records.js';
import { RecordingConsumer } from './helpers/records.js';
import { waitFor } from './helpers/agent.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  events.length = 0;
  shutdownDeadlines.clear();
});

/** A deadline `ms` from now, as the graph makes it. */
function deadlineIn(ms: number): ShutdownDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  cleanups.push(async () => clearTimeout(timer));
  return { at: Date.now() + ms, signal: controller.signal };
}

const REAL = (service: string, receiver = '', exporter = '') => `
receivers:
  tyk_redis: { ${receiver} }
processors:
  audit_log: {}
exporters:
  otlp_http: { ${exporter} }
service:
  ${service}
  pipelines:
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] }
`;

function problems(yaml: string): string[] {
  const r = loadConfigText(yaml, 'c.yaml', factories, {});
  return r.problems.map((p) => formatProblem('c.yaml', p));
}

describe('config: component waits fit in service.shutdown_timeout', () => {
  it('refuses a receiver shutdown_timeout or an exporter drain_timeout longer than it, with the path', () => {
    assert.deepEqual(problems(REAL('shutdown_timeout: 30s', 'shutdown_timeout: 45s', 'sending_queue: { drain_timeout: 31s }')), [
      'c.yaml: receivers::tyk_redis::shutdown_timeout: must not be longer than service::shutdown_timeout (30s), after which the agent exits (got 45s)',
      'c.yaml: exporters::otlp_http::sending_queue::drain_timeout: must not be longer than service::shutdown_timeout (30s), after which the agent exits (got 31s)',
    ]);
  });

  it('accepts the defaults, and waits equal to the budget', () => {
    assert.deepEqual(problems(REAL('')), []);
    assert.deepEqual(problems(REAL('shutdown_timeout: 12s', 'shutdown_timeout: 12s', 'sending_queue: { drain_timeout: 12s }')), []);
  });

  it('a short service budget refuses the longer defaults too (they are waits the agent could not honour)', () => {
    assert.deepEqual(problems(REAL('shutdown_timeout: 5s')), [
      'c.yaml: receivers::tyk_redis::shutdown_timeout: must not be longer than service::shutdown_timeout (5s), after which the agent exits (got 10s)',
      'c.yaml: exporters::otlp_http::sending_queue::drain_timeout: must not be longer than service::shutdown_timeout (5s), after which the agent exits (got 10s)',
    ]);
  });
});

const FAKE = (opts: { exporter?: string; broken?: boolean; timeout: string }) => `
receivers:
  fake_receiver: {}
processors:
  tag: {}
exporters:
  memory: { ${opts.exporter ?? ''} }
  memory/broken: { fail_start: ${opts.broken ?? false} }
service:
  shutdown_timeout: ${opts.timeout}
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    records: { receivers: [fake_receiver], processors: [tag], exporters: [memory, memory/broken] }
`;

describe('graph: one deadline for every component', () => {
  it('hands every component the same deadline: service.shutdown_timeout after shutdown began, less the reserve', async () => {
    assert.deepEqual([shutdownReserveMs(300), shutdownReserveMs(7000), shutdownReserveMs(30_000)], [30, 700, 1000]);
    const running = await startAgent(FAKE({ timeout: '7s' }), { factories: fakeFactories });
    const before = Date.now();
    await running.stop();
    const after = Date.now();
    const got = [...shutdownDeadlines];
    assert.deepEqual(got.map(([id]) => id), ['fake_receiver', 'tag@records', 'memory/broken', 'memory']);
    const at = got[0]?.[1]?.at ?? 0;
    assert.ok(at >= before + 6300 && at <= after + 6300, `deadline ${at - before} ms after shutdown began`);
    for (const [id, d] of got) {
      assert.equal(d?.at, at, `${id} got the same deadline`);
      assert.equal(d?.signal.aborted, false, `${id}: not aborted when shutdown ended in time`);
    }
  });

  it('aborts the signal at the deadline: a component waiting until then still ends the shutdown cleanly', async () => {
    const running = await startAgent(FAKE({ exporter: 'shutdown_wait: deadline', timeout: '500ms' }), { factories: fakeFactories });
    await running.stop();
    assert.ok(events.includes('deadline passed memory'));
    assert.equal(shutdownDeadlines.get('memory')?.signal.aborted, true);
  });

  it('a component that ignores the deadline makes the shutdown reject with a TimeoutError when the budget is over', async () => {
    const running = await startAgent(FAKE({ exporter: 'shutdown_wait: forever', timeout: '300ms' }), { factories: fakeFactories });
    await assert.rejects(running.stop(), TimeoutError);
  });

  it('a failed start stops what started within service.shutdown_timeout, not a fixed 30 s', { timeout: 20_000 }, async () => {
    const began = Date.now();
    await assert.rejects(
      startAgent(FAKE({ exporter: 'shutdown_wait: forever', broken: true, timeout: '300ms' }), { factories: fakeFactories }),
      /refused to start \(test\)/,
    );
    assert.ok(Date.now() - began < 10_000, `start failed after ${Date.now() - began} ms`);
    assert.deepEqual(events, ['start memory', 'stop memory'], 'the exporter that started was stopped (and hangs there)');
    assert.equal(shutdownDeadlines.size, 4, 'every component got the deadline');
    assert.equal(new Set([...shutdownDeadlines.values()].map((d) => d?.at)).size, 1, 'the same deadline');
  });
});

describe('components stop waiting at the deadline', () => {
  it('otlp_http: a drain_timeout of 60 s ends at a deadline 300 ms away; the queued logs settle retryable', { timeout: 20_000 }, async () => {
    const sink = await startOtlpSink();
    cleanups.push(() => sink.close());
    sink.reply(() => 'hang');
    const telemetry = new SelfTelemetry('t');
    const logger = silentLogger();
    const http = new HttpServers(logger);
    const ctx = componentContext({ id: 'otlp_http', logger, telemetry: telemetry.forComponent('exporter', 'otlp_http', 'logs'), http });
    const config = otlpHttpExporterFactory.configSchema.parse({ endpoint: sink.url, timeout: '60s', sending_queue: { drain_timeout: '60s', num_consumers: 1 } });
    const exp = otlpHttpExporterFactory.create(ctx, config);
    cleanups.push(async () => {
      await exp.shutdown();
      await telemetry.shutdown();
    });
    await exp.start();
    const d = new Delivery();
    await exp.consumeLogs?.({
      resource: {}, scope: 'test',
      logs: [{ timestampMs: Date.now(), timestampNs: 0, severityNumber: 9, severityText: 'INFO', body: 'GET / 200', attributes: {} }],
    }, d.ctx);
    d.seal();
    await waitFor('the request to hang at the endpoint', () => sink.requests.length === 1);
    const began = Date.now();
    await exp.shutdown(deadlineIn(300));
    assert.ok(Date.now() - began < 10_000, `shutdown took ${Date.now() - began} ms`);
    const err = await d.done;
    assert.ok(err instanceof ExportError || isRetryable(err), `settled with ${String(err)}`);
    assert.equal(isRetryable(err), true, 'an at-least-once receiver keeps the records');
  });

  it('tyk_redis: a shutdown_timeout of 60 s ends at a deadline 300 ms away; the undelivered chunk stays in Redis', { timeout: 20_000 }, async () => {
    const redis = await testRedis('deadline');
    cleanups.push(() => redis.cleanup());
    const key = `${redis.prefix}tyk-system-analytics`;
    await redis.push(key, Array.from({ length: 10 }, (_, i) => syntheticRecord(i)));
    let accepted = 0;
    const never: Consumer<'records'> = {
      consume: async (batch, ctx) => {
        accepted += batch.length;
        void ctx.defer(); // a delivery that never settles
      },
    };
    const h = receiverHarness({ key_prefix: redis.prefix, uptime: false, poll_interval: '50ms', delivery: 'at_least_once', shutdown_timeout: '60s' }, never);
    cleanups.push(() => h.close());
    await h.receiver.start();
    await waitFor('the chunk delivered (but never settled)', () => accepted === 10);
    const began = Date.now();
    await h.receiver.shutdown(deadlineIn(300));
    assert.ok(Date.now() - began < 10_000, `shutdown took ${Date.now() - began} ms`);
    assert.ok(h.logs.some((l) => l.msg?.startsWith('shut down with undelivered chunks')));
    assert.equal(await redis.client.llen(key), 0, 'the chunk was claimed');
    // The records wait in the in-flight list: a restart with the same instance id delivers them.
    const again = new RecordingConsumer<'records'>();
    const h2 = receiverHarness({ key_prefix: redis.prefix, uptime: false, poll_interval: '50ms', delivery: 'at_least_once' }, again);
    cleanups.push(() => h2.close());
    await h2.receiver.start();
    await waitFor('the restart re-delivered the chunk', () => again.items.length === 10);
  });
});
