/**
 * How the HTTP server sends metrics bodies: a rendering's chunks as they are produced, shared by every
 * scrape that joins it (single flight), gzipped once for those that ask, and written round-robin over the
 * responses in bounded turns. See `http-server.ts` for the routes and `MetricsSource`.
 */
import type { ServerResponse } from 'node:http';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * gzip level of scrapes. Level 1 compresses a 19 MB scrape (4 000 histogram series) to 0.60 MB in about a
 * quarter of the CPU time of zlib's default level 6 (0.46 MB): the scrape's time is what matters on a host
 * that is also draining, not 140 kB on the wire (see `BENCHMARKS.md`, "Scrape").
 */
const GZIP_LEVEL = 1;

/** A body being produced: its chunks so far, and whether it ended or failed. Readers wait for more. */
export class ChunkList {
  readonly chunks: Buffer[] = [];
  ended = false;
  error: Error | undefined;
  private waiting: (() => void)[] = [];

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(err: Error): void {
    this.error ??= err;
    this.wake();
  }

  /** Calls `fn` once when there is more: a chunk, the end or a failure. */
  onMore(fn: () => void): void {
    this.waiting.push(fn);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const fn of w) fn();
  }
}

/**
 * One rendering of a metrics path, shared by the scrapes that ask while it runs (single flight): its plain
 * chunks, and one gzip stream of them started by the first scrape that asks for gzip. Plain chunks are
 * kept only while a plain reader may need them: when only gzip readers are there (Prometheus always asks
 * for gzip) they go straight into gzip and are dropped; a plain scrape arriving after that starts a
 * rendering of its own.
 */
export class Rendering {
  readonly plain = new ChunkList();
  private plainReaders = 0;
  /** False once a chunk was not kept (no plain reader then): `plain` no longer holds the whole body. */
  private plainWhole = true;
  private gzipped: ChunkList | undefined;
  private gzip: Gzip | undefined;

  /** The plain body, or undefined when this rendering can no longer serve it whole. */
  joinPlain(): ChunkList | undefined {
    if (!this.plainWhole) return undefined;
    this.plainReaders++;
    return this.plain;
  }

  /** The gzipped body (its gzip stream starts with the first reader). */
  joinGzip(): ChunkList {
    if (this.gzipped === undefined) {
      const out = new ChunkList();
      const gzip = createGzip({ level: GZIP_LEVEL, chunkSize: 64 * 1024 });
      gzip.on('data', (c: Buffer) => out.push(c));
      gzip.on('end', () => out.end());
      gzip.on('error', (err) => out.fail(err));
      for (const c of this.plain.chunks) gzip.write(c);
      if (this.plain.ended) gzip.end();
      if (this.plain.error) {
        out.fail(this.plain.error);
        gzip.destroy();
      }
      this.gzipped = out;
      this.gzip = gzip;
    }
    return this.gzipped;
  }

  add(chunk: Buffer): void {
    this.gzip?.write(chunk);
    if (this.plainReaders > 0 || this.gzip === undefined) this.plain.push(chunk);
    else this.plainWhole = false;
  }

  end(): void {
    this.plain.end();
    this.gzip?.end();
  }

  fail(err: Error): void {
    this.plain.fail(err);
    this.gzipped?.fail(err);
    this.gzip?.destroy();
  }
}

/**
 * Writes bodies to many responses without filling one turn of the event loop: every turn hands at most
 * `turnBytes` to the sockets, round-robin over the responses, one chunk each; a response whose socket is
 * full waits for `drain` outside the rotation, and one that has sent every chunk rendered so far waits for
 * the next. Headers go out with the first chunk (or the end), so a source failing before it produced
 * anything still gets a 500.
 */
export class BodyWriter {
  private readonly queue: { res: ServerResponse; body: ChunkList; at: number; head: Record<string, string>; done: (err?: Error) => void }[] = [];
  private scheduled = false;

  constructor(private readonly turnBytes = 1024 * 1024) {}

  /**
   * Resolves once `body` was handed to `res` and the response ended (or the client went away); with the
   * body's error if it failed (then `res` is left to the caller).
   */
  write(res: ServerResponse, body: ChunkList, head: Record<string, string>): Promise<Error | undefined> {
    return new Promise((done) => {
      this.queue.push({ res, body, at: 0, head, done });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    let budget = this.turnBytes;
    while (budget > 0 && this.queue.length > 0) {
      const job = this.queue.shift() as (typeof this.queue)[number];
      const { res, body } = job;
      if (res.destroyed) {
        job.done();
        continue;
      }
      if (body.error) {
        job.done(body.error);
        continue;
      }
      if (job.at >= body.chunks.length) {
        if (body.ended) {
          if (!res.headersSent) res.writeHead(200, job.head);
          res.end();
          job.done();
        } else {
          body.onMore(() => {
            this.queue.push(job);
            this.schedule();
          });
        }
        continue;
      }
      if (!res.headersSent) res.writeHead(200, job.head);
      const chunk = body.chunks[job.at++] as Buffer;
      const more = res.write(chunk);
      budget -= chunk.length;
      if (more) {
        this.queue.push(job);
      } else {
        const resume = (): void => {
          res.off('drain', resume);
          res.off('close', resume);
          this.queue.push(job);
          this.schedule();
        };
        res.on('drain', resume);
        res.on('close', resume);
      }
    }
    this.schedule();
  }
}
