/**
 * Self-telemetry shared by all components: one OTel MeterProvider whose Prometheus reader is served on
 * `service.telemetry.metrics.address` `/metrics`. Standard instruments (names after the Collector's
 * `otelcol_*` set, with our prefix):
 *
 * - `<prefix>_<kind>_accepted_items_total{<kind>,signal}`
 * - `<prefix>_<kind>_refused_items_total{<kind>,signal,reason}` (malformed input)
 * - `<prefix>_<kind>_dropped_items_total{<kind>,signal,reason}` (filtered, undeliverable, queue full)
 * - `<prefix>_exporter_sent_items_total{exporter,signal}`, `…_send_failed_items_total{exporter,signal,reason}`
 * - `<prefix>_exporter_queue_size{exporter}`
 * - `<prefix>_ready`, `<prefix>_component_ready{component}` (1/0, what `/ready` answers; registered by the agent)
 * - `<prefix>_process_memory_rss_bytes`, `…_process_heap_used_bytes`, `…_process_uptime_seconds`
 *
 * Besides the pull endpoint, `service.telemetry.metrics.readers` may push the same instruments over
 * OTLP/HTTP with the SDK's `PeriodicExportingMetricReader` (see {@link TelemetryPushReader}).
 */
import type {
  Attributes, BatchObservableCallback, Counter, Meter, MetricAttributes, MetricOptions, Observable,
} from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality, MeterProvider, PeriodicExportingMetricReader,
  type IMetricReader, type MetricProducer, type PushMetricExporter, type ResourceMetrics, type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ComponentKind, ComponentTelemetry } from './component.js';
import type { Signal } from './model.js';


/**
 * The meter components get: instrument names are relative to `service.telemetry.metrics.prefix`, so
 * `createCounter('processor.sli.overflow_records')` makes `<prefix>.processor.sli.overflow_records`
 * (`<prefix>_processor_sli_overflow_records_total` in Prometheus). No component spells the prefix.
 */
class PrefixedMeter implements Meter {
  constructor(
    private readonly meter: Meter,
    private readonly prefix: string,
  ) {}

  private n(name: string): string {
    return `${this.prefix}.${name}`;
  }

  createGauge<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createGauge<A>(this.n(name), options);
  }
  createHistogram<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createHistogram<A>(this.n(name), options);
  }
  createCounter<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createCounter<A>(this.n(name), options);
  }
  createUpDownCounter<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createUpDownCounter<A>(this.n(name), options);
  }
  createObservableGauge<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createObservableGauge<A>(this.n(name), options);
  }
  createObservableCounter<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createObservableCounter<A>(this.n(name), options);
  }
  createObservableUpDownCounter<A extends MetricAttributes = MetricAttributes>(name: string, options?: MetricOptions) {
    return this.meter.createObservableUpDownCounter<A>(this.n(name), options);
  }
  addBatchObservableCallback<A extends MetricAttributes = MetricAttributes>(callback: BatchObservableCallback<A>, observables: Observable<A>[]): void {
    this.meter.addBatchObservableCallback(callback, observables);
  }
  removeBatchObservableCallback<A extends MetricAttributes = MetricAttributes>(callback: BatchObservableCallback<A>, observables: Observable<A>[]): void {
    this.meter.removeBatchObservableCallback(callback, observables);
  }
}

/** One push reader of self-telemetry: OTLP/HTTP every `intervalMs` (the Collector's `readers[].periodic`). */
export interface TelemetryPushReader {
  readonly protocol: 'http/protobuf' | 'http/json';
  /** Full URL to POST to (`…/v1/metrics`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/**
 * The OTel JS SDK's own OTLP metric exporter for one push reader. Self-telemetry is a few dozen series, so
 * the SDK exporter's simple retry (a failed export is dropped, the next interval sends cumulative values
 * again) loses nothing that matters: counters are cumulative. The exporter package (and the OTLP
 * serializers and protobufjs under it) is imported at the first export, so an agent without push readers
 * never loads it.
 */
class LazyOtlpExporter implements PushMetricExporter {
  private exporter: Promise<PushMetricExporter> | undefined;

  constructor(private readonly p: TelemetryPushReader) {}

