/**
 * Turns zod issues into our one-line problems (`path: message (got value)`), masking secrets and
 * suggesting the nearest known key for typos.
 */
import type { core } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { isSecretPath, maskCredentials, REDACTED } from './schema.js';

type Issue = core.$ZodIssue;
type PathKey = string | number;

/** `['exporters','prometheus','endpoint']` → `exporters::prometheus::endpoint`; array indexes as `[i]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += (out === '' ? '' : '::') + String(key);
  }
  return out;
}

/** Shows a value the way problems print it: JSON, truncated, secrets masked. */
export function showValue(value: unknown, path: readonly PathKey[]): string | undefined {
  if (value === undefined) return undefined;
  if (isSecretPath(path) && value !== null && typeof value !== 'object') return REDACTED;
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  if (isSecretPath(path)) text = '<object with secrets>';
  text = maskCredentials(text);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest candidate to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  return typeof v;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', object: 'a map',
  array: 'a list', bigint: 'an integer', nan: 'a number',
};

/** Converts zod issues (paths relative to `prefix`) into problems. `knownKeys` resolves keys for hints. */
export function issuesToProblems(
  issues: readonly Issue[],
  prefix: readonly PathKey[],
  knownKeys: (path: readonly PropertyKey[]) => readonly string[] = () => [],
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const rel = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    const path = [...prefix, ...rel];
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const hint = suggest(key, knownKeys(issue.path));
          const known = knownKeys(issue.path);
          out.push({
            path: formatPath([...path, key]),
            message: hint !== undefined ? `unknown key (did you mean "${hint}"?)` : known.length > 0 ? `unknown key (known keys: ${known.join(', ')})` : 'unknown key',
          });
        }
        break;
      case 'invalid_type': {
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        const message = input === undefined ? 'is required' : issue.message.startsWith('Invalid input') ? `must be ${expected}, not ${typeName(input)}` : issue.message;
        out.push({ path: formatPath(path), message, got: input === undefined ? undefined : showValue(input, path) });
        break;
      }
      case 'invalid_value':
        out.push({
          path: formatPath(path),
          message: issue.message.startsWith('Invalid') ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message,
          got: showValue(input, path),
        });
        break;
      case 'invalid_union':
        out.push({ path: formatPath(path), message: issue.message.startsWith('Invalid') ? 'has an invalid value' : issue.message, got: showValue(input, path) });
        break;
      default:
        out.push({ path: formatPath(path), message: issue.message, got: showValue(input, path) });
    }
  }
  return out;
}

/**
 * Our phrasing of zod's built-in checks (`must be at least 1`), used when a schema gives no message of
 * its own. Pass it as `{ error: configErrorMap }` to `safeParse`.
 */
export const configErrorMap: core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'too_small': {
      const n = String(issue.minimum);
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${n} item(s)`;
      if (issue.origin === 'string') return `must be at least ${n} character(s) long`;
      return issue.inclusive === false ? `must be greater than ${n}` : `must be at least ${n}`;
    }
    case 'too_big': {
      const n = String(issue.maximum);
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${n} item(s)`;
      if (issue.origin === 'string') return `must be at most ${n} character(s) long`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `must match ${String((issue as { pattern?: unknown }).pattern ?? 'the expected pattern')}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_type':
      if (issue.expected === 'int') return 'must be an integer';
      return undefined;
    default:
      return undefined;
  }
};
