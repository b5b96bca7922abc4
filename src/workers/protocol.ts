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
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
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
  | { readonly signal: 'metrics'; readonly plain: MetricsBatch }
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
 * A metrics batch in columns: each metric's points as typed arrays (attribute ids, times, values), whose
 * buffers are transferred rather than copied; attribute sets travel once (`defs`), later batches name
 * them by id. Cloning ~1,500 point objects per 1000-record batch (the `sli` deltas) cost more than the
 * rest of the batch did; and the main thread's accumulator finds a series fastest by the identity of its
 * attributes object, which the id table keeps stable.
 */
export interface PackedMetrics {
  readonly resource: MetricsBatch['resource'];
  readonly scope: string;
  readonly verbatimNames: MetricsBatch['verbatimNames'];
  readonly metrics: readonly PackedMetric[];
  /** New attribute sets: `[id, attributes]`. */
  readonly defs: readonly (readonly [number, Attributes])[];
  /** True when the sender started its table over: the receiver forgets every earlier id first. */
  readonly reset: boolean;
}

/** One metric's points in columns. */
interface PackedMetric {
  readonly descriptor: MetricData['descriptor'];
  readonly aggregationTemporality: MetricData['aggregationTemporality'];
  readonly dataPointType: MetricData['dataPointType'];
  /** Sums: whether the sum is monotonic (a counter rather than an up-down counter). */
  readonly isMonotonic: boolean | undefined;
  /** Attribute-set id per point. */
  readonly ids: Int32Array;
  /** Per point: start seconds, start nanos, end seconds, end nanos. */
  readonly times: Float64Array;
  /** Histograms: the boundaries every point shares. */
  readonly boundaries: readonly number[] | undefined;
  /** Per point: the value (sum, gauge); histograms: count, sum, min, max (NaN: none), then the bucket counts. */
  readonly values: Float64Array;
}

/** Most attribute sets a table holds before both sides start over (bounded memory under series churn). */
const MAX_ATTRIBUTE_SETS = 200_000;

/** The buffers of a packed batch, to transfer instead of copying. */
export function transferables(p: PackedMetrics): ArrayBuffer[] {
  return p.metrics.flatMap((m) => [m.ids.buffer, m.times.buffer, m.values.buffer] as ArrayBuffer[]);
}

function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/** The worker side: attributes → ids, points → columns. */
export class MetricsPacker {
  private ids = new WeakMap<Attributes, number>();
  private byContent = new Map<string, number>();

  /** The packed batch, or undefined when a metric does not fit the columns (then it goes as it is). */
  pack(batch: MetricsBatch): PackedMetrics | undefined {
    // Past the bound, start over before this batch (it may pass the bound by its own new sets only).
    const reset = this.byContent.size >= MAX_ATTRIBUTE_SETS;
    if (reset) {
      this.ids = new WeakMap();
      this.byContent = new Map();
    }
    const defs: [number, Attributes][] = [];
    const metrics: PackedMetric[] = [];
    for (const m of batch.metrics) {
      const packed = this.packMetric(m, defs);
      if (packed === undefined) return undefined;
      metrics.push(packed);
    }
    return { resource: batch.resource, scope: batch.scope, verbatimNames: batch.verbatimNames, metrics, defs, reset };
  }

  private packMetric(m: MetricData, defs: [number, Attributes][]): PackedMetric | undefined {
    const n = m.dataPoints.length;
    const ids = new Int32Array(n);
    const times = new Float64Array(4 * n);
    let boundaries: readonly number[] | undefined;
    let values: Float64Array;
    if (m.dataPointType === DataPointType.HISTOGRAM) {
      const first = m.dataPoints[0]?.value.buckets.boundaries ?? [];
      boundaries = first;
      const stride = 4 + first.length + 1;
      values = new Float64Array(stride * n);
      for (let i = 0; i < n; i++) {
        const h = m.dataPoints[i]?.value as Histogram;
        if (!sameBoundaries(h.buckets.boundaries, first) || h.buckets.counts.length !== first.length + 1) return undefined;
        const o = i * stride;
        values[o] = h.count;
        values[o + 1] = h.sum ?? NaN;
        values[o + 2] = h.min ?? NaN;
        values[o + 3] = h.max ?? NaN;
        for (let j = 0; j < h.buckets.counts.length; j++) values[o + 4 + j] = h.buckets.counts[j] as number;
      }
    } else if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE) {
      values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = m.dataPoints[i]?.value as number;
    } else {
      return undefined;
    }
    for (let i = 0; i < n; i++) {
      const dp = m.dataPoints[i] as DataPoint<unknown>;
      ids[i] = this.id(dp.attributes, defs);
      times[4 * i] = dp.startTime[0];
      times[4 * i + 1] = dp.startTime[1];
      times[4 * i + 2] = dp.endTime[0];
      times[4 * i + 3] = dp.endTime[1];
    }
    const isMonotonic = m.dataPointType === DataPointType.SUM ? m.isMonotonic : undefined;
    return { descriptor: m.descriptor, aggregationTemporality: m.aggregationTemporality, dataPointType: m.dataPointType, isMonotonic, ids, times, boundaries, values };
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

/** The main side: ids → one attributes object each (per worker), columns → points. */
export class MetricsUnpacker {
  private table: Attributes[] = [];

