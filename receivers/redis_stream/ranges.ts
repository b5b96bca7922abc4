/**
 * The identity of a read across re-claims. An exporter that must not apply a chunk twice (the SQL
 * exporters, `internal/postgres/once.ts`) keys its writes by `ctx.chunkId`; when a consumer dies after
 * such a write but before its `XACK`, the peer that claims the entries must hand them over as the same
 * chunk with the same id, or the rows are written twice. `XAUTOCLAIM … COUNT` cuts the dead consumer's
 * pending entries wherever its count ends, and a consumer re-reading its own pending entries after a
 * restart cuts them by its page size: neither knows where the original reads began and ended.
 *
 * So every read is registered (a hash `<stream>:reads:<group>`, field = first entry id, value = last
 * entry id) before it is delivered, and whoever later holds entries of a registered read (a peer's claim,
 * the consumer's own restart) splits what it holds at the registered boundaries, claiming on until the
 * last read it holds is complete. The chunk id is derived from the exact set of entry ids of the batch
 * (first id, count, and a hash of all ids), so two batches share an id only when they hold the same
 * entries: a batch that could not be rebuilt exactly (entries of it trimmed meanwhile, a racing claimer
 * took part of it) gets an id of its own and is written again — a bounded duplicate, never a loss (the same
 * id over different records would make the exporter skip records it never wrote).
 *
 * The hash is touched by plain commands, outside the stream's Lua scripts: on a Redis Cluster it may live
 * in another slot than the stream. A read whose registration was lost (a crash in between) is simply cut
 * by count again. A field is deleted once its read is acknowledged; fields left behind by a crash are
 * pruned once no entry at or before their end is pending in the group any more.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../internal/redis/connection.js';
import type { RawEntry } from './entries.js';

/** A registered read: entries `first`..`last` of the stream (inclusive), as one XREADGROUP delivered them. */
export interface ReadRange {
  readonly first: string;
  readonly last: string;
}

/** A stream id as two numbers (ms, seq). */
function parse(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** Orders stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am, as] = parse(a);
  const [bm, bs] = parse(b);
  return am !== bm ? am - bm : as - bs;
}

/** The chunk id of a batch of entries: `<stream>:<first id>+<count>:<hash of every id>`. */
export function chunkIdOf(stream: string, ids: readonly string[]): string {
  if (ids.length === 0) return `${stream}:empty`;
  const h = createHash('sha1');
  for (const id of ids) h.update(id).update(',');
  return `${stream}:${ids[0]}+${ids.length}:${h.digest('hex').slice(0, 16)}`;
}

/** A part of what a consumer holds, to be handed over as one batch. */
export interface EntryGroup {
  readonly entries: RawEntry[];
  /** The registered read these entries belong to; undefined when they were never registered (they are now). */
  readonly range: ReadRange | undefined;
}

/** The registered reads of one group, sorted by first id. */
export class ReadRanges {
  constructor(
    private readonly client: RedisClient,
    /** `<stream>:reads:<group>`. */
    readonly key: string,
  ) {}

  /** Registers a read; resolves once Redis has it (a failure only costs the exact identity on re-claim). */
  async register(r: ReadRange): Promise<void> {
    await this.client.hset(this.key, r.first, r.last);
  }

  /** Forgets an acknowledged read. */
  async forget(first: string): Promise<void> {
    await this.client.hdel(this.key, first);
  }

  /** Every registered read, sorted by first id. */
  async load(): Promise<ReadRange[]> {
    const all = await this.client.hgetall(this.key);
    return Object.entries(all).map(([first, last]) => ({ first, last })).sort((a, b) => compareIds(a.first, b.first));
  }

  /**
   * Deletes reads no entry of which can be pending any more: ending before the group's oldest pending
   * entry, or (nothing pending) at or before its last delivered id. Returns how many went.
   */
  async prune(stream: string, group: string): Promise<number> {
    const groups = (await this.client.call('XINFO', 'GROUPS', stream)) as unknown[][];
    let lastDelivered: string | undefined;
    for (const flat of groups) {
      const g = new Map<string, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) g.set(String(flat[i]), flat[i + 1]);
      if (g.get('name') === group) lastDelivered = String(g.get('last-delivered-id'));
    }
    if (lastDelivered === undefined) return 0;
    // Read after the group's last delivered id: a read registered meanwhile ends after that id, so it stays.
    const summary = (await this.client.call('XPENDING', stream, group)) as [number, string | null, string | null, unknown];
    const oldest = Number(summary[0]) > 0 ? summary[1] : null;
    const dead = (await this.load()).filter((r) => (oldest !== null ? compareIds(r.last, oldest) < 0 : compareIds(r.last, lastDelivered as string) <= 0));
    if (dead.length === 0) return 0;
    return this.client.hdel(this.key, ...dead.map((r) => r.first));
  }
}

/** The registered read holding `id`, if any (`ranges` sorted by first id). */
export function rangeOf(ranges: readonly ReadRange[], id: string): ReadRange | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  let found: ReadRange | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid] as ReadRange;
    if (compareIds(r.first, id) <= 0) {
      found = r;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found && compareIds(id, found.last) <= 0 ? found : undefined;
}

/**
 * Splits held entries (in id order) at the registered boundaries; runs of entries outside any registered
 * read are cut every `count` entries (and become reads of their own when registered by the caller).
 */
export function splitByRanges(entries: readonly RawEntry[], ranges: readonly ReadRange[], count: number): EntryGroup[] {
  const out: { entries: RawEntry[]; range: ReadRange | undefined }[] = [];
  let current: { entries: RawEntry[]; range: ReadRange | undefined } | undefined;
  for (const e of entries) {
    const range = rangeOf(ranges, e[0].toString());
    if (!current || current.range !== range || (range === undefined && current.entries.length >= count)) {
      current = { entries: [], range };
      out.push(current);
    }
    current.entries.push(e);
  }
  return out;
}

/** Whether the last held entry ends its registered read (or belongs to none): the held entries can be split without cutting a read. */
export function endsARead(entries: readonly RawEntry[], ranges: readonly ReadRange[]): boolean {
  const last = entries[entries.length - 1];
  if (!last) return true;
  const id = last[0].toString();
  const r = rangeOf(ranges, id);
  return r === undefined || compareIds(id, r.last) >= 0;
}
