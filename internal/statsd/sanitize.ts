/**
 * Sanitisers that keep any record value from breaking the StatsD / DogStatsD line protocol (names, tag keys,
 * tag values, Graphite segments, Telegraf tags), and value formatting.
 */

// Each sanitiser has a regex test as fast path: record values are almost always clean.

/** Datadog truncates tags longer than this many characters (`key:value` together). */
export const DOGSTATSD_MAX_TAG_CHARS = 200;
/** Datadog's limit on metric name length. */
export const DOGSTATSD_MAX_NAME_CHARS = 200;

// `|` separates fields, `,` tags, `#`/`@` start the tag and sample-rate fields, CR/LF end a line; other
// control characters have no business in a tag and some servers split on them.
const DOG_TAG_BAD = /[|,#@\u0000-\u001f\u007f\u2028\u2029]/;
const DOG_TAG_BAD_G = /[|,#@\u0000-\u001f\u007f\u2028\u2029]/g;

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncateChars(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * A DogStatsD tag `key:value` with the value made safe: `| , # @`, CR, LF and other control characters
 * become `_`; a `:` inside the value is kept (Datadog splits a tag at its first colon only); the whole
 * tag is cut to 200 characters, Datadog's limit. `key` must already be a valid tag key.
 */
export function dogTag(key: string, value: string): string {
  const v = DOG_TAG_BAD.test(value) ? value.replace(DOG_TAG_BAD_G, '_') : value;
  return truncateChars(`${key}:${v}`, DOGSTATSD_MAX_TAG_CHARS);
}

const DOG_KEY_BAD_G = /[^\p{L}\p{N}_\-./]/gu;

/** A DogStatsD tag key from an arbitrary attribute name: letters, digits, `_ - . /` kept, the rest `_`. */
export function dogTagKey(key: string): string {
  let k = key.replace(DOG_KEY_BAD_G, '_');
  if (!/^\p{L}/u.test(k)) k = `t_${k}`;
  return truncateChars(k, DOGSTATSD_MAX_TAG_CHARS - 1);
}

/**
 * A global tag as configured (`env:prod`, `team:payments`, or a bare `tyk-pump`): key sanitised like
 * {@link dogTagKey}, value like {@link dogTag}.
 */
export function dogGlobalTag(tag: string): string {
  const i = tag.indexOf(':');
  return i < 0 ? dogTagKey(tag) : dogTag(dogTagKey(tag.slice(0, i)), tag.slice(i + 1));
}

const METRIC_NAME_BAD_G = /[^A-Za-z0-9_.]/g;

/**
 * A metric name safe for DogStatsD and StatsD: ASCII letters, digits, `_` and `.`; anything else becomes
 * `_`; a name not starting with a letter gets an `m_` prefix; empty segments (`a..b`) collapse.
 */
export function metricName(name: string): string {
  let n = name.replace(METRIC_NAME_BAD_G, '_').replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '');
  if (!/^[A-Za-z]/.test(n)) n = `m_${n}`;
  return truncateChars(n, DOGSTATSD_MAX_NAME_CHARS);
}

/** Longest name segment a template value may produce (Graphite stores one file or folder per segment). */
export const STATSD_MAX_SEGMENT_CHARS = 100;
/** What an empty template value becomes, so a name keeps its shape. */
export const STATSD_EMPTY_SEGMENT = 'unknown';
const SEGMENT_OK = /^[A-Za-z0-9_-]+$/;
const SEGMENT_BAD_G = /[^A-Za-z0-9_-]+/g;

/**
 * One dot-separated segment of a plain StatsD name from a record value: ASCII letters, digits, `_` and
 * `-` are kept; every other run (`.`, `/`, `:`, `|`, `@`, spaces, newlines, non-ASCII…) becomes one `_`;
 * leading/trailing `_` are trimmed; an empty result is `unknown`; at most 100 characters.
 */
export function statsdSegment(value: string): string {
  if (value.length <= STATSD_MAX_SEGMENT_CHARS && SEGMENT_OK.test(value) && value[0] !== '_' && value[value.length - 1] !== '_') return value;
  const s = value.replace(SEGMENT_BAD_G, '_').replace(/^_+|_+$/g, '');
  if (s === '') return STATSD_EMPTY_SEGMENT;
  return s.length > STATSD_MAX_SEGMENT_CHARS ? s.slice(0, STATSD_MAX_SEGMENT_CHARS).replace(/_+$/, '') : s;
}

// Telegraf's StatsD input splits a line at `:` and `|`, the name at `,` and each tag at `=`; spaces and
// backslashes would be escaped inconsistently on the way to InfluxDB.
const TELEGRAF_BAD = /[,=:|\s\\\u0000-\u001f\u007f]/;
const TELEGRAF_BAD_G = /[,=:|\s\\\u0000-\u001f\u007f]/g;

/** A Telegraf tag value: `, = : |`, whitespace, backslash and control characters become `_`; ≤ 200 chars; '' → `unknown`. */
export function telegrafTagValue(value: string): string {
  const v = TELEGRAF_BAD.test(value) ? value.replace(TELEGRAF_BAD_G, '_') : value;
  return v === '' ? STATSD_EMPTY_SEGMENT : truncateChars(v, DOGSTATSD_MAX_TAG_CHARS);
}

// What breaks a plain StatsD line inside a name: `:` (value separator), `|` (type), `@` (sample rate),
// `,` (Telegraf tags), line ends and control characters.
const STATSD_NAME_BAD = /[:|@,\u0000-\u001f\u007f\u2028\u2029]/;
const STATSD_NAME_BAD_G = /[:|@,\u0000-\u001f\u007f\u2028\u2029]/g;

/** Replaces only the characters that would break a StatsD line inside a name (used by Tyk-compatible names). */
export function statsdNameSafe(value: string): string {
  return STATSD_NAME_BAD.test(value) ? value.replace(STATSD_NAME_BAD_G, '_') : value;
}

/** A finite number as StatsD text; undefined for NaN/±Infinity (no StatsD server accepts them). */
export function formatValue(v: number): string | undefined {
  return Number.isFinite(v) ? String(v) : undefined;
}

/** Whether a string is pure ASCII (then its UTF-8 byte length is its length). */
export function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(s);
}
