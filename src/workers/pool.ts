/**
 * `service.workers` on the main thread: starts the worker threads (`thread.ts`), hands the batches they
 * post to the real exporters and answers with each exporter's outcome, shows their components on `/ready`
 * (`<id>#w<n>`), merges their self-telemetry into the agent's, and shuts them down first on the way out
 * (the graph treats the pool as its receiver), so they flush into exporters that still run.
 *
 * A worker that dies (an uncaught error, out of memory) leaves its claimed chunks in its in-flight lists:
 * with at-least-once they are re-delivered by its next start or adopted by a live peer (another worker
 * counts as one) once the dead worker's heartbeat expires. The pool starts it again under the same index
 * (so the same instance id and in-flight lists) after a backoff, at most a few times a minute
 * (`restart.ts`); each crash and restart is logged and counted (`workers.crashes`, `workers.restarts`), and
 * `/ready` answers 503 until every worker runs again.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Counter } from '@opentelemetry/api';
import type { ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Exporter, Receiver, ShutdownDeadline } from '../component.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Signal } from '../model.js';
import type { GraphDeps } from '../graph.js';
import { exporterConsumer } from '../graph.js';
import { StartError } from '../errors.js';
import { fromWire, MetricsUnpacker, toWireError, type FromWorker, type ToWorker, type WireError, type WorkerInit } from './protocol.js';
import { mergeWorkerMetrics } from './merge.js';
import { RestartPolicy } from './restart.js';
import { formatDuration } from '../config/schema.js';

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
  /** When it reported its pipelines started (ms since the epoch); undefined until then. */
  startedAt: number | undefined;
  stopped = false;
  /** Resolves once its pipelines started; rejects when it could not start them. */
  started!: Promise<void>;

  constructor(readonly index: number, readonly thread: Worker) {}

  post(m: ToWorker): void {
    if (!this.stopped) this.thread.postMessage(m);
  }
}

