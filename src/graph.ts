/**
 * The pipeline graph at run time: builds component instances from a resolved config, wires them
 * (receiver → per-pipeline processors → one fan-out → shared exporters), starts them exporters-first and
 * shuts them down receivers-first, so every stage can flush into a consumer that is still running.
 *
 * Instances: a receiver or exporter id is one instance however many pipelines list it (a record drained
 * once reaches every pipeline that lists its receiver); processors get one instance per pipeline, as in
 * the Collector.
 */
import type { Logger } from 'pino';
import type {
  BatchContext, Component, ComponentContext, ComponentKind, Consumer, Exporter, HealthReporter, HealthState, Processor, ShutdownDeadline,
} from './component.js';
import type { Signal } from './model.js';
import type { PipelineSpec, ResolvedConfig } from './config/load.js';
import type { HttpServers } from './http-server.js';
import type { SelfTelemetry } from './telemetry.js';
import { StartError, TimeoutError } from './errors.js';
import { ExporterFanOut, PipelineFanOut } from './delivery.js';
import { WorkerPool } from './workers/pool.js';
import { receiverReads } from './graph-plan.js';
import { describeReads } from './record-reads.js';

/** The consumer of one signal of an exporter. */
export function exporterConsumer(exp: Exporter, signal: Signal, id: string): Consumer<Signal> {
  const fn =
    signal === 'records' ? exp.consumeRecords : signal === 'metrics' ? exp.consumeMetrics : exp.consumeLogs;
  if (!fn) throw new StartError(id, `exporter does not implement consume for ${signal}`);
  return { consume: (data, ctx) => (fn as (d: unknown, c: BatchContext) => Promise<void>).call(exp, data, ctx) };
}

/** Per-component health, aggregated for `/ready`. */
export class HealthRegistry {
  private readonly states = new Map<string, { state: HealthState; reported: boolean }>();
  /** Called after every change (a worker thread posts its states to the main thread's registry). */
  onChange: (() => void) | undefined;

  reporter(id: string): HealthReporter {
    this.states.set(id, { state: { ready: false, detail: 'not started' }, reported: false });
    return {
      set: (state) => {
        this.states.set(id, { state, reported: true });
        this.onChange?.();
      },
    };
  }

  /** Marks a started component ready unless it reported its own state already. */
  started(id: string): void {
    const s = this.states.get(id);
    if (s && !s.reported) this.states.set(id, { state: { ready: true }, reported: false });
    this.onChange?.();
  }

  stopped(id: string): void {
    this.states.set(id, { state: { ready: false, detail: 'stopped' }, reported: true });
    this.onChange?.();
  }

  /** `{ready, components}` for `/ready`. */
  snapshot(): { ready: boolean; components: Record<string, HealthState> } {
    const components: Record<string, HealthState> = {};
    let ready = true;
    for (const [id, { state }] of this.states) {
      components[id] = state;
      if (!state.ready) ready = false;
    }
    return { ready, components };
  }
}

interface Node {
  readonly id: string;
  readonly kind: ComponentKind;
  readonly component: Component;
  started: boolean;
}

/** Everything the graph needs from the agent to create component contexts. */
export interface GraphDeps {
  readonly logger: Logger;
  readonly telemetry: SelfTelemetry;
  readonly http: HttpServers;
  readonly health: HealthRegistry;
  readonly instanceId: string;
}

/**
 * The part of the shutdown budget kept after the components' deadline for what follows their waits
 * (closing connections, writing a spool): a tenth of the budget, at most one second. A component that
 * waits until the deadline then still finishes before the agent gives up on it.
 */
export function shutdownReserveMs(timeoutMs: number): number {
  return Math.min(1000, Math.floor(timeoutMs / 10));
}

/** Built components of one config, in start order. */
export class Graph {
  private readonly nodes: Node[] = [];
  private readonly logger: Logger;
  /** `service.shutdown_timeout`: the default budget of `shutdown()`, also after a failed start. */
  private readonly shutdownTimeoutMs: number;
  private stopping: Promise<void> | undefined;

  private constructor(logger: Logger, shutdownTimeoutMs: number) {
    this.logger = logger;
    this.shutdownTimeoutMs = shutdownTimeoutMs;
  }

