/**
 * Building blocks of the exporters that keep state per metric series (`prometheus`: cumulative state for
 * scrapes; `otlp_http`: cumulative or delta state for pushes): the identity of a series' attribute set,
 * and the comparisons their folding of data points needs; and the one conversion of our epoch-ms
 * timestamps to OTel `HrTime` that every producer and exporter of OTel data uses.
 *
 * The folding itself stays with each exporter: they differ in what they accept (Prometheus replaces
 * cumulative input, OTLP refuses it), how they group series (by Prometheus family across scopes, or by
 * resource × scope × name), gauge and start-time rules, overflow, and delta export with roll-back.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';

const keyCache = new WeakMap<Attributes, string>();

/**
 * A string that identifies an attribute set: equal for equal sets whatever the key order, different
 * whenever a key or a value (or its type: `"1"` vs `1`) differs. Computed once per attributes object —
 * batches are never changed once handed on, and the `sli` processor reuses one object per series.
 */
export function attributesKey(a: Attributes): string {
  let k = keyCache.get(a);
  if (k === undefined) {
    const keys = Object.keys(a).sort();
    k = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      // JSON escapes quotes and control characters, so no value can fake a key boundary.
      k += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(a[key]) ?? 'undefined'}`;
    }
    k += '}';
    keyCache.set(a, k);
  }
  return k;
}

/** Whether two histograms have the same bucket boundaries (then their counts can be added). */
export function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Epoch milliseconds (plus nanoseconds within the last millisecond) → OTel `HrTime`; 0 stays [0, 0]. */
export function msToHrTime(ms: number, extraNs = 0): HrTime {
  const sec = Math.floor(ms / 1000);
  return [sec, Math.round((ms - sec * 1000) * 1_000_000) + extraNs];
}

/** Negative when `a` is earlier than `b`, 0 when equal, positive when later. */
export function compareHrTime(a: HrTime, b: HrTime): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}
