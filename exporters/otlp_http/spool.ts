/**
 * The on-disk spool: encoded OTLP request bodies, one file each, named
 * `<seq:12 digits>-<items>.<pb|json>[.gz]`, written to a temp file, fsynced, renamed, and the directory
 * fsynced — so a spooled request survives `kill -9` and power loss. Replayed oldest first. Bounded by
 * bytes; a `LOCK` file holding the owner's pid keeps two live agents out of one directory.
 */
import { open, readdir, readFile, rename, unlink, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EncodedRequest } from './sender.js';

/** One spooled request (its body stays on disk until read). */
export interface SpoolEntry {
  readonly file: string;
  readonly seq: number;
  readonly items: number;
  readonly format: EncodedRequest['format'];
  readonly gzip: boolean;
  readonly bytes: number;
}

const NAME = /^(\d{12})-(\d+)\.(pb|json)(\.gz)?$/;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A size-capped directory of spooled log requests. */
export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly logger: Logger;
  /** Entries not being sent, oldest first. */
  private readonly ready: SpoolEntry[] = [];
  private readonly busy = new Set<SpoolEntry>();
  private bytes = 0;
  private reserved = 0;
  private itemCount = 0;
  private nextSeq = 1;
  private locked = false;

  constructor(dir: string, maxBytes: number, logger: Logger) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.logger = logger;
  }

  /** Creates the directory, takes the lock, removes half-written files and indexes what is there. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.lock();
    const names = (await readdir(this.dir)).sort();
    let unknown = 0;
    for (const name of names) {
      if (name === 'LOCK') continue;
      if (name.endsWith('.tmp')) {
        await unlink(join(this.dir, name)).catch(() => undefined);
        continue;
      }
      const m = NAME.exec(name);
      if (!m) {
        unknown++;
        continue;
      }
      const size = (await stat(join(this.dir, name))).size;
      const entry: SpoolEntry = { file: name, seq: Number(m[1]), items: Number(m[2]), format: m[3] === 'pb' ? 'proto' : 'json', gzip: m[4] !== undefined, bytes: size };
      this.ready.push(entry);
      this.bytes += size;
      this.itemCount += entry.items;
      this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    }
    if (unknown > 0) this.logger.warn({ directory: this.dir, files: unknown }, 'spool directory holds files that are not spooled requests; leaving them alone');
    if (this.ready.length > 0) {
      this.logger.info({ directory: this.dir, requests: this.ready.length, items: this.itemCount, bytes: this.bytes }, 'replaying spooled log requests');
    }
  }

  private async lock(): Promise<void> {
    const file = join(this.dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(file, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        this.locked = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
          throw new Error(`spool directory ${this.dir} is in use by process ${pid}`);
        }
        // Stale lock from a process that died (e.g. kill -9): take it over.
        await unlink(file).catch(() => undefined);
      }
    }
    await writeFile(file, String(process.pid));
    this.locked = true;
  }

  /** Bytes on disk (including writes in progress). */
  get sizeBytes(): number {
    return this.bytes + this.reserved;
  }

  /** Log records spooled. */
  get items(): number {
    return this.itemCount;
  }

  /** Requests waiting to be sent (not counting those being sent). */
  get waiting(): number {
    return this.ready.length;
  }

  /** Whether any request is spooled (waiting or being sent). */
  get empty(): boolean {
    return this.ready.length === 0 && this.busy.size === 0;
  }

  /**
   * Durably stores `req` (fsync of file and directory). False when it does not fit; throws on I/O errors.
   * An oversize request is accepted into an empty spool, so nothing is unspoolable.
   */
  async append(req: EncodedRequest): Promise<boolean> {
    const size = req.body.length;
    if (this.bytes + this.reserved + size > this.maxBytes && !(this.bytes + this.reserved === 0)) return false;
    this.reserved += size;
    const seq = this.nextSeq++;
    const file = `${String(seq).padStart(12, '0')}-${req.items}.${req.format === 'proto' ? 'pb' : 'json'}${req.gzip ? '.gz' : ''}`;
    const tmp = join(this.dir, `${file}.tmp`);
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(req.body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, file));
      await fsyncDir(this.dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    } finally {
      this.reserved -= size;
    }
    const entry: SpoolEntry = { file, seq, items: req.items, format: req.format, gzip: req.gzip, bytes: size };
    this.ready.push(entry);
    this.bytes += size;
    this.itemCount += req.items;
    return true;
  }

  /** Takes the oldest waiting entry (it stays on disk until `remove`). */
  take(): SpoolEntry | undefined {
    const e = this.ready.shift();
    if (e) this.busy.add(e);
    return e;
  }

  /** Reads a taken entry's body; undefined (and the entry forgotten) when the file is gone or unreadable. */
  async read(entry: SpoolEntry): Promise<EncodedRequest | undefined> {
    try {
      const body = await readFile(join(this.dir, entry.file));
      return { signal: 'logs', body, format: entry.format, gzip: entry.gzip, items: entry.items };
    } catch (err) {
      this.logger.error({ file: entry.file, code: (err as NodeJS.ErrnoException).code }, 'cannot read a spooled request; skipping it');
      await this.remove(entry);
      return undefined;
    }
  }

  /** Deletes a delivered (or permanently refused) entry. */
  async remove(entry: SpoolEntry): Promise<void> {
    if (!this.busy.delete(entry)) return;
    this.bytes -= entry.bytes;
    this.itemCount -= entry.items;
    await unlink(join(this.dir, entry.file)).catch(() => undefined);
  }

  /** Puts a taken entry back (it will be sent again, in order). */
  release(entry: SpoolEntry): void {
    if (!this.busy.delete(entry)) return;
    let i = 0;
    while (i < this.ready.length && (this.ready[i] as SpoolEntry).seq < entry.seq) i++;
    this.ready.splice(i, 0, entry);
  }

  /** Releases the lock (the spooled files stay for the next start). */
  async close(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await unlink(join(this.dir, 'LOCK')).catch(() => undefined);
  }
}
