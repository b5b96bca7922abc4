/**
 * The component contract. A component type is a folder (`receivers/<type>/`, `processors/<type>/`,
 * `exporters/<type>/`) whose `index.ts` exports one factory; `src/registry.ts` lists the factories.
 *
 * Lifecycle (as in the OpenTelemetry Collector): `start()` must return quickly (long work runs in the
 * background); `shutdown()` must be safe to call without `start()` and more than once, and must flush
 * what the component holds to its consumer before resolving. The graph starts exporters, then processors,
 * then receivers, and shuts them down in the reverse order.
 *
 * Shutdown deadline: the graph passes every `shutdown()` the same `ShutdownDeadline`: the end of
 * `service.shutdown_timeout` less a small reserve (a tenth, at most 1 s) for the work that follows the
 * waits; when the whole budget is over the agent exits, finished or not. A component that waits during
 * shutdown (for deliveries to settle, a queue to drain) waits until its own configured timeout or the
 * deadline, whichever comes first, and then leaves what is unfinished as its delivery guarantee says
 * (at-least-once: in Redis; a queue: spooled, or dropped and counted). Its configured waits are declared by
 * the factory's `shutdownWaits()` so that config validation refuses one longer than `service.shutdown_timeout`.
 *
 * Data flow and backpressure: `consume()` resolves once the component has *accepted* the batch. A
 * component that is full (a bounded queue at capacity) simply does not resolve until it has room, so the
 * receiver upstream stops claiming new data from Redis while it waits; records then stay in Redis.
 * A rejected `consume()` means the batch was not accepted: `isRetryable(err)` tells whether it may be
 * offered again (the at-least-once receiver re-delivers it) or is lost for good (counted as dropped).
 *
 * Delivery: accepting is not delivering. A component that finishes delivery asynchronously (a queued
 * push exporter) calls `ctx.defer()` before resolving `consume()` and calls the returned `Settle` once the
 * data is delivered (or durably spooled), or with an error once it has definitively failed. An
 * at-least-once receiver acknowledges a chunk only once every exporter of every pipeline has delivered it
 * (possibly over several attempts) or refused it for good.
 *
 * Acknowledgement is tracked per (pipeline, exporter): each exporter of a pipeline gets a `BatchContext`
 * of its own for the chunk, and its `consume` outcome and deferrals count for it alone. When an exporter
 * fails with a retryable error, an at-least-once receiver re-delivers the chunk to that pipeline later;
 * its processors run again on it, but the exporters that already delivered it (or refused it for good)
 * are skipped — no exporter gets the same chunk twice while the agent runs. (After a crash, a re-claimed
 * chunk reaches every exporter again, with the same `ctx.chunkId` when the receiver gives one: an
 * exporter that must not apply a chunk twice across crashes keys its writes by it.) Hence the rules for a
 * processor: pass the `ctx` you were given to `next.consume` unchanged, emit at most one batch per batch
 * consumed (a retry re-sends what a failed exporter got of the chunk, all of it), and expect a retried
 * chunk to reach you again.
 *
 * Holding batches: a processor may keep first-attempt batches open (`ctx.defer()`) to emit them later as
 * one, under `mergeContexts(...)` (src/delivery.ts; the `sli` processor's emission window). Held batches
 * are unacknowledged, and a receiver bounds its unacknowledged chunks: such a processor registers each
 * held batch with `holdOpen(ctx, release)` (src/held.ts), and a receiver that reached its bound calls
 * `Pipelines.release()` before it waits, so what is held is emitted at once rather than at the
 * processor's timer (no later chunk comes to join them until one ends).
 *
 * Layering (enforced by test/layering.test.ts, which reads every import): `src/` is core; `internal/<name>/`
 * holds code shared by some components; components live in `receivers/ processors/ exporters/<type>/`.
 * A component imports `src/`, `internal/` and its own folder, never another component — except
 * `import type` from another component's `config.ts` (its exported config types, never its values or
 * defaults). `internal/` imports `src/` and `internal/`, never a component. Core imports components only
 * through `src/registry.ts` (plus those `config.ts` types), and never `internal/`; what a command needs
 * from a component it reaches through a factory hook (e.g. `ReceiverFactory.demo`). Commands live in
 * `src/commands/<name>.ts`. No file under these folders passes ~450 lines unless the test lists why.
 */
import type { ZodType } from 'zod';
import type { Logger } from 'pino';
import type { Meter } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { AnalyticsRecord, LogsBatch, MetricsBatch, RecordBatch, Signal, SignalPayload, UptimeRecord } from './model.js';
import type { HttpHost } from './http-server.js';
import type { SharedConfig } from './config/shared.js';
import type { RecordReads } from './record-reads.js';

