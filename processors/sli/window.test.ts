/**
 * The `sli` processor's emission window (`window.ts`) under the graph's own delivery tracking
 * (`PipelineFanOut` → sli → `ExporterFanOut`): chunks are held and emitted together, each chunk is
 * acknowledged only once the window reached every exporter, and request totals stay exact across a failed
 * exporter's re-deliveries and across shutdown.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import type { BatchContext, Consumer } from '../../src/component.js';
import type { MetricsBatch, RecordBatch } from '../../src/model.js';
import { ExporterFanOut, PipelineFanOut, type PipelineOutcome } from '../../src/delivery.js';
import { ExportError, isRetryable } from '../../src/errors.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { componentContext, testSharedConfig } from '../../test/helpers/context.js';
import { httpRecord, tracked } from '../../test/helpers/records.js';
import { sliConfigSchema } from './config.js';
import { SliProcessor } from './sli.js';

const T0 = Date.UTC(2026, 11, 3, 9);

/** An exporter summing `tyk.api.requests` over what it took; `fail(call)` makes a call fail (retryable). */
class CountingExporter implements Consumer<'metrics'> {
  readonly batches: MetricsBatch[] = [];
  calls = 0;
  constructor(readonly id: string, private readonly fail: (call: number) => boolean = () => false) {}
  async consume(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    this.calls++;
    if (this.fail(this.calls)) throw new ExportError('503 (test)', { retryable: true, status: 503 });
    this.batches.push(batch);
  }
  get requests(): number {
    let n = 0;
    for (const b of this.batches) {
      for (const m of b.metrics) if (m.descriptor.name === 'tyk.api.requests') for (const p of m.dataPoints as DataPoint<number>[]) n += p.value;
    }
    return n;
  }
}

function pipeline(exporters: CountingExporter[], over: Record<string, unknown> = {}) {
  const self = new SelfTelemetry('test');
  const ctx = componentContext({ id: 'sli@metrics', telemetry: self.forComponent('processor', 'sli@metrics'), shared: testSharedConfig({}), instanceId: 'test' });
  const fanOut = new ExporterFanOut<'metrics'>(exporters.map((e) => ({ id: e.id, consumer: e })));
  const sli = new SliProcessor(ctx, sliConfigSchema.parse(over), fanOut, { now: () => T0 + 60_000 });
  const fan = new PipelineFanOut([sli]);
  /** `processor.sli.window_chunks` by trigger: windows emitted and the chunks in them. */
  const windows = async (): Promise<Record<string, { windows: number; chunks: number }>> => {
    const out: Record<string, { windows: number; chunks: number }> = {};
    for (const line of (await self.scrape()).split('\n')) {
      const m = /^test_processor_sli_window_chunks_(count|sum)\{.*trigger="([a-z_]+)".*\} (\d+)$/.exec(line);
      if (!m) continue;
      const w = (out[m[2] as string] ??= { windows: 0, chunks: 0 });
      if (m[1] === 'count') w.windows = Number(m[3]);
      else w.chunks = Number(m[3]);
    }
    return out;
  };
  return { sli, fan, windows, close: () => self.shutdown() };
}

function chunk(i: number, n: number): RecordBatch {
  return Array.from({ length: n }, (_, j) => httpRecord({ route: `/r${(i + j) % 3}`, timestampMs: T0 + i * 10 + j }));
}

