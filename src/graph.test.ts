/**
 * The pipeline graph and the agent around it, with the small fake components: wiring (one receiver into
 * several pipelines, shared exporters, per-pipeline processors), start/stop order, backpressure, delivery
 * tracking, and the HTTP endpoints (/health, /ready, /metrics).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type RunningAgent } from '../test/helpers/agent.js';
import { events, exporters, fakeFactories, receivers } from '../test/helpers/fake-components.js';
import { httpRecord } from '../test/helpers/records.js';
import { Delivery, ExporterFanOut, PipelineFanOut, UNTRACKED, canMerge, mergeContexts, type PipelineOutcome } from './delivery.js';
import { ExportError, FanOutError, ShuttingDownError, isRetryable } from './errors.js';
import type { BatchContext, Consumer, Settle } from './component.js';
import type { RecordBatch } from './model.js';
import { PROMETHEUS_CONTENT_TYPE } from './http-server.js';

const YAML = `
receivers:
  fake_receiver: {}
processors:
  tag/a: { tag: "+a" }
  tag/b: { tag: "+b" }
  count: {}
exporters:
  memory: {}
  memory/metrics: {}
service:
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    records:
      receivers: [fake_receiver]
      processors: [tag/a, tag/b]
      exporters: [memory]
    records/plain:
      receivers: [fake_receiver]
      exporters: [memory]
    metrics:
      receivers: [fake_receiver]
      processors: [tag/a, count]
      exporters: [memory/metrics]
`;

let running: RunningAgent | undefined;

beforeEach(() => {
  events.length = 0;
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('pipeline graph', () => {
  it('starts exporters, then processors back to front, then receivers; stops in reverse', async () => {
    running = await startAgent(YAML, { factories: fakeFactories });
    assert.deepEqual(events, [
      'start memory',
      'start memory/metrics',
      'start tag/b@records',
      'start tag/a@records',
      'start count@metrics',
      'start tag/a@metrics',
      'start fake_receiver',
    ]);
    events.length = 0;
    await running.stop();
    assert.deepEqual(events, [
      'stop fake_receiver',
      'stop tag/a@metrics',
      'stop count@metrics',
      'stop tag/a@records',
      'stop tag/b@records',
      'stop memory/metrics',
      'stop memory',
    ]);
    running = undefined;
  });

  it('a record drained once reaches every pipeline that lists its receiver, through that pipeline\'s processors', async () => {
    running = await startAgent(YAML, { factories: fakeFactories });
    await receivers.get('fake_receiver')?.push([httpRecord({ route: 'r' })]);
    const mem = exporters.get('memory');
    // The shared exporter got one batch from each of its two pipelines, each processed by its own chain.
    assert.deepEqual(mem?.records.map((b) => b.map((r) => (r.kind === 'uptime' ? '' : r.route))).sort(), [['r'], ['r+a+b']]);
    assert.equal(exporters.get('memory/metrics')?.metrics.length, 1);
    assert.equal(exporters.get('memory/metrics')?.metrics[0]?.scope, 'count@metrics');
  });

  it('backpressure: a blocked exporter holds the receiver until it has room', async () => {
    running = await startAgent(YAML.replace('memory: {}', 'memory: { block: true }'), { factories: fakeFactories });
    let done = false;
    const pushed = receivers.get('fake_receiver')?.push([httpRecord()]).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'consume must not resolve while the exporter is full');
    assert.ok((exporters.get('memory')?.blocked ?? 0) >= 1);
    exporters.get('memory')?.release();
    await pushed;
    assert.equal(done, true);
  });

  it('every exporter of every pipeline gets the chunk id the receiver gave, in a context of its own', async () => {
    running = await startAgent(YAML, { factories: fakeFactories });
    const d = new Delivery('chunk-42');
    await receivers.get('fake_receiver')?.push([httpRecord()], d.ctx);
    d.seal();
    assert.equal(await d.done, undefined);
    const contexts = [...(exporters.get('memory')?.contexts ?? []), ...(exporters.get('memory/metrics')?.contexts ?? [])];
    assert.equal(contexts.length, 3, 'memory in two pipelines, memory/metrics in one');
    assert.deepEqual(contexts.map((c) => c.chunkId), ['chunk-42', 'chunk-42', 'chunk-42']);
    assert.equal(new Set(contexts).size, 3);
    assert.ok(!contexts.includes(d.ctx));
  });

  it('delivery completes only when every deferred exporter settled, with the first error', async () => {
    running = await startAgent(YAML.replace('memory: {}', 'memory: { defer: true }'), { factories: fakeFactories });
    const d = new Delivery();
    await receivers.get('fake_receiver')?.push([httpRecord()], d.ctx);
    d.seal();
    let outcome: Error | undefined | 'pending' = 'pending';
    void d.done.then((e) => {
      outcome = e;
    });
    await new Promise((r) => setTimeout(r, 20));
    const pending = exporters.get('memory')?.pending ?? [];
    assert.equal(pending.length, 2, 'one deferral per pipeline that reached the deferring exporter');
    assert.equal(outcome, 'pending');
    pending[0]?.();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(outcome, 'pending');
    pending[1]?.(new ShuttingDownError('memory'));
    assert.ok((await d.done) instanceof ShuttingDownError);
  });
});

describe('fan-out', () => {
  it('gives the batch to every consumer even when one fails, and reports retryable if any failure is', async () => {
    const got: string[] = [];
    const ok = (id: string) => ({ id, consumer: { consume: async () => void got.push(id) } as Consumer<'records'> });
    const failing = (id: string, err: Error) => ({ id, consumer: { consume: async () => { throw err; } } as Consumer<'records'> });
    const fan = new ExporterFanOut<'records'>([ok('a'), failing('p', new Error('permanent')), ok('b'), failing('r', new ShuttingDownError('x'))]);
    await assert.rejects(fan.consume([], UNTRACKED), (err: unknown) => {
      assert.ok(err instanceof FanOutError);
      assert.equal(err.errors.length, 2);
      assert.equal(isRetryable(err), true);
      return true;
    });
    assert.deepEqual(got.sort(), ['a', 'b']);
    const onlyPermanent = new ExporterFanOut<'records'>([ok('c'), failing('bug', new Error('bug'))]);
    await assert.rejects(onlyPermanent.consume([], UNTRACKED), (err: unknown) => !isRetryable(err));
  });
});

describe('pipeline fan-out with per-pipeline delivery', () => {
  it('reports which pipelines must get a batch again, and re-delivers to those only', async () => {
    const seen: string[] = [];
    let failNext = true;
    const metrics: Consumer<'records'> = { consume: async () => void seen.push('metrics') };
    const logs: Consumer<'records'> = {
      consume: async (_d, ctx) => {
        seen.push('logs');
        const settle = ctx.defer();
        setTimeout(() => settle(failNext ? new ShuttingDownError('otlp') : undefined), 5);
      },
    };
    const broken: Consumer<'records'> = { consume: async () => { throw new Error('bug'); } };
    const fan = new PipelineFanOut([metrics, logs, broken]);
    const first = fan.deliver([httpRecord()]);
    await first.accepted;
    const o1 = await first.outcome;
    assert.deepEqual([o1.delivered, o1.retry, o1.failed], [[0], [{ pipeline: 1, delivered: [], failed: [] }], [2]]);
    assert.ok(o1.error instanceof ShuttingDownError, 'a retryable error is reported before a permanent one');
    failNext = false;
    const second = fan.deliver([httpRecord()], { only: o1.retry });
    const o2 = await second.outcome;
    assert.deepEqual([o2.delivered, o2.retry, o2.failed], [[1], [], []]);
    assert.deepEqual(seen, ['metrics', 'logs', 'logs'], 'the metrics pipeline got the batch once');
  });

  it('as a plain consumer it defers delivery until every pipeline settled', async () => {
    const fan = new PipelineFanOut([{ consume: async (_d, ctx) => { const s = ctx.defer(); setTimeout(() => s(new ShuttingDownError('x')), 5); } }]);
    const d = new Delivery('chunk-1');
    await fan.consume([httpRecord()], d.ctx);
    d.seal();
    assert.ok((await d.done) instanceof ShuttingDownError);
  });
});

/** An exporter that records each call (and the context it got) and answers as `script` says. */
class ScriptedExporter implements Consumer<'records'> {
  readonly calls: { records: RecordBatch; ctx: BatchContext }[] = [];
  constructor(readonly id: string, private readonly script: (call: number, ctx: BatchContext) => void | Promise<void> = () => undefined) {}
  async consume(records: RecordBatch, ctx: BatchContext): Promise<void> {
    this.calls.push({ records, ctx });
    await this.script(this.calls.length, ctx);
  }
}

