/**
 * Connection state of one client for components that issue commands now and then (rather than a loop
 * that waits for 'ready' itself): whether it is ready, why not (the last connection error, passwords
 * masked), and a bounded wait for readiness before a command, so a batch that arrives while the connection
 * is still being set up is not refused for nothing.
 */
import { RedisUnavailableError } from '../../src/errors.js';
import type { RedisClient } from './connection.js';
import { maskCredentials } from '../../src/config/schema.js';

/** Watches one client's connection events. */
export class ConnectionWatch {
  private lastError: string | undefined;
  private readonly waiters = new Set<() => void>();

  /**
   * @param client a client from `createClient` (not yet connected is fine).
   * @param describe the plan's `describe` (no credentials), used in reasons.
   */
  constructor(
    private readonly client: RedisClient,
    readonly describe: string,
  ) {
    client.on('error', (err: unknown) => {
      if (client.status !== 'ready') this.lastError = maskCredentials(err instanceof Error ? err.message : String(err));
    });
    client.on('ready', () => {
      this.lastError = undefined;
      for (const w of [...this.waiters]) w();
    });
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Why the connection is not ready, `<describe>: <last connection error>` (safe to log and show on
   * /ready), or undefined when it is ready.
   */
  get problem(): string | undefined {
    if (this.ready) return undefined;
    return `${this.describe}: ${this.lastError ?? (this.client.status === 'wait' ? 'not connected yet' : 'connecting')}`;
  }

  /**
   * Resolves once the client is ready (connecting it if it was never asked to); rejects with a retryable
   * `RedisUnavailableError` carrying `problem` after `timeoutMs`, at once once the client was closed, or
   * when `signal` aborts (a component shutting down does not wait out a connection attempt).
   */
  async whenReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.ready) return;
    const status = this.client.status;
    if (status === 'end') throw new RedisUnavailableError(`redis connection closed (${this.describe})`);
    if (signal?.aborted) throw new RedisUnavailableError(`${this.describe}: no longer waited for (shutting down)`);
    if (status === 'wait') this.client.connect().catch(() => undefined); // failures arrive as 'error' events
    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', aborted);
      };
      const done = () => {
        settle();
        resolve();
      };
      const aborted = () => {
        settle();
        reject(new RedisUnavailableError(`${this.describe}: no longer waited for (shutting down)`));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new RedisUnavailableError(this.problem ?? `${this.describe}: connecting`));
      }, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
