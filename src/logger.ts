/**
 * Structured logging (pino, JSON on stderr). Components get a child logger bound to their id. Secrets are
 * censored by key name in case one ever reaches a log call, and the userinfo of any URL in a line (an error
 * message, a stack) is masked as the line is written.
 */
import pino from 'pino';
import type { Logger, LevelWithSilent } from 'pino';
import { maskCredentials } from './config/schema.js';

/** Keys whose values are never logged. */
const REDACT_PATHS = [
  'password', '*.password', 'sentinel_password', '*.sentinel_password', 'token', '*.token', 'api_key', '*.api_key',
  'headers', '*.headers', 'authorization', '*.authorization', 'config.password', 'config.headers',
];

/** Creates the root logger. `TYK_OTEL_PUMP_LOG_LEVEL` overrides the configured level. */
export function createLogger(level: LevelWithSilent = 'info', env: Readonly<Record<string, string | undefined>> = process.env, destination?: NodeJS.WritableStream): Logger {
  const fromEnv = env['TYK_OTEL_PUMP_LOG_LEVEL'];
  const effective = (fromEnv !== undefined && fromEnv !== '' ? fromEnv : level) as LevelWithSilent;
  return pino(
    {
      level: effective,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '<redacted>' },
      // After serialisation, so no path through a serializer or a nested error escapes it.
      hooks: { streamWrite: maskCredentials },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that discards everything (tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Logs at most once per burst: the first failure of a burst is logged immediately; repeats within
 * `quietMs` are only counted and summarised when the next burst starts or `flush()` runs.
 */
export class BurstLogger {
  private suppressed = 0;
  private lastLogAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly quietMs = 60_000,
  ) {}

  /** Logs `msg` at `level` unless one was logged within the quiet period (then it is only counted). */
  log(level: 'warn' | 'error', obj: Record<string, unknown>, msg: string, now = Date.now()): void {
    if (now - this.lastLogAt < this.quietMs) {
      this.suppressed++;
      return;
    }
    const extra = this.suppressed > 0 ? { suppressedSinceLast: this.suppressed } : {};
    this.suppressed = 0;
    this.lastLogAt = now;
    this.logger[level]({ ...obj, ...extra }, msg);
  }

  /** Marks the burst as over (e.g. on recovery), so the next failure is logged at once. */
  reset(): void {
    this.lastLogAt = 0;
  }

  /** How many log calls were suppressed since the last one logged. */
  get pending(): number {
    return this.suppressed;
  }
}