/** One pipeline: a pass-through processor that counts its runs, then the exporters. */
function pipeline(exps: ScriptedExporter[], processorFails: (run: number) => Error | undefined = () => undefined) {
  const state = { runs: 0 };
  const fan = new ExporterFanOut<'records'>(exps.map((e) => ({ id: e.id, consumer: e })));
  const head: Consumer<'records'> = {
    consume: async (data, ctx) => {
      state.runs++;
      await fan.consume(data.map((r) => r), ctx);
      const err = processorFails(state.runs);
      if (err) throw err;
    },
  };
  return { head, state };
}

describe('per-exporter acknowledgement', () => {
  it('re-delivers only to the exporter that failed; the one that delivered never gets the chunk twice', async () => {
    const file = new ScriptedExporter('file');
    // A queued exporter: accepts, then the send fails (retryable) twice before it succeeds.
    const otlp = new ScriptedExporter('otlp_http', (call, ctx) => {
      const settle = ctx.defer();
      setTimeout(() => settle(call <= 2 ? new ExportError('503', { retryable: true, status: 503 }) : undefined), 2);
    });
    const { head, state } = pipeline([otlp, file]);
    const fan = new PipelineFanOut([head]);
    const batch = [httpRecord({ route: 'one' })];
    let o = await fan.deliver(batch, { chunkId: 'c-7' }).outcome;
    assert.deepEqual(o.retry, [{ pipeline: 0, delivered: ['file'], failed: [] }]);
    assert.ok(o.error instanceof ExportError);
    o = await fan.deliver(batch, { only: o.retry, chunkId: 'c-7' }).outcome;
    assert.deepEqual(o.retry, [{ pipeline: 0, delivered: ['file'], failed: [] }]);
    o = await fan.deliver(batch, { only: o.retry, chunkId: 'c-7' }).outcome;
    assert.deepEqual([o.delivered, o.retry, o.failed, o.error], [[0], [], [], undefined]);
    assert.equal(state.runs, 3, 'the processor ran again for each retry');
    assert.equal(file.calls.length, 1, 'the exporter that delivered got the chunk once');
    assert.equal(otlp.calls.length, 3);
    assert.deepEqual([...file.calls, ...otlp.calls].map((c) => c.ctx.chunkId), ['c-7', 'c-7', 'c-7', 'c-7'], 'every exporter context carries the chunk id');
    assert.notEqual(file.calls[0]?.ctx, otlp.calls[0]?.ctx, 'each exporter has a context of its own');
  });

  it('an exporter that refused for good is skipped by the retry and the pipeline ends failed', async () => {
    const ok = new ScriptedExporter('ok');
    const refuses = new ScriptedExporter('refuses', () => { throw new ExportError('400', { retryable: false, status: 400 }); });
    let down = true;
    const flaky = new ScriptedExporter('flaky', () => { if (down) throw new ShuttingDownError('flaky'); });
    const { head } = pipeline([ok, refuses, flaky]);
    const fan = new PipelineFanOut([head]);
    const o1 = await fan.deliver([httpRecord()]).outcome;
    assert.deepEqual(o1.retry, [{ pipeline: 0, delivered: ['ok'], failed: ['refuses'] }]);
    down = false;
    const o2 = await fan.deliver([httpRecord()], { only: o1.retry }).outcome;
    assert.deepEqual([o2.delivered, o2.retry, o2.failed], [[], [], [0]]);
    assert.match(o2.error?.message ?? '', /refuses/);
    assert.deepEqual([ok.calls.length, refuses.calls.length, flaky.calls.length], [1, 1, 2]);
  });

  it('a processor failing after its exporters delivered retries the pipeline without them', async () => {
    const a = new ScriptedExporter('a');
    const b = new ScriptedExporter('b');
    const { head, state } = pipeline([a, b], (run) => (run === 1 ? new ShuttingDownError('processor') : undefined));
    const fan = new PipelineFanOut([head]);
    const o1 = await fan.deliver([httpRecord()]).outcome;
    assert.deepEqual(o1.retry, [{ pipeline: 0, delivered: ['a', 'b'], failed: [] }]);
    const o2 = await fan.deliver([httpRecord()], { only: o1.retry }).outcome;
    assert.deepEqual(o2.delivered, [0]);
    assert.equal(state.runs, 2);
    assert.deepEqual([a.calls.length, b.calls.length], [1, 1]);
  });

  it('a batch merged from several chunks: each chunk is acknowledged once every exporter took it; a failed exporter alone gets each chunk again', async () => {
    const ok = new ScriptedExporter('ok');
    // Deferred delivery failing (retryable) on its first call only.
    const flaky = new ScriptedExporter('flaky', (call, ctx) => {
      const settle = ctx.defer();
      setTimeout(() => settle(call === 1 ? new ExportError('503', { retryable: true, status: 503 }) : undefined), 2);
    });
    const exporterFan = new ExporterFanOut<'records'>([ok, flaky].map((e) => ({ id: e.id, consumer: e })));
    // A processor holding first attempts until it has three, then emitting them as one batch (as sli's window does).
    const held: { ctx: BatchContext; records: RecordBatch; settle: Settle }[] = [];
    const mergeable: boolean[] = [];
    const head: Consumer<'records'> = {
      consume: async (records, ctx) => {
        mergeable.push(canMerge(ctx));
        if (!canMerge(ctx)) return exporterFan.consume(records, ctx);
        held.push({ ctx, records, settle: ctx.defer() });
        if (held.length < 3) return;
        const chunks = held.splice(0);
        let error: Error | undefined;
        try {
          await exporterFan.consume(chunks.flatMap((c) => c.records), mergeContexts(chunks.map((c) => c.ctx)));
        } catch (err) {
          error = err as Error;
        }
        for (const c of chunks) c.settle(error);
      },
    };
    const fan = new PipelineFanOut([head]);
    const batches = [1, 2, 3].map((i) => [httpRecord({ route: `r${i}` })]);
    const first = batches.map((b, i) => fan.deliver(b, { chunkId: `c-${i}` }));
    for (const d of first) await d.accepted;
    const outcomes = await Promise.all(first.map((d) => d.outcome));
    for (const o of outcomes) {
      assert.deepEqual(o.retry, [{ pipeline: 0, delivered: ['ok'], failed: [] }], 'the merged batch reached ok: each chunk counts as delivered there');
      assert.ok(o.error instanceof ExportError);
    }
    const again = await Promise.all(batches.map((b, i) => fan.deliver(b, { only: (outcomes[i] as PipelineOutcome).retry, chunkId: `c-${i}` }).outcome));
    for (const o of again) assert.deepEqual([o.delivered, o.retry, o.failed, o.error], [[0], [], [], undefined]);
    assert.deepEqual(mergeable, [true, true, true, false, false, false], 'a re-delivery is never merged');
    assert.deepEqual(ok.calls.map((c) => c.records.map((r) => (r.kind === 'uptime' ? '' : r.route))), [['r1', 'r2', 'r3']], 'ok got every chunk once');
    assert.deepEqual(flaky.calls.map((c) => c.records.length), [3, 1, 1, 1], 'flaky got the merged batch, then each chunk on its own');
    assert.equal(ok.calls[0]?.ctx.chunkId, undefined, 'a merged batch has no single chunk id');
    assert.throws(() => mergeContexts([new Delivery().ctx]), /canMerge/);
  });

  it('a context the graph did not make is shared by every exporter (no tracking, no skipping)', async () => {
    const a = new ScriptedExporter('a');
    const b = new ScriptedExporter('b');
    const fan = new ExporterFanOut<'records'>([a, b].map((e) => ({ id: e.id, consumer: e })));
    const d = new Delivery();
    await fan.consume([httpRecord()], d.ctx);
    await fan.consume([httpRecord()], d.ctx);
    d.seal();
    assert.equal(await d.done, undefined);
    assert.deepEqual([a.calls.length, b.calls.length], [2, 2]);
    assert.equal(a.calls[0]?.ctx, d.ctx);
    assert.equal(d.ctx.chunkId, undefined);
  });
});

