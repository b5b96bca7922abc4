/**
 * The `status` exporter: serves `/status`, a self-contained HTML page for the operator without Grafana
 * (like the Collector's zpages or Pyrra's SLO page), from the agent's own in-memory state:
 *
 * - per API: request rate, error ratio and p95 latency over the last `window`, from the `sli`
 *   processor's `http.server.request.duration` histogram points (count → requests, `error.type` → bad,
 *   buckets → p95) — the same numbers `/metrics` serves, one addition per series per batch, nothing per
 *   record;
 * - per SLO: budget remaining, burn rates and alert state, from the `slo` processor's `tyk.slo.*` gauges;
 * - the drain (records/s, backlog, lag) and each exporter's health, sampled once per `resolution` from the
 *   agent's self-telemetry and `/ready` state (`ctx.introspection`).
 *
 * Why an exporter: the page needs the metrics the pipelines produce, and an exporter in a metrics
 * pipeline is the contract's way to receive them — the core stays unaware of SLI semantics, the page is
 * off unless configured, and it shares the telemetry listener like the `prometheus` exporter does.
 *
 * Memory is fixed when an API or SLO is first seen (ring buffers of window / resolution slots); at most
 * `max_apis` APIs are tracked, the rest folded into one row.
 */
import type { DataPoint, Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { MetricsBatch } from '../../src/model.js';
import { ShuttingDownError } from '../../src/errors.js';
import { formatDuration } from '../../src/config/schema.js';
import { VERSION } from '../../src/version.js';
import type { StatusConfig } from './config.js';
import { renderStatusPage, STATUS_CSP, type ApiView, type ExporterView, type SloView, type StatusView } from './page.js';
import { BucketRing, Ring, SlotClock } from './rings.js';

/** The `sli` processor's request duration histogram (OTel semantic conventions name). */
const DURATION_METRIC = 'http.server.request.duration';
const API_NAME = 'tyk.api.name';
const ERROR_TYPE = 'error.type';
/** The `slo` processor's gauges. */
const SLO = {
  objective: 'tyk.slo.objective',
  burnRate: 'tyk.slo.burn_rate',
  remaining: 'tyk.slo.error_budget.remaining',
  alert: 'tyk.slo.alert',
  name: 'tyk.slo.name',
} as const;
/** Windows shown as burn-rate columns: the long and short windows of the multi-window alerts. */
const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
/** Longest API name kept (longer names are cut): bounds memory by bytes as well as by count. */
const MAX_NAME_CHARS = 200;
/** Most buckets a tracked histogram may have (the sli processor allows 64 boundaries). */
const MAX_BUCKETS = 65;
const MAX_SLOS = 200;
const MAX_EXPORTERS = 64;

interface ApiState {
  readonly name: string;
  readonly requests: Ring;
  readonly errors: Ring;
  readonly latency: BucketRing;
}

interface SloState {
  objective: number;
  remaining: number | undefined;
  readonly remainingHistory: Ring;
  readonly burn: Map<string, number>;
  page: boolean | undefined;
  ticket: boolean | undefined;
}

interface ExporterState {
  sent: number | undefined;
  failed: number | undefined;
  queue: number | undefined;
}

/** Options for tests. */
export interface StatusOptions {
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

/** The status exporter runtime. */
export class StatusExporter implements Exporter {
  private readonly clock: SlotClock;
  private readonly apis = new Map<string, ApiState>();
  private other: ApiState | undefined;
  private readonly slos = new Map<string, SloState>();
  private readonly drain: { rate: Ring; backlog: Ring; lag: Ring };
  private readonly exporters = new Map<string, ExporterState>();
  /** Previous cumulative totals of self-telemetry counters, for per-second rates. */
  private previous: { at: number; totals: Map<string, number> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly ctx: ComponentContext, private readonly config: StatusConfig, options: StatusOptions = {}) {
    this.now = options.now ?? Date.now;
    this.clock = new SlotClock(config.window, config.resolution);
    this.drain = { rate: new Ring(this.clock, 'last'), backlog: new Ring(this.clock, 'last'), lag: new Ring(this.clock, 'last') };
  }

  async start(): Promise<void> {
    if (this.stopping) return;
    this.ctx.http.route(this.config.endpoint, this.config.path, (req, res) => {
      const html = renderStatusPage(this.view());
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': STATUS_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : html);
    });
    await this.ctx.http.listen(this.config.endpoint);
    this.started = true;
    if (this.ctx.introspection) {
      this.timer = setInterval(() => void this.sample(), this.config.resolution);
      this.timer.unref();
      void this.sample();
    }
  }

  async consumeMetrics(batch: MetricsBatch, _ctx: BatchContext): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    const slot = this.clock.advance(this.now());
    let points = 0;
    for (const m of batch.metrics) {
      const name = m.descriptor.name;
      if (name === DURATION_METRIC && m.dataPointType === DataPointType.HISTOGRAM) points += this.addDurations(slot, m.dataPoints);
      else if (name.startsWith('tyk.slo.')) points += this.addSloGauge(slot, m);
    }
    this.ctx.telemetry.accepted(points, 'metrics');
  }

  private api(name: string): ApiState {
    const key = name.length > MAX_NAME_CHARS ? `${name.slice(0, MAX_NAME_CHARS)}…` : name;
    let a = this.apis.get(key);
    if (a) return a;
    if (this.apis.size >= this.config.max_apis) {
      this.other ??= this.newApi('(other APIs)');
      return this.other;
    }
    a = this.newApi(key);
    this.apis.set(key, a);
    return a;
  }

  private newApi(name: string): ApiState {
    return { name, requests: new Ring(this.clock, 'sum'), errors: new Ring(this.clock, 'sum'), latency: new BucketRing(this.clock, MAX_BUCKETS) };
  }

  private addDurations(slot: number, points: readonly DataPoint<Histogram>[]): number {
    for (const p of points) {
      const name = p.attributes[API_NAME];
      const a = this.api(typeof name === 'string' && name !== '' ? name : '(no API name)');
      a.requests.record(slot, p.value.count);
      const bad = p.attributes[ERROR_TYPE];
      a.errors.record(slot, bad !== undefined && bad !== '' ? p.value.count : 0);
      a.latency.add(slot, p.value.buckets.boundaries, p.value.buckets.counts);
    }
    return points.length;
  }

  private addSloGauge(slot: number, m: MetricData): number {
    for (const p of m.dataPoints as readonly DataPoint<number>[]) {
      const name = p.attributes[SLO.name];
      if (typeof name !== 'string') continue;
      let s = this.slos.get(name);
      if (!s) {
        if (this.slos.size >= MAX_SLOS) continue;
        s = { objective: NaN, remaining: undefined, remainingHistory: new Ring(this.clock, 'last'), burn: new Map(), page: undefined, ticket: undefined };
        this.slos.set(name, s);
      }
      const v = p.value;
      switch (m.descriptor.name) {
        case SLO.objective:
          s.objective = v;
          break;
        case SLO.remaining:
          s.remaining = v;
          s.remainingHistory.record(slot, v);
          break;
        case SLO.burnRate: {
          const w = p.attributes['window'];
          if (typeof w === 'string' && (BURN_WINDOWS as readonly string[]).includes(w)) s.burn.set(w, v);
          break;
        }
        case SLO.alert:
          if (p.attributes['severity'] === 'page') s.page = v === 1;
          else if (p.attributes['severity'] === 'ticket') s.ticket = v === 1;
          break;
      }
    }
    return m.dataPoints.length;
  }

  /** Samples self-telemetry into the drain rings and exporter rows (once per resolution, never overlapping). */
  private sample(): Promise<void> {
    const intro = this.ctx.introspection;
    if (!intro || this.sampling) return this.sampling ?? Promise.resolve();
    this.sampling = intro
      .selfMetrics()
      .then((rm) => this.absorb(rm))
      .catch((err: unknown) => this.ctx.logger.debug({ err }, 'status: self-telemetry sample failed'))
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  private absorb(rm: ResourceMetrics): void {
    const now = this.now();
    const slot = this.clock.advance(now);
    const totals = new Map<string, number>();
    let backlog: number | undefined;
    let lag: number | undefined;
    const exporterGauge = new Map<string, number>();
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const name = m.descriptor.name;
        for (const p of m.dataPoints as readonly DataPoint<number>[]) {
          if (typeof p.value !== 'number') continue;
          if (name.endsWith('.receiver.accepted_items')) totals.set('drained', (totals.get('drained') ?? 0) + p.value);
          else if (name.endsWith('.receiver.backlog_records')) backlog = (backlog ?? 0) + p.value;
          else if (name.endsWith('.receiver.drain_lag_seconds') && p.attributes['record'] === 'oldest') lag = Math.max(lag ?? 0, p.value);
          else if (name.endsWith('.exporter.sent_items') || name.endsWith('.exporter.send_failed_items') || name.endsWith('.exporter.accepted_items')) {
            // accepted_items names every exporter that received data, also those that never "send" (prometheus, status).
            const kind = name.endsWith('.sent_items') ? 'sent' : name.endsWith('.accepted_items') ? 'accepted' : 'failed';
            const id = String(p.attributes['exporter']);
            totals.set(`${kind}\u0001${id}`, (totals.get(`${kind}\u0001${id}`) ?? 0) + p.value);
          } else if (name.endsWith('.exporter.queue_size')) exporterGauge.set(String(p.attributes['exporter']), p.value);
        }
      }
    }
    const prev = this.previous;
    const rate = (key: string): number | undefined => {
      if (!prev) return undefined;
      const seconds = (now - prev.at) / 1000;
      const cur = totals.get(key) ?? 0;
      const before = prev.totals.get(key) ?? 0;
      return seconds > 0 && cur >= before ? (cur - before) / seconds : undefined;
    };
    const drained = rate('drained');
    if (drained !== undefined) this.drain.rate.record(slot, drained);
    if (backlog !== undefined) this.drain.backlog.record(slot, backlog);
    if (lag !== undefined) this.drain.lag.record(slot, lag);
    const ids = new Set<string>(exporterGauge.keys());
    for (const key of totals.keys()) if (key.includes('\u0001')) ids.add(key.split('\u0001')[1] as string);
    for (const id of ids) {
      let e = this.exporters.get(id);
      if (!e) {
        if (this.exporters.size >= MAX_EXPORTERS) continue;
        e = { sent: undefined, failed: undefined, queue: undefined };
        this.exporters.set(id, e);
      }
      e.sent = rate(`sent\u0001${id}`) ?? e.sent;
      e.failed = rate(`failed\u0001${id}`) ?? e.failed;
      e.queue = exporterGauge.get(id) ?? e.queue;
    }
    this.previous = { at: now, totals };
  }

  private apiView(a: ApiState, resolutionSeconds: number): ApiView {
    // Completed slices only: the current one holds part of a slice and would read as a drop.
    const req = a.requests.series(true);
    const err = a.errors.series(true);
    let total = 0;
    let bad = 0;
    for (let i = 0; i < req.length; i++) {
      if (!Number.isNaN(req[i] as number)) total += req[i] as number;
      if (!Number.isNaN(err[i] as number)) bad += err[i] as number;
    }
    const filled = req.filter((v) => !Number.isNaN(v)).length;
    return {
      name: a.name,
      rate: req.map((v) => v / resolutionSeconds),
      errorRatio: req.map((v, i) => (Number.isNaN(v) || v === 0 ? NaN : (err[i] as number) / v)),
      p95: a.latency.quantileSeries(0.95),
      totalRate: filled === 0 ? NaN : total / (filled * resolutionSeconds),
      totalErrorRatio: total === 0 ? NaN : bad / total,
      totalP95: a.latency.quantile(0.95),
    };
  }

  /** What the page shows now. */
  view(): StatusView {
    const now = this.now();
    this.clock.advance(now);
    const resolutionSeconds = this.config.resolution / 1000;
    const apis = [...this.apis.values()]
      .map((a) => this.apiView(a, resolutionSeconds))
      .filter((a) => !Number.isNaN(a.totalRate))
      .sort((x, y) => y.totalRate - x.totalRate || (x.name < y.name ? -1 : 1));
    const other = this.other ? this.apiView(this.other, resolutionSeconds) : undefined;
    const health = this.ctx.introspection?.health();
    const slos: SloView[] = [...this.slos].map(([name, s]) => ({
      name,
      objective: s.objective,
      budgetRemaining: s.remaining,
      budgetHistory: s.remainingHistory.series(),
      burnRates: BURN_WINDOWS.map((window) => ({ window, value: s.burn.get(window) })),
      alerts: { page: s.page, ticket: s.ticket },
    }));
    const exporters: ExporterView[] = [...this.exporters].map(([id, e]) => {
      const h = health?.components[id];
      return { id, ready: h?.ready, detail: h?.ready === false ? h.detail : undefined, sentPerSecond: e.sent, failedPerSecond: e.failed, queue: e.queue };
    });
    return {
      version: VERSION,
      instance: this.ctx.instanceId,
      generatedAt: new Date(now),
      windowLabel: formatDuration(this.config.window),
      resolutionSeconds,
      ready: health?.ready,
      apis,
      otherApis: other && !Number.isNaN(other.totalRate) ? other : undefined,
      slos,
      drain: this.ctx.introspection ? { recordsPerSecond: this.drain.rate.series(true), backlog: this.drain.backlog.series(), lagSeconds: this.drain.lag.series() } : undefined,
      exporters: exporters.sort((x, y) => (x.id < y.id ? -1 : 1)),
      refreshSeconds: Math.max(5, Math.min(60, Math.round(resolutionSeconds))),
    };
  }

  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await this.sampling;
      if (this.started) this.ctx.http.release(this.ctx.id);
    })();
    return this.stopping;
  }
}
