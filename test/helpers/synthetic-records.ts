/**
 * Unique synthetic analytics records in the gateway's msgpack wire form (Go field names as keys,
 * `TimeStamp` as `[seconds, nanoseconds]`, missing keys left to their zero values as the Go decoder does),
 * for volume tests that must tell every record apart: record `i` has path `/orders/<i>`.
 */
import { Packr } from 'msgpackr';
import type { TestRedis } from './redis.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** The msgpack bytes of record `i` (status cycles through 200/201/404/503). */
export function syntheticRecord(i: number, nowSec = Math.floor(Date.now() / 1000)): Buffer {
  const status = [200, 201, 404, 503][i % 4] as number;
  return packr.pack({
    Method: i % 3 === 0 ? 'POST' : 'GET', Host: 'upstream.internal:8080', Path: `/orders/${i}`, RawPath: `/orders/${i}`,
    ContentLength: 0, UserAgent: 'load/1.0', ResponseCode: status, APIKey: '', TimeStamp: [nowSec, i % 1_000_000_000],
    APIVersion: 'v1', APIName: 'Orders API', APIID: 'orders', OrgID: 'org-1', OauthID: '', RequestTime: 10 + (i % 50),
    RawRequest: '', RawResponse: '', IPAddress: '203.0.113.7', Latency: { Total: 10 + (i % 50), Upstream: 8 + (i % 50), Gateway: 2 },
    Tags: null, Alias: '', TrackPath: false,
  });
}

/** The record index from a log's `url.path` (`/orders/<i>`), or -1. */
export function syntheticIndex(path: unknown): number {
  const m = /^\/orders\/(\d+)$/.exec(String(path));
  return m ? Number(m[1]) : -1;
}

/** RPUSHes records 0…n-1 to the gateway's analytics list under `redis.prefix`; returns the list's key. */
export async function pushSyntheticRecords(redis: TestRedis, n: number): Promise<string> {
  const key = `${redis.prefix}analytics-tyk-system-analytics`;
  await redis.push(key, Array.from({ length: n }, (_, i) => syntheticRecord(i)));
  return key;
}

/**
 * The head of a config whose `tyk_redis` receiver reads, at-least-once, the list {@link pushSyntheticRecords}
 * fills: `receivers:` down to `delivery: at_least_once`; the test adds its own receiver keys after it
 * (indented four spaces), then the rest of the config.
 */
export function syntheticReceiverYaml(redis: TestRedis): string {
  return `receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    delivery: at_least_once`;
}

/** How many times each record index arrived, from the logs' `url.path` (index -1: a log that is none of ours). */
export function deliveredIndexes(logs: Iterable<{ readonly attributes: Readonly<Record<string, unknown>> }>): Map<number, number> {
  const seen = new Map<number, number>();
  for (const l of logs) {
    const i = syntheticIndex(l.attributes['url.path']);
    seen.set(i, (seen.get(i) ?? 0) + 1);
  }
  return seen;
}

/** Deliveries beyond the first of each record. */
export function duplicatesOf(seen: ReadonlyMap<number, number>): number {
  let n = 0;
  for (const times of seen.values()) n += times - 1;
  return n;
}
