/**
 * The `prometheus` exporter: accumulates the metric batches of its pipelines (see `accumulator.ts`) and
 * serves them on `<endpoint>/metrics` through the shared HTTP server, which answers with
 * `Content-Type: text/plain; version=0.0.4; charset=utf-8`. The exposition is the OTel JS SDK's: the
 * accumulator is a `MetricProducer` of a `PrometheusExporter` reader (server never started) on a
 * `MeterProvider`; each scrape runs `reader.collect()` and `PrometheusSerializer.serialize()`.
 * OpenMetrics is not offered: the JS serializer only writes the classic text format.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { Attributes } from '@opentelemetry/api';
import type { MetricsBatch, ResourceAttributes } from '../../src/model.js';
import { ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { VERSION } from '../../src/version.js';
import { CumulativeAccumulator, VERBATIM_SCOPE, type RejectReason } from './accumulator.js';
import type { PrometheusConfig } from './config.js';

/** Options for tests. */
export interface PrometheusExporterOptions {
  /** Agent clock in epoch ms (expiry). */
  readonly now?: () => number;
}

/** Tyk Pump's counters carry no `_total` (client_golang, text format 0.0.4); the JS serializer always adds one. */
const TYK_TOTAL = /^(# (?:HELP|TYPE) )?(tyk_http_status(?:_per_path|_per_key|_per_oauth_client)?)_total(?=[{ ])/gm;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The prometheus exporter runtime. */
export class PrometheusMetricsExporter implements Exporter {
  /** The cumulative state (exposed for tests and benchmarks). */
  readonly accumulator: CumulativeAccumulator;
  private readonly ctx: ComponentContext;
  private readonly config: PrometheusConfig;
  private readonly provider: MeterProvider;
  private readonly reader: PrometheusExporter;
  private readonly serializer: PrometheusSerializer;
  private readonly verbatimSerializer: PrometheusSerializer;
  private readonly burst: BurstLogger;
  private resourceAttributes: Attributes;
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
    this.reader = new PrometheusExporter({
      preventServerStart: true,
      metricProducers: [this.accumulator],
      withoutScopeInfo: true,
      withoutTargetInfo: config.without_target_info,
      withResourceConstantLabels: resourceLabels,
    });
    this.provider = new MeterProvider({ resource: resourceFromAttributes(this.resourceAttributes), readers: [this.reader] });
    // Scope labels are added by the accumulator (per series), so the serializer must not add its own.
    this.serializer = new PrometheusSerializer('', false, resourceLabels, config.without_target_info, true);
    this.verbatimSerializer = new PrometheusSerializer('', false, resourceLabels, true, true);
  }

  async start(): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    const endpoint = this.config.endpoint;
    this.ctx.http.metrics(endpoint, '/metrics', () => this.scrape());
    this.started = true;
    const bound = await this.ctx.http.listen(endpoint);
    this.ctx.logger.info({ endpoint: `${bound.host}:${bound.port}`, path: '/metrics' }, 'serving Prometheus metrics');
  }

  async consumeMetrics(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    if (batch.resource !== this.lastResource) {
      this.lastResource = batch.resource;
      this.resourceAttributes = { ...this.resourceAttributes, ...(batch.resource as Attributes) };
    }
    const n = this.accumulator.accumulate(batch);
    this.ctx.telemetry.accepted(n, 'metrics');
  }

  /** The text served on `/metrics`. */
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) this.burst.log('warn', { err: errors[0] }, 'collecting metrics for a scrape reported errors');
    const resource = resourceFromAttributes(this.resourceAttributes);
    const translated = resourceMetrics.scopeMetrics.filter((s) => s.scope.name !== VERBATIM_SCOPE);
    const verbatim = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === VERBATIM_SCOPE);
    let text = this.serializer.serialize({ resource, scopeMetrics: translated });
    if (verbatim.length > 0) {
      if (!text.endsWith('\n')) text += '\n';
      text += this.verbatimSerializer.serialize({ resource, scopeMetrics: verbatim }).replace(TYK_TOTAL, '$1$2');
    }
    return text;
  }

  async shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.started) this.ctx.http.release(this.ctx.id);
      await this.provider.shutdown().catch(() => undefined);
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
