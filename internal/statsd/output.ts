/**
 * The lifecycle both StatsD exporters (`dogstatsd`, `statsd`) share: one datagram sender and line packer,
 * the flush timer, start/shutdown state, the per-record dispatch loop with backpressure, and the
 * once-per-burst warnings for a dropped long line or an emptied cache. What each exporter writes on the
 * wire — names, tags, which counters — stays in the exporter; this is everything around it.
 *
 * Start/Shutdown follow the OpenTelemetry Collector's exporter contract (start once, shutdown idempotent,
 * shutdown without start), as `src/component.ts` writes it down.
 */
import type { ComponentContext } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch, UptimeRecord } from '../../src/model.js';
import { ShuttingDownError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { StatsdEndpoint } from './endpoint.js';
import { LinePacker } from './packer.js';
import { DatagramSender } from './sender.js';

/** What a StatsD exporter tells its {@link StatsdOutput}. */
export interface StatsdOutputOptions {
  /** The exporter's context: logger, telemetry, health. */
  readonly ctx: ComponentContext;
  readonly endpoint: StatsdEndpoint;
  /** Largest datagram; a longer line is dropped and counted (`line_too_long`). */
  readonly maxPacketBytes: number;
  /** How long a partial datagram and the summed counters may wait. */
  readonly flushIntervalMs: number;
  /** The exporter's name at the head of its log lines (`dogstatsd`, `statsd`). */
  readonly label: string;
  /** The advice in the warning about a line longer than `maxPacketBytes`. */
  readonly tooLongAdvice: string;
  /** The warning when a cache of tag sets or names was full and emptied. */
  readonly cacheEmptiedMessage: string;
  /** The cache limit the warning names. */
  readonly cacheLimit: number;
  /** Turns the counters summed since the last flush into lines (through {@link StatsdOutput.add}) and zeroes them. */
  readonly flushCounters: () => void;
}

/** Where a record goes, by kind; an absent handler skips that kind (the exporter's `network`/`uptime` switches). */
export interface RecordHandlers {
  readonly http: (r: AnalyticsRecord) => void;
  readonly network: ((r: AnalyticsRecord) => void) | undefined;
  readonly uptime: ((r: UptimeRecord) => void) | undefined;
}

/** A StatsD exporter's datagram output and lifecycle. */
export class StatsdOutput {
  /** The socket side: sent/dropped accounting and backpressure. */
  readonly sender: DatagramSender;
  /** Once-per-burst warnings of the exporter (summarised at shutdown). */
  readonly burst: BurstLogger;
  private readonly packer: LinePacker;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: StatsdOutputOptions) {
    this.sender = new DatagramSender({ endpoint: options.endpoint, ctx: options.ctx });
    this.packer = new LinePacker(options.maxPacketBytes, (payload, lines, bytes) => this.sender.send(payload, lines, bytes));
    this.burst = new BurstLogger(options.ctx.logger);
  }

  /** Opens the socket and starts the flush timer. False (nothing done) when started before or shutting down. */
  start(): boolean {
    if (this.started || this.stopping) return false;
    this.started = true;
    this.sender.open();
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
    return true;
  }

  /** Whether shutdown has begun. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Throws {@link ShuttingDownError} unless started and not shutting down: the first line of every consume. */
  checkAccepting(): void {
    if (this.stopping || !this.started) throw new ShuttingDownError(this.options.ctx.id);
  }

  /**
   * Hands every record of `batch` to its handler, yielding to the sender whenever it is congested, and
   * counts the batch as accepted.
   */
  async consumeRecords(batch: RecordBatch, handlers: RecordHandlers): Promise<void> {
    this.checkAccepting();
    this.options.ctx.telemetry.accepted(batch.length, 'records');
    const { http, network, uptime } = handlers;
    const sender = this.sender;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as (typeof batch)[number];
      if (r.kind === 'http') http(r);
      else if (r.kind === 'uptime') { if (uptime) uptime(r); }
      else if (network) network(r);
      if (sender.congested) await sender.relieve();
    }
  }

  /** Adds a line of `bytes` UTF-8 bytes to the current datagram; a line longer than a datagram is dropped and counted. */
  add(line: string, bytes: number): void {
    if (!this.packer.add(line, bytes)) this.tooLong(bytes);
  }

  /** Sends the summed counters and the partial datagram now. */
  flush(): void {
    this.options.flushCounters();
    this.packer.flush();
  }

  /** Sends the counters of a full cache, then logs (once per burst) that it is emptied; the caller clears it. */
  cacheFull(): void {
    this.options.flushCounters();
    this.burst.log('warn', { limit: this.options.cacheLimit }, this.options.cacheEmptiedMessage);
  }

  /**
   * Stops the timer, sends what is left, closes the socket, then runs `afterClose` (the exporter's own
   * teardown, e.g. dd-trace's last spans) and logs the burst summary. Idempotent; safe without start.
   */
  shutdown(afterClose?: () => Promise<void>): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      this.flush();
      await this.sender.close();
      if (afterClose) await afterClose();
      if (this.burst.pending > 0) this.options.ctx.logger.warn({ suppressed: this.burst.pending }, `${this.options.label}: lines dropped (summary at shutdown)`);
    })();
    return this.stopped;
  }

  private tooLong(bytes: number): void {
    this.options.ctx.telemetry.dropped(1, 'line_too_long');
    this.burst.log('warn', { bytes, maxPacketBytes: this.options.maxPacketBytes }, `${this.options.label} line longer than max_packet_bytes dropped (${this.options.tooLongAdvice})`);
  }
}
