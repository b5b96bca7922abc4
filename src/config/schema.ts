/**
 * Schema building blocks shared by component configs: durations, `host:port` endpoints, secrets, and the
 * helpers that turn a schema into a default config. Component schemas are strict zod objects
 * (`z.strictObject`) whose fields carry `.describe()` doc strings, so the schema is the documentation.
 */
import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/y;

/** Parses a Go-style duration (`500ms`, `1s`, `1m30s`, `30d`) to milliseconds; undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  let total = 0;
  let pos = 0;
  DURATION_PART.lastIndex = 0;
  while (pos < text.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    pos = DURATION_PART.lastIndex;
  }
  return pos === 0 || !Number.isFinite(total) ? undefined : total;
}

/** Formats milliseconds as the shortest exact duration string (`1500` → `1500ms`, `60000` → `1m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * The longest delay a Node.js timer takes (2³¹−1 ms, about 24.8 days): a longer one fires after 1 ms
 * with a `TimeoutOverflowWarning`. Every duration is capped at it, and so is a server's `Retry-After`.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration string (`500ms`, `1s`, `5m`, `30d`), parsed to **milliseconds**. Bare numbers are refused,
 * as in the Collector, because their unit would be a guess. At most `max`, and never more than
 * {@link MAX_TIMER_MS}. It is a codec: `schema.encode(config)` turns the milliseconds back into a
 * duration string (for `validate --print`).
 */
export function duration(opts: { min?: number; max?: number } = {}) {
  return z.codec(z.string({ error: 'must be a duration such as 500ms, 1s or 5m' }), z.number(), {
    decode: (text, ctx) => {
      const ms = parseDuration(text.trim());
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', message: 'must be a duration such as 500ms, 1s or 5m', input: text });
        return z.NEVER;
      }
      if (opts.min !== undefined && ms < opts.min) {
        ctx.issues.push({ code: 'custom', message: `must be at least ${formatDuration(opts.min)}`, input: text });
        return z.NEVER;
      }
      if (opts.max !== undefined && opts.max < MAX_TIMER_MS && ms > opts.max) {
        ctx.issues.push({ code: 'custom', message: `must be at most ${formatDuration(opts.max)}`, input: text });
        return z.NEVER;
      }
      if (ms > MAX_TIMER_MS) {
        ctx.issues.push({ code: 'custom', message: `must be at most ${MAX_TIMER_MS}ms (about 24.8 days, the longest timer Node.js supports)`, input: text });
        return z.NEVER;
      }
      return ms;
    },
    encode: (ms) => formatDuration(ms),
  });
}

/** Splits `host:port` (IPv6 in brackets); undefined when malformed. An empty host means all interfaces. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s/[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** A `host:port` listen or target address (port 0 allowed for "any free port"). */
export function hostPort() {
  return z.string({ error: 'must be host:port' }).refine((s) => parseHostPort(s) !== undefined, {
    message: 'must be host:port',
  });
}

/**
 * A secret string (password, token, API key). Numbers and booleans are accepted and turned into strings,
 * because `${env:TOKEN}` that happens to look like a number is typed as one. Its value is never printed:
 * the config printer and error formatter mask every key named like a secret (see `isSecretPath`).
 */
export function secret() {
  return z.codec(z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string' }), z.string(), {
    decode: (v) => String(v),
    encode: (v) => v,
  });
}

const SECRET_KEY = /(^|_)(password|passwd|token|api_?key|secret|authorization|auth|connection_?string|conn_?str|dsn)$/i;

/**
 * Whether a config path points at a secret: a key named like a password/token/api_key or a connection
 * string (`connection_string`, `dsn`), or any `headers` value.
 */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (typeof key !== 'string') continue;
    if (SECRET_KEY.test(key)) return true;
    if (key === 'headers' && i < path.length - 1) return true;
  }
  return false;
}

/** The placeholder printed instead of a secret. */
export const REDACTED = '<redacted>';

// `scheme://userinfo@`. With a `user:` part the password runs greedily to the last `@` before white space or
// a quote, so a password holding `@`, `/`, `?`, `#` or `<` (users write them unencoded) is masked whole;
// without one (`user@host`) the userinfo stops at the path, so `http://h/p?mail=a@b` keeps its host.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'`:@]*:[^\s"'`]*|[^\s/?#"'`]*)@/gi;

/**
 * Masks the userinfo of every URL in `text`: `redis://u:p@h` → `redis://<redacted>@h`. The one masking
 * rule for config problems, `validate --print`, Redis client errors and every log line (`src/logger.ts`);
 * masking masked text changes nothing.
 */
export function maskCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (whole, scheme: string, userinfo: string) => (userinfo === REDACTED ? whole : `${scheme}${REDACTED}@`));
}

/**
 * Returns a deep copy of `value` with every secret (by `isSecretPath`) replaced by `<redacted>`, and the
 * userinfo of every URL (`redis://:password@host`) masked.
 */
export function redactSecrets(value: unknown, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') return maskCredentials(value);
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, k];
      out[k] = isSecretPath(p) && v !== '' && v !== null && v !== undefined && typeof v !== 'object' ? REDACTED : redactSecrets(v, p);
    }
    return out;
  }
  return value;
}

/**
 * A list of values from `values`, none twice: `must be a list of <what>`, `must be one of …` per item,
 * `must not list a value twice`.
 */
export function uniqueEnumList<T extends string>(values: readonly [T, ...T[]], what: string) {
  return z
    .array(z.enum(values, { error: `must be one of ${values.join(', ')}` }), { error: `must be a list of ${what}` })
    .refine((l) => new Set(l).size === l.length, { message: 'must not list a value twice' });
}

/** A positive integer with a default. */
export function positiveInt(def: number) {
  return z.number({ error: 'must be a number' }).int('must be an integer').positive('must be greater than 0').default(def);
}

/**
 * The config as the user would write it: durations back to strings. Falls back to the parsed value when a
 * schema has a one-way transform (encode is then impossible).
 */
export function encodeConfig(schema: z.ZodType, value: unknown): unknown {
  try {
    return z.encode(schema, value as never);
  } catch {
    return value;
  }
}

/** The default config of a schema: `schema.parse({})`. */
export function defaultConfig<C>(schema: z.ZodType<C>): C {
  return schema.parse({});
}
