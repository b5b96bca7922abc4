/**
 * The route processor's built-in path templating: per-segment classification (ids, UUIDs, ULIDs, hex,
 * numbers, long tokens), whole-path templating and matching a path against an API's listen path.
 * One character scan per path, no allocation for segments that stay literal.
 */
/** Built-in placeholder tokens. */
export const ID = '{id}';
export const UUID = '{uuid}';
export const ULID = '{ulid}';

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

function isUuid(s: string, from: number): boolean {
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(from + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

/**
 * The built-in rule for one path segment: the placeholder it becomes, or undefined to keep it as it is.
 * One character scan, no regex:
 *
 * - `{…}` (already a template, e.g. the gateway's `normalise_urls` output or a tracked endpoint): kept
 * - longer than `maxLength` characters: `{id}`
 * - all digits: `{id}`
 * - UUID (8-4-4-4-12 hex, any version, any case): `{uuid}`
 * - ULID (26 Crockford base32 characters, first 0–7, at least one digit): `{ulid}`
 * - hex of 7+ characters with digits and letters (object ids, hashes, short git SHAs): `{id}`
 * - 5+ digits making up at least half of it (`2024-01-15`, `ORD-000123`, `user12345`): `{id}`
 * - 16+ characters of `[A-Za-z0-9_-+=~.]` that look random (base64/base62 tokens, nanoids, Stripe-style
 *   ids, JWTs): letters and digits alternate 3+ times, or it ends in base64 `=` padding, or upper and
 *   lower case alternate far more often than in camelCase words (`getURLForHTTPRequest` is kept): `{id}`
 *
 * Everything else is kept: words, versions (`v1`, `2.0`), `Non Versioned`, non-ASCII (`ümlaut`), percent-
 * encoded text, and characters such as `|:#,@` (exporters sanitise them for their wire format).
 */
export function classifySegment(segment: string, maxLength: number): string | undefined {
  return classifyRange(segment, 0, segment.length, maxLength);
}

/** {@link classifySegment} of `s[from, to)`, without slicing. */
function classifyRange(s: string, from: number, to: number, maxLength: number): string | undefined {
  const n = to - from;
  if (n === 0) return undefined;
  const first = s.charCodeAt(from);
  if (first === 123 && s.charCodeAt(to - 1) === 125) return undefined;
  if (n > maxLength) return ID;
  let digits = 0;
  let hexLetters = 0;
  let otherLetters = 0;
  let crockford = true;
  let token = true;
  let letterDigit = 0; // letter↔digit alternations
  let caseSwitch = 0; // lower↔upper alternations
  let upperRun = 0; // an upper-case letter followed by an upper-case letter or a digit
  let prev = 0; // 0 start, 1 lower, 2 upper, 3 digit, 4 separator
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (prev === 1 || prev === 2) letterDigit++;
      if (prev === 2) upperRun++;
      prev = 3;
      continue;
    }
    const lc = c | 32;
    if (lc >= 97 && lc <= 122) {
      if (lc <= 102) hexLetters++;
      else otherLetters++;
      if (lc === 105 || lc === 108 || lc === 111 || lc === 117) crockford = false;
      const cls = c === lc ? 1 : 2;
      if (prev === 3) letterDigit++;
      else if (prev !== cls && (prev === 1 || prev === 2)) caseSwitch++;
      if (prev === 2 && cls === 2) upperRun++;
      prev = cls;
      continue;
    }
    crockford = false;
    // - _ + = ~ .
    if (c !== 45 && c !== 95 && c !== 43 && c !== 61 && c !== 126 && c !== 46) token = false;
    prev = 4;
  }
  if (digits === n) return ID;
  if (n === 36 && isUuid(s, from)) return UUID;
  if (n === 26 && crockford && first >= 48 && first <= 55 && digits > 0) return ULID;
  if (n >= 7 && otherLetters === 0 && digits > 0 && digits + hexLetters === n) return ID;
  if (digits >= 5 && digits * 2 >= n) return ID;
  if (
    token && n >= 16 &&
    (letterDigit >= 3 || s.charCodeAt(to - 1) === 61 || (upperRun >= 3 && caseSwitch * 3 >= n) || (caseSwitch + letterDigit) * 2 >= n)
  ) {
    return ID;
  }
  return undefined;
}

/**
 * Applies the built-in rules to every segment of `path` (which starts with `/`, or is ''). Keeps empty
 * segments (`//`) and a trailing slash as they are; segments beyond `maxSegments` become a final `/*`.
 * Returns `path` itself when nothing changes.
 *
 * With `from` (the index of a `/`, or `path.length`), only `path[from…]` is templated and `path[0, from)`
 * is kept in front as it is: the route of a path under a literal listen path, built without slicing the
 * endpoint off and putting the listen path back.
 */
export function templatePath(path: string, maxSegments: number, maxSegmentLength: number, from = 0): string {
  let out = '';
  let copied = 0; // path[0, copied) is already in `out`
  let start = from; // index of the '/' that opens the current segment
  let count = 0;
  const n = path.length;
  while (start < n) {
    if (count === maxSegments) return `${out}${path.slice(copied, start)}/*`;
    let end = path.indexOf('/', start + 1);
    if (end < 0) end = n;
    const token = classifyRange(path, start + 1, end, maxSegmentLength);
    if (token !== undefined) {
      out += `${path.slice(copied, start + 1)}${token}`;
      copied = end;
    }
    count++;
    start = end;
  }
  return copied === 0 ? path : out + path.slice(copied);
}

/**
 * Where the endpoint starts in `path` when it begins with the listen path `lp` (no trailing slash, starts
 * with `/`): the index after the listen path, or -1. `{var}` segments of the listen path match any
 * non-empty segment.
 */
export function matchListenPath(path: string, lp: string): number {
  if (!lp.includes('{')) {
    return path.startsWith(lp) && (path.length === lp.length || path.charCodeAt(lp.length) === 47) ? lp.length : -1;
  }
  let i = 0;
  let j = 0;
  while (j < lp.length) {
    if (path.charCodeAt(i) !== 47) return -1;
    let jEnd = lp.indexOf('/', j + 1);
    if (jEnd < 0) jEnd = lp.length;
    let iEnd = path.indexOf('/', i + 1);
    if (iEnd < 0) iEnd = path.length;
    const want = lp.slice(j + 1, jEnd);
    const got = path.slice(i + 1, iEnd);
    const param = want.length >= 2 && want.charCodeAt(0) === 123 && want.charCodeAt(want.length - 1) === 125;
    if (param ? got === '' : want !== got) return -1;
    i = iEnd;
    j = jEnd;
  }
  return i;
}