/** The worker threads of one agent. */
export class WorkerPool implements Receiver {
  /** The current thread of each worker index (index 1 at 0); a restart replaces it. */
  private readonly workers: WorkerHandle[] = [];
  private readonly exporters: ReadonlyMap<string, Exporter>;
  private readonly consumers = new Map<string, ReturnType<typeof exporterConsumer>>();
  private readonly reporters = new Map<string, ReturnType<GraphDeps['health']['reporter']>>();
  private readonly policy = new RestartPolicy();
  /** Why each worker that is not running is not (index → reason, shown on `/ready`). */
  private readonly down = new Map<number, string>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly crashes: Counter;
  private readonly restarts: Counter;
  private entry: URL | undefined;
  private collectSeq = 0;
  private closing = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: ResolvedConfig,
    private readonly deps: GraphDeps,
    exporters: ReadonlyMap<string, Exporter>,
  ) {
    this.exporters = exporters;
    deps.telemetry.addSource(() => this.collect());
    const meter = ctx.telemetry.meter;
    this.crashes = meter.createCounter('workers.crashes', { description: 'Worker threads that ended without being asked to (an uncaught error, out of memory).', unit: '{thread}' });
    this.restarts = meter.createCounter('workers.restarts', { description: 'Worker threads started again after a crash.', unit: '{thread}' });
  }

  /** Starts every worker; resolves once each has started its pipelines, rejects when one could not. */
  async start(): Promise<void> {
    const n = this.config.service.workers;
    this.ctx.health.set({ ready: false, detail: `starting ${n} worker thread(s)` });
    this.entry = workerEntry();
    const starts: Promise<void>[] = [];
    for (let index = 1; index <= n; index++) starts.push(this.spawn(index).started);
    await Promise.all(starts);
    this.report();
  }

  /** Starts the thread of worker `index` (its first start or a restart) and wires its messages and exit. */
  private spawn(index: number): WorkerHandle {
    const init: WorkerInit = {
      index, instanceId: this.deps.instanceId, effective: this.config.effective, file: this.config.file, dir: this.config.dir,
      logLevel: this.ctx.logger.level,
    };
    const w = new WorkerHandle(index, new Worker(this.entry as URL, { workerData: init }));
    this.workers[index - 1] = w;
    w.started = new Promise<void>((resolve, reject) => {
      w.thread.on('message', (m: FromWorker) => {
        if (m.t === 'started') {
          w.startedAt = Date.now();
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
        // Before the pool started, a worker that ends fails the start; after, it is restarted.
        if (this.closing || (w.startedAt === undefined && !this.down.has(index))) {
          this.ctx.logger.error({ worker: index, code }, 'worker thread exited; its claimed chunks stay in redis for a peer or the next start');
          this.ctx.health.set({ ready: false, detail: `worker ${index} exited (code ${code})` });
          return;
        }
        this.crashed(w, code);
      });
    });
    return w;
  }

  /** A worker ended unasked: counted, logged, shown on `/ready`, and started again after its backoff. */
  private crashed(w: WorkerHandle, code: number): void {
    const index = w.index;
    this.crashes.add(1, { worker: String(index) });
    const suffix = `#w${index}`;
    for (const [id, reporter] of this.reporters) if (id.endsWith(suffix)) reporter.set({ ready: false, detail: 'worker thread exited' });
    const delay = this.policy.backoff(index, Date.now(), w.startedAt);
    this.down.set(index, `worker ${index} exited (code ${code}); restarting in ${formatDuration(delay)}`);
    this.ctx.logger.error({ worker: index, code, restartInMs: delay }, 'worker thread exited; restarting it after a backoff (its claimed chunks stay in redis for it or a peer)');
    this.report();
    this.restartAfter(index, delay);
  }

  /** Restarts worker `index` after `ms`, or later when the pool restarted too many workers in the last minute. */
  private restartAfter(index: number, ms: number): void {
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.closing) return;
      const wait = this.policy.admit(Date.now());
      if (wait > 0) {
        const limit = this.policy.limits.perMinute;
        this.down.set(index, `worker ${index} exited; ${limit} restarts in the last minute, next attempt in ${formatDuration(wait)}`);
        this.ctx.logger.warn({ worker: index, restartInMs: wait, perMinute: limit }, 'worker restart limit reached; waiting before restarting it');
        this.report();
        this.restartAfter(index, wait);
        return;
      }
      this.restarts.add(1, { worker: String(index) });
      this.ctx.logger.warn({ worker: index }, 'restarting worker thread');
      const w = this.spawn(index);
      w.started.then(
        () => {
          this.down.delete(index);
          this.ctx.logger.info({ worker: index }, 'worker thread restarted');
          this.report();
        },
        (err: unknown) => {
          // Ending the thread makes its exit a crash of its own: restarted after a longer backoff.
          this.ctx.logger.error({ err, worker: index }, 'worker thread could not start again');
          if (!w.stopped) void w.thread.terminate();
        },
      );
    }, ms);
    this.restartTimers.add(timer);
  }

  /** The pool's `/ready` state: ready when every worker runs. */
  private report(): void {
    if (this.closing) return;
    const facts = { workers: this.config.service.workers };
    if (this.down.size === 0) this.ctx.health.set({ ready: true, facts });
    else this.ctx.health.set({ ready: false, detail: [...this.down.values()].join('; '), facts });
  }

  private onMessage(w: WorkerHandle, m: FromWorker): void {
    switch (m.t) {
      case 'consume': return this.consume(w, m);
      case 'health':
        for (const [id, state] of Object.entries(m.components)) {
          const shown = `${id}#w${w.index}`;
          let reporter = this.reporters.get(shown);
          if (!reporter) {
            reporter = this.deps.health.reporter(shown);
            this.reporters.set(shown, reporter);
          }
          reporter.set(state);
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
      if (w.stopped || w.startedAt === undefined) return Promise.resolve([] as readonly ScopeMetrics[]);
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
      this.closing = true;
      for (const t of this.restartTimers) clearTimeout(t);
      this.restartTimers.clear();
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
