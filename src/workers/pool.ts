/**
 * `service.workers` on the main thread: starts the worker threads (`thread.ts`), hands the batches they
 * post to the real exporters and answers with each exporter's outcome, shows their components on `/ready`
 * (`<id>#w<n>`), merges their self-telemetry into the agent's, and shuts them down first on the way out
 * (the graph treats the pool as its receiver), so they flush into exporters that still run.
 *
 * A worker that dies leaves its claimed chunks in its in-flight lists: with at-least-once they are
 * re-delivered by the next start or adopted by a live peer (another worker counts as one) once the dead
 * worker's heartbeat expires. `/ready` answers 503 from then on, so an orchestrator restarts the agent.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Exporter, Receiver, ShutdownDeadline } from '../component.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Signal } from '../model.js';
import type { GraphDeps } from '../graph.js';
import { exporterConsumer } from '../graph.js';
import { StartError } from '../errors.js';
import { fromWire, MetricsUnpacker, toWireError, type FromWorker, type ToWorker, type WireError, type WorkerInit } from './protocol.js';
import { mergeWorkerMetrics } from './merge.js';

/** How long a `/metrics` collection waits for a worker's instruments before it leaves them out. */
const COLLECT_TIMEOUT_MS = 2000;

/** The worker entry: the compiled `thread.js`, or `thread.ts` through tsx (tests, benchmarks). */
function workerEntry(): URL {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.ts')) return new URL('./thread.js', import.meta.url);
  const entry = new URL('./thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** One worker thread as the main thread sees it. */
class WorkerHandle {
  readonly unpacker = new MetricsUnpacker();
  readonly collects = new Map<number, (s: readonly ScopeMetrics[]) => void>();
  started = false;
  stopped = false;
  /** Component ids of the worker already shown on `/ready`. */
  readonly reported = new Set<string>();

  constructor(readonly index: number, readonly thread: Worker) {}

  post(m: ToWorker): void {
    if (!this.stopped) this.thread.postMessage(m);
  }
}

/** The worker threads of one agent. */
export class WorkerPool implements Receiver {
  private readonly workers: WorkerHandle[] = [];
  private readonly exporters: ReadonlyMap<string, Exporter>;
  private readonly consumers = new Map<string, ReturnType<typeof exporterConsumer>>();
  private collectSeq = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: ResolvedConfig,
    private readonly deps: GraphDeps,
    exporters: ReadonlyMap<string, Exporter>,
  ) {
    this.exporters = exporters;
    deps.telemetry.addSource(() => this.collect());
  }

  /** Starts every worker; resolves once each has started its pipelines, rejects when one could not. */
  async start(): Promise<void> {
    const n = this.config.service.workers;
    this.ctx.health.set({ ready: false, detail: `starting ${n} worker thread(s)` });
    const entry = workerEntry();
    const starts: Promise<void>[] = [];
    for (let index = 1; index <= n; index++) {
      const init: WorkerInit = {
        index, instanceId: this.deps.instanceId, effective: this.config.effective, file: this.config.file, dir: this.config.dir,
        logLevel: this.ctx.logger.level,
      };
      const w = new WorkerHandle(index, new Worker(entry, { workerData: init }));
      this.workers.push(w);
      starts.push(new Promise<void>((resolve, reject) => {
        w.thread.on('message', (m: FromWorker) => {
          if (m.t === 'started') {
            w.started = true;
            resolve();
          } else if (m.t === 'start_failed') reject(new StartError(`workers#w${index}`, m.error.message));
          else this.onMessage(w, m);
        });
        w.thread.on('error', (err) => {
          this.ctx.logger.error({ err, worker: index }, 'worker thread failed');
          reject(err);
        });
        w.thread.on('exit', (code) => {
          const unexpected = !w.stopped;
          w.stopped = true;
          for (const done of w.collects.values()) done([]);
          if (!unexpected) return;
          reject(new StartError(`workers#w${index}`, `worker thread exited (code ${code}) before it started`));
          this.ctx.logger.error({ worker: index, code }, 'worker thread exited; its claimed chunks stay in redis for a peer or the next start');
          this.ctx.health.set({ ready: false, detail: `worker ${index} exited (code ${code})` });
        });
      }));
    }
    await Promise.all(starts);
    this.ctx.health.set({ ready: true, facts: { workers: n } });
  }

  private onMessage(w: WorkerHandle, m: FromWorker): void {
    switch (m.t) {
      case 'consume': return this.consume(w, m);
      case 'health':
        for (const [id, state] of Object.entries(m.components)) {
          const shown = `${id}#w${w.index}`;
          if (!w.reported.has(shown)) {
            w.reported.add(shown);
            this.reporters.set(shown, this.deps.health.reporter(shown));
          }
          this.reporters.get(shown)?.set(state);
        }
        return;
      case 'metrics':
        w.collects.get(m.req)?.(m.scopeMetrics);
        w.collects.delete(m.req);
        return;
      case 'stopped':
        w.stopped = true;
        void w.thread.terminate();
        return;
      default:
        return;
    }
  }

  private readonly reporters = new Map<string, ReturnType<GraphDeps['health']['reporter']>>();

  /** One batch for an exporter: its outcome goes back in two answers (accepted; settled when deferred). */
  private consume(w: WorkerHandle, m: Extract<FromWorker, { t: 'consume' }>): void {
    const signal: Signal = m.payload.signal;
    const key = `${m.exporter}\u0000${signal}`;
    let consumer = this.consumers.get(key);
    if (!consumer) {
      const exp = this.exporters.get(m.exporter);
      if (!exp) {
        w.post({ t: 'accepted', seq: m.seq, deferred: false, error: toWireError(new StartError(m.exporter, 'no such exporter on the main thread')) });
        return;
      }
      consumer = exporterConsumer(exp, signal, m.exporter);
      this.consumers.set(key, consumer);
    }
    let outstanding = 0;
    let accepted = false;
    let settledError: WireError | undefined;
    const ctx: BatchContext = {
      chunkId: m.chunkId,
      defer: () => {
        outstanding++;
        let done = false;
        return (err) => {
          if (done) return;
          done = true;
          if (err) settledError ??= toWireError(err);
          if (--outstanding === 0 && accepted) w.post({ t: 'settled', seq: m.seq, ...(settledError ? { error: settledError } : {}) });
        };
      },
    };
    let data;
    try {
      data = fromWire(m.payload, w.unpacker);
    } catch (err) {
      w.post({ t: 'accepted', seq: m.seq, deferred: false, error: toWireError(err) });
      return;
    }
    consumer.consume(data, ctx).then(
      () => {
        accepted = true;
        w.post({ t: 'accepted', seq: m.seq, deferred: outstanding > 0, ...(outstanding === 0 && settledError ? { settledError } : {}) });
      },
      (err: unknown) => w.post({ t: 'accepted', seq: m.seq, deferred: false, error: toWireError(err) }),
    );
  }

  /** Every live worker's instruments, merged; a worker that does not answer in time is left out. */
  private async collect(): Promise<ScopeMetrics[]> {
    const req = this.collectSeq++;
    const per = await Promise.all(this.workers.map((w) => {
      if (w.stopped || !w.started) return Promise.resolve([] as readonly ScopeMetrics[]);
      return new Promise<readonly ScopeMetrics[]>((resolve) => {
        const timer = setTimeout(() => {
          w.collects.delete(req);
          resolve([]);
        }, COLLECT_TIMEOUT_MS);
        w.collects.set(req, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
        w.post({ t: 'collect', req });
      });
    }));
    return mergeWorkerMetrics(per);
  }

  /**
   * Asks every worker to shut its pipelines down by the deadline (they finish their deliveries into the
   * exporters, which are still running), then ends the threads. A worker still busy at the deadline is
   * terminated: what it had claimed stays in its in-flight lists.
   */
  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopping ??= (async () => {
      const at = deadline?.at ?? Date.now() + this.config.service.shutdown_timeout;
      const exits = this.workers.map((w) => new Promise<void>((resolve) => {
        if (w.thread.threadId === -1) return resolve();
        w.thread.once('exit', () => resolve());
        w.post({ t: 'shutdown', at });
      }));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, Math.max(0, at - Date.now()) + 200)))]);
      clearTimeout(timer);
      await Promise.all(this.workers.map(async (w) => {
        w.stopped = true;
        await w.thread.terminate();
      }));
      this.ctx.health.set({ ready: false, detail: 'stopped' });
    })();
    return this.stopping;
  }
}
