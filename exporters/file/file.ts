/**
 * The `file` exporter runtime: records (Tyk JSON lines or CSV) and logs (OTel-style JSON lines) appended
 * to a file or stdout. One write per batch, of its lines (never one string of the whole batch); delivery of a
 * batch settles when its bytes reached the file. A local failure (a record that cannot be serialised, the
 * disk, memory) is retryable, never permanent: only a destination can refuse data for good, and a file
 * never does.
 */
import { resolve } from 'node:path';
import type { BatchContext, ComponentContext, Exporter } from '../../src/component.js';
import type { LogsBatch, RecordBatch, Signal } from '../../src/model.js';
import { ExportError, ShuttingDownError, StartError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { FileConfig } from './config.js';
import { analyticsCsvRow, csvHeader, logsJsonLines, recordJsonLine, uptimeCsvRow } from './format.js';
import { TextSink } from './sink.js';

/** See the module comment. */
export class FileExporter implements Exporter {
  private readonly main: TextSink;
  private readonly uptime: TextSink | undefined;
  private readonly csv: boolean;
  private readonly burst: BurstLogger;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly ctx: ComponentContext, private readonly config: FileConfig) {
    this.csv = config.format === 'csv';
    const maxBytes = Math.round(config.rotation.max_megabytes * 1e6);
    const at = (p: string) => (p === '-' ? '-' : resolve(ctx.configDir, p));
    this.main = new TextSink({ path: at(config.path), maxBytes, maxBackups: config.rotation.max_backups, header: this.csv ? csvHeader('analytics') : '' });
    this.uptime = config.uptime_path === ''
      ? undefined
      : new TextSink({
        path: at(config.uptime_path),
        maxBytes: config.uptime_path === '-' ? 0 : maxBytes,
        maxBackups: config.rotation.max_backups,
        header: this.csv ? csvHeader('uptime') : '',
      });
    this.burst = new BurstLogger(ctx.logger);
  }

  async start(): Promise<void> {
    try {
      await this.main.open();
      await this.uptime?.open();
    } catch (err) {
      throw new StartError(this.ctx.id, `cannot open ${this.config.path}: ${(err as Error).message}`, { cause: err });
    }
    this.started = true;
    this.ctx.logger.info({ path: this.config.path, format: this.config.format }, 'writing to file');
  }

  async consumeRecords(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    if (this.stopping || !this.started) throw new ShuttingDownError(this.ctx.id);
    const main: string[] = [];
    const up: string[] = [];
    let skipped = 0;
    try {
      for (const r of batch) {
        if (r.kind === 'uptime') {
          if (this.uptime) up.push(this.csv ? uptimeCsvRow(r) : recordJsonLine(r));
          else if (this.csv) skipped++;
          else main.push(recordJsonLine(r));
        } else {
          main.push(this.csv ? analyticsCsvRow(r) : recordJsonLine(r));
        }
      }
    } catch (err) {
      // Out of memory, a string too long: local, so retryable (the records stay upstream).
      this.ctx.telemetry.sendFailed(batch.length, 'serialize_error', 'records');
      this.burst.log('error', { err, path: this.config.path }, 'could not serialise a batch; it is retried');
      throw new ExportError(`${this.ctx.id}: cannot serialise the batch: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    this.ctx.telemetry.accepted(batch.length, 'records');
    if (skipped > 0) this.ctx.telemetry.dropped(skipped, 'uptime_not_written', 'records');
    const writes: Promise<void>[] = [];
    if (main.length > 0) writes.push(this.write(this.main, main, main.length, 'records', bctx));
    if (up.length > 0 && this.uptime) writes.push(this.write(this.uptime, up, up.length, 'records', bctx));
    await Promise.all(writes);
  }

  async consumeLogs(batch: LogsBatch, bctx: BatchContext): Promise<void> {
    if (this.stopping || !this.started) throw new ShuttingDownError(this.ctx.id);
    // Config validation refuses csv for logs pipelines; this guards a hand-built graph.
    if (this.csv) throw new ExportError(`${this.ctx.id}: format csv cannot write logs; use format json`, { retryable: false });
    this.ctx.telemetry.accepted(batch.logs.length, 'logs');
    if (batch.logs.length === 0) return;
    let lines: string[];
    try {
      lines = logsJsonLines(batch);
    } catch (err) {
      this.ctx.telemetry.sendFailed(batch.logs.length, 'serialize_error', 'logs');
      throw new ExportError(`${this.ctx.id}: cannot serialise the batch: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    await this.write(this.main, lines, batch.logs.length, 'logs', bctx);
  }

  private async write(sink: TextSink, text: string | readonly string[], count: number, signal: Signal, bctx: BatchContext): Promise<void> {
    const settle = bctx.defer();
    try {
      await sink.write(text, (err) => {
        if (err) {
          this.ctx.telemetry.sendFailed(count, 'write_error', signal);
          this.burst.log('error', { err, path: this.config.path }, 'file write failed');
          settle(new ExportError(`${this.ctx.id}: write failed: ${err.message}`, { retryable: true, cause: err }));
        } else {
          this.ctx.telemetry.sent(count, signal);
          settle();
        }
      });
    } catch (err) {
      this.ctx.telemetry.sendFailed(count, 'open_error', signal);
      this.burst.log('error', { err, path: this.config.path }, 'file cannot be opened');
      // Any local failure is retryable (the sink's own errors already are).
      const e = err instanceof ExportError ? err : new ExportError(`${this.ctx.id}: write failed: ${(err as Error).message}`, { retryable: true, cause: err });
      settle(e);
      throw e;
    }
  }

  shutdown(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      await this.main.close();
      await this.uptime?.close();
    })();
    return this.stopped;
  }
}
