/**
 * Static checks of `service.pipelines`: every referenced component exists, no pipeline is empty, and the
 * signals line up — receivers emit records, each processor must accept what the previous stage emits, and
 * the last stage must emit the pipeline's signal, which every exporter must accept. Also the graph's
 * shutdown budget: no component waits longer than `service.shutdown_timeout`. And what each receiver must
 * decode: the record fields its pipelines read.
 */
import type { ConfigProblem } from './errors.js';
import type { ComponentKind, Factory, ProcessorFactory, ProcessorSignature, RecordReadsDeclaration, ShutdownWait } from './component.js';
import { unionReads, type RecordReads } from './record-reads.js';
import type { Signal } from './model.js';
import type { ComponentEntry, PipelineSpec } from './config/load.js';
import { suggest } from './config/problems.js';
import { formatDuration } from './config/schema.js';

/** The pipeline signals, i.e. the valid first part of a pipeline id. */
export const SIGNALS: readonly Signal[] = ['records', 'metrics', 'logs'];

const PIPELINE_ID = /^([a-z]+)(?:\/([A-Za-z0-9_.-]+))?$/;
const SECTION: Readonly<Record<ComponentKind, string>> = { receiver: 'receivers', processor: 'processors', exporter: 'exporters' };

/** Picks the signature of a processor for an input signal; prefers pass-through unless it is the last stage. */
function chooseSignature(f: ProcessorFactory, input: Signal, last: boolean, target: Signal): ProcessorSignature | undefined {
  const candidates = f.signatures.filter((s) => s.input === input);
  if (candidates.length <= 1) return candidates[0];
  if (last) return candidates.find((s) => s.output === target) ?? candidates[0];
  return candidates.find((s) => s.output === s.input) ?? candidates[0];
}

/** Plans the pipelines; reports problems (errors) and warnings (unused components). */
export function planPipelines(
  pipelines: Readonly<Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>>,
  rootMap: Readonly<Record<string, unknown>>,
  components: ReadonlyMap<string, ComponentEntry>,
  _factories: readonly Factory[],
): { pipelines: PipelineSpec[]; problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const out: PipelineSpec[] = [];
  const used = new Set<string>();
  const defined = (kind: ComponentKind): string[] => {
    const section = rootMap[SECTION[kind]];
    return section !== null && typeof section === 'object' ? Object.keys(section) : [];
  };

  if (Object.keys(pipelines).length === 0) {
    problems.push({ path: 'service::pipelines', message: 'must define at least one pipeline (records, metrics or logs)' });
  }

  for (const [pid, p] of Object.entries(pipelines)) {
    const base = `service::pipelines::${pid}`;
    const m = PIPELINE_ID.exec(pid);
    const signal = m?.[1] as Signal | undefined;
    if (!m || !signal) {
      problems.push({ path: base, message: `invalid pipeline id: must be <signal> or <signal>/<name> with signal one of ${SIGNALS.join(', ')}` });
      continue;
    }
    if (!SIGNALS.includes(signal)) {
      problems.push({ path: base, message: `unknown pipeline signal "${signal}": tyk-otel-pump pipelines carry ${SIGNALS.join(', ')}` });
      continue;
    }
    let ok = true;
    const resolveRefs = (kind: ComponentKind, ids: readonly string[], listKey: string): (ComponentEntry | undefined)[] => {
      const seen = new Set<string>();
      return ids.map((id, i) => {
        const where = `${base}::${listKey}[${i}]`;
        if (seen.has(id)) {
          problems.push({ path: where, message: `"${id}" is listed twice` });
          ok = false;
          return undefined;
        }
        seen.add(id);
        used.add(`${kind}:${id}`);
        const entry = components.get(id);
        if (entry && entry.kind === kind) {
          if (!entry.valid) ok = false; // its config problems are reported at its definition
          return entry;
        }
        if (defined(kind).includes(id)) {
          ok = false; // defined with an invalid id or unknown type: already reported at its definition
          return undefined;
        }
        const hint = suggest(id, defined(kind));
        problems.push({
          path: where,
          message: `unknown ${kind} "${id}"${hint ? ` (did you mean "${hint}"?)` : ''}: define it under ${SECTION[kind]}`,
        });
        ok = false;
        return undefined;
      });
    };
    resolveRefs('receiver', p.receivers, 'receivers');
    const processors = resolveRefs('processor', p.processors, 'processors');
    const exporters = resolveRefs('exporter', p.exporters, 'exporters');
    if (p.receivers.length === 0) {
      problems.push({ path: `${base}::receivers`, message: 'must list at least one receiver (an empty pipeline does nothing)' });
      ok = false;
    }
    if (p.exporters.length === 0) {
      problems.push({ path: `${base}::exporters`, message: 'must list at least one exporter (an empty pipeline does nothing)' });
      ok = false;
    }

    // Signal type-check. Receivers emit records.
    let current: Signal = 'records';
    let typeOk = true;
    const planned: { id: string; signature: ProcessorSignature }[] = [];
    for (const [i, entry] of processors.entries()) {
      if (!entry || entry.factory.kind !== 'processor') {
        typeOk = false;
        continue;
      }
      const sig = chooseSignature(entry.factory, current, i === processors.length - 1, signal);
      if (!sig) {
        const accepts = [...new Set(entry.factory.signatures.map((s) => s.input))].join(' or ');
        problems.push({
          path: `${base}::processors[${i}]`,
          message: `processor "${entry.id}" cannot consume ${current} (it consumes ${accepts}); the stage before it emits ${current}`,
        });
        typeOk = false;
        break;
      }
      planned.push({ id: entry.id, signature: sig });
      current = sig.output;
    }
    if (typeOk && current !== signal) {
      problems.push({
        path: `${base}::processors`,
        message: `the last stage emits ${current} but a ${signal} pipeline needs ${signal}${signal === 'metrics' ? ' (add a processor that turns records into metrics, such as sli)' : signal === 'logs' ? ' (add a processor that turns records into logs, such as audit_log)' : ''}`,
      });
      typeOk = false;
    }
    for (const [i, entry] of exporters.entries()) {
      if (!entry || entry.factory.kind !== 'exporter') continue;
      if (!entry.factory.inputs.includes(signal)) {
        problems.push({
          path: `${base}::exporters[${i}]`,
          message: `exporter "${entry.id}" cannot consume ${signal} (it consumes ${entry.factory.inputs.join(', ')})`,
        });
        typeOk = false;
      } else if (entry.valid && entry.factory.checkInput) {
        const refused = entry.factory.checkInput(entry.config, signal);
        if (refused !== undefined) {
          problems.push({ path: `${base}::exporters[${i}]`, message: `exporter "${entry.id}" ${refused}` });
          typeOk = false;
        }
      }
    }
    if (ok && typeOk) {
      out.push({ id: pid, signal, receivers: p.receivers, processors: planned, exporters: p.exporters });
    }
  }

  for (const entry of components.values()) {
    if (!used.has(`${entry.kind}:${entry.id}`)) {
      warnings.push({ path: `${SECTION[entry.kind]}::${entry.id}`, message: 'defined but not used in any pipeline' });
    }
  }
  return { pipelines: out, problems, warnings };
}