  /** Instantiates every component referenced by the pipelines and wires them. */
  static build(config: ResolvedConfig, deps: GraphDeps): Graph {
    const g = new Graph(deps.logger, config.service.shutdown_timeout);
    const ctx = (id: string, kind: ComponentKind, signal: Signal, exclusiveRecords?: boolean): ComponentContext => ({
      id,
      logger: deps.logger.child({ component: id }),
      telemetry: deps.telemetry.forComponent(kind, id, signal),
      health: deps.health.reporter(id),
      http: deps.http.hostFor(id),
      shared: config.shared,
      instanceId: deps.instanceId,
      configDir: config.dir,
      introspection: { health: () => deps.health.snapshot(), selfMetrics: () => deps.telemetry.collect() },
      ...(exclusiveRecords === undefined ? {} : { exclusiveRecords }),
    });
    // How many pipelines each receiver feeds: a pipeline whose receivers feed it alone owns its records.
    const fed = new Map<string, number>();
    for (const p of config.pipelines) for (const r of p.receivers) fed.set(r, (fed.get(r) ?? 0) + 1);

    // Exporters: one instance per id (on the main thread also with service.workers).
    const exporters = new Map<string, Exporter>();
    for (const p of config.pipelines) {
      for (const id of p.exporters) {
        if (exporters.has(id)) continue;
        const entry = config.components.get(id);
        if (!entry || entry.factory.kind !== 'exporter') throw new StartError(id, 'not an exporter');
        const exp = entry.factory.create(ctx(id, 'exporter', p.signal), entry.config);
        exporters.set(id, exp);
        g.nodes.push({ id, kind: 'exporter', component: exp, started: false });
      }
    }

    // service.workers: receivers and processors run in worker threads, which post to these exporters.
    if (config.service.workers > 0) {
      const pool = new WorkerPool(ctx('workers', 'receiver', 'records'), config, deps, exporters);
      g.nodes.push({ id: 'workers', kind: 'receiver', component: pool, started: false });
      return g;
    }

    // Processors: one chain per pipeline, built back to front.
    const heads = new Map<string, Consumer<Signal>>();
    for (const p of config.pipelines) {
      const exclusive = p.receivers.every((r) => fed.get(r) === 1);
      let next: Consumer<Signal> = new ExporterFanOut(p.exporters.map((id) => ({ id, consumer: exporterConsumer(exporters.get(id) as Exporter, p.signal, id) })));
      const chain: Node[] = [];
      for (let i = p.processors.length - 1; i >= 0; i--) {
        const { id, signature } = p.processors[i] as PipelineSpec['processors'][number];
        const entry = config.components.get(id);
        if (!entry || entry.factory.kind !== 'processor') throw new StartError(id, 'not a processor');
        const instanceId = `${id}@${p.id}`;
        const proc: Processor = entry.factory.create(ctx(instanceId, 'processor', signature.input, exclusive), entry.config, signature, next);
        chain.unshift({ id: instanceId, kind: 'processor', component: proc, started: false });
        next = proc as Consumer<Signal>;
      }
      // Processors start back to front (consumers first): push in reverse order of the chain.
      for (let i = chain.length - 1; i >= 0; i--) g.nodes.push(chain[i] as Node);
      heads.set(p.id, next);
    }

    // Receivers: one instance per id, feeding every pipeline that lists it.
    // Each decodes only the record fields its pipelines read (src/record-reads.ts).
    const receiverIds = [...new Set(config.pipelines.flatMap((p) => p.receivers))];
    const reads = receiverReads(config.pipelines, config.components);
    for (const id of receiverIds) {
      const entry = config.components.get(id);
      if (!entry || entry.factory.kind !== 'receiver') throw new StartError(id, 'not a receiver');
      const targets = config.pipelines.filter((p) => p.receivers.includes(id)).map((p) => heads.get(p.id) as Consumer<'records'>);
      const rr = reads.get(id) ?? 'all';
      deps.logger.info({ component: id, decode: describeReads(rr) }, 'receiver decodes the record fields its pipelines read');
      const rec = entry.factory.create(ctx(id, 'receiver', 'records'), entry.config, new PipelineFanOut(targets), rr);
      g.nodes.push({ id, kind: 'receiver', component: rec, started: false });
    }
    return g;
  }

  /** Starts exporters, then processors, then receivers. On failure stops what started and rethrows. */
  async start(health: HealthRegistry): Promise<void> {
    for (const node of this.nodes) {
      try {
        await node.component.start();
        node.started = true;
        health.started(node.id);
      } catch (err) {
        this.logger.error({ err, component: node.id }, 'component failed to start; stopping the others');
        await this.shutdown(this.shutdownTimeoutMs, health).catch(() => undefined);
        throw err instanceof StartError ? err : new StartError(node.id, err instanceof Error ? err.message : String(err), { cause: err });
      }
    }
  }

