/**
 * The `otlp_http` exporter: metrics (accumulated, exported every `export_interval`) and logs (queued,
 * retried, optionally spooled) to an OTLP/HTTP endpoint. See README.md for the guarantees.
 */
import { resolve, join } from 'node:path';
import type { ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { BatchContext, ComponentContext, Exporter, ShutdownDeadline } from '../../src/component.js';
import type { LogsBatch, MetricsBatch } from '../../src/model.js';
import { StartError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { OtlpHttpConfig } from './config.js';
import { encodeLogs, encodeMetrics, ResourceCache, type BodyCompression } from './encode.js';
import { LogsProtoEncoder } from './logs-proto.js';
import { LogsQueue } from './logs-queue.js';
import { MetricsAccumulator } from './metrics-state.js';
import { Backoff, HttpSender } from './sender.js';
import { Spool } from './spool.js';

/** Joins a base URL and a signal path the way the Collector does (`/v1/logs` after the base path). */
export function signalUrl(base: string, override: string, path: '/v1/metrics' | '/v1/logs'): string {
  if (override !== '') return override;
  return `${base.replace(/\/+$/, '')}${path}`;
}

/** Makes an exporter id usable as a directory name. */
function dirName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The exporter instance (one per id, shared by every pipeline that lists it). */
export class OtlpHttpExporter implements Exporter {
  private readonly ctx: ComponentContext;
  private readonly config: OtlpHttpConfig;
  private readonly resources: ResourceCache;
  private readonly compression: BodyCompression;
  private readonly protoLogs = new LogsProtoEncoder();
  private readonly metricsSender: HttpSender;
  private readonly logsSender: HttpSender;
  private readonly accumulator: MetricsAccumulator;
  private readonly spool: Spool | undefined;
  private readonly logs: LogsQueue;
  private readonly metricLog: BurstLogger;
  private readonly refusalLog: BurstLogger;
  private readonly metricsBackoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private exporting: Promise<void> | undefined;
  private started = false;
  private closing = false;
  private stopped: Promise<void> | undefined;
  private metricFailures = 0;
  private finalExportDone = false;
  private readonly gauges: { gauge: ObservableGauge; cb: (r: ObservableResult) => void }[] = [];

  constructor(ctx: ComponentContext, config: OtlpHttpConfig) {
    this.ctx = ctx;
    this.config = config;
    this.resources = new ResourceCache(config.resource);
    this.compression = { gzip: config.compression === 'gzip', level: config.compression_params.level };
    const maxSockets = config.sending_queue.num_consumers + 1;
    this.metricsSender = new HttpSender({ url: signalUrl(config.endpoint, config.metrics_endpoint, '/v1/metrics'), headers: config.headers, timeoutMs: config.timeout, maxSockets });
    this.logsSender = new HttpSender({ url: signalUrl(config.endpoint, config.logs_endpoint, '/v1/logs'), headers: config.headers, timeoutMs: config.timeout, maxSockets });
    this.metricLog = new BurstLogger(ctx.logger);
    this.refusalLog = new BurstLogger(ctx.logger);
    this.metricsBackoff = new Backoff(config.retry_on_failure);
    this.accumulator = new MetricsAccumulator({
      temporality: config.temporality,
      maxSeries: config.metrics.max_series,
      expirationMs: config.metrics.metric_expiration,
      resources: this.resources,
      onRefused: (points, reason, metric) => {
        ctx.telemetry.refused(points, reason, 'metrics');
        this.refusalLog.log('warn', { metric, reason, points }, 'metric data points not accepted by the OTLP exporter');
      },
      onOverflow: (metric) =>
        this.refusalLog.log('warn', { metric, maxSeries: config.metrics.max_series }, 'metrics.max_series reached; new series are folded into an otel.metric.overflow series'),
    });
    this.spool = config.spool.directory === '' ? undefined
      : new Spool(join(resolve(ctx.configDir, config.spool.directory), dirName(ctx.id)), config.spool.max_megabytes * 1024 * 1024, ctx.logger);
    this.logs = new LogsQueue({ sender: this.logsSender, config, telemetry: ctx.telemetry, logger: ctx.logger, health: ctx.health, spool: this.spool });
  }

  async start(): Promise<void> {
    if (this.started || this.closing) return;
    if (this.spool) {
      try {
        await this.spool.open();
      } catch (err) {
        throw new StartError(this.ctx.id, `cannot open the spool: ${(err as Error).message}`, { cause: err });
      }
    }
    this.started = true;
    this.registerGauges();
    this.logs.start();
    this.scheduleExport(this.config.export_interval);
    this.ctx.logger.info(
      { metricsUrl: this.metricsSender.url, logsUrl: this.logsSender.url, encoding: this.config.encoding, compression: this.config.compression, compressionLevel: this.compression.gzip ? this.compression.level : null, spool: this.spool?.dir ?? null },
      'OTLP/HTTP exporter started',
    );
  }

  private registerGauges(): void {
    const spool = this.spool;
    if (!spool) return;
    const { meter } = this.ctx.telemetry;
    const exporter = this.ctx.id;
    const add = (gauge: ObservableGauge, cb: (r: ObservableResult) => void) => {
      gauge.addCallback(cb);
      this.gauges.push({ gauge, cb });
    };
    add(meter.createObservableGauge('exporter.spool_size_bytes', { description: 'Bytes of encoded requests in the exporter spool.', unit: 'By' }), (r) => r.observe(spool.sizeBytes, { exporter }));
    add(meter.createObservableGauge('exporter.spool_items', { description: 'Log records in the exporter spool.', unit: '{item}' }), (r) => r.observe(spool.items, { exporter }));
  }

  /** Metrics: accepted into the accumulator = delivered (the next export carries them). No deferral. */
  async consumeMetrics(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    if (this.finalExportDone) {
      // Nobody will export them any more; refusing would make an at-least-once receiver re-deliver the
      // records to every pipeline (double counting elsewhere), so they are counted as dropped instead.
      let points = 0;
      for (const m of batch.metrics) points += m.dataPoints.length;
      this.ctx.telemetry.dropped(points, 'shutdown', 'metrics');
      return;
    }
    const points = this.accumulator.add(batch);
    this.ctx.telemetry.accepted(points, 'metrics');
  }

  /** Logs: encoded, queued (or spooled); the batch's deferral settles on delivery. */
  async consumeLogs(batch: LogsBatch, ctx: BatchContext): Promise<void> {
    if (batch.logs.length === 0) return;
    const reqs = await encodeLogs(batch, this.resources, this.config.encoding, this.compression, this.config.sending_queue.max_batch_items, this.protoLogs);
    const settle = ctx.defer();
    await this.logs.offer(reqs, settle);
    this.ctx.telemetry.accepted(batch.logs.length, 'logs');
  }

  private scheduleExport(delay: number): void {
    if (this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.exporting = this.exportMetrics(false).finally(() => {
        this.exporting = undefined;
      });
    }, delay);
    this.timer.unref();
  }

  /** One export of the accumulated metrics (one request per resource). */
  private async exportMetrics(final: boolean, abort?: AbortSignal): Promise<void> {
    const { telemetry } = this.ctx;
    const collected = this.accumulator.collect();
    let retryIn: number | undefined;
    let anyFailure = false;
    for (let i = 0; i < collected.resourceMetrics.length; i++) {
      const points = collected.points[i] ?? 0;
      const req = await encodeMetrics(collected.resourceMetrics[i] as (typeof collected.resourceMetrics)[number], this.config.encoding, this.compression, points);
      if (!req) continue;
      const o = await this.metricsSender.send(req, abort);
      if (o.kind === 'success') {
        telemetry.sent(points - Math.min(points, o.rejected), 'metrics');
        if (o.rejected > 0) {
          telemetry.dropped(o.rejected, 'rejected_by_endpoint', 'metrics');
          this.metricLog.log('warn', { url: this.metricsSender.url, rejected: o.rejected, message: o.message }, 'OTLP endpoint rejected some metric data points');
        }
        continue;
      }
      anyFailure = true;
      telemetry.sendFailed(points, o.reason, 'metrics');
      if (o.kind === 'permanent') {
        telemetry.dropped(points, 'permanent_error', 'metrics');
        this.metricLog.log('error', { url: this.metricsSender.url, status: o.status, reason: o.reason, message: o.message }, 'OTLP endpoint refused metrics permanently (not retried; the next export tries again with newer data)');
        continue;
      }
      if (final) {
        telemetry.dropped(points, 'shutdown', 'metrics');
        this.metricLog.log('warn', { url: this.metricsSender.url, reason: o.reason, status: o.status }, 'final metrics export failed at shutdown');
        continue;
      }
      // Retryable: nothing is lost — cumulative state stays, delta state is merged back.
      const snapshot = collected.snapshots?.[i];
      if (snapshot) this.accumulator.restore(snapshot);
      retryIn = Math.max(retryIn ?? 0, o.retryAfterMs ?? this.metricsBackoff.next());
      this.metricLog.log('warn', { url: this.metricsSender.url, reason: o.reason, status: o.status, message: o.message, retryInMs: retryIn }, 'OTLP metrics export failed; retrying with backoff');
    }
    if (anyFailure) this.metricFailures++;
    else if (this.metricFailures > 0) {
      this.ctx.logger.info({ url: this.metricsSender.url, failedExports: this.metricFailures }, 'OTLP metrics endpoint recovered');
      this.metricFailures = 0;
      this.metricsBackoff.reset();
      this.metricLog.reset();
    }
    if (final) return;
    // Retry early after a retryable failure (Retry-After wins, even beyond the interval).
    this.scheduleExport(retryIn !== undefined ? Math.max(retryIn, 100) : this.config.export_interval);
  }

  /**
   * Final metrics export and logs drain (spooling what cannot be sent), both cut short at the graph's
   * deadline. Idempotent; safe without start.
   */
  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopped ??= (async () => {
      this.closing = true;
      clearTimeout(this.timer);
      if (!this.started) {
        this.finalExportDone = true;
        await this.logs.shutdown(deadline);
        return;
      }
      await this.exporting?.catch(() => undefined);
      const finalExport = this.exportMetrics(true, deadline?.signal)
        .catch((err: unknown) => this.ctx.logger.error({ err }, 'final metrics export failed'))
        .finally(() => {
          this.finalExportDone = true;
        });
      await Promise.all([finalExport, this.logs.shutdown(deadline)]);
      this.metricsSender.close();
      this.logsSender.close();
      await this.spool?.close();
      for (const { gauge, cb } of this.gauges) gauge.removeCallback(cb);
      this.ctx.logger.info('OTLP/HTTP exporter stopped');
    })();
    return this.stopped;
  }
}