  unpack(packed: PackedMetrics): MetricsBatch {
    if (packed.reset) this.table = [];
    for (const [id, attributes] of packed.defs) this.table[id] = Object.freeze(attributes);
    const metrics = packed.metrics.map((m): MetricData => {
      const n = m.ids.length;
      const t = m.times;
      const v = m.values;
      const table = this.table;
      if (m.dataPointType === DataPointType.HISTOGRAM) {
        const boundaries = (m.boundaries ?? []) as number[];
        const stride = 4 + boundaries.length + 1;
        const dataPoints: DataPoint<Histogram>[] = new Array(n);
        for (let i = 0, o = 0; i < n; i++, o += stride) {
          const counts: number[] = new Array(stride - 4);
          for (let j = 0; j < counts.length; j++) counts[j] = v[o + 4 + j] as number;
          const sum = v[o + 1] as number;
          const min = v[o + 2] as number;
          const max = v[o + 3] as number;
          dataPoints[i] = {
            attributes: table[m.ids[i] as number] ?? {},
            startTime: [t[4 * i] as number, t[4 * i + 1] as number],
            endTime: [t[4 * i + 2] as number, t[4 * i + 3] as number],
            value: { count: v[o] as number, sum: Number.isNaN(sum) ? undefined : sum, min: Number.isNaN(min) ? undefined : min, max: Number.isNaN(max) ? undefined : max, buckets: { boundaries, counts } },
          };
        }
        return { descriptor: m.descriptor, aggregationTemporality: m.aggregationTemporality, dataPointType: DataPointType.HISTOGRAM, dataPoints };
      }
      const dataPoints: DataPoint<number>[] = new Array(n);
      for (let i = 0; i < n; i++) {
        dataPoints[i] = {
          attributes: table[m.ids[i] as number] ?? {},
          startTime: [t[4 * i] as number, t[4 * i + 1] as number],
          endTime: [t[4 * i + 2] as number, t[4 * i + 3] as number],
          value: v[i] as number,
        };
      }
      const common = { descriptor: m.descriptor, aggregationTemporality: m.aggregationTemporality, dataPoints };
      return m.dataPointType === DataPointType.SUM
        ? { ...common, dataPointType: DataPointType.SUM, isMonotonic: m.isMonotonic ?? false }
        : { ...common, dataPointType: DataPointType.GAUGE };
    });
    return { resource: packed.resource, scope: packed.scope, metrics, ...(packed.verbatimNames === undefined ? {} : { verbatimNames: packed.verbatimNames }) };
  }
}

/** A payload as the worker posts it, and the buffers to transfer with it. */
export function toWire(signal: Signal, data: SignalPayload[Signal], packer: MetricsPacker): { payload: WirePayload; transfer: ArrayBuffer[] } {
  if (signal === 'metrics') {
    const batch = packer.pack(data as MetricsBatch);
    return batch === undefined ? { payload: { signal, plain: data as MetricsBatch }, transfer: [] } : { payload: { signal, batch }, transfer: transferables(batch) };
  }
  if (signal === 'logs') return { payload: { signal, batch: data as SignalPayload['logs'] }, transfer: [] };
  const records = data as RecordBatch;
  return { payload: { signal, records: [...records], wire: records.wire }, transfer: [] };
}

/** A payload as the main thread hands it to the exporter. */
export function fromWire(payload: WirePayload, unpacker: MetricsUnpacker): SignalPayload[Signal] {
  if (payload.signal === 'metrics') return 'plain' in payload ? payload.plain : unpacker.unpack(payload.batch);
  if (payload.signal === 'logs') return payload.batch;
  const records = payload.records as Parameters<typeof withWire>[0];
  return payload.wire === undefined ? (records as RecordBatch) : withWire(records, payload.wire);
}
