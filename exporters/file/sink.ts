/**
 * An append-only text sink for the `file` exporter: a file (size-rotated, numbered backups) or stdout.
 * Writes are serialised (one batch after the other, so rotation never splits a batch), each batch is one
 * `write()` call of its lines, written in segments of at most `SEGMENT_CHARS` (never one string of the
 * whole batch: a batch of large records would pass V8's string length limit), and each segment waits
 * until the stream has room again (`drain`), so a slow disk slows the pipeline instead of growing memory. The per-write callback tells when the bytes reached the
 * file descriptor.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExportError } from '../../src/errors.js';

/** Options of a {@link TextSink}. */
export interface SinkOptions {
  /** Absolute file path, or `-` for stdout. */
  readonly path: string;
  /** Rotate before a write would make the file larger than this; 0 = never. */
  readonly maxBytes: number;
  /** Rotated files kept (`path.1` newest … `path.N`). */
  readonly maxBackups: number;
  /** Written first into every new (empty) file, e.g. a CSV header; '' for none. */
  readonly header: string;
}

/** Largest piece of a batch handed to the stream at once (characters). */
export const SEGMENT_CHARS = 1 << 20;

/** Called once a batch reached the file descriptor, or failed to. */
export type Written = (error?: Error | null) => void;

/** See the module comment. */
export class TextSink {
  private stream: WriteStream | NodeJS.WriteStream | undefined;
  private size = 0;
  private failure: Error | undefined;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  /** Number of rotations done (for tests and logs). */
  rotations = 0;

  constructor(private readonly opts: SinkOptions) {}

  get isStdout(): boolean {
    return this.opts.path === '-';
  }

  /** Opens the file (creating its directory) or attaches to stdout. */
  async open(): Promise<void> {
    if (this.isStdout) {
      this.stream = process.stdout;
      return;
    }
    await mkdir(dirname(this.opts.path), { recursive: true });
    let size = 0;
    try {
      size = (await stat(this.opts.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const stream = createWriteStream(this.opts.path, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    stream.on('error', (err) => {
      this.failure = err;
    });
    this.failure = undefined;
    this.stream = stream;
    this.size = size;
  }

  /**
   * Appends one batch: its text, or its lines. Resolves once the stream accepted it and has room for
   * more; `written` is called when it reached the file (or failed). Rejects with a retryable
   * `ExportError` when the file cannot be (re)opened.
   */
  write(text: string | readonly string[], written: Written): Promise<void> {
    const run = this.tail.then(() => this.doWrite(typeof text === 'string' ? [text] : text, written));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async doWrite(lines: readonly string[], written: Written): Promise<void> {
    if (this.closed) throw new ExportError(`${this.opts.path}: sink is closed`, { retryable: true });
    if (!this.isStdout && (this.failure || !this.stream)) {
      const before = this.failure;
      try {
        this.stream?.destroy();
        await this.open();
      } catch (err) {
        throw new ExportError(`cannot open ${this.opts.path}: ${(err as Error).message}`, { retryable: true, cause: before ?? err });
      }
    }
    let bytes = 0;
    for (const l of lines) bytes += Buffer.byteLength(l);
    if (this.opts.maxBytes > 0 && this.size > 0 && this.size + bytes > this.opts.maxBytes) await this.rotate();
    const header = this.size === 0 ? this.opts.header : '';
    const stream = this.stream as WriteStream;
    this.size += bytes + Buffer.byteLength(header);
    let segment = header;
    for (let i = 0; i < lines.length; i++) {
      segment += lines[i] as string;
      const last = i === lines.length - 1;
      if (!last && segment.length < SEGMENT_CHARS) continue;
      // Writes complete in order: the last segment's callback reports the batch (an earlier failure
      // fails every later write of the stream too).
      const room = last ? stream.write(segment, written) : stream.write(segment);
      segment = '';
      if (!room) await this.drained(stream);
    }
    if (lines.length === 0 && header !== '') {
      if (!stream.write(header, written)) await this.drained(stream);
    } else if (lines.length === 0) {
      written();
    }
  }

  /** Resolves once the stream has room again (or failed/closed: the write callback reports that). */
  private drained(stream: WriteStream): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
  }

  private async rotate(): Promise<void> {
    const path = this.opts.path;
    await this.end();
    const keep = this.opts.maxBackups;
    if (keep === 0) {
      await unlink(path).catch(() => undefined);
    } else {
      for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => undefined);
      await rename(path, `${path}.1`);
    }
    this.rotations++;
    await this.open();
  }

  private async end(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream || stream === process.stdout) return;
    const ws = stream as WriteStream;
    if (ws.destroyed) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.end();
    });
  }

  /** Waits for every accepted batch to reach the file, then closes it (stdout stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.tail;
    this.closed = true;
    if (this.isStdout) {
      // Every earlier write has called back once this empty write does (writes complete in order).
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      this.stream = undefined;
      return;
    }
    await this.end();
  }
}