  /**
   * Shuts down receivers first, then processors front to back, then exporters, each after its upstream has
   * flushed into it, handing every component the same deadline: `timeoutMs` (from the first call, by
   * default `service.shutdown_timeout`) minus a reserve for the work after the waits (see
   * `shutdownReserveMs`). Resolves when all are down; rejects with a TimeoutError if `timeoutMs` passes
   * first. Idempotent: later calls share the first one's deadline.
   */
  shutdown(timeoutMs: number = this.shutdownTimeoutMs, health?: HealthRegistry): Promise<void> {
    if (!this.stopping) {
      const controller = new AbortController();
      const waitsMs = timeoutMs - shutdownReserveMs(timeoutMs);
      const deadline: ShutdownDeadline = { at: Date.now() + waitsMs, signal: controller.signal };
      const abort = setTimeout(() => controller.abort(new TimeoutError('shutdown waits', waitsMs)), waitsMs);
      abort.unref();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError('shutdown', timeoutMs)), timeoutMs);
        timer.unref();
      });
      // The race is handled by the caller; this one only keeps an unobserved rejection from surfacing.
      timeout.catch(() => undefined);
      const down = (async () => {
        for (const node of this.nodes) {
          if (node.kind !== 'processor' || !node.started) continue;
          try {
            (node.component as Processor).beginShutdown?.();
          } catch (err) {
            this.logger.error({ err, component: node.id }, 'component failed to begin its shutdown');
          }
        }
        for (let i = this.nodes.length - 1; i >= 0; i--) {
          const node = this.nodes[i] as Node;
          try {
            await node.component.shutdown(deadline);
          } catch (err) {
            this.logger.error({ err, component: node.id }, 'component failed to shut down cleanly');
          }
          health?.stopped(node.id);
        }
      })();
      this.stopping = Promise.race([down, timeout]).finally(() => {
        clearTimeout(abort);
        clearTimeout(timer);
      });
    }
    return this.stopping;
  }

  /** Component ids in start order. */
  get startOrder(): readonly string[] {
    return this.nodes.map((n) => n.id);
  }
}

/** Human-readable summary of the pipelines (for `graph` and the start-up log). */
export function describePipelines(config: Pick<ResolvedConfig, 'pipelines'>): string {
  const lines: string[] = [];
  for (const p of config.pipelines) {
    const stages: string[] = [`[${p.receivers.join(', ')}]`];
    let signal: Signal = 'records';
    stages.push(`--${signal}-->`);
    for (const proc of p.processors) {
      stages.push(proc.id);
      signal = proc.signature.output;
      stages.push(`--${signal}-->`);
    }
    stages.push(`[${p.exporters.join(', ')}]`);
    lines.push(`${p.id}: ${stages.join(' ')}`);
  }
  return lines.join('\n');
}

/** Mermaid flowchart of the pipelines. Shared receivers and exporters appear once. */
export function mermaidPipelines(config: Pick<ResolvedConfig, 'pipelines'>): string {
  const lines = ['flowchart LR'];
  const node = (kind: string, id: string) => `${kind}_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const declared = new Set<string>();
  const declare = (n: string, label: string, shape: 'rec' | 'proc' | 'exp') => {
    if (declared.has(n)) return;
    declared.add(n);
    const text = JSON.stringify(label);
    lines.push(shape === 'rec' ? `  ${n}([${text}])` : shape === 'exp' ? `  ${n}[[${text}]]` : `  ${n}[${text}]`);
  };
  for (const p of config.pipelines) {
    lines.push(`  subgraph ${node('pipeline', p.id)}[${JSON.stringify(p.id)}]`);
    const procNodes = p.processors.map((proc) => {
      const n = node('proc', `${p.id}_${proc.id}`);
      declare(n, proc.id, 'proc');
      return n;
    });
    lines.push('  end');
    const fan = node('fanout', p.id);
    lines.push(`  ${fan}{{fan-out}}`);
    for (const r of p.receivers) {
      const n = node('rec', r);
      declare(n, r, 'rec');
      lines.push(`  ${n} -->|records| ${procNodes[0] ?? fan}`);
    }
    let signal: Signal = 'records';
    for (let i = 0; i < procNodes.length; i++) {
      signal = (p.processors[i] as PipelineSpec['processors'][number]).signature.output;
      lines.push(`  ${procNodes[i] ?? ''} -->|${signal}| ${procNodes[i + 1] ?? fan}`);
    }
    for (const e of p.exporters) {
      const n = node('exp', e);
      declare(n, e, 'exp');
      lines.push(`  ${fan} -->|${p.signal}| ${n}`);
    }
  }
  return lines.join('\n');
}
