/**
 * Every error class the agent throws, in one place, each with a stable `code` (for logs, metrics and
 * tests) and a `retryable` flag: retryable errors mean "try the same thing again later", permanent ones
 * mean "this data or this configuration will never work".
 */

/** Base class of all agent errors. */
export class PumpError extends Error {
  /** Stable machine-readable code, e.g. `ERR_CONFIG_INVALID`. */
  readonly code: string;
  /** Whether retrying the same operation later may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One configuration problem: where (path), what is wrong, and the offending value (secrets already masked). */
export interface ConfigProblem {
  /** `receivers::tyk_redis::endpoint`-style path; '' for the file as a whole. */
  readonly path: string;
  readonly message: string;
  /** The offending value as shown to the user (JSON), or undefined when there is none to show. */
  readonly got?: string;
}

/** The configuration is invalid; `problems` lists every problem found in one pass. */
export class ConfigError extends PumpError {
  readonly problems: readonly ConfigProblem[];
  readonly file: string;

  constructor(file: string, problems: readonly ConfigProblem[]) {
    super('ERR_CONFIG_INVALID', `${file}: ${problems.length} configuration problem(s)`);
    this.file = file;
    this.problems = problems;
  }

  /** One line per problem: `file: path: message (got value)`. */
  lines(): string[] {
    return this.problems.map((p) => formatProblem(this.file, p));
  }
}

/** Formats a problem the way `validate` prints it. */
export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.path === '' ? `${file}` : `${file}: ${p.path}`;
  return `${where}: ${p.message}${p.got === undefined ? '' : ` (got ${p.got})`}`;
}

/** Why a Redis list element could not be decoded. Used as the `reason` label of rejected-record counters. */
export type DecodeFailureReason =
  | 'not_msgpack'
  | 'not_protobuf'
  | 'truncated'
  | 'wrong_type'
  | 'not_a_record'
  | 'too_large';

/** A Redis list element is not a valid Tyk record. Permanent: the same bytes never decode. */
export class DecodeError extends PumpError {
  readonly reason: DecodeFailureReason;

  constructor(reason: DecodeFailureReason, message: string, options: { cause?: unknown } = {}) {
    super('ERR_DECODE', message, { retryable: false, cause: options.cause });
    this.reason = reason;
  }
}

/** Redis cannot be reached or answered with an error; retried with backoff. */
export class RedisUnavailableError extends PumpError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_REDIS_UNAVAILABLE', message, { retryable: true, cause: options.cause });
  }
}

/** Sending to a backend failed. `status` is the HTTP status when there was one. */
export class ExportError extends PumpError {
  readonly status: number | undefined;
  /** Server-requested delay before the next attempt (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(options.retryable ? 'ERR_EXPORT_RETRYABLE' : 'ERR_EXPORT_PERMANENT', message, options);
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A component could not accept data because it is shutting down. Retryable: the data stays upstream. */
export class ShuttingDownError extends PumpError {
  constructor(component: string) {
    super('ERR_SHUTTING_DOWN', `${component} is shutting down`, { retryable: true });
  }
}

/** A lifecycle step (start, shutdown, flush) did not finish in time. */
export class TimeoutError extends PumpError {
  constructor(what: string, ms: number) {
    super('ERR_TIMEOUT', `${what} did not finish within ${ms} ms`, { retryable: true });
  }
}

/** A component failed to start (port in use, bad certificate file, …). */
export class StartError extends PumpError {
  constructor(component: string, message: string, options: { cause?: unknown } = {}) {
    super('ERR_START', `${component}: ${message}`, { retryable: false, cause: options.cause });
  }
}

/** Node error codes of local, transient resource failures: the same write can succeed later. */
const LOCAL_RESOURCE_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ERR_STRING_TOO_LONG']);

/**
 * Whether a thrown value is a local resource failure (out of memory, a string or buffer too long, a full
 * or failing disk, too many open files): never "permanent" — permanent is what a destination declared
 * unacceptable — so it is retried (and, at-least-once, the records wait in Redis).
 */
export function isLocalResourceError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && LOCAL_RESOURCE_CODES.has(code)) return true;
  if (err instanceof RangeError) return /invalid (string|array|typed array) length|out of memory|allocation failed|buffer/i.test(err.message);
  return /out of memory|allocation failed|heap limit/i.test(err.message);
}

/**
 * Whether an unknown thrown value should be retried. Our errors say so themselves; a local resource
 * failure is retryable; any other plain error (a bug, a library error) counts as permanent, and the
 * receiver dead-letters the records it concerned rather than dropping them.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof PumpError) return err.retryable;
  return isLocalResourceError(err);
}

/** One or more consumers of a fan-out failed; the others still received the data. Retryable if any failure is. */
export class FanOutError extends PumpError {
  readonly errors: readonly unknown[];

  constructor(errors: readonly unknown[]) {
    const first = errors[0];
    super('ERR_FANOUT', `${errors.length} consumer(s) failed: ${first instanceof Error ? first.message : String(first)}`, {
      retryable: errors.some((e) => isRetryable(e)),
      cause: first,
    });
    this.errors = errors;
  }
}