  private load(): Promise<PushMetricExporter> {
    const options = { url: this.p.url, headers: { ...this.p.headers }, timeoutMillis: this.p.timeoutMs };
    this.exporter ??= this.p.protocol === 'http/json'
      ? import('@opentelemetry/exporter-metrics-otlp-http').then((m) => new m.OTLPMetricExporter(options))
      : import('@opentelemetry/exporter-metrics-otlp-proto').then((m) => new m.OTLPMetricExporter(options));
    return this.exporter;
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.load().then(
      (e) => e.export(metrics, done),
      (error: unknown) => done({ code: 1, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  async forceFlush(): Promise<void> {
    if (this.exporter) await (await this.exporter).forceFlush();
  }

  async shutdown(): Promise<void> {
    if (this.exporter) await (await this.exporter).shutdown();
  }

  /** The SDK OTLP exporters' default: cumulative for every instrument. */
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
}

/** The agent's self-telemetry registry. */
export class SelfTelemetry {
  /** Meter of the agent's own instruments (full names). */
  readonly meter: Meter;
  /** The meter handed to components: names relative to the prefix (see {@link PrefixedMeter}). */
  private readonly componentMeter: Meter;
  private readonly provider: MeterProvider;
  private readonly reader: PrometheusExporter;
  private readonly serializer: PrometheusSerializer;
  private readonly counters = new Map<string, Counter>();
  private readonly queueSizes = new Map<string, number>();
  private readonly prefix: string;
  private readonly sources: (() => Promise<ScopeMetrics[]>)[] = [];

  constructor(prefix: string, resource: Readonly<Record<string, string>> = {}, push: readonly TelemetryPushReader[] = []) {
    this.prefix = prefix;
    // Instruments of other threads (service.workers) join every reader's collection through this producer.
    const sources = this.sources;
    const metricProducers: MetricProducer[] = [{
      async collect() {
        const scopeMetrics = (await Promise.all(sources.map((s) => s()))).flat();
        return { resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics }, errors: [] };
      },
    }];
    this.reader = new PrometheusExporter({ preventServerStart: true, metricProducers });
    const readers: IMetricReader[] = [this.reader];
    for (const p of push) {
      readers.push(new PeriodicExportingMetricReader({ exporter: new LazyOtlpExporter(p), exportIntervalMillis: p.intervalMs, exportTimeoutMillis: Math.min(p.timeoutMs, p.intervalMs), metricProducers }));
    }
    this.provider = new MeterProvider({ resource: resourceFromAttributes(resource), readers });
    this.meter = this.provider.getMeter('tyk-otel-pump');
    this.componentMeter = new PrefixedMeter(this.meter, prefix);
    this.serializer = new PrometheusSerializer('', false, undefined, true, true);
    const started = Date.now();
    this.meter
      .createObservableGauge(`${prefix}.process.memory.rss_bytes`, { description: 'Resident set size of the agent process.', unit: 'By' })
      .addCallback((r) => r.observe(process.memoryUsage.rss()));
    this.meter
      .createObservableGauge(`${prefix}.process.heap_used_bytes`, { description: 'V8 heap in use.', unit: 'By' })
      .addCallback((r) => r.observe(process.memoryUsage().heapUsed));
    this.meter
      .createObservableGauge(`${prefix}.process.uptime_seconds`, { description: 'Seconds since the agent started.', unit: 's' })
      .addCallback((r) => r.observe((Date.now() - started) / 1000));
    this.meter
      .createObservableGauge(`${prefix}.exporter.queue_size`, { description: 'Items waiting in an exporter queue.', unit: '{item}' })
      .addCallback((r) => {
        for (const [exporter, size] of this.queueSizes) r.observe(size, { exporter });
      });
  }

  private counter(name: string, description: string): Counter {
    let c = this.counters.get(name);
    if (!c) {
      c = this.meter.createCounter(name, { description, unit: '{item}' });
      this.counters.set(name, c);
    }
    return c;
  }

  /** The standard telemetry handle of one component. */
  forComponent(kind: ComponentKind, id: string, defaultSignal: Signal = 'records'): ComponentTelemetry {
    const p = `${this.prefix}.${kind}`;
    const accepted = this.counter(`${p}.accepted_items`, `Items accepted by the ${kind}.`);
    const refused = this.counter(`${p}.refused_items`, `Malformed items refused by the ${kind}, by reason.`);
    const dropped = this.counter(`${p}.dropped_items`, `Items the ${kind} dropped (filtered, undeliverable, queue full), by reason.`);
    const sent = this.counter(`${this.prefix}.exporter.sent_items`, 'Items an exporter delivered.');
    const failed = this.counter(`${this.prefix}.exporter.send_failed_items`, 'Items an exporter failed to send on one attempt, by reason.');
    const attrs = (signal: Signal | undefined, reason?: string): Attributes =>
      reason === undefined ? { [kind]: id, signal: signal ?? defaultSignal } : { [kind]: id, signal: signal ?? defaultSignal, reason };
    return {
      meter: this.componentMeter,
      name: (suffix) => `${this.prefix}.${suffix}`,
      accepted: (n, signal) => n > 0 && accepted.add(n, attrs(signal)),
      refused: (n, reason, signal) => n > 0 && refused.add(n, attrs(signal, reason)),
      dropped: (n, reason, signal) => n > 0 && dropped.add(n, attrs(signal, reason)),
      sent: (n, signal) => n > 0 && sent.add(n, { exporter: id, signal: signal ?? defaultSignal }),
      sendFailed: (n, reason, signal) => n > 0 && failed.add(n, { exporter: id, signal: signal ?? defaultSignal, reason }),
      queueSize: (items) => void this.queueSizes.set(id, items),
    };
  }

  /**
   * Adds instruments kept elsewhere (a worker thread's, already merged): every collection (`/metrics`,
   * push readers, `collect()`) includes what `source` returns. Their names must not be the main thread's.
   */
  addSource(source: () => Promise<ScopeMetrics[]>): void {
    this.sources.push(source);
  }

  /** The self-telemetry instruments, collected (cumulative), for in-process readers. */
  async collect(): Promise<ResourceMetrics> {
    return (await this.reader.collect()).resourceMetrics;
  }

  /** Prometheus text of all self-telemetry. */
  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown().catch(() => undefined);
  }
}
