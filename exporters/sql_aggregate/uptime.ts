/**
 * Tyk's uptime aggregation (tyk-pump `analytics/uptime_data.go` `AggregateUptimeData`): one aggregate per
 * org per chunk, always hourly, bucketed by the org's first record; dimensions `url`, `errors` (codes ≥ 400)
 * and the total. Unlike REST, 2xx codes also go into the error map, so `code_200` etc. are filled.
 * No latencies; `tcp_error`/`server_error` are not aggregated; a `-1` check only creates an empty `url`
 * counter.
 */
import type { UptimeRecord } from '../../src/model.js';
import { bucketStartSeconds, GO_ZERO_TIME_MS } from '../../internal/postgres/zone.js';
import { zeroCounter, type Counter, type Dimension } from './aggregate.js';

/** One org's uptime aggregate of one chunk. */
export interface UptimeAggregate {
  readonly orgId: string;
  readonly bucket: number;
  readonly url: Map<string, Counter>;
  readonly errors: Map<string, Counter>;
  readonly total: Counter;
}

function unit(b: Counter, c: Counter | undefined): Counter {
  if (c === undefined) return { ...b, errorMap: new Map(b.errorMap) };
  c.hits += b.hits;
  c.success += b.success;
  c.errorTotal += b.errorTotal;
  for (const [k, v] of b.errorMap) c.errorMap.set(k, (c.errorMap.get(k) ?? 0) + v);
  c.totalRequestTime += b.totalRequestTime;
  c.requestTime = c.totalRequestTime / c.hits;
  return c;
}

/** Aggregates uptime records (org "" skipped) in `zone`; `exactBuckets` as for REST. */
export function aggregateUptime(records: readonly UptimeRecord[], zone: string, exactBuckets: boolean): UptimeAggregate[] {
  const byKey = new Map<string, UptimeAggregate>();
  for (const r of records) {
    if (r.orgId === '') continue;
    const bucketOfRecord = () => bucketStartSeconds(r.timestampMs ?? GO_ZERO_TIME_MS, zone, false);
    const bucket = exactBuckets ? bucketOfRecord() : undefined;
    const key = bucket === undefined ? r.orgId : `${bucket}\u0000${r.orgId}`;
    let a = byKey.get(key);
    if (a === undefined) {
      a = { orgId: r.orgId, bucket: bucket ?? bucketOfRecord(), url: new Map(), errors: new Map(), total: zeroCounter() };
      byKey.set(key, a);
    }
    if (r.responseCode === -1) {
      if (r.url !== '' && !a.url.has(r.url)) a.url.set(r.url, { ...zeroCounter(), identifier: r.url });
      continue;
    }
    const t = a.total;
    const code = String(r.responseCode);
    const counter: Counter = {
      ...zeroCounter(), hits: 1, requestTime: r.requestTime, totalRequestTime: r.requestTime, lastTimeMs: r.timestampMs, lastTimeNs: r.timestampNs,
    };
    t.hits++;
    t.totalRequestTime += r.requestTime;
    t.requestTime = t.totalRequestTime / t.hits;
    if (r.responseCode >= 400) {
      counter.errorTotal = 1;
      counter.errorMap.set(code, 1);
      t.errorTotal++;
      t.errorMap.set(code, (t.errorMap.get(code) ?? 0) + 1);
    }
    if (r.responseCode >= 200 && r.responseCode < 300) {
      counter.success = 1;
      t.success++;
      counter.errorMap.set(code, (counter.errorMap.get(code) ?? 0) + 1);
      t.errorMap.set(code, (t.errorMap.get(code) ?? 0) + 1);
    }
    {
      const c = unit(counter, a.url.get(r.url));
      if (r.url !== '') {
        a.url.set(r.url, c);
        c.identifier = r.url;
      }
    }
    {
      const c = unit(counter, a.errors.get(code));
      if (c.errorTotal > 0) {
        a.errors.set(code, c);
        c.identifier = code;
      }
    }
  }
  return [...byKey.values()];
}

/** Tyk's uptime `Dimensions()` (no latency setter): url entries, error entries, then the total. */
export function uptimeDimensions(a: UptimeAggregate): Dimension[] {
  const out: Dimension[] = [];
  for (const [value, counter] of a.url) out.push({ name: 'url', value, counter });
  for (const [value, counter] of a.errors) out.push({ name: 'errors', value, counter });
  out.push({ name: '', value: 'total', counter: a.total });
  return out;
}
