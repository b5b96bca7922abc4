/**
 * Go's `time.Time` as the gateway writes it (Unix seconds + nanoseconds, zero time = year 1) → lossless
 * epoch milliseconds + remaining nanoseconds, shared by the msgpack, protobuf and tolerant decoders.
 */

/** Go's zero `time.Time` as Unix seconds: `0001-01-01T00:00:00Z`. */
export const GO_ZERO_TIME_SECONDS = -62135596800;

/** Largest |epoch ms| a JS Date can hold; times beyond it cannot be formatted and are refused. */
const MAX_DATE_MS = 8.64e15;

/** Where {@link goTime} writes its result. */
export interface TimeOut {
  timeMs: number | null;
  timeNs: number;
}

/**
 * Converts Unix seconds + nanoseconds (normalised as Go's `time.Unix` does) to lossless epoch ms + ns in
 * `out`; Go's zero time becomes null. Returns false when the time is beyond what a JS Date can hold.
 */
export function goTime(sec: number, nsec: number, out: TimeOut): boolean {
  if (nsec < 0 || nsec >= 1e9) {
    const carry = Math.floor(nsec / 1e9);
    sec += carry;
    nsec -= carry * 1e9;
  }
  if (sec === GO_ZERO_TIME_SECONDS && nsec === 0) {
    out.timeMs = null;
    out.timeNs = 0;
    return true;
  }
  const subMs = Math.floor(nsec / 1e6);
  const ms = sec * 1000 + subMs;
  if (!(ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS)) return false;
  out.timeMs = ms;
  out.timeNs = nsec - subMs * 1e6;
  return true;
}
