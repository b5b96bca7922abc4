/**
 * Series identity and time, shared by everything that keeps metric state per series (`sli`, `slo`,
 * `prometheus`, `otlp_http`): the key of an attribute set, the overflow series' attributes, and the
 * conversions and comparisons of OTel `HrTime` their folding needs.
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

/** Attributes of the series that attribute sets beyond a cardinality limit fold into (OTel SDK spec). */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** The overflow series of bad requests, where a metric keeps good and bad apart (`error.type=_OTHER`). */
export const OVERFLOW_BAD_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true, 'error.type': '_OTHER' });

/** Epoch milliseconds (plus nanoseconds within the last millisecond) → OTel `HrTime`; 0 stays [0, 0]. */
export function msToHrTime(ms: number, extraNs = 0): HrTime {
  const sec = Math.floor(ms / 1000);
  return [sec, Math.round((ms - sec * 1000) * 1_000_000) + extraNs];
}

/** Negative when `a` is earlier than `b`, 0 when equal, positive when later. */
export function compareHrTime(a: HrTime, b: HrTime): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** The later of two times (`a` when equal). */
export function laterHrTime(a: HrTime, b: HrTime): HrTime {
  return compareHrTime(a, b) >= 0 ? a : b;
}
