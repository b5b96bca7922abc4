/**
 * What the main thread and a worker thread (`service.workers`) say to each other, and the compact form of
 * a metrics batch on the way.
 *
 * A worker runs the receivers and processors of every pipeline; its exporters are proxies that post each
 * batch to the main thread, which hands it to the real exporter and answers twice: once the exporter
 * accepted it (or refused it), and once its deferred delivery settled. So acknowledgement per (pipeline,
 * exporter) and the chunk ids work as in one thread (see `src/component.ts`).
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { HealthState } from '../component.js';
import type { MetricsBatch, RecordBatch, RecordWire, Signal, SignalPayload } from '../model.js';
import { withWire } from '../model.js';
import { PumpError, isRetryable } from '../errors.js';

/** What a worker thread is started with (`workerData`). */
export interface WorkerInit {
  /** 1-based index of the worker (its copies' `copy(config, index)` and its log lines). */
  readonly index: number;
  /** The agent's instance id: the worker's components get `<id>-w<index>`. */
  readonly instanceId: string;
  /** The config with defaults and `${env:…}` applied, as `validate --print` writes it (JSON is YAML). */
  readonly effective: Record<string, unknown>;
  readonly file: string;
  readonly dir: string;
  /** The main logger's level (`silent` keeps the worker silent too). */
  readonly logLevel: string;
}

/** An error as it crosses threads: what `isRetryable` and the logs need. */
export interface WireError {
  readonly message: string;
  readonly code: string;
  readonly retryable: boolean;
}

/** Error → its wire form. */
export function toWireError(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  return { message: e.message, code: (e as { code?: unknown }).code === undefined ? 'ERR_UNKNOWN' : String((e as { code?: unknown }).code), retryable: isRetryable(e) };
}

/** The wire form back to an error with the same retryability. */
export function fromWireError(w: WireError): Error {
  return new PumpError(w.code, w.message, { retryable: w.retryable });
}

/** A batch on its way to an exporter of the main thread. */
export type WirePayload =
  | { readonly signal: 'metrics'; readonly batch: PackedMetrics }
  | { readonly signal: 'logs'; readonly batch: SignalPayload['logs'] }
  | { readonly signal: 'records'; readonly records: readonly unknown[]; readonly wire: RecordWire | undefined };

/** Worker → main. */
export type FromWorker =
  | { readonly t: 'started' }
  | { readonly t: 'start_failed'; readonly error: WireError }
  | { readonly t: 'consume'; readonly seq: number; readonly exporter: string; readonly chunkId: string | undefined; readonly payload: WirePayload }
  | { readonly t: 'health'; readonly components: Readonly<Record<string, HealthState>> }
  | { readonly t: 'metrics'; readonly req: number; readonly scopeMetrics: readonly ScopeMetrics[] }
  | { readonly t: 'stopped' };

/** Main → worker. */
export type ToWorker =
  | { readonly t: 'accepted'; readonly seq: number; readonly error?: WireError; readonly deferred: boolean; readonly settledError?: WireError }
  | { readonly t: 'settled'; readonly seq: number; readonly error?: WireError }
  | { readonly t: 'collect'; readonly req: number }
  | { readonly t: 'shutdown'; readonly at: number };

// --- metrics batches ---------------------------------------------------------------------------------------

/**
 * A metrics batch with each data point's attributes replaced by a number: attribute sets travel once
 * (`defs`), later batches name them. Cloning a point's attributes on every batch costs more than the
 * rest of the batch, and the main thread's accumulator finds a series fastest by the identity of its
 * attributes object, which the table keeps stable.
 */
export interface PackedMetrics {
  readonly batch: Omit<MetricsBatch, 'metrics'> & { readonly metrics: readonly MetricData[] };
  /** New attribute sets: `[id, attributes]`. */
  readonly defs: readonly (readonly [number, Attributes])[];
  /** True when the sender started its table over: the receiver forgets every earlier id first. */
  readonly reset: boolean;
}

/** Most attribute sets a table holds before both sides start over (bounded memory under series churn). */
const MAX_ATTRIBUTE_SETS = 200_000;

/** The worker side: attributes → ids. */
export class MetricsPacker {
  private ids = new WeakMap<Attributes, number>();
  private byContent = new Map<string, number>();

  pack(batch: MetricsBatch): PackedMetrics {
    // Past the bound, start over before this batch (it may pass the bound by its own new sets only).
    const reset = this.byContent.size >= MAX_ATTRIBUTE_SETS;
    if (reset) {
      this.ids = new WeakMap();
      this.byContent = new Map();
    }
    const defs: [number, Attributes][] = [];
    const metrics = batch.metrics.map((m) => ({
      ...m,
      dataPoints: m.dataPoints.map((dp) => ({ ...dp, attributes: this.id(dp.attributes, defs) as unknown as Attributes })),
    })) as MetricData[];
    return { batch: { ...batch, metrics }, defs, reset };
  }

  private id(attributes: Attributes, defs: [number, Attributes][]): number {
    let id = this.ids.get(attributes);
    if (id !== undefined) return id;
    // A new object: the same content keeps its id (the main side keeps one object per id).
    const key = JSON.stringify(attributes);
    id = this.byContent.get(key);
    if (id === undefined) {
      id = this.byContent.size;
      this.byContent.set(key, id);
      defs.push([id, attributes]);
    }
    this.ids.set(attributes, id);
    return id;
  }
}

/** The main side: ids → one attributes object each (per worker). */
export class MetricsUnpacker {
  private table: Attributes[] = [];

  unpack(packed: PackedMetrics): MetricsBatch {
    if (packed.reset) this.table = [];
    for (const [id, attributes] of packed.defs) this.table[id] = Object.freeze(attributes);
    const metrics = packed.batch.metrics.map((m) => {
      for (const dp of m.dataPoints) (dp as { attributes: Attributes }).attributes = this.table[dp.attributes as unknown as number] ?? {};
      return m;
    });
    return { ...packed.batch, metrics };
  }
}

/** A payload as the worker posts it. */
export function toWire(signal: Signal, data: SignalPayload[Signal], packer: MetricsPacker): WirePayload {
  if (signal === 'metrics') return { signal, batch: packer.pack(data as MetricsBatch) };
  if (signal === 'logs') return { signal, batch: data as SignalPayload['logs'] };
  const records = data as RecordBatch;
  return { signal, records: [...records], wire: records.wire };
}

/** A payload as the main thread hands it to the exporter. */
export function fromWire(payload: WirePayload, unpacker: MetricsUnpacker): SignalPayload[Signal] {
  if (payload.signal === 'metrics') return unpacker.unpack(payload.batch);
  if (payload.signal === 'logs') return payload.batch;
  const records = payload.records as Parameters<typeof withWire>[0];
  return payload.wire === undefined ? (records as RecordBatch) : withWire(records, payload.wire);
}