/** What a component registers to take part in `/ready`. */
export interface HealthState {
  /** False makes `/ready` answer 503. */
  readonly ready: boolean;
  /** One short human-readable reason, shown in `/ready` (never a secret). */
  readonly detail?: string;
  /** Extra machine-readable facts (e.g. `lastDrainAgeSeconds`), shown in `/ready`. */
  readonly facts?: Readonly<Record<string, string | number | boolean | null>>;
}

/** A component's handle on `/ready`. */
export interface HealthReporter {
  /** Replace this component's health state. */
  set(state: HealthState): void;
}

/** Standard self-telemetry every component emits (see `src/telemetry.ts` for the metric names). */
export interface ComponentTelemetry {
  /**
   * The shared self-telemetry meter, for component-specific instruments. Names are relative to
   * `service.telemetry.metrics.prefix`: name them `<kind>.<what>` (`processor.sli.overflow_records`) and the
   * meter makes `<prefix>.processor.sli.overflow_records`. Never spell the prefix (a test checks).
   */
  readonly meter: Meter;
  /** `<prefix>.<suffix>`: the full name of a self-telemetry item made outside the meter (an APM span name). */
  name(suffix: string): string;
  /** Records (or items) that entered the component and were accepted. */
  accepted(count: number, signal?: Signal): void;
  /** Items refused because they are malformed (decode errors, wrong types); `reason` is a stable snake_case word. */
  refused(count: number, reason: string, signal?: Signal): void;
  /** Items dropped on purpose or because they could not be delivered (filtered, permanent error, queue full). */
  dropped(count: number, reason: string, signal?: Signal): void;
  /** Items an exporter delivered. */
  sent(count: number, signal?: Signal): void;
  /** Items an exporter failed to send on one attempt (they may still be retried). */
  sendFailed(count: number, reason: string, signal?: Signal): void;
  /** Current queue depth (items) of a queued component. */
  queueSize(items: number): void;
}

/**
 * Read-only views of the agent's own state, for components that report on the agent itself (the `status`
 * exporter's page). Never on a hot path: callers sample it on a timer or per HTTP request.
 */
export interface AgentIntrospection {
  /** What `/ready` answers: overall readiness and every component's reported state. */
  health(): { readonly ready: boolean; readonly components: Readonly<Record<string, HealthState>> };
  /** A collection of the self-telemetry instruments (cumulative), as the `/metrics` scrape sees them. */
  selfMetrics(): Promise<ResourceMetrics>;
}

/** Everything a component gets from the agent when it is created. */
export interface ComponentContext {
  /** `type` or `type/name`, plus `@pipeline` for processors (one instance per pipeline). */
  readonly id: string;
  /** Pino child logger bound to `{ component: id }`. Log per lifecycle event or failure burst, never per record. */
  readonly logger: Logger;
  readonly telemetry: ComponentTelemetry;
  readonly health: HealthReporter;
  /** The shared HTTP server(s): register routes on an address. */
  readonly http: HttpHost;
  /** Top-level sections shared by several components (`error_definition`, `slos`, …). */
  readonly shared: SharedConfig;
  /** Unique id of this agent process (stable for its lifetime), e.g. for Redis in-flight lists. */
  readonly instanceId: string;
  /** Directory the config file lives in, for resolving relative paths (spool dirs, CA files, output files). */
  readonly configDir: string;
  /** The agent's own state (absent when a component runs outside an agent, e.g. in unit tests). */
  readonly introspection?: AgentIntrospection;
  /**
   * Processors only: true when the records this processor receives reach no other pipeline (every receiver
   * of its pipeline feeds this pipeline alone), so it may set a field of a record in place instead of
   * copying the record — no other pipeline sees the change, and a re-delivery of the chunk comes back to
   * it only once every exporter of the pipeline is done with the earlier attempt. Absent or false: records
   * are shared (or the processor runs outside the graph) and a changed record must be a copy.
   */
  readonly exclusiveRecords?: boolean;
}

/** Called exactly once when deferred delivery finished: without an argument on success. */
export type Settle = (error?: Error) => void;

/** Per-batch context handed down the pipeline with the data (one per exporter of each pipeline, see above). */
export interface BatchContext {
  /**
   * The receiver's id of the claimed chunk this batch comes from: stable across every re-delivery of the
   * same claimed chunk (including after a crash and adoption by another instance), unique across chunks;
   * undefined when the receiver cannot give one (and for a batch made outside a receiver, such as the `slo`
   * processor's timed gauges). An exporter writing to a store that must not apply a chunk twice (SQL) keys its writes by it.
   */
  readonly chunkId: string | undefined;
  /** Take over responsibility for finishing delivery asynchronously; call the returned function exactly once. */
  defer(): Settle;
}

/** Something that accepts batches of one signal. */
export interface Consumer<S extends Signal> {
  consume(data: SignalPayload[S], ctx: BatchContext): Promise<void>;
}

