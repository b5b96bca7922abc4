/**
 * The receiver's view of its Redis connection: up or down (from the client's events), the last server
 * error, when Redis last answered a poll — and from that what `/ready` says. It also decides how long the
 * drain loop waits after a failed command (`pause`): a backoff for a server error or a timeout on a live
 * connection, until the reconnect for a broken one.
 */
import type { Logger } from 'pino';
import type { ComponentContext } from '../../src/component.js';
import { BurstLogger } from '../../src/logger.js';
import type { TykRedisConfig } from './config.js';
import { backoffDelay, type RedisClient } from '../../internal/redis/connection.js';
import { message, type Wakeup } from '../../internal/async/wakeup.js';

/** Whether an error is a reply from the Redis server (rather than a broken connection or a timeout). */
export function isReplyError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  return name === 'ReplyError' || name === 'SimpleError' || name === 'BlobError';
}

/** Whether `err` says a drained key holds something other than a list. */
export function isWrongType(err: unknown): boolean {
  return isReplyError(err) && /^WRONGTYPE/.test(err.message);
}

/** Server states that pass by themselves (loading, failover, cluster resharding). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|MOVED|ASK)\b/;

/** What `/ready` needs besides the connection state. */
export interface HealthFacts {
  /** Chunks claimed and not finished. */
  unacked(): number;
  /** Whether the receiver is shutting down (nothing is reported then). */
  stopping(): boolean;
}

/** Connection and health state of one receiver. */
export class RedisHealth {
  /** Whether the client is connected and ready. */
  connected = false;
  /** Logs Redis failures once per burst. */
  readonly burst: BurstLogger;
  private outageSince: number | undefined;
  private outageDetail: string | undefined;
  private serverProblem: string | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private startedAt = Date.now();
  private lastPollOkAt: number | undefined;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: TykRedisConfig,
    private readonly describe: string,
    private readonly wake: Wakeup,
    private readonly facts: HealthFacts,
    private readonly log: Logger = ctx.logger,
  ) {
    this.burst = new BurstLogger(log);
  }

  /** Follows the client's connection events. */
  attach(client: RedisClient): void {
    this.startedAt = Date.now();
    client.on('ready', () => {
      this.connected = true;
      this.failures = 0;
      if (this.outageSince !== undefined) {
        this.log.info({ redis: this.describe, downSeconds: Math.round((Date.now() - this.outageSince) / 100) / 10 }, 'redis reachable again; resuming');
      }
      this.outageSince = undefined;
      this.outageDetail = undefined;
      this.lastError = undefined;
      this.burst.reset();
      this.report();
      this.wake.notify();
    });
    client.on('error', (err: unknown) => {
      // ioredis also reports errors on a connection that stays up (e.g. a failed slots refresh in
      // Cluster mode): only a connection that is not ready counts as an outage.
      this.lastError = message(err);
      if (client.status !== 'ready') this.lost(err);
    });
    client.on('close', () => this.lost());
    client.on('end', () => this.lost());
  }

  /** The connection broke (or never came up). Logged once per outage. */
  lost(err?: unknown): void {
    if (this.facts.stopping() && err === undefined) {
      this.connected = false;
      return;
    }
    const wasUp = this.connected;
    this.connected = false;
    if (err !== undefined) this.outageDetail = message(err);
    else this.outageDetail ??= this.lastError ?? 'connection closed';
    if (this.outageSince === undefined) {
      this.outageSince = Date.now();
      // The endpoint description carries no credentials.
      if (!this.facts.stopping()) {
        this.log.warn({ redis: this.describe, err: this.outageDetail, wasConnected: wasUp }, 'redis unreachable; retrying with backoff (records stay in redis meanwhile)');
      }
    }
    this.report();
  }

  /** The facts `/ready` shows. */
  snapshot(): Record<string, string | number | boolean | null> {
    const age = this.lastPollOkAt === undefined ? null : Math.round((Date.now() - this.lastPollOkAt) / 100) / 10;
    return {
      lastDrainAgeSeconds: age,
      redis: this.connected ? 'up' : 'down',
      unackedChunks: this.facts.unacked(),
      delivery: this.config.delivery,
    };
  }

  /** Publishes the current readiness. */
  report(): void {
    if (this.facts.stopping()) return;
    const now = Date.now();
    const since = this.lastPollOkAt ?? this.startedAt;
    const stale = now - since > this.config.max_poll_age;
    let detail: string | undefined;
    if (!this.connected) {
      detail = this.outageSince === undefined ? `connecting to redis (${this.describe})` : `redis unreachable (${this.describe}): ${this.outageDetail ?? 'connection lost'}`;
    } else if (this.serverProblem !== undefined) {
      detail = `redis error: ${this.serverProblem}`;
    } else if (this.lastPollOkAt === undefined) {
      detail = 'waiting for the first poll of redis';
    } else if (stale) {
      detail = `no successful poll of redis for ${Math.round((now - since) / 1000)}s (max_poll_age ${Math.round(this.config.max_poll_age / 1000)}s)`;
    }
    this.ctx.health.set({ ready: detail === undefined, ...(detail === undefined ? {} : { detail }), facts: this.snapshot() });
  }

  /** Waits after a failed Redis command: for the reconnect if the connection broke, else a backoff. */
  async pause(err: unknown, what: string, client: RedisClient | undefined): Promise<void> {
    this.failures++;
    const delay = backoffDelay(this.failures, this.config.reconnect.initial_interval, this.config.reconnect.max_interval);
    if (isReplyError(err)) {
      const transient = TRANSIENT_REPLY.test(err.message);
      this.serverProblem = `${what}: ${err.message}`;
      this.burst.log(transient ? 'warn' : 'error', { redis: this.describe, err: err.message }, transient
        ? `redis is not serving ${what} right now; retrying with backoff`
        : `redis refused ${what}; retrying with backoff (check the user's ACL permissions and the key types)`);
      this.report();
      await this.wake.wait(delay);
      return;
    }
    if (this.connected && client?.status === 'ready') {
      // A timeout on a connection that is still up (a stalled server): back off and try again.
      this.serverProblem = `${what}: ${message(err)}`;
      this.burst.log('warn', { redis: this.describe, err: message(err) }, `redis ${what} failed; retrying with backoff`);
      this.report();
      await this.wake.wait(delay);
      return;
    }
    // The connection broke: ioredis reconnects with backoff; wait for 'ready' (or stop).
    this.lost(err);
    while (!this.connected && !this.facts.stopping()) await this.wake.wait(1000);
  }

  /** A poll or claim succeeded: clears a server problem and refreshes the drain age. */
  succeeded(): void {
    const first = this.lastPollOkAt === undefined;
    this.failures = 0;
    this.lastPollOkAt = Date.now();
    if (this.serverProblem !== undefined) {
      this.serverProblem = undefined;
      this.burst.reset();
      this.log.info({ redis: this.describe }, 'redis commands succeed again');
      this.report();
    } else if (first) {
      this.report();
    }
  }
}
