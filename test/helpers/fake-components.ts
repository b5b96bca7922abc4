/**
 * Small real components for testing the core (config, graph, agent) independently of the production
 * components: a receiver the test drives by hand, pass-through/convert processors, a memory exporter.
 * They implement the full contract; they are registered only in the tests that use them.
 */
import { z } from 'zod';
import type {
  BatchContext, ComponentContext, Consumer, ExporterFactory, ProcessorFactory, ReceiverFactory, Settle, ShutdownDeadline,
} from '../../src/component.js';
import type { LogsBatch, MetricsBatch, RecordBatch, Signal } from '../../src/model.js';
import { duration, hostPort, secret } from '../../src/config/schema.js';

/** Every lifecycle event of every fake, in order, for start/stop order assertions. */
export const events: string[] = [];

/** Live fake receivers by id, so tests can push records through them. */
export const receivers = new Map<string, { push(batch: RecordBatch, ctx?: BatchContext): Promise<void> }>();

/** Live memory exporters by id. */
export const exporters = new Map<string, MemoryExporter>();

/** The deadline each fake's `shutdown()` was given, by component id (undefined: called without one). */
export const shutdownDeadlines = new Map<string, ShutdownDeadline | undefined>();

const receiverSchema = z.strictObject({
  endpoint: z.string().default('redis://127.0.0.1:6379/0').describe('Where records come from.'),
  password: secret().default('').describe('A secret, to test masking.'),
  poll_interval: duration().prefault('1s').describe('A duration, to test parsing.'),
  not_ready: z.boolean().default(false).describe('Report not ready after start (readiness tests).'),
});

/** A receiver that emits whatever the test pushes. */
export const fakeReceiver: ReceiverFactory<z.infer<typeof receiverSchema>> = {
  kind: 'receiver',
  type: 'fake_receiver',
  description: 'test receiver',
  configSchema: receiverSchema,
  create(ctx: ComponentContext, config, next: Consumer<'records'>) {
    let started = false;
    let stopped = false;
    return {
      async start() {
        started = true;
        events.push(`start ${ctx.id}`);
        if (config.not_ready) ctx.health.set({ ready: false, detail: 'redis unreachable (test)', facts: { lastDrainAgeSeconds: 99 } });
        receivers.set(ctx.id, {
          push: (batch, bctx = { chunkId: undefined, defer: () => () => undefined }) => next.consume(batch, bctx),
        });
      },
      async shutdown(deadline) {
        shutdownDeadlines.set(ctx.id, deadline);
        if (!started || stopped) return;
        stopped = true;
        events.push(`stop ${ctx.id}`);
        receivers.delete(ctx.id);
      },
    };
  },
};

const procSchema = z.strictObject({
  tag: z.string().default('').describe('Appended to every record path, to see which processors ran.'),
  level: z.number().int('must be an integer').min(0).max(5).default(0).describe('A bounded number.'),
});

/** records→records: appends `tag` to each record's route so tests see the chain. */
export const tagProcessor: ProcessorFactory<z.infer<typeof procSchema>> = {
  kind: 'processor',
  type: 'tag',
  description: 'test processor',
  configSchema: procSchema,
  signatures: [{ input: 'records', output: 'records' }],
  create(ctx, config, _sig, next) {
    let started = false;
    let stopped = false;
    return {
      async start() {
        started = true;
        events.push(`start ${ctx.id}`);
      },
      async shutdown(deadline) {
        shutdownDeadlines.set(ctx.id, deadline);
        if (!started || stopped) return;
        stopped = true;
        events.push(`stop ${ctx.id}`);
      },
      async consume(data, bctx) {
        const batch = (data as RecordBatch).map((r) => (r.kind === 'uptime' ? r : { ...r, route: `${r.route}${config.tag}` }));
        await (next as Consumer<'records'>).consume(batch, bctx);
      },
    };
  },
};