/** When a shutdown must be over: handed to every component's `shutdown()` by the graph. */
export interface ShutdownDeadline {
  /** Epoch milliseconds by which waits must end (`service.shutdown_timeout` after shutdown began, less the reserve). */
  readonly at: number;
  /** Aborted at `at`: pass it to whatever waits (HTTP requests, sleeps) so it stops waiting in time. */
  readonly signal: AbortSignal;
}

/** Lifecycle shared by all components. */
export interface Component {
  start(): Promise<void>;
  /**
   * Stops the component (see the contract above). `deadline` is absent when a caller outside the graph
   * (a test, a tool) stops it: then the component's own timeouts bound the wait.
   */
  shutdown(deadline?: ShutdownDeadline): Promise<void>;
}

/** A receiver produces `records` and pushes them to its consumer. */
export type Receiver = Component;

/** A processor consumes one signal and emits one (possibly different) signal to its consumer. */
export interface Processor<In extends Signal = Signal> extends Component {
  consume(data: SignalPayload[In], ctx: BatchContext): Promise<void>;
  /**
   * Optional: called by the graph when shutdown begins, before any receiver stops. A processor that holds
   * consumed batches to emit them later (the `sli` processor's emission window) emits them now and holds
   * nothing from then on, so the receivers' wait for outstanding deliveries ends with those deliveries —
   * not with the receivers' timeout, which would leave in Redis chunks whose data was then emitted anyway.
   */
  beginShutdown?(): void;
}

/** An exporter consumes one or more signals; one instance serves every pipeline that lists it. */
export interface Exporter extends Component {
  consumeRecords?(batch: RecordBatch, ctx: BatchContext): Promise<void>;
  consumeMetrics?(batch: MetricsBatch, ctx: BatchContext): Promise<void>;
  consumeLogs?(batch: LogsBatch, ctx: BatchContext): Promise<void>;
}

/** An input→output signal pair a processor supports. */
export interface ProcessorSignature {
  readonly input: Signal;
  readonly output: Signal;
}

interface FactoryBase<C> {
  /** The YAML type, equal to the folder name (`tyk_redis`, `sli`, `prometheus`). */
  readonly type: string;
  /** One-line description for `--help` and docs. */
  readonly description: string;
  /**
   * The config schema: a strict zod object whose defaults make `parse({})` the default config. Its output
   * type is the component's config type, so type, defaults and validation cannot drift.
   */
  readonly configSchema: ZodType<C>;
  /**
   * Optional: the waits this config makes `shutdown()` spend at most (e.g. a drain timeout), each with its
   * path inside the component's config. Config validation refuses one longer than `service.shutdown_timeout`.
   */
  shutdownWaits?(config: C): readonly ShutdownWait[];
  /**
   * Present when the component may run as one copy per worker thread (`service.workers`): each copy sees
   * part of the records, so a processor must keep no state that copies would split (an SLO window); a
   * receiver's copies must share its source safely (atomic claims). `copy(config, index)` gives the config
   * of copy `index` (e.g. a distinct instance id); without it every copy gets the same config.
   * Exporters always stay on the main thread and need nothing here.
   */
  readonly workers?: { copy?(config: C, index: number): C };
  /**
   * Optional, for processors and exporters that consume records: the analytics record fields this
   * component reads with this config (a filter rule or a custom-metric label names a field). The graph decodes, per receiver, only the union over every pipeline listing it
   * (`src/record-reads.ts`); a field no one declared arrives at its neutral value (`''`, `0`, `null`, the
   * shared empty sub-records). Absent means `'all'`, the safe default. `'wire'` (an exporter that forwards
   * the batch's original bytes, `redis_stream`) reads no field when the batch reaches it with its `wire`,
   * i.e. with no processor before it, and every field otherwise (it then encodes the records again).
   * Declare a field when the code reads it, even only to copy it into output; `test/record-reads.test.ts`
   * compares every declaring component's output on records decoded with its declaration and in full.
   */
  reads?(config: C): RecordReadsDeclaration;
}

/** What a factory declares it reads of the records reaching it (see `FactoryBase.reads`). */
export type RecordReadsDeclaration = RecordReads | 'wire';

/** One bounded wait of a component's shutdown, as declared by `shutdownWaits()`. */
export interface ShutdownWait {
  /** Path of the config key inside the component's config, e.g. `['sending_queue', 'drain_timeout']`. */
  readonly path: readonly string[];
  /** The configured wait in milliseconds. */
  readonly ms: number;
}