describe('sli processor: emission window', () => {
  it('holds chunks until the window is full, emits one batch for all of them, and acknowledges each once it reached the exporters', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, close } = pipeline([exp], { emit_interval: '1m', emit_max_records: 30, emit_max_chunks: 100 });
    await sli.start();
    const deliveries = [0, 1].map((i) => fan.deliver(chunk(i, 10)));
    for (const d of deliveries) await d.accepted;
    let settled = 0;
    for (const d of deliveries) void d.outcome.then(() => settled++);
    await new Promise((r) => setImmediate(r));
    assert.equal(exp.calls, 0, 'held: nothing emitted yet');
    assert.equal(settled, 0, 'held chunks are not acknowledged before their window is emitted');
    const third = fan.deliver(chunk(2, 10));
    await third.accepted;
    const outcomes = await Promise.all([...deliveries, third].map((d) => d.outcome));
    for (const o of outcomes) assert.deepEqual([o.delivered, o.retry, o.failed, o.error], [[0], [], [], undefined]);
    assert.equal(exp.calls, 1, 'one batch for the three chunks');
    assert.equal(exp.requests, 30);
    const points = exp.batches[0]?.metrics.find((m) => m.descriptor.name === 'tyk.api.requests')?.dataPoints.length;
    assert.equal(points, 3, 'one point per touched series, not per chunk');
    await sli.shutdown();
    await close();
  });

  it('at-least-once: an exporter failing a window gets each of its chunks again on its own; both exporters count every request exactly once', async () => {
    const ok = new CountingExporter('prometheus');
    const flaky = new CountingExporter('otlp_http', (call) => call <= 2);
    const { sli, fan, close } = pipeline([ok, flaky], { emit_interval: '1m', emit_max_records: 20, emit_max_chunks: 100 });
    await sli.start();
    // Two windows of 20+ records: 7+6+9 and 5+8+11 (the last chunk of each fills it).
    const sizes = [7, 6, 9, 5, 8, 11];
    const total = sizes.reduce((a, b) => a + b, 0);
    let pending = sizes.map((n, i) => ({ batch: chunk(i, n), only: undefined as PipelineOutcome['retry'] | undefined }));
    const attempts: number[] = [];
    for (let attempt = 0; pending.length > 0 && attempt < 10; attempt++) {
      attempts.push(pending.length);
      const runs = pending.map((p) => ({ p, d: fan.deliver(p.batch, { only: p.only }) }));
      const outcomes = await Promise.all(runs.map(async (r) => {
        await r.d.accepted;
        return r.d.outcome;
      }));
      pending = [];
      outcomes.forEach((o, i) => {
        assert.deepEqual(o.failed, []);
        if (o.retry.length > 0) {
          assert.deepEqual(o.retry, [{ pipeline: 0, delivered: ['prometheus'], failed: [] }]);
          pending.push({ batch: (runs[i] as (typeof runs)[number]).p.batch, only: o.retry });
        }
      });
    }
    assert.deepEqual(attempts, [6, 6], 'both windows failed at otlp_http: every chunk once more, to it alone');
    assert.deepEqual(pending, [], 'every chunk delivered in the end');
    assert.equal(ok.requests, total, 'the exporter that took the windows never got a chunk twice');
    assert.equal(flaky.requests, total, 'the failing exporter got every request once after its re-deliveries');
    await sli.shutdown();
    await close();
  });

  it('shutdown emits what the window holds before it resolves: held chunks are acknowledged, totals exact; later batches are refused (retryable)', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, close } = pipeline([exp], { emit_interval: '1m', emit_max_records: 1_000_000, emit_max_chunks: 100 });
    await sli.start();
    const deliveries = [0, 1, 2, 3].map((i) => fan.deliver(chunk(i, 25)));
    for (const d of deliveries) await d.accepted;
    assert.equal(exp.calls, 0);
    await sli.shutdown();
    assert.equal(exp.requests, 100, 'flushed by shutdown');
    const outcomes = await Promise.all(deliveries.map((d) => d.outcome));
    for (const o of outcomes) assert.deepEqual(o.delivered, [0]);
    const refused = await fan.deliver(chunk(9, 1)).outcome;
    assert.ok(refused.error && isRetryable(refused.error), 'refused after shutdown, to be re-delivered by the receiver');
    assert.equal(exp.requests, 100);
    await close();
  });

  it('the interval emits a window that does not fill up; a batch from outside the graph is emitted at once, after the held ones', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, close } = pipeline([exp], { emit_interval: '20ms', emit_max_records: 1_000_000, emit_max_chunks: 100 });
    await sli.start();
    const d = fan.deliver(chunk(0, 4));
    await d.accepted;
    assert.deepEqual((await d.outcome).delivered, [0], 'emitted by the interval');
    assert.equal(exp.requests, 4);
    const held = fan.deliver(chunk(1, 3));
    await held.accepted;
    const err = await tracked((c) => sli.consume(chunk(2, 2), c));
    assert.equal(err, undefined);
    assert.deepEqual(exp.batches.map((b) => b.metrics.find((m) => m.descriptor.name === 'tyk.api.requests')?.dataPoints.reduce((n, p) => n + (p.value as number), 0)), [4, 3, 2]);
    assert.deepEqual((await held.outcome).delivered, [0]);
    await sli.shutdown();
    await close();
  });

  it('a window is emitted once it holds emit_max_chunks chunks', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, close } = pipeline([exp], { emit_interval: '1m', emit_max_chunks: 2 });
    await sli.start();
    const ds = [0, 1, 2, 3].map((i) => fan.deliver(chunk(i, 5)));
    for (const d of ds) await d.outcome;
    assert.equal(exp.calls, 2);
    assert.equal(exp.requests, 20);
    await sli.shutdown();
    await close();
  });

  it('a receiver at its bound releases the window (Pipelines.release): emitted at once, its chunks acknowledged; nothing held, nobody is asked', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, windows, close } = pipeline([exp], { emit_interval: '1m', emit_max_chunks: 100 });
    await sli.start();
    assert.equal(fan.release(), 0, 'nothing held yet');
    const deliveries = [0, 1, 2].map((i) => fan.deliver(chunk(i, 10)));
    for (const d of deliveries) await d.accepted;
    assert.equal(exp.calls, 0, 'held: only the timer (1m) or the receiver ends this window');
    assert.equal(fan.release(), 3, 'the three held chunks were asked');
    for (const o of await Promise.all(deliveries.map((d) => d.outcome))) assert.deepEqual([o.delivered, o.retry, o.failed], [[0], [], []]);
    assert.equal(exp.calls, 1, 'one window');
    assert.equal(exp.requests, 30);
    assert.equal(fan.release(), 0, 'emitted chunks are withdrawn: a later release asks nobody');
    // The next window starts empty and is released the same way.
    const next = fan.deliver(chunk(3, 5));
    await next.accepted;
    assert.equal(fan.release(), 1);
    assert.deepEqual((await next.outcome).delivered, [0]);
    assert.equal(exp.requests, 35);
    assert.deepEqual(await windows(), { receiver_limit: { windows: 2, chunks: 4 } });
    await sli.shutdown();
    await close();
  });

  it('a release while an exporter fails: re-deliveries are never held (nothing to release, no wait on the timer) and every request counts once per exporter', async () => {
    const ok = new CountingExporter('prometheus');
    const down = new CountingExporter('otlp_http', (call) => call <= 3);
    const { sli, fan, windows, close } = pipeline([ok, down], { emit_interval: '1m', emit_max_chunks: 100 });
    await sli.start();
    let pending = [0, 1, 2, 3].map((i) => ({ batch: chunk(i, 10), only: undefined as PipelineOutcome['retry'] | undefined }));
    const released: number[] = [];
    for (let attempt = 0; pending.length > 0 && attempt < 10; attempt++) {
      const runs = pending.map((p) => ({ p, d: fan.deliver(p.batch, { only: p.only }) }));
      for (const r of runs) await r.d.accepted;
      // The receiver is at its bound with every chunk open: it asks for the held ones.
      released.push(fan.release());
      const outcomes = await Promise.all(runs.map((r) => r.d.outcome));
      pending = [];
      outcomes.forEach((o, i) => {
        if (o.retry.length > 0) pending.push({ batch: (runs[i] as (typeof runs)[number]).p.batch, only: o.retry });
      });
    }
    assert.deepEqual(released, [4, 0, 0], 'the first attempt was one held window; re-deliveries are emitted at once, on their own');
    assert.equal(ok.requests, 40, 'the exporter that took the window never got a chunk twice');
    assert.equal(down.requests, 40, 'the failing exporter got every request once in the end');
    assert.deepEqual(await windows(), { receiver_limit: { windows: 1, chunks: 4 } });
    await sli.shutdown();
    await close();
  });

  it('self-telemetry tells what ended each window (processor.sli.window_chunks by trigger)', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, windows, close } = pipeline([exp], { emit_interval: '1m', emit_max_chunks: 3, emit_max_records: 25 });
    await sli.start();
    for (const d of [0, 1, 2].map((i) => fan.deliver(chunk(i, 2)))) await d.outcome; // 3 chunks: full by chunks
    for (const d of [3, 4].map((i) => fan.deliver(chunk(i, 20)))) await d.outcome; // 40 records: full by records
    const held = fan.deliver(chunk(5, 1));
    await held.accepted;
    assert.equal(await tracked((c) => sli.consume(chunk(6, 1), c)), undefined); // not mergeable: the window goes first
    await held.outcome;
    const last = fan.deliver(chunk(7, 1));
    await last.accepted;
    await sli.shutdown();
    await last.outcome;
    assert.deepEqual(await windows(), {
      chunks: { windows: 1, chunks: 3 }, records: { windows: 1, chunks: 2 }, redelivery: { windows: 1, chunks: 1 }, shutdown: { windows: 1, chunks: 1 },
    });
    assert.equal(exp.requests, 49);
    await close();
  });

  it('emit_interval 0s emits per chunk, as before', async () => {
    const exp = new CountingExporter('prometheus');
    const { sli, fan, close } = pipeline([exp], { emit_interval: '0s' });
    await sli.start();
    for (let i = 0; i < 3; i++) await fan.deliver(chunk(i, 2)).outcome;
    assert.equal(exp.calls, 3);
    await sli.shutdown();
    await close();
  });
});