/**
 * Refuses a component wait (`shutdownWaits()`, e.g. `tyk_redis` `shutdown_timeout`, `otlp_http`
 * `sending_queue.drain_timeout`) longer than `service.shutdown_timeout`: the agent would exit before it
 * ends. Checks every component with a valid config, used or not.
 */
export function checkShutdownWaits(components: ReadonlyMap<string, ComponentEntry>, shutdownTimeoutMs: number): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const entry of components.values()) {
    if (!entry.valid || !entry.factory.shutdownWaits) continue;
    for (const wait of (entry.factory.shutdownWaits as (config: unknown) => readonly ShutdownWait[])(entry.config)) {
      if (wait.ms <= shutdownTimeoutMs) continue;
      problems.push({
        path: [SECTION[entry.kind], entry.id, ...wait.path].join('::'),
        message: `must not be longer than service::shutdown_timeout (${formatDuration(shutdownTimeoutMs)}), after which the agent exits`,
        got: formatDuration(wait.ms),
      });
    }
  }
  return problems;
}

/** A factory's declaration for its config (absent: `'all'`). */
function declaredReads(entry: ComponentEntry): RecordReadsDeclaration {
  const f = entry.factory as { reads?(config: unknown): RecordReadsDeclaration };
  return f.reads && entry.valid ? f.reads(entry.config) : 'all';
}

/**
 * The record fields each receiver must decode: the union, over every pipeline that lists it, of what the
 * components that see records declare (`FactoryBase.reads`): the processors up to the first one that
 * turns records into another signal and, in a records pipeline, the exporters. A `'wire'` exporter reads
 * nothing when no processor precedes it (the batch still carries its original bytes), everything otherwise.
 */
export function receiverReads(pipelines: readonly PipelineSpec[], components: ReadonlyMap<string, ComponentEntry>): Map<string, RecordReads> {
  const out = new Map<string, RecordReads>();
  for (const p of pipelines) {
    let reads: RecordReads = [];
    const add = (id: string, wireIntact: boolean): void => {
      const entry = components.get(id);
      const d: RecordReadsDeclaration = entry ? declaredReads(entry) : 'all';
      reads = unionReads(reads, d === 'wire' ? (wireIntact ? [] : 'all') : d);
    };
    let records = true;
    for (const [i, proc] of p.processors.entries()) {
      add(proc.id, i === 0);
      if (proc.signature.output !== 'records') {
        records = false;
        break;
      }
    }
    if (records) for (const id of p.exporters) add(id, p.processors.length === 0);
    for (const r of p.receivers) out.set(r, unionReads(out.get(r) ?? [], reads));
  }
  return out;
}

/**
 * With `service.workers` > 0 every receiver and processor of every pipeline runs as one copy per worker
 * thread: refuses the ones that cannot (a factory without `workers`), naming the component and why.
 */
export function checkWorkers(pipelines: readonly PipelineSpec[], components: ReadonlyMap<string, ComponentEntry>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const refused = new Set<string>();
  for (const p of pipelines) {
    for (const id of [...p.receivers, ...p.processors.map((proc) => proc.id)]) {
      const entry = components.get(id);
      if (!entry || entry.factory.workers !== undefined || refused.has(id)) continue;
      refused.add(id);
      const why = entry.kind === 'receiver'
        ? 'its copies could not share their source safely'
        : 'it keeps state that copies in several threads would split';
      problems.push({
        path: 'service::workers',
        message: `${entry.kind} "${id}" (pipeline ${p.id}) cannot run in worker threads: ${why}; set service::workers to 0 or remove it from the pipeline`,
      });
    }
  }
  return problems;
}