/** Factory of a receiver type. */
export interface ReceiverFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'receiver';
  /**
   * `next` feeds every pipeline that lists the receiver. The graph passes a `Pipelines` (src/delivery.ts):
   * wrap it with `asPipelines(next)` to use `deliver(batch, { only, chunkId })`, which reports the outcome
   * per pipeline and exporter so a retry (`only: outcome.retry`) goes only to the exporters that did not
   * take the batch, and gives every exporter the chunk's id as `ctx.chunkId`. `reads` is the union of
   * what those pipelines read of the records (`src/record-reads.ts`; absent: `'all'`): the receiver
   * decodes only those fields, and with none only checks each element is a well-formed record.
   */
  create(ctx: ComponentContext, config: C, next: Consumer<'records'>, reads?: RecordReads): Receiver;
  /**
   * Optional: opens the receiver's dead-letter list for the `dead-letters` command (list, show, replay,
   * purge) with the same connection settings the receiver uses. `configDir` resolves relative file paths.
   */
  openDeadLetters?(config: C, configDir: string): DeadLetterStore;
  /**
   * Optional: what `tyk-otel-pump demo` writes through. Opens a writer that puts synthetic records where
   * a receiver with `config` reads them, in the receiver's wire format (the encoder lives next to the
   * decoder). Rejects with a one-line message (no secret) when the source cannot be reached.
   */
  demo?(config: C, configDir: string, options: DemoOptions): Promise<DemoWriter>;
}

/** One dead-lettered element, as operator tools see it. */
export interface DeadLetterEntry {
  /** Position in the dead-letter list (0 = oldest) when it was read. */
  readonly index: number;
  /** ISO time it was dead-lettered. */
  readonly time: string;
  readonly reason: string;
  /** The list it was drained from, where `replay` pushes it back. */
  readonly source: string;
  readonly format: 'msgpack' | 'protobuf' | 'uptime';
  readonly sizeBytes: number;
  /** The decode error that sent it here. */
  readonly error: string;
  readonly receiver: string;
  readonly instance: string;
  /** The element's original bytes. */
  readonly bytes: Buffer;
  /** The dead-letter list element itself (identifies it for replay and purge). */
  readonly element: string;
}

/** A receiver's dead-letter list, opened by `ReceiverFactory.openDeadLetters`. */
export interface DeadLetterStore {
  /** Where the list is (`redis://host:port/db key`, no credentials). */
  readonly describe: string;
  /** Every entry, oldest first (elements that are not our envelope come back with reason `unreadable`). */
  list(): Promise<DeadLetterEntry[]>;
  /** A readable, secret-masked dump of an entry's bytes, flagging what the typed decoder refuses. */
  dump(entry: DeadLetterEntry): string;
  /** The error this version's decoder still gives for the entry, or undefined when it now decodes. */
  check(entry: DeadLetterEntry): string | undefined;
  /**
   * Puts the entry's bytes back where the receiver reads them (`tyk_redis`: its source list; `redis_stream`:
   * the stream, for the dead letter's consumer group only) and removes it; false when it was no longer there.
   */
  replay(entry: DeadLetterEntry): Promise<boolean>;
  /** Removes the entry; false when it was no longer there. */
  purge(entry: DeadLetterEntry): Promise<boolean>;
  close(): Promise<void>;
}

/** Command-line overrides of where `demo` writes (meaningful to receivers with keyed sources). */
export interface DemoOptions {
  /** `--key-prefix`: the analytics list prefix instead of the config's. */
  readonly keyPrefix?: string;
  /** `--uptime-key`: the uptime list instead of the config's. */
  readonly uptimeKey?: string;
}

/** Writes `demo` traffic into a receiver's source. */
export interface DemoWriter {
  /** Where the records go, for the command's messages (never a secret). */
  readonly describe: string;
  /** Writes request and uptime records; resolves with the bytes written. */
  write(analytics: readonly AnalyticsRecord[], uptime: readonly UptimeRecord[]): Promise<number>;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

/** Factory of a processor type. */
export interface ProcessorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'processor';
  /** Supported signal conversions, e.g. `[{input:'records', output:'records'}]` or records→metrics. */
  readonly signatures: readonly ProcessorSignature[];
  create(ctx: ComponentContext, config: C, signature: ProcessorSignature, next: Consumer<Signal>): Processor;
}

/** Factory of an exporter type. */
export interface ExporterFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'exporter';
  /** Signals the exporter consumes; it must implement the matching `consume*` methods. */
  readonly inputs: readonly Signal[];
  /**
   * Optional: refuses a signal this particular config cannot consume (e.g. CSV output for logs). Returns
   * the problem message (`must …`), or undefined when fine. Called by pipeline validation.
   */
  checkInput?(config: C, signal: Signal): string | undefined;
  create(ctx: ComponentContext, config: C): Exporter;
}

/** Any factory. */
export type Factory = ReceiverFactory | ProcessorFactory | ExporterFactory;

/** The kinds of component, as they appear as top-level config sections (singular). */
export type ComponentKind = Factory['kind'];
