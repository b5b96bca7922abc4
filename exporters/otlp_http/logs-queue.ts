/**
 * Delivery of log requests: a bounded in-memory queue (in log records), `num_consumers` senders with
 * retries, an optional spool, and the settling of each batch's deferral.
 *
 * Flow of one batch (already encoded into ≤ `max_batch_items` requests):
 *   memory queue has room → queued (the deferral stays open until the endpoint answers);
 *   else spool has room   → written + fsynced (the deferral is settled: the spool now owns it);
 *   else                  → `offer()` waits (backpressure: the receiver stops claiming, records stay in Redis).
 * A sender takes the oldest memory request, or else the oldest spooled one, and tries until:
 *   2xx                  → delivered (partial-success rejections counted as `rejected_by_endpoint`);
 *   permanent 4xx        → dropped `permanent_error`, settled with a non-retryable ExportError (the receiver acks);
 *   retries exhausted    → spooled if there is a spool, else settled with a retryable ExportError: handed
 *                          back, not dropped here (an at-least-once receiver delivers the chunk again, an
 *                          at-most-once one counts the loss as its `dropped{delivery_failed}`).
 * Counting: `send_failed` once per failed attempt; `dropped` only for what this exporter loses for good
 * (refused permanently, rejected in a partial success) — never for what it hands back as retryable, so
 * a record re-delivered and then sent is never counted as dropped.
 * Spooled requests are retried until delivered (the spool is bounded by size, not time).
 */
