/**
 * The `prometheus` exporter: accumulates the metric batches of its pipelines (see `accumulator.ts`) and
 * serves them on `<endpoint>/metrics` through the shared HTTP server, which answers with
 * `Content-Type: text/plain; version=0.0.4; charset=utf-8` (gzip when asked). Each scrape reads the
 * accumulator and serializes it with `FastPrometheusSerializer`, which writes exactly what the OTel SDK's
 * `PrometheusSerializer` writes (see `serialize.ts`), as chunks the server streams to the scrapers while
 * the rest is being written; no SDK `MeterProvider` or reader sits in between —
 * it would only hand back the accumulator's own data. OpenMetrics is not offered: the classic text format
 * is what every Prometheus accepts, and what the SDK serializer we match writes.
 */
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { Attributes } from '@opentelemetry/api';
import type { MetricsBatch, ResourceAttributes } from '../../src/model.js';
import { ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { VERSION } from '../../src/version.js';
import { attributesKey } from '../../internal/metrics/identity.js';
import { CumulativeAccumulator, type RejectReason } from './accumulator.js';
import { FastPrometheusSerializer } from './serialize.js';
import type { PrometheusConfig } from './config.js';

/** Options for tests. */
export interface PrometheusExporterOptions {
  /** Agent clock in epoch ms (expiry). */
  readonly now?: () => number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The prometheus exporter runtime. */
export class PrometheusMetricsExporter implements Exporter {
  /** The cumulative state (exposed for tests and benchmarks). */
  readonly accumulator: CumulativeAccumulator;
  private readonly ctx: ComponentContext;
  private readonly config: PrometheusConfig;
  private readonly serializer: FastPrometheusSerializer;
  private readonly burst: BurstLogger;
  private resourceAttributes: Attributes;
  /** Built again only when a batch brings a resource not seen last. */
  private resource: Resource;
  private lastResource: ResourceAttributes | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(ctx: ComponentContext, config: PrometheusConfig, options: PrometheusExporterOptions = {}) {
    this.ctx = ctx;
    this.config = config;
    this.burst = new BurstLogger(ctx.logger);
    this.accumulator = new CumulativeAccumulator({
      expirationMs: config.metric_expiration,
      namespace: config.namespace,
      constLabels: config.const_labels,
      withoutScopeInfo: config.without_scope_info,
      verbatimNames: config.tyk_compatible_names,
      now: options.now ?? Date.now,
      onReject: (reason, points, metric) => this.rejected(reason, points, metric),
    });
    this.resourceAttributes = { 'service.name': 'tyk-otel-pump', 'service.version': VERSION, 'service.instance.id': ctx.instanceId };
    const resourceLabels =
      config.resource_to_labels.length > 0 ? new RegExp(`^(?:${config.resource_to_labels.map(escapeRegExp).join('|')})$`) : undefined;
    this.resource = resourceFromAttributes(this.resourceAttributes);
    // Scope labels are added by the accumulator (per series), so the serializer adds none of its own.
    // Tyk Pump's counters carry no `_total` (client_golang, text format 0.0.4): keep their names.
    this.serializer = new FastPrometheusSerializer({
      resourceLabels,
      withoutTargetInfo: config.without_target_info,
      keepNames: config.tyk_compatible_names ? this.accumulator.verbatim : undefined,
    });
  }

  async start(): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    const endpoint = this.config.endpoint;
    this.ctx.http.metrics(endpoint, '/metrics', () => this.render());
    this.started = true;
    const bound = await this.ctx.http.listen(endpoint);
    this.ctx.logger.info({ endpoint: `${bound.host}:${bound.port}`, path: '/metrics' }, 'serving Prometheus metrics');
  }

  async consumeMetrics(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    if (batch.resource !== this.lastResource) {
      this.lastResource = batch.resource;
      const merged = { ...this.resourceAttributes, ...(batch.resource as Attributes) };
      if (attributesKey(merged) !== attributesKey(this.resourceAttributes)) {
        this.resourceAttributes = merged;
        this.resource = resourceFromAttributes(merged);
      }
    }
    const n = this.accumulator.accumulate(batch);
    this.ctx.telemetry.accepted(n, 'metrics');
  }

  /** What `/metrics` serves: the current state, as UTF-8 chunks written slice by slice. */
  render(): AsyncIterable<Buffer> {
    const metrics = this.accumulator.collect();
    return this.serializer.chunks({ resource: this.resource, scopeMetrics: [{ scope: { name: 'tyk-otel-pump' }, metrics }] });
  }

  /** The text served on `/metrics`, whole (tests, diagnostics). */
  async scrape(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of this.render()) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  }

  async shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.started) this.ctx.http.release(this.ctx.id);
    })();
    return this.stopping;
  }

  private rejected(reason: RejectReason, points: number, metric: string): void {
    if (reason === 'unsupported_type') this.ctx.telemetry.refused(points, reason, 'metrics');
    else if (reason === 'name_conflict') this.ctx.telemetry.dropped(points, reason, 'metrics');
    const why =
      reason === 'unsupported_type'
        ? 'exponential histograms cannot be exposed in the Prometheus text format; dropped'
        : reason === 'name_conflict'
          ? 'another metric of a different type already uses this Prometheus name; dropped'
          : 'histogram bucket boundaries changed; the series restarts from the new data';
    this.burst.log('warn', { metric, points, reason }, why);
  }
}
