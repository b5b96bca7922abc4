/**
 * Calendar arithmetic in the zone Tyk Pump would have used. Tyk takes a record's shard date
 * (`TimeStamp.Format("20060102")`) and aggregate bucket (`time.Date(y,m,d,h,0,0,0,loc)`) in the
 * timestamp's own `time.Location`: the pump process's local zone for msgpack records (UTC in the usual
 * container), the gateway's zone for protobuf records (tyk-pump analytics `TimeStampFromProto`).
 */

/** Local calendar fields of an instant. */
export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      f = null;
    }
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is a time zone name this runtime knows (`UTC`, `Europe/Berlin`). */
export function isKnownZone(zone: string): boolean {
  return formatter(zone) !== null;
}

/** The local calendar fields of `ms` in `zone` (UTC when the zone is unknown). */
export function localTime(ms: number, zone: string): LocalTime {
  const f = zone === 'UTC' ? null : formatter(zone);
  if (f === null) {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of f.formatToParts(new Date(ms))) {
    if (p.type in out) out[p.type as keyof typeof out] = Number(p.value);
  }
  return out;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `YYYYMMDD` of `ms` in `zone`: Tyk's shard-table suffix. */
export function shardSuffix(ms: number, zone: string): string {
  const t = localTime(ms, zone);
  return `${pad(t.year, 4)}${pad(t.month, 2)}${pad(t.day, 2)}`;
}

/**
 * Epoch seconds of the start of `ms`'s local hour (or minute with `perMinute`) in `zone`: Go's
 * `time.Date(y,m,d,h,[min],0,0,loc).Unix()`. Not always a multiple of 3600 (zones with odd offsets).
 */
export function bucketStartSeconds(ms: number, zone: string, perMinute: boolean): number {
  const t = localTime(ms, zone);
  const intoSecond = ((ms % 1000) + 1000) % 1000;
  const back = (perMinute ? 0 : t.minute * 60_000) + t.second * 1000 + intoSecond;
  return Math.round((ms - back) / 1000);
}

/** Go's zero time (0001-01-01T00:00:00Z) in epoch milliseconds: what a record without a time carries. */
export const GO_ZERO_TIME_MS = -62135596800000;

/**
 * The zone Tyk would take a record's calendar fields in: the gateway's zone for protobuf records that
 * name one (other than `Local`), else the configured zone (the pump process's).
 */
export function recordZone(r: { readonly encoding?: string; readonly timeZone?: string }, configured: string): string {
  const z = r.timeZone ?? '';
  return r.encoding === 'protobuf' && z !== '' && z !== 'Local' && isKnownZone(z) ? z : configured;
}