import type { Logger } from 'pino';
import type { ComponentTelemetry, HealthReporter, Settle, ShutdownDeadline } from '../../src/component.js';
import { ExportError, ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { OtlpHttpConfig } from './config.js';
import { Backoff, type EncodedRequest, type HttpSender, type SendOutcome } from './sender.js';
import type { Spool, SpoolEntry } from './spool.js';

/** Wakes everyone waiting at the moment `notify()` is called. */
class Notifier {
  private waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Settles one batch once all its requests are done; the first error wins. */
class BatchSettle {
  private remaining: number;
  private error: Error | undefined;

  constructor(
    count: number,
    private readonly settle: Settle,
  ) {
    this.remaining = count;
    if (count === 0) settle();
  }

  part(err?: Error): void {
    if (err && !this.error) this.error = err;
    if (--this.remaining === 0) this.settle(this.error);
  }
}

interface Job {
  readonly req: EncodedRequest;
  /** The batch this request belongs to (memory jobs only; spooled ones were settled when spooled). */
  readonly batch: BatchSettle | undefined;
  /** Set for jobs replayed from the spool. */
  readonly entry: SpoolEntry | undefined;
  firstAttempt: number;
}

/** Everything the queue needs from the exporter. */
export interface LogsQueueDeps {
  readonly sender: HttpSender;
  readonly config: OtlpHttpConfig;
  readonly telemetry: ComponentTelemetry;
  readonly logger: Logger;
  readonly health: HealthReporter;
  readonly spool: Spool | undefined;
  /** Injectable clock/random for tests. */
  readonly random?: () => number;
}

/** The logs half of the exporter. */
export class LogsQueue {
  private readonly deps: LogsQueueDeps;
  private readonly jobs: Job[] = [];
  private queuedItems = 0;
  private readonly work = new Notifier();
  private readonly room = new Notifier();
  private readonly abort = new AbortController();
  private readonly workers: Promise<void>[] = [];
  private closing = false;
  private drainDeadline = Infinity;
  private pausedUntil = 0;
  private consecutiveFailures = 0;
  private lastSuccessAt = 0;
  private readonly retryLog: BurstLogger;
  private readonly permanentLog: BurstLogger;
  private readonly dropLog: BurstLogger;
  private readonly spoolErrorLog: BurstLogger;
  private stopped: Promise<void> | undefined;

  constructor(deps: LogsQueueDeps) {
    this.deps = deps;
    this.retryLog = new BurstLogger(deps.logger);
    this.permanentLog = new BurstLogger(deps.logger);
    this.dropLog = new BurstLogger(deps.logger);
    this.spoolErrorLog = new BurstLogger(deps.logger);
  }

  /** Starts the senders (they also replay the spool). */
  start(): void {
    for (let i = 0; i < this.deps.config.sending_queue.num_consumers; i++) this.workers.push(this.worker());
    this.reportHealth();
  }

  /** Log records waiting in memory. */
  get queued(): number {
    return this.queuedItems;
  }

  /**
   * Accepts a batch's requests; resolves once all are queued or spooled (waits while both are full).
   * `settle` is called once they are all delivered, spooled, or finally failed. Rejects with a retryable
   * error (after settling) only when shutting down leaves no room.
   */
  async offer(reqs: readonly EncodedRequest[], settle: Settle): Promise<void> {
    const batch = new BatchSettle(reqs.length, settle);
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as EncodedRequest;
      if (await this.admit(req, batch)) continue;
      // Shutting down and nowhere to put it: what is left of the batch is lost here.
      let items = 0;
      const err = new ShuttingDownError('otlp_http');
      for (let j = i; j < reqs.length; j++) {
        items += (reqs[j] as EncodedRequest).items;
        batch.part(err);
      }
      this.dropLog.log('warn', { url: this.deps.sender.url, items }, 'log records arrived during shutdown with the queue full and no spool room; refused (retryable)');
      throw err;
    }
  }

  private async admit(req: EncodedRequest, batch: BatchSettle): Promise<boolean> {
    const size = this.deps.config.sending_queue.queue_size;
    for (;;) {
      if (this.closing) {
        if (await this.trySpool(req)) {
          batch.part();
          return true;
        }
        return false;
      }
      if (this.queuedItems === 0 || this.queuedItems + req.items <= size) {
        this.jobs.push({ req, batch, entry: undefined, firstAttempt: 0 });
        this.queuedItems += req.items;
        this.deps.telemetry.queueSize(this.queuedItems);
        this.work.notify();
        return true;
      }
      if (this.deps.spool && (await this.trySpool(req))) {
        batch.part();
        this.work.notify();
        return true;
      }
      await this.room.wait();
    }
  }

  /** Spools `req` durably; false when there is no spool, it is full, or the disk fails. */
  private async trySpool(req: EncodedRequest): Promise<boolean> {
    const spool = this.deps.spool;
    if (!spool) return false;
    try {
      return await spool.append(req);
    } catch (err) {
      this.spoolErrorLog.log('error', { directory: spool.dir, code: (err as NodeJS.ErrnoException).code, err: (err as Error).message }, 'cannot write to the spool');
      return false;
    }
  }

  private async worker(): Promise<void> {
    const spool = this.deps.spool;
    for (;;) {
      let job = this.jobs.shift();
      if (job) {
        this.queuedItems -= job.req.items;
        this.deps.telemetry.queueSize(this.queuedItems);
        this.room.notify();
      } else if (!this.closing && spool && spool.waiting > 0) {
        const entry = spool.take() as SpoolEntry;
        const req = await spool.read(entry);
        if (!req) {
          this.room.notify();
          continue;
        }
        job = { req, batch: undefined, entry, firstAttempt: 0 };
      }
      if (!job) {
        if (this.closing) return;
        await this.work.wait();
        continue;
      }
      await this.deliver(job);
    }
  }

  private async deliver(job: Job): Promise<void> {
    const { config, sender, telemetry } = this.deps;
    const retry = config.retry_on_failure;
    const backoff = new Backoff(retry, this.deps.random);
    const signal = this.abort.signal;
    for (;;) {
      await sleep(this.pausedUntil - Date.now(), signal);
      if (signal.aborted) return this.leftover(job);
      if (job.firstAttempt === 0) job.firstAttempt = Date.now();
      const o = await sender.send(job.req, signal);
      if (o.kind === 'success') return this.delivered(job, o);
      if (o.reason === 'aborted') return this.leftover(job);
      telemetry.sendFailed(job.req.items, o.reason, 'logs');
      if (o.kind === 'permanent') return this.refused(job, o);
      this.consecutiveFailures++;
      const delay = o.retryAfterMs ?? backoff.next();
      this.retryLog.log('warn', { url: sender.url, reason: o.reason, status: o.status, message: o.message, retryInMs: delay }, 'OTLP logs export failed; retrying with backoff');
      this.reportHealth();
      if (!retry.enabled && !job.entry) return this.exhausted(job, o);
      if (o.retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + o.retryAfterMs);
      if (this.closing && Date.now() + delay >= this.drainDeadline) return this.leftover(job);
      if (!job.entry && retry.max_elapsed_time > 0 && Date.now() + delay - job.firstAttempt > retry.max_elapsed_time) return this.exhausted(job, o);
      await sleep(delay, signal);
    }
  }

  private async delivered(job: Job, o: Extract<SendOutcome, { kind: 'success' }>): Promise<void> {
    const { telemetry, sender } = this.deps;
    const rejected = Math.min(o.rejected, job.req.items);
    telemetry.sent(job.req.items - rejected, 'logs');
    if (rejected > 0) {
      telemetry.dropped(rejected, 'rejected_by_endpoint', 'logs');
      this.permanentLog.log('warn', { url: sender.url, rejected, message: o.message }, 'OTLP endpoint accepted the request but rejected some log records');
    }
    if (this.consecutiveFailures > 0) {
      this.deps.logger.info({ url: sender.url, failedAttempts: this.consecutiveFailures }, 'OTLP logs endpoint recovered');
      this.consecutiveFailures = 0;
      this.retryLog.reset();
    }
    this.lastSuccessAt = Date.now();
    job.batch?.part();
    if (job.entry) {
      await this.deps.spool?.remove(job.entry);
      this.room.notify();
    }
    this.reportHealth();
  }

  private async refused(job: Job, o: Extract<SendOutcome, { kind: 'retryable' | 'permanent' }>): Promise<void> {
    const { telemetry, sender } = this.deps;
    telemetry.dropped(job.req.items, 'permanent_error', 'logs');
    this.permanentLog.log('error', { url: sender.url, status: o.status, reason: o.reason, message: o.message, items: job.req.items }, 'OTLP endpoint refused log records permanently; dropping them (not retried)');
    job.batch?.part(new ExportError(`${sender.url} refused the logs (${o.reason}): ${o.message}`, { retryable: false, status: o.status }));
    if (job.entry) {
      await this.deps.spool?.remove(job.entry);
      this.room.notify();
    }
    this.reportHealth();
  }

  private async exhausted(job: Job, o: Extract<SendOutcome, { kind: 'retryable' | 'permanent' }>): Promise<void> {
    if (await this.trySpool(job.req)) {
      job.batch?.part();
      return;
    }
    const { sender } = this.deps;
    // Handed back as retryable: the receiver decides (re-delivers, or counts the loss), so no `dropped` here.
    this.dropLog.log('error', { url: sender.url, reason: o.reason, status: o.status, items: job.req.items }, 'gave up retrying log records (retry_on_failure.max_elapsed_time); handed back to the receiver');
    job.batch?.part(new ExportError(`${sender.url} kept failing (${o.reason}); gave up retrying`, { retryable: true, status: o.status, retryAfterMs: o.retryAfterMs }));
  }

  /** A request that could not be finished before shutdown: spool it, or drop it (retryable for the receiver). */
  private async leftover(job: Job): Promise<void> {
    if (job.entry) {
      this.deps.spool?.release(job.entry);
      return;
    }
    if (await this.trySpool(job.req)) {
      job.batch?.part();
      return;
    }
    this.dropLog.log('warn', { url: this.deps.sender.url, items: job.req.items }, 'log records still queued at shutdown were not sent (no spool configured or it is full); handed back to the receiver');
    job.batch?.part(new ShuttingDownError('otlp_http'));
  }

  private reportHealth(): void {
    const spool = this.deps.spool;
    this.deps.health.set({
      ready: true,
      detail: this.consecutiveFailures > 0 ? `logs endpoint failing (${this.consecutiveFailures} attempts)` : undefined,
      facts: {
        logsQueueItems: this.queuedItems,
        logsSpoolBytes: spool ? spool.sizeBytes : null,
        logsSpoolItems: spool ? spool.items : null,
        logsConsecutiveFailures: this.consecutiveFailures,
        logsLastSuccessAgeSeconds: this.lastSuccessAt === 0 ? null : Math.round((Date.now() - this.lastSuccessAt) / 1000),
      },
    });
  }

  /**
   * Stops accepting, keeps sending what is queued for up to `drain_timeout` (or until the graph's
   * deadline, if sooner), then spools (or drops) the rest. Idempotent; safe without `start()`.
   */
  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopped ??= (async () => {
      const drainMs = Math.max(0, Math.min(this.deps.config.sending_queue.drain_timeout, (deadline?.at ?? Infinity) - Date.now()));
      this.closing = true;
      this.drainDeadline = Date.now() + drainMs;
      this.room.notify();
      this.work.notify();
      const timer = setTimeout(() => this.abort.abort(), drainMs);
      try {
        await Promise.all(this.workers);
      } finally {
        clearTimeout(timer);
      }
      // Without workers (never started) whatever was queued is left over.
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
        this.queuedItems -= job.req.items;
        await this.leftover(job);
      }
      this.deps.telemetry.queueSize(this.queuedItems);
      this.dropLog.reset();
    })();
    return this.stopped;
  }
}
