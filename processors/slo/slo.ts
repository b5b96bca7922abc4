/**
 * The `slo` processor runtime: records → SLO gauges. Every consumed batch is counted per SLO and minute
 * (by record timestamp) into Redis in one atomic MULTI; every `evaluation_interval` (and soon after
 * consumed batches, and on shutdown) the window sums are read back from Redis and emitted downstream as
 * gauges: `tyk.slo.objective`, `tyk.slo.error_ratio{window}`, `tyk.slo.burn_rate{window}`,
 * `tyk.slo.error_budget.remaining` and `tyk.slo.alert{severity}`, all with `tyk.slo.name`.
 *
 * Because the counts live in Redis, every agent draining the same gateway (each seeing only part of the
 * traffic) reports the same, complete SLO, and a restart loses nothing. The alert logic is the one of the
 * generated Prometheus rules (`src/slo/windows.ts`).
 */
import { performance } from 'node:perf_hooks';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type GaugeMetricData } from '@opentelemetry/sdk-metrics';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, MetricsBatch, RecordBatch, ResourceAttributes } from '../../src/model.js';
import type { Slo } from '../../src/slo/definition.js';
import { alertState, sloWindows, type SliWindowLabel, type SloWindow } from '../../src/slo/windows.js';
import { RedisUnavailableError, ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import { Delivery } from '../../src/delivery.js';
import { VERSION } from '../../src/version.js';
import { msToHrTime } from '../../internal/metrics/identity.js';
import { requestTimeMs } from '../../src/record-fields.js';
import { connectionPlan, createClient, type RedisClient } from '../../internal/redis/connection.js';
import { ConnectionWatch } from '../../internal/redis/watch.js';
import type { SloProcessorConfig } from './config.js';
import { SloStore, type Counts } from './store.js';

const MINUTE_MS = 60_000;
/** Consumed batches trigger an evaluation at most this often (the timer runs regardless). */
const MIN_CONSUME_EVALUATION_GAP_MS = 1000;

/** Options for tests and embedding. */
export interface SloProcessorOptions {
  /** Clock in epoch milliseconds (default `Date.now`): decides the current minute and the windows. */
  readonly now?: () => number;
}

/** One window of an SLO at one evaluation. */
export interface WindowState {
  readonly window: SloWindow;
  readonly total: number;
  readonly bad: number;
  /** bad / total; 0 without traffic. */
  readonly errorRatio: number;
  /** errorRatio / budget. */
  readonly burnRate: number;
}

/** The state of one SLO at one evaluation. */
export interface SloState {
  readonly slo: Slo;
  /** Evaluation time (epoch ms); windows end with the minute containing it. */
  readonly at: number;
  /** The fixed SLI windows (5m … 3d), then the full period. */
  readonly windows: readonly WindowState[];
  /** 1 − period burn rate (negative once the budget is overspent). */
  readonly budgetRemaining: number;
  readonly alerts: { readonly page: boolean; readonly ticket: boolean };
}

/** Per-record matching and classification of one SLO, precomputed. */
class Matcher {
  readonly slo: Slo;
  private readonly apiIds: ReadonlySet<string> | undefined;
  private readonly apiNames: ReadonlySet<string> | undefined;
  private readonly orgIds: ReadonlySet<string> | undefined;
  private readonly routes: ReadonlySet<string> | undefined;
  private readonly methods: ReadonlySet<string> | undefined;
  private readonly latency: boolean;
  private readonly threshold: number;

  constructor(slo: Slo) {
    this.slo = slo;
    const set = (values: readonly string[]) => (values.length === 0 ? undefined : new Set(values));
    this.apiIds = set(slo.selector.api_ids);
    this.apiNames = set(slo.selector.api_names);
    this.orgIds = set(slo.selector.org_ids);
    this.routes = set(slo.selector.routes);
    this.methods = set(slo.selector.methods);
    this.latency = slo.sli.type === 'latency';
    this.threshold = slo.sli.type === 'latency' ? slo.sli.thresholdSeconds : 0;
  }

  matches(r: AnalyticsRecord): boolean {
    return (
      (this.apiIds === undefined || this.apiIds.has(r.apiId)) &&
      (this.apiNames === undefined || this.apiNames.has(r.apiName)) &&
      (this.orgIds === undefined || this.orgIds.has(r.orgId)) &&
      (this.routes === undefined || this.routes.has(r.route)) &&
      (this.methods === undefined || this.methods.has(r.method))
    );
  }

  /** Same rules as the metrics: latency is `request_time` (ms, negatives as 0) against the `le` boundary. */
  isBad(r: AnalyticsRecord): boolean {
    if (this.latency) {
      return requestTimeMs(r) / 1000 > this.threshold;
    }
    return (this.slo.sli as { errorDefinition: { isBad(code: number): boolean } }).errorDefinition.isBad(r.responseCode);
  }
}

function gauge(name: string, description: string, unit: string, points: readonly { attributes: Attributes; value: number }[], time: HrTime): GaugeMetricData {
  return {
    descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points.map((p) => ({ startTime: time, endTime: time, attributes: p.attributes, value: p.value })),
  };
}

/** The slo processor. */
export class SloProcessor implements Processor<'records'> {
  private readonly ctx: ComponentContext;
  private readonly config: SloProcessorConfig;
  private readonly next: Consumer<'metrics'>;
  private readonly now: () => number;
  private readonly matchers: readonly Matcher[];
  /** The Redis connection of the state; made on first use (start, or a consume/evaluate before it). */
  private state: { readonly redis: RedisClient; readonly watch: ConnectionWatch; readonly store: SloStore } | undefined;
  private readonly resource: ResourceAttributes;
  private readonly scope: string;
  private readonly burst: BurstLogger;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private evaluation: Promise<void> | undefined;
  private evaluateAgain = false;
  private lastConsumeEvaluation = -Infinity;
  private healthy = true;

  constructor(ctx: ComponentContext, config: SloProcessorConfig, next: Consumer<'metrics'>, options: SloProcessorOptions = {}) {
    this.ctx = ctx;
    this.config = config;
    this.next = next;
    this.now = options.now ?? Date.now;
    const wanted = new Set(config.slos);
    const slos = ctx.shared.slos.filter((s) => wanted.size === 0 || wanted.has(s.name));
    this.matchers = slos.map((s) => new Matcher(s));
    this.resource = Object.freeze({ 'service.name': 'tyk-otel-pump', 'service.version': VERSION, 'service.instance.id': ctx.instanceId });
    this.scope = `tyk-otel-pump/${ctx.id.split('@')[0] ?? ctx.id}`;
    this.burst = new BurstLogger(ctx.logger);
  }

  /**
   * The state's connection and store, made on first use with the same connection handling as the
   * receiver's (Sentinel, Cluster, TLS files, ACL, database guard). Without SLOs there is nothing to
   * count: no Redis connection at all. Throws when the connection keys cannot be used (a TLS file missing).
   */
  private connection(): { readonly redis: RedisClient; readonly watch: ConnectionWatch; readonly store: SloStore } | undefined {
    if (this.state || this.matchers.length === 0) return this.state;
    const plan = connectionPlan(this.config, this.ctx.configDir, { component: this.ctx.id });
    const redis = createClient(plan);
    const watch = new ConnectionWatch(redis, plan.describe);
    redis.on('error', (err: Error) => {
      this.burst.log('warn', { redis: plan.describe, err: watch.problem ?? err.message }, 'SLO state Redis error');
      if (redis.status !== 'ready') this.notReady(watch.problem ?? err.message);
    });
    this.state = { redis, watch, store: new SloStore(redis, this.config.key_prefix, plan.mode === 'cluster') };
    return this.state;
  }

  /** The state store (undefined without SLOs); tests read it. */
  private get store(): SloStore | undefined {
    return this.connection()?.store;
  }

  /** The SLOs this instance evaluates. */
  get slos(): readonly Slo[] {
    return this.matchers.map((m) => m.slo);
  }

  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    const conn = this.connection();
    if (!conn) {
      this.ctx.logger.warn('no SLOs to evaluate: define them in the top-level slos section');
      return;
    }
    if (conn.redis.status === 'wait') conn.redis.connect().catch(() => undefined); // reconnects in the background; failures surface as events and per command
    this.timer = setInterval(() => this.requestEvaluation(), this.config.evaluation_interval);
    this.timer.unref();
    // Emit the state from Redis right away, so a restart reports the budget at once.
    this.requestEvaluation();
    this.ctx.logger.info({ slos: this.slos.map((s) => s.name), evaluationIntervalMs: this.config.evaluation_interval }, 'slo processor started');
  }

  async consume(batch: RecordBatch, _ctx: BatchContext): Promise<void> {
    if (this.stopping) throw new ShuttingDownError(this.ctx.id);
    const work = this.count(batch);
    this.inflight.add(work);
    try {
      await work;
    } finally {
      this.inflight.delete(work);
    }
    this.ctx.telemetry.accepted(batch.length);
    if (this.started && performance.now() - this.lastConsumeEvaluation >= MIN_CONSUME_EVALUATION_GAP_MS) {
      this.lastConsumeEvaluation = performance.now();
      this.requestEvaluation();
    }
  }

  /** Counts a batch into Redis. Rejects with a retryable error when Redis did not take it. */
  private async count(batch: RecordBatch): Promise<void> {
    const conn = this.connection();
    if (!conn) return;
    const now = this.now();
    const current = Math.floor(now / MINUTE_MS);
    const matchers = this.matchers;
    const n = matchers.length;
    // Keyed by minute × n + SLO index: numbers, so nothing is allocated per record.
    const counts = new Map<number, Counts>();
    let tooOld = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i];
      if (r === undefined || r.kind !== 'http') continue;
      const ts = r.timestampMs;
      // No timestamp, or one in the future (gateway clock ahead): the current minute.
      const minute = ts === null ? current : Math.min(Math.floor(ts / MINUTE_MS), current);
      for (let j = 0; j < n; j++) {
        const m = matchers[j] as Matcher;
        if (!m.matches(r)) continue;
        if (minute <= current - m.slo.periodDays * 1440) {
          tooOld++;
          continue;
        }
        const key = minute * n + j;
        let c = counts.get(key);
        if (c === undefined) counts.set(key, (c = { total: 0, bad: 0 }));
        c.total++;
        if (m.isBad(r)) c.bad++;
      }
    }
    if (tooOld > 0) this.ctx.telemetry.dropped(tooOld, 'older_than_slo_window');
    if (counts.size === 0) return;
    const increments = new Map<Slo, Map<number, Counts>>();
    for (const [key, c] of counts) {
      const j = key % n;
      const slo = (matchers[j] as Matcher).slo;
      let perMinute = increments.get(slo);
      if (!perMinute) increments.set(slo, (perMinute = new Map()));
      perMinute.set((key - j) / n, c);
    }
    try {
      // A batch that arrives while the connection is (re)established waits for it, boundedly.
      await conn.watch.whenReady(this.config.command_timeout);
      await conn.store.add(increments);
      if (!this.healthy) {
        this.healthy = true;
        this.ctx.health.set({ ready: true });
      }
    } catch (err) {
      this.burst.log('error', { err: (err as Error).message }, 'cannot count records into the SLO state in Redis; the batch is refused');
      this.notReady((err as Error).message);
      throw new RedisUnavailableError(`slo: cannot count a batch into Redis: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reports the processor not ready because the SLO state in Redis cannot be used. */
  private notReady(reason: string): void {
    if (this.stopping) return;
    this.healthy = false;
    this.ctx.health.set({ ready: false, detail: `SLO state in Redis unreachable: ${reason}` });
  }

  /** Reads every window of every SLO from Redis at `at` (default: now). */
  async evaluate(at: number = this.now()): Promise<SloState[]> {
    const conn = this.connection();
    if (!conn) return [];
    const current = Math.floor(at / MINUTE_MS);
    const plans = this.matchers.map((m) => {
      const windows = sloWindows(m.slo.period);
      return { slo: m.slo, windows, ranges: windows.map((w) => ({ first: current - w.ms / MINUTE_MS + 1, last: current })) };
    });
    await conn.watch.whenReady(this.config.command_timeout);
    const { sums } = await conn.store.sums(plans);
    return plans.map((plan, i) => {
      const slo = plan.slo;
      const windows = plan.windows.map((window, j): WindowState => {
        const c = sums[i]?.[j] ?? { total: 0, bad: 0 };
        const errorRatio = c.total > 0 ? c.bad / c.total : 0;
        return { window, total: c.total, bad: c.bad, errorRatio, burnRate: errorRatio / slo.budget };
      });
      const ratios: Partial<Record<SliWindowLabel, number>> = {};
      for (const w of windows) if (w.total > 0) ratios[w.window.label as SliWindowLabel] = w.errorRatio;
      const period = windows[windows.length - 1] as WindowState;
      return { slo, at, windows, budgetRemaining: 1 - period.burnRate, alerts: alertState(ratios, slo.budget, slo.period) };
    });
  }

  /** The gauges of an evaluation. */
  toMetrics(states: readonly SloState[]): MetricsBatch {
    const time = msToHrTime(states[0]?.at ?? this.now());
    const objective: { attributes: Attributes; value: number }[] = [];
    const ratio: { attributes: Attributes; value: number }[] = [];
    const burn: { attributes: Attributes; value: number }[] = [];
    const remaining: { attributes: Attributes; value: number }[] = [];
    const alert: { attributes: Attributes; value: number }[] = [];
    for (const s of states) {
      const name = s.slo.name;
      objective.push({ attributes: { 'tyk.slo.name': name }, value: s.slo.objectiveRatio });
      for (const w of s.windows) {
        ratio.push({ attributes: { 'tyk.slo.name': name, window: w.window.label }, value: w.errorRatio });
        burn.push({ attributes: { 'tyk.slo.name': name, window: w.window.label }, value: w.burnRate });
      }
      remaining.push({ attributes: { 'tyk.slo.name': name }, value: s.budgetRemaining });
      alert.push({ attributes: { 'tyk.slo.name': name, severity: 'page' }, value: s.alerts.page ? 1 : 0 });
      alert.push({ attributes: { 'tyk.slo.name': name, severity: 'ticket' }, value: s.alerts.ticket ? 1 : 0 });
    }
    return {
      resource: this.resource,
      scope: this.scope,
      metrics: [
        gauge('tyk.slo.objective', 'Target share of good requests of the SLO (0.999 for 99.9 %).', '1', objective, time),
        gauge('tyk.slo.error_ratio', 'Share of bad requests over the window (0 without traffic).', '1', ratio, time),
        gauge('tyk.slo.burn_rate', 'Error ratio over the window divided by the error budget (1 = spending the budget exactly over the SLO period).', '1', burn, time),
        gauge('tyk.slo.error_budget.remaining', 'Share of the error budget left over the SLO period (1 − period burn rate; negative when overspent).', '1', remaining, time),
        gauge('tyk.slo.alert', 'Multi-window multi-burn-rate alert state (1 firing), as the generated Prometheus rules compute it.', '', alert, time),
      ],
    };
  }

  /**
   * Evaluates now and pushes the gauges downstream. Rejects when Redis failed or the next consumer refused
   * the batch. Delivery that finishes later (a queued exporter) is not awaited: the gauges are snapshots
   * and the next evaluation sends them again, so a slow or retrying exporter never holds up evaluations
   * or shutdown; a failed delivery is logged once per burst.
   */
  async evaluateAndEmit(): Promise<SloState[]> {
    let states: SloState[];
    try {
      states = await this.evaluate();
    } catch (err) {
      this.notReady((err as Error).message);
      throw err;
    }
    this.healthy = true;
    this.ctx.health.set({ ready: true });
    if (states.length === 0) return states;
    const delivery = new Delivery();
    void delivery.done.then((failed) => {
      if (failed) this.burst.log('warn', { err: failed.message }, 'delivering the SLO gauges failed; they are sent again at the next evaluation');
    });
    try {
      await this.next.consume(this.toMetrics(states), delivery.ctx);
      delivery.seal();
    } catch (err) {
      delivery.seal(err as Error);
      throw err;
    }
    return states;
  }

  /** Runs an evaluation unless one is running (then one more runs after it). Never rejects. */
  private requestEvaluation(): void {
    if (this.matchers.length === 0) return;
    if (this.evaluation) {
      this.evaluateAgain = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.evaluateAgain = false;
        try {
          await this.evaluateAndEmit();
          this.burst.reset();
        } catch (err) {
          this.burst.log('warn', { err: (err as Error).message }, 'SLO evaluation failed; the gauges are emitted again at the next evaluation');
        }
      } while (this.evaluateAgain && !this.stopping);
    };
    this.evaluation = run().finally(() => {
      this.evaluation = undefined;
    });
  }

  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await Promise.allSettled([...this.inflight]);
      await this.evaluation;
      // A last evaluation so downstream gets the state including the final batches.
      if (this.started && this.state) {
        await this.evaluateAndEmit().catch((err: unknown) =>
          this.ctx.logger.warn({ err: (err as Error).message }, 'final SLO evaluation on shutdown failed'),
        );
      }
      const redis = this.state?.redis;
      if (redis) {
        if (redis.status === 'ready') await redis.quit().catch(() => undefined);
        redis.disconnect();
      }
    })();
    return this.stopping;
  }
}
