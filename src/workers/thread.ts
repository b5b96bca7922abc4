/**
 * A worker thread of `service.workers`: builds the same pipelines as the main thread from the same
 * effective config, with its own Redis connections (the receivers' copies), and with every exporter
 * replaced by a proxy that posts the batch to the main thread and reports back what the real exporter did
 * with it (accepted or refused; delivered later or failed) — see `protocol.ts`.
 *
 * Self-telemetry is collected on request of the main thread (its `/metrics` and push readers merge it);
 * `/ready` states are posted on every change.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import type { BatchContext, ComponentContext, Consumer, Exporter, ExporterFactory, Factory, ProcessorFactory, ProcessorSignature, ReceiverFactory, Settle } from '../component.js';
import type { Signal, SignalPayload } from '../model.js';
import type { RecordReads } from '../record-reads.js';
import { loadConfigText } from '../config/load.js';
import { loadFactoriesFor } from '../registry.js';
import { createLogger } from '../logger.js';
import { Graph, HealthRegistry } from '../graph.js';
import { HttpServers } from '../http-server.js';
import { SelfTelemetry } from '../telemetry.js';
import { fromWireError, MetricsPacker, toWire, toWireError, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';

/** A batch posted to the main thread, waiting for its answers. */
interface Waiting {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly ctx: BatchContext;
  settle?: Settle;
}

/** The exporters of this worker: proxies of the main thread's. */
class ExporterProxies {
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** One table for every exporter: the main thread unpacks this worker's messages in order. */
  private readonly packer = new MetricsPacker();

  constructor(private readonly port: MessagePort) {}

  create(id: string, inputs: readonly Signal[]): Exporter {
    const call = (signal: Signal) => (data: SignalPayload[Signal], ctx: BatchContext) => this.call(id, signal, data, ctx);
    return {
      start: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
      ...(inputs.includes('records') ? { consumeRecords: call('records') } : {}),
      ...(inputs.includes('metrics') ? { consumeMetrics: call('metrics') } : {}),
      ...(inputs.includes('logs') ? { consumeLogs: call('logs') } : {}),
    };
  }

  private call(exporter: string, signal: Signal, data: SignalPayload[Signal], ctx: BatchContext): Promise<void> {
    const seq = this.seq++;
    const { payload, transfer } = toWire(signal, data, this.packer);
    const msg: FromWorker = { t: 'consume', seq, exporter, chunkId: ctx.chunkId, payload };
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, ctx });
      this.port.postMessage(msg, transfer);
    });
  }

  accepted(m: Extract<ToWorker, { t: 'accepted' }>): void {
    const w = this.waiting.get(m.seq);
    if (!w) return;
    if (m.error) {
      this.waiting.delete(m.seq);
      w.reject(fromWireError(m.error));
      return;
    }
    // The real exporter deferred: so does the proxy, before resolving (the contract's order).
    if (m.deferred) w.settle = w.ctx.defer();
    else {
      this.waiting.delete(m.seq);
      if (m.settledError) w.ctx.defer()(fromWireError(m.settledError));
    }
    w.resolve();
  }

  settled(m: Extract<ToWorker, { t: 'settled' }>): void {
    const w = this.waiting.get(m.seq);
    this.waiting.delete(m.seq);
    w?.settle?.(m.error ? fromWireError(m.error) : undefined);
  }
}

/** The factories of the config as a worker uses them: exporters are proxies, and copies get their own config. */
function workerFactories(factories: readonly Factory[], proxies: ExporterProxies, index: number): Factory[] {
  return factories.map((f): Factory => {
    if (f.kind === 'exporter') {
      const e: ExporterFactory = { ...f, create: (ctx: ComponentContext) => proxies.create(ctx.id, f.inputs) };
      return e as Factory;
    }
    const copy = f.workers?.copy as ((config: unknown, index: number) => unknown) | undefined;
    if (!copy) return f;
    if (f.kind === 'receiver') {
      const r = f as ReceiverFactory;
      return { ...r, create: (ctx: ComponentContext, config: unknown, next: Consumer<'records'>, reads?: RecordReads) => r.create(ctx, copy(config, index), next, reads) } as Factory;
    }
    const p = f as ProcessorFactory;
    return { ...p, create: (ctx: ComponentContext, config: unknown, sig: ProcessorSignature, next: Consumer<Signal>) => p.create(ctx, copy(config, index), sig, next) } as Factory;
  });
}

async function main(port: MessagePort, init: WorkerInit): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  const logger = createLogger(init.logLevel as LevelWithSilent, {}).child({ worker: init.index });
  const proxies = new ExporterProxies(port);
  // The same pipelines, run here: the worker must not start workers of its own.
  const service = { ...(init.effective['service'] as Record<string, unknown>), workers: 0 };
  const loaded = loadConfigText(JSON.stringify({ ...init.effective, service }), init.file, workerFactories(await loadFactoriesFor(init.effective), proxies, init.index), {}, init.dir);
  if (!loaded.config) {
    post({ t: 'start_failed', error: toWireError(new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; '))) });
    return;
  }
  const config = loaded.config;
  const prefix = config.service.telemetry.metrics.prefix;
  const telemetry = new SelfTelemetry(prefix);
  const health = new HealthRegistry();
  health.onChange = () => post({ t: 'health', components: health.snapshot().components });
  const graph = Graph.build(config, { logger, telemetry, http: new HttpServers(logger.child({ component: 'http' })), health, instanceId: `${init.instanceId}-w${init.index}` });
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'accepted': return proxies.accepted(m);
      case 'settled': return proxies.settled(m);
      case 'collect':
        void telemetry.collect().then(
          (rm) => post({ t: 'metrics', req: m.req, scopeMetrics: rm.scopeMetrics.map((s) => ({ scope: s.scope, metrics: s.metrics.filter((x) => !x.descriptor.name.startsWith(`${prefix}.process.`) && x.dataPoints.length > 0) })) }),
          () => post({ t: 'metrics', req: m.req, scopeMetrics: [] }),
        );
        return;
      case 'shutdown':
        void graph.shutdown(Math.max(1, m.at - Date.now()), health).catch((err: unknown) => logger.error({ err }, 'worker did not shut down in time')).finally(async () => {
          post({ t: 'health', components: health.snapshot().components });
          await telemetry.shutdown();
          post({ t: 'stopped' });
        });
        return;
    }
  });
  try {
    await graph.start(health);
  } catch (err) {
    post({ t: 'start_failed', error: toWireError(err) });
    return;
  }
  post({ t: 'health', components: health.snapshot().components });
  post({ t: 'started' });
}

if (parentPort) void main(parentPort, workerData as WorkerInit);