describe('agent HTTP endpoints', () => {
  it('serves /health, /ready (503 when a component is not ready) and self-telemetry /metrics', async () => {
    running = await startAgent(YAML, { factories: fakeFactories });
    const health = await fetch(`${running.telemetryUrl}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const ready = await fetch(`${running.telemetryUrl}/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; components: Record<string, { ready: boolean }> };
    assert.equal(body.status, 'ready');
    assert.equal(body.components['fake_receiver']?.ready, true);

    await receivers.get('fake_receiver')?.push([httpRecord()]);
    const metrics = await fetch(`${running.telemetryUrl}/metrics`);
    assert.equal(metrics.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    const text = await metrics.text();
    assert.match(text, /^# HELP tyk_otel_pump_process_memory_rss_bytes /m);
    assert.match(text, /^tyk_otel_pump_process_uptime_seconds \d/m);

    const notFound = await fetch(`${running.telemetryUrl}/nope`);
    assert.equal(notFound.status, 404);
    const post = await fetch(`${running.telemetryUrl}/health`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('/ready answers 503 with the reason when a component is not ready', async () => {
    running = await startAgent(YAML.replace('fake_receiver: {}', 'fake_receiver: { not_ready: true }'), { factories: fakeFactories });
    const ready = await fetch(`${running.telemetryUrl}/ready`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { status: string; components: Record<string, { ready: boolean; detail?: string; facts?: Record<string, unknown> }> };
    assert.equal(body.status, 'not_ready');
    assert.deepEqual(body.components['fake_receiver'], { ready: false, detail: 'redis unreachable (test)', facts: { lastDrainAgeSeconds: 99 } });
    assert.equal(body.components['memory']?.ready, true);
  });

  it('shutdown is idempotent and closes the listeners', async () => {
    running = await startAgent(YAML.replace('memory: {}', 'memory: { block: true }'), { factories: fakeFactories });
    const url = running.telemetryUrl;
    const stopping = running.agent.shutdown();
    const again = running.agent.shutdown();
    assert.equal(stopping, again);
    await stopping;
    await assert.rejects(fetch(`${url}/ready`));
    running = undefined;
  });

  it('refuses to start when the telemetry port is taken, and cleans up', async () => {
    running = await startAgent(YAML, { factories: fakeFactories });
    const port = new URL(running.telemetryUrl).port;
    events.length = 0;
    await assert.rejects(
      startAgent(YAML.replace('127.0.0.1:0', `127.0.0.1:${port}`), { factories: fakeFactories }),
      /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/,
    );
    assert.deepEqual(events, [], 'no component was started');
  });
});
