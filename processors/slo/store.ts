/**
 * The `slo` processor's shared state in Redis: good/bad counts per SLO per minute (by record timestamp),
 * with hour and day rollups so that a 30-day window is read from ~15 small hashes instead of 43 200
 * minute fields.
 *
 * Key layout, per SLO (`<base>` = `<key_prefix>tyk-otel-pump:slo:<name>:<counting hash>:`, in Redis Cluster
 * `{<key_prefix>tyk-otel-pump:slo}:<name>:<counting hash>:` so that every key of the store shares one hash
 * slot and a batch stays one MULTI; minutes, hours and days are counted from the Unix epoch in UTC):
 *
 * | key | fields | holds |
 * |---|---|---|
 * | `<base>m:<hour>` | `t<minute of hour>`, `b<minute of hour>` | requests / bad requests per minute (≤ 120 fields) |
 * | `<base>h:<day>` | `t<hour of day>`, `b<hour of day>` | per hour (≤ 48 fields) |
 * | `<base>d:<day / 32>` | `t<day % 32>`, `b<day % 32>` | per day (≤ 64 fields) |
 *
 * A batch adds to all three levels in one MULTI (atomic: either the whole batch counts or none of it),
 * and refreshes each key's TTL to the SLO period + 2 days. A window `[first, last]` of minutes is cut into
 * whole days, whole hours and single minutes at its two ends; the hashes those pieces live in are read with
 * one pipelined HGETALL each (shared by every window of every SLO in one evaluation).
 */
import type { Slo } from '../../src/slo/definition.js';
import type { RedisClient } from '../../internal/redis/connection.js';

/** Requests and bad requests. */
export interface Counts {
  total: number;
  bad: number;
}

const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 1440;
const DAYS_PER_BLOCK = 32;

/** One piece of a window: a whole day, a whole hour or a single minute (epoch indexes). */
export interface WindowPiece {
  readonly level: 'm' | 'h' | 'd';
  /** Minute, hour or day index since the epoch. */
  readonly index: number;
}

/**
 * Cuts the inclusive minute range `[first, last]` into the fewest pieces: whole UTC days, whole hours, and
 * single minutes (at most 59 + 23 at each end).
 */
export function decompose(first: number, last: number): WindowPiece[] {
  const out: WindowPiece[] = [];
  let m = first;
  while (m <= last) {
    if (m % MINUTES_PER_DAY === 0 && m + MINUTES_PER_DAY - 1 <= last) {
      out.push({ level: 'd', index: m / MINUTES_PER_DAY });
      m += MINUTES_PER_DAY;
    } else if (m % MINUTES_PER_HOUR === 0 && m + MINUTES_PER_HOUR - 1 <= last) {
      out.push({ level: 'h', index: m / MINUTES_PER_HOUR });
      m += MINUTES_PER_HOUR;
    } else {
      out.push({ level: 'm', index: m });
      m += 1;
    }
  }
  return out;
}

/** The hash key suffix and field of a piece. */
export function pieceLocation(p: WindowPiece): { key: string; field: string } {
  switch (p.level) {
    case 'm':
      return { key: `m:${Math.floor(p.index / MINUTES_PER_HOUR)}`, field: String(p.index % MINUTES_PER_HOUR) };
    case 'h':
      return { key: `h:${Math.floor(p.index / 24)}`, field: String(p.index % 24) };
    case 'd':
      return { key: `d:${Math.floor(p.index / DAYS_PER_BLOCK)}`, field: String(p.index % DAYS_PER_BLOCK) };
  }
}

/** Counts of one batch: per SLO, per minute. */
export type Increments = ReadonlyMap<Slo, ReadonlyMap<number, Counts>>;

/** A window to sum: inclusive epoch-minute range. */
export interface MinuteRange {
  readonly first: number;
  readonly last: number;
}

/** Reads and writes the per-minute counts of SLOs in Redis. */
export class SloStore {
  private readonly root: string;

  /**
   * @param redis a standalone, Sentinel or Cluster client.
   * @param keyPrefix the configured `key_prefix`.
   * @param cluster whether `redis` is a Cluster: then every key carries one hash tag (one slot), because a
   *   MULTI or a pipeline may only touch keys of one slot there.
   */
  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    cluster = false,
  ) {
    this.root = cluster ? `{${keyPrefix}tyk-otel-pump:slo}:` : `${keyPrefix}tyk-otel-pump:slo:`;
  }

  /** The key prefix of one SLO's state. */
  base(slo: Slo): string {
    return `${this.root}${slo.name}:${slo.countingHash}:`;
  }

  /** Adds one batch's counts atomically (one MULTI/EXEC round trip). Resolves once Redis applied them. */
  async add(increments: Increments): Promise<void> {
    const multi = this.redis.multi();
    let commands = 0;
    for (const [slo, minutes] of increments) {
      const base = this.base(slo);
      const ttl = (slo.periodDays + 2) * 86_400;
      // Roll minutes up to hours and days first, so each level gets one HINCRBY per field.
      const levels: Map<string, Map<string, number>> = new Map();
      const bump = (key: string, field: string, n: number) => {
        if (n === 0) return;
        let fields = levels.get(key);
        if (!fields) levels.set(key, (fields = new Map()));
        fields.set(field, (fields.get(field) ?? 0) + n);
      };
      for (const [minute, c] of minutes) {
        for (const p of [
          { level: 'm', index: minute },
          { level: 'h', index: Math.floor(minute / MINUTES_PER_HOUR) },
          { level: 'd', index: Math.floor(minute / MINUTES_PER_DAY) },
        ] as const) {
          const { key, field } = pieceLocation(p);
          bump(key, `t${field}`, c.total);
          bump(key, `b${field}`, c.bad);
        }
      }
      for (const [key, fields] of levels) {
        for (const [field, n] of fields) {
          multi.hincrby(base + key, field, n);
          commands++;
        }
        multi.expire(base + key, ttl);
      }
    }
    if (commands === 0) return;
    const results = await multi.exec();
    if (results === null) throw new Error('the MULTI transaction was aborted');
    for (const [err] of results) if (err) throw err;
  }

  /**
   * Sums the counts of each SLO over each of its ranges: one pipelined HGETALL per distinct hash.
   * Returns `sums[i][j]` for `requests[i].ranges[j]`, and how many hashes were read.
   */
  async sums(requests: readonly { readonly slo: Slo; readonly ranges: readonly MinuteRange[] }[]): Promise<{ sums: Counts[][]; hashesRead: number }> {
    const plans = requests.map(({ slo, ranges }) => ({
      base: this.base(slo),
      pieces: ranges.map((r) => decompose(r.first, r.last).map(pieceLocation)),
    }));
    const keys = new Set<string>();
    for (const plan of plans) for (const pieces of plan.pieces) for (const p of pieces) keys.add(plan.base + p.key);
    const keyList = [...keys];
    const pipeline = this.redis.pipeline();
    for (const k of keyList) pipeline.hgetall(k);
    const results = keyList.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const hashes = new Map<string, Record<string, string>>();
    keyList.forEach((k, i) => {
      const [err, value] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      hashes.set(k, (value ?? {}) as Record<string, string>);
    });
    const sums = plans.map((plan) =>
      plan.pieces.map((pieces) => {
        const c: Counts = { total: 0, bad: 0 };
        for (const p of pieces) {
          const h = hashes.get(plan.base + p.key);
          if (!h) continue;
          c.total += Number(h[`t${p.field}`] ?? 0);
          c.bad += Number(h[`b${p.field}`] ?? 0);
        }
        return c;
      }),
    );
    return { sums, hashesRead: keyList.length };
  }
}