/** records→metrics: one gauge point with the batch size. */
export const countProcessor: ProcessorFactory<Record<string, never>> = {
  kind: 'processor',
  type: 'count',
  description: 'test records→metrics processor',
  configSchema: z.strictObject({}),
  signatures: [{ input: 'records', output: 'metrics' }],
  create(ctx, _config, _sig, next) {
    return {
      async start() {
        events.push(`start ${ctx.id}`);
      },
      async shutdown(deadline) {
        shutdownDeadlines.set(ctx.id, deadline);
        events.push(`stop ${ctx.id}`);
      },
      async consume(data, bctx) {
        const batch: MetricsBatch = { resource: {}, scope: ctx.id, metrics: [] };
        void data;
        await (next as Consumer<'metrics'>).consume(batch, bctx);
      },
    };
  },
};

const exporterSchema = z.strictObject({
  endpoint: hostPort().default('127.0.0.1:0').describe('A host:port, to test validation.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Secret headers, to test masking.'),
  block: z.boolean().default(false).describe('Block consume until released (backpressure tests).'),
  defer: z.boolean().default(false).describe('Defer delivery until settled by the test.'),
  fail_start: z.boolean().default(false).describe('Fail to start (start-failure tests).'),
  shutdown_wait: z.enum(['none', 'deadline', 'forever']).default('none').describe('What shutdown waits for: nothing, the deadline, or forever (deadline tests).'),
});

/** Keeps what it receives; can block (backpressure) or defer delivery. */
export class MemoryExporter {
  readonly records: RecordBatch[] = [];
  readonly metrics: MetricsBatch[] = [];
  readonly logs: LogsBatch[] = [];
  readonly pending: Settle[] = [];
  /** The context of every batch taken, in order. */
  readonly contexts: BatchContext[] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  blocked = 0;

  constructor(readonly id: string, private readonly config: z.infer<typeof exporterSchema>) {
    if (config.block) this.close();
  }

  /** Makes consume wait until `release()`. */
  close(): void {
    this.gate = new Promise((r) => {
      this.open = r;
    });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async take(signal: Signal, data: unknown, ctx: BatchContext): Promise<void> {
    if (this.gate) {
      this.blocked++;
      await this.gate;
    }
    this.contexts.push(ctx);
    if (this.config.defer) this.pending.push(ctx.defer());
    if (signal === 'records') this.records.push(data as RecordBatch);
    if (signal === 'metrics') this.metrics.push(data as MetricsBatch);
    if (signal === 'logs') this.logs.push(data as LogsBatch);
  }
}

/** An exporter of every signal that keeps what it gets. */
export const memoryExporter: ExporterFactory<z.infer<typeof exporterSchema>> = {
  kind: 'exporter',
  type: 'memory',
  description: 'test exporter',
  configSchema: exporterSchema,
  inputs: ['records', 'metrics', 'logs'],
  create(ctx, config) {
    const mem = new MemoryExporter(ctx.id, config);
    let started = false;
    let stopped = false;
    return {
      async start() {
        if (config.fail_start) throw new Error('refused to start (test)');
        started = true;
        events.push(`start ${ctx.id}`);
        exporters.set(ctx.id, mem);
      },
      async shutdown(deadline) {
        shutdownDeadlines.set(ctx.id, deadline);
        if (!started || stopped) return;
        stopped = true;
        mem.release();
        events.push(`stop ${ctx.id}`);
        const signal = deadline?.signal;
        if (config.shutdown_wait === 'deadline' && signal) {
          if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
          events.push(`deadline passed ${ctx.id}`);
        } else if (config.shutdown_wait !== 'none') {
          await new Promise(() => undefined);
        }
        exporters.delete(ctx.id);
      },
      consumeRecords: (b, c) => mem.take('records', b, c),
      consumeMetrics: (b, c) => mem.take('metrics', b, c),
      consumeLogs: (b, c) => mem.take('logs', b, c),
    };
  },
};

/** An exporter that only takes metrics (to test signal type checks). */
export const metricsOnlyExporter: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'metrics_only',
  description: 'test exporter',
  configSchema: z.strictObject({}),
  inputs: ['metrics'],
  create() {
    return { start: async () => undefined, shutdown: async () => undefined, consumeMetrics: async () => undefined };
  },
};

/** The fake registry. */
export const fakeFactories = [fakeReceiver, tagProcessor, countProcessor, memoryExporter, metricsOnlyExporter] as const;
