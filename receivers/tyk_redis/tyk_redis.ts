/**
 * The `tyk_redis` receiver at run time: drains Tyk's analytics (and uptime) lists chunk by chunk, decodes
 * each element, hands the records downstream and — in at-least-once mode — deletes them from Redis only
 * once every pipeline has delivered them.
 *
 * The drain loop claims one chunk ahead of the one being delivered (claiming overlaps decoding), never
 * more: `consume()` blocking (backpressure) stops the claiming, and at most `max_unacked_chunks` chunks
 * may be claimed but not yet delivered. While some list has data it keeps claiming; once all are empty it
 * polls them (one pipelined `LLEN` round, which also samples the backlog gauges) every `poll_interval`.
 * Lists with little data share one chunk (one pipelined round of claims), so a quiet gateway spread over
 * 10 sharded keys costs one batch per poll, not ten.
 */
import type { Logger } from 'pino';
import type { Counter, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { ComponentContext, Consumer, Receiver, ShutdownDeadline } from '../../src/component.js';
import type { RecordBatch, TykRecord } from '../../src/model.js';
import { asPipelines, type PipelineOutcome, type Pipelines, type RetryTarget } from '../../src/delivery.js';
import { DecodeError } from '../../src/errors.js';
import { BurstLogger } from '../../src/logger.js';
import type { TykRedisConfig } from './config.js';
import { backoffDelay, connectionPlan, createClient, type ConnectionPlan, type RedisClient } from '../../internal/redis/connection.js';
import { decodeAnalytics, decodeUptime } from './decode.js';
import { BookkeepingKeys, drainKeys, type DrainKey } from './keys.js';
import { claimChunk, defineScripts, INFLIGHT_BUSY, type ScriptCommands } from './scripts.js';
import { InflightTracker, type InflightTask } from './inflight.js';

/** One list's share of a chunk. */
interface Part {
  readonly source: DrainKey;
  /** The claimed elements; released once decoded. */
  items: Buffer[];
  /** At-least-once: the in-flight list holding these elements until they are delivered. */
  readonly inflightKey: string | undefined;
  /** At-least-once: our slot index for `inflightKey`, or undefined for an adopted list. */
  readonly slot: number | undefined;
}

/** One claim round: the unit of delivery, acknowledgement and re-delivery. */
interface Chunk {
  readonly parts: Part[];
  /** Decoded good records (kept for re-delivery after a retryable failure). */
  records: RecordBatch | undefined;
  attempts: number;
  accepted: boolean;
  /** Pipelines (and their exporters) still to deliver to; undefined = all. */
  targets: readonly RetryTarget[] | undefined;
  /** Stable id of the claimed chunk, given to every exporter as `ctx.chunkId`; undefined = none. */
  readonly id: string | undefined;
  /** From an in-flight list that was adopted or re-read (counts as re-delivered). */
  readonly redelivery: boolean;
}

/** Wakes waiting loops when something they wait for may have changed. */
class Wakeup {
  private waiters: (() => void)[] = [];

  /** Resolves on the next `notify()` or after `ms` (if given). */
  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (ms !== undefined) timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, Math.max(0, ms));
    });
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Instruments shared by every receiver instance on one meter (each instance adds its own callbacks). */
interface Instruments {
  readonly lag: ObservableGauge;
  readonly backlog: ObservableGauge;
  readonly unacked: ObservableGauge;
  readonly deadLettered: Counter;
  readonly redelivered: Counter;
}
const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function instruments(meter: Meter): Instruments {
  let i = instrumentsByMeter.get(meter);
  if (!i) {
    i = {
      lag: meter.createObservableGauge('receiver.drain_lag_seconds', {
        description: 'Age of the oldest and newest record of the last chunk claimed from a list (0 once the list is empty).',
        unit: 's',
      }),
      backlog: meter.createObservableGauge('receiver.backlog_records', {
        description: 'Length of a drained list (LLEN), sampled at most once per poll interval.',
        unit: '{record}',
      }),
      unacked: meter.createObservableGauge('receiver.unacked_chunks', {
        description: 'Chunks claimed from Redis whose delivery has not finished.',
        unit: '{chunk}',
      }),
      deadLettered: meter.createCounter('receiver.dead_lettered_items', {
        description: 'Undecodable list elements pushed to the dead-letter list, by reason.',
        unit: '{item}',
      }),
      redelivered: meter.createCounter('receiver.redelivered_items', {
        description: 'Records delivered again (at-least-once retries and adopted in-flight lists).',
        unit: '{item}',
      }),
    };
    instrumentsByMeter.set(meter, i);
  }
  return i;
}

/** Whether an error is a reply from the Redis server (rather than a broken connection or a timeout). */
function isReplyError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  return name === 'ReplyError' || name === 'SimpleError' || name === 'BlobError';
}

/** Server states that pass by themselves (loading, failover, cluster resharding). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|MOVED|ASK)\b/;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wraps a failing decode into the dead-letter envelope (one JSON object per list element). */
function deadLetterEnvelope(source: string, reason: string, error: string, bytes: Buffer, receiver: string, instance: string): string {
  return JSON.stringify({
    source_key: source,
    reason,
    error,
    receiver,
    instance,
    time: new Date().toISOString(),
    size_bytes: bytes.length,
    bytes_b64: bytes.toString('base64'),
  });
}

/** The receiver. */
export class TykRedisReceiver implements Receiver {
  private readonly keys: readonly DrainKey[];
  private readonly book: BookkeepingKeys;
  private readonly deadLetterKey: string;
  private readonly atLeastOnce: boolean;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly decodeBurst: BurstLogger;
  private readonly deliveryBurst: BurstLogger;
  private readonly redisBurst: BurstLogger;
  private readonly wake = new Wakeup();
  private readonly inst: Instruments;
  /** The pipelines fed, with per-pipeline delivery outcomes (re-deliveries go only where they failed). */
  private readonly pipelines: Pipelines;

  private plan: ConnectionPlan | undefined;
  private client: (RedisClient & ScriptCommands) | undefined;
  private tracker: InflightTracker | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];

  // Connection state.
  private connected = false;
  private outageSince: number | undefined;
  private outageDetail: string | undefined;
  private serverProblem: string | undefined;
  private failures = 0;
  private startedAt = 0;
  private lastPollOkAt: number | undefined;

  // Drain state.
  /** Estimated remaining length per list with data (from LLEN, decreased by claims). */
  private readonly active = new Map<string, { key: DrainKey; estimate: number }>();
  private rr = 0;
  private nextPollAt = 0;
  private readonly backlog = new Map<string, number>();
  private readonly lag = new Map<string, { oldest: number; newest: number }>();
  /** Chunks claimed (or in-flight lists taken on) and not yet finished. */
  private outstanding = 0;
  /** Deliveries whose `done` has not resolved yet. */
  private readonly awaiting = new Set<Promise<unknown>>();
  private readonly retryReady: Chunk[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly tasks: InflightTask[] = [];
  /** Free slot indexes per list (at-least-once). */
  private readonly freeSlots = new Map<string, number[]>();
  private readonly sideWork = new Set<Promise<unknown>>();
  private adopting = false;
  private unackedLeft = 0;

  private readonly gaugeCallbacks: { gauge: ObservableGauge; cb: (r: ObservableResult) => void }[] = [];

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: TykRedisConfig,
    next: Consumer<'records'>,
  ) {
    this.pipelines = asPipelines(next);
    this.keys = drainKeys(config);
    this.book = new BookkeepingKeys(config.key_prefix);
    this.deadLetterKey = config.dead_letter.key !== '' ? config.dead_letter.key : this.book.deadLetter;
    this.atLeastOnce = config.delivery === 'at_least_once';
    this.instance = `${config.at_least_once.instance_id !== '' ? config.at_least_once.instance_id : ctx.instanceId}/${ctx.id}`;
    this.log = ctx.logger;
    this.decodeBurst = new BurstLogger(this.log);
    this.deliveryBurst = new BurstLogger(this.log);
    this.redisBurst = new BurstLogger(this.log);
    this.inst = instruments(ctx.telemetry.meter);
    for (const k of this.keys) this.freeSlots.set(k.key, Array.from({ length: config.max_unacked_chunks }, (_, i) => config.max_unacked_chunks - 1 - i));
  }

  async start(): Promise<void> {
    if (this.loop || this.stopping) return;
    this.plan = connectionPlan(this.config, this.ctx.configDir);
    const client = defineScripts(createClient(this.plan));
    this.client = client;
    this.startedAt = Date.now();
    this.attachClientEvents(client);
    this.registerGauges();
    this.ctx.health.set({ ready: false, detail: `connecting to redis (${this.plan.describe})`, facts: this.facts() });
    this.timers.push(setInterval(() => this.reportHealth(), 1000));
    if (this.atLeastOnce) {
      this.tracker = new InflightTracker(client, this.book, this.instance, {
        heartbeatIntervalMs: this.config.at_least_once.heartbeat_interval,
        heartbeatTimeoutMs: this.config.at_least_once.heartbeat_timeout,
      }, this.log);
      this.timers.push(setInterval(() => this.heartbeat(), this.config.at_least_once.heartbeat_interval));
      this.timers.push(setInterval(() => this.adoptDead(), this.config.at_least_once.heartbeat_timeout));
    }
    for (const t of this.timers) t.unref();
    this.log.info(
      { redis: this.plan.describe, mode: this.plan.mode, delivery: this.config.delivery, lists: this.keys.map((k) => k.key), chunkSize: this.config.chunk_size, instance: this.atLeastOnce ? this.instance : undefined },
      'draining Tyk analytics from redis',
    );
    client.connect().catch(() => undefined); // failures arrive as events and are retried with backoff
    this.loop = this.run().catch((err: unknown) => {
      this.log.error({ err }, 'drain loop stopped by an unexpected error');
    });
  }

  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopped ??= this.stop(deadline?.at ?? Infinity);
    return this.stopped;
  }

  /** Waits for what is in flight until `shutdown_timeout` or the graph's deadline (`until`), whichever is first. */
  private async stop(until: number): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    for (const t of this.timers) clearInterval(t);
    for (const t of this.retryTimers) clearTimeout(t);
    const client = this.client;
    if (!client) return;
    const deadline = Math.min(Date.now() + this.config.shutdown_timeout, until);
    const within = async (p: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      const left = Math.max(0, deadline - Date.now());
      await Promise.race([p, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    };
    await within(this.loop ?? Promise.resolve());
    // Deliveries already handed downstream: wait for them to settle (and be acknowledged).
    while (this.awaiting.size > 0 && Date.now() < deadline) await within(Promise.race(this.awaiting));
    while (this.sideWork.size > 0 && Date.now() < deadline) await within(Promise.race(this.sideWork));
    const unfinished = this.awaiting.size + this.retryReady.length + this.retryTimers.size + this.tasks.length + this.unackedLeft;
    if (this.tracker && this.connected) {
      await within(this.tracker.leave(unfinished === 0).catch(() => undefined));
    }
    if (unfinished > 0) {
      this.log.warn({ chunks: unfinished, delivery: this.config.delivery }, this.atLeastOnce
        ? 'shut down with undelivered chunks; they stay in redis in-flight lists and are re-delivered on the next start or by a peer'
        : 'shut down before every chunk was delivered');
    }
    for (const { gauge, cb } of this.gaugeCallbacks) gauge.removeCallback(cb);
    this.ctx.health.set({ ready: false, detail: 'stopped' });
    if (client.status === 'ready') await within(client.quit().catch(() => undefined));
    client.disconnect();
    this.log.info('stopped draining');
  }

  // ---------------------------------------------------------------------------------------------
  // Connection state

  private attachClientEvents(client: RedisClient): void {
    client.on('ready', () => {
      this.connected = true;
      this.failures = 0;
      if (this.outageSince !== undefined) {
        this.log.info({ redis: this.plan?.describe, downSeconds: Math.round((Date.now() - this.outageSince) / 100) / 10 }, 'redis reachable again; resuming');
      }
      this.outageSince = undefined;
      this.outageDetail = undefined;
      this.lastError = undefined;
      this.redisBurst.reset();
      this.reportHealth();
      this.wake.notify();
    });
    client.on('error', (err: unknown) => {
      // ioredis also reports errors on a connection that stays up (e.g. a failed slots refresh in
      // Cluster mode): only a connection that is not ready counts as an outage.
      this.lastError = message(err);
      if (client.status !== 'ready') this.connectionLost(err);
    });
    client.on('close', () => this.connectionLost());
    client.on('end', () => this.connectionLost());
  }
  private lastError: string | undefined;

  private connectionLost(err?: unknown): void {
    if (this.stopping && err === undefined) {
      this.connected = false;
      return;
    }
    const wasUp = this.connected;
    this.connected = false;
    if (err !== undefined) this.outageDetail = message(err);
    else this.outageDetail ??= this.lastError ?? 'connection closed';
    if (this.outageSince === undefined) {
      this.outageSince = Date.now();
      // Logged once per outage; the endpoint description carries no credentials.
      if (!this.stopping) {
        this.log.warn({ redis: this.plan?.describe, err: this.outageDetail, wasConnected: wasUp }, 'redis unreachable; retrying with backoff (records stay in redis meanwhile)');
      }
    }
    this.reportHealth();
  }

  private facts(): Record<string, string | number | boolean | null> {
    const age = this.lastPollOkAt === undefined ? null : Math.round((Date.now() - this.lastPollOkAt) / 100) / 10;
    return {
      lastDrainAgeSeconds: age,
      redis: this.connected ? 'up' : 'down',
      unackedChunks: this.outstanding,
      delivery: this.config.delivery,
    };
  }

  private reportHealth(): void {
    if (this.stopping) return;
    const now = Date.now();
    const since = this.lastPollOkAt ?? this.startedAt;
    const stale = now - since > this.config.max_poll_age;
    let detail: string | undefined;
    if (!this.connected) {
      detail = this.outageSince === undefined ? `connecting to redis (${this.plan?.describe ?? ''})` : `redis unreachable (${this.plan?.describe ?? ''}): ${this.outageDetail ?? 'connection lost'}`;
    } else if (this.serverProblem !== undefined) {
      detail = `redis error: ${this.serverProblem}`;
    } else if (this.lastPollOkAt === undefined) {
      detail = 'waiting for the first poll of redis';
    } else if (stale) {
      detail = `no successful poll of redis for ${Math.round((now - since) / 1000)}s (max_poll_age ${Math.round(this.config.max_poll_age / 1000)}s)`;
    }
    this.ctx.health.set({ ready: detail === undefined, ...(detail === undefined ? {} : { detail }), facts: this.facts() });
  }

  /** Waits after a failed Redis command: for the reconnect if the connection broke, else a backoff. */
  private async pause(err: unknown, what: string): Promise<void> {
    this.failures++;
    const delay = backoffDelay(this.failures, this.config.reconnect.initial_interval, this.config.reconnect.max_interval);
    if (isReplyError(err)) {
      const transient = TRANSIENT_REPLY.test(err.message);
      this.serverProblem = `${what}: ${err.message}`;
      this.redisBurst.log(transient ? 'warn' : 'error', { redis: this.plan?.describe, err: err.message }, transient
        ? `redis is not serving ${what} right now; retrying with backoff`
        : `redis refused ${what}; retrying with backoff (check the user's ACL permissions and the key types)`);
      this.reportHealth();
      await this.wake.wait(delay);
      return;
    }
    if (this.connected && this.client?.status === 'ready') {
      // A timeout on a connection that is still up (a stalled server): back off and try again.
      this.serverProblem = `${what}: ${message(err)}`;
      this.redisBurst.log('warn', { redis: this.plan?.describe, err: message(err) }, `redis ${what} failed; retrying with backoff`);
      this.reportHealth();
      await this.wake.wait(delay);
      return;
    }
    // The connection broke: ioredis reconnects with backoff; wait for 'ready' (or stop).
    this.connectionLost(err);
    while (!this.connected && !this.stopping) await this.wake.wait(1000);
  }

  private succeeded(): void {
    const first = this.lastPollOkAt === undefined;
    this.failures = 0;
    this.lastPollOkAt = Date.now();
    if (this.serverProblem !== undefined) {
      this.serverProblem = undefined;
      this.redisBurst.reset();
      this.log.info({ redis: this.plan?.describe }, 'redis commands succeed again');
      this.reportHealth();
    } else if (first) {
      this.reportHealth();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // At-least-once background work

  private heartbeat(): void {
    const t = this.tracker;
    if (!t || !this.connected || this.stopping) return;
    this.track(t.beat().then(() => this.wake.notify(), (err: unknown) => {
      this.redisBurst.log('warn', { err: message(err) }, 'could not refresh the at-least-once heartbeat');
    }));
  }

  private adoptDead(): void {
    const t = this.tracker;
    if (!t || !this.connected || this.stopping || this.adopting) return;
    this.adopting = true;
    this.track(t.adoptDead().then((tasks) => {
      this.tasks.push(...tasks);
      if (tasks.length > 0) this.wake.notify();
    }, (err: unknown) => {
      this.redisBurst.log('warn', { err: message(err) }, 'could not check for dead peers\' in-flight records');
    }).finally(() => {
      this.adopting = false;
    }));
  }

  private track(p: Promise<unknown>): void {
    this.sideWork.add(p);
    void p.finally(() => this.sideWork.delete(p));
  }

  // ---------------------------------------------------------------------------------------------
  // The drain loop

  private async run(): Promise<void> {
    // Connect (and, at-least-once, join and recover) before the first claim.
    while (!this.stopping) {
      if (!this.connected) {
        await this.wake.wait(1000);
        continue;
      }
      try {
        if (this.tracker) {
          await this.tracker.beat();
          const own = await this.tracker.recoverOwn();
          if (own.length > 0) this.log.info({ lists: own.length }, 'found in-flight records of a previous run of this instance; re-delivering them');
          this.tasks.push(...own);
          this.tasks.push(...(await this.tracker.adoptDead()));
        }
        break;
      } catch (err) {
        await this.pause(err, 'start-up');
      }
    }
    let pending = this.nextChunk();
    for (;;) {
      const chunk = await pending;
      if (!chunk) break;
      pending = this.stopping ? Promise.resolve(undefined) : this.nextChunk();
      await this.deliver(chunk);
    }
  }

  /** The next chunk to deliver, or undefined once stopping. Never throws. */
  private async nextChunk(): Promise<Chunk | undefined> {
    for (;;) {
      if (this.stopping) return undefined;
      try {
        const retry = this.retryReady.shift();
        if (retry) return retry;
        if (!this.connected) {
          await this.wake.wait(1000);
          continue;
        }
        // In-flight slots whose claim outcome is unknown are counted already: read them back first.
        const slotTask = this.tasks.findIndex((t) => t.slot !== undefined);
        if (slotTask >= 0) {
          const chunk = await this.loadTask(this.tasks.splice(slotTask, 1)[0] as InflightTask);
          if (chunk) return chunk;
          continue;
        }
        if (this.tracker && !this.tracker.fresh) {
          // Never claim while a peer might think we are dead and adopt what we claim.
          await this.tracker.beat().then(() => this.wake.notify(), (err: unknown) => this.pause(err, 'heartbeat'));
          continue;
        }
        if (this.outstanding >= this.config.max_unacked_chunks) {
          await this.wake.wait();
          continue;
        }
        const task = this.tasks.shift();
        if (task) {
          const chunk = await this.loadTask(task);
          if (chunk) return chunk;
          continue;
        }
        const now = Date.now();
        if (now >= this.nextPollAt) {
          if (this.active.size === 0) {
            await this.poll();
            continue;
          }
          // Draining: the poll goes out together with the claim (one round trip) instead of in front of
          // it. Awaited first, it kept the claim from overlapping the decoding of the chunk before — with
          // a short poll_interval the drain then waited for Redis on nearly every chunk.
          const polled = this.poll();
          const chunk = await this.claim();
          await polled;
          if (chunk) return chunk;
          continue;
        }
        if (this.active.size === 0) {
          await this.wake.wait(this.nextPollAt - now);
          continue;
        }
        const chunk = await this.claim();
        if (chunk) return chunk;
      } catch (err) {
        // Only bugs reach here: log and back off rather than spin.
        this.log.error({ err }, 'unexpected error in the drain loop; retrying');
        await this.wake.wait(1000);
      }
    }
  }

  /** One pipelined LLEN of every list: finds lists with data and samples the backlog gauges. */
  private async poll(): Promise<void> {
    const client = this.client as RedisClient;
    const results = await Promise.allSettled(this.keys.map((k) => client.llen(k.key)));
    let broken: unknown;
    results.forEach((r, i) => {
      const k = this.keys[i] as DrainKey;
      if (r.status === 'fulfilled') {
        this.backlog.set(k.key, r.value);
        if (r.value > 0) {
          const a = this.active.get(k.key);
          if (a) a.estimate = r.value;
          else this.active.set(k.key, { key: k, estimate: r.value });
        } else {
          this.active.delete(k.key);
          const lag = this.lag.get(k.key);
          if (lag) lag.oldest = lag.newest = 0;
        }
      } else if (isReplyError(r.reason) && /^WRONGTYPE/.test(r.reason.message)) {
        this.active.delete(k.key);
        this.redisBurst.log('warn', { key: k.key }, 'a drained key is not a list; skipping it');
      } else {
        broken ??= r.reason;
      }
    });
    if (broken !== undefined) {
      await this.pause(broken, 'poll');
      return;
    }
    this.nextPollAt = Date.now() + this.config.poll_interval;
    this.succeeded();
  }

  private takeSlot(key: string): number | undefined {
    return this.freeSlots.get(key)?.pop();
  }

  private releaseSlot(key: string, slot: number | undefined): void {
    if (slot !== undefined) this.freeSlots.get(key)?.push(slot);
  }

  /** One claim round over the lists with data, up to `chunk_size` records in total. */
  private async claim(): Promise<Chunk | undefined> {
    const client = this.client as RedisClient & ScriptCommands;
    const lists = [...this.active.values()];
    const planned: { list: { key: DrainKey; estimate: number }; n: number; slot: number | undefined; inflightKey: string | undefined }[] = [];
    let budget = this.config.chunk_size;
    const start = this.rr++ % lists.length;
    for (let i = 0; i < lists.length && budget > 0; i++) {
      const list = lists[(start + i) % lists.length] as { key: DrainKey; estimate: number };
      const n = Math.min(list.estimate, budget);
      let slot: number | undefined;
      let inflightKey: string | undefined;
      if (this.tracker) {
        slot = this.takeSlot(list.key.key);
        if (slot === undefined) continue;
        inflightKey = this.tracker.slotKey(list.key, slot);
      }
      planned.push({ list, n, slot, inflightKey });
      budget -= n;
    }
    if (planned.length === 0) {
      await this.wake.wait(1000);
      return undefined;
    }
    if (this.tracker) {
      try {
        await Promise.all(planned.map((p) => this.tracker?.register(p.inflightKey as string, p.list.key)));
      } catch (err) {
        for (const p of planned) this.releaseSlot(p.list.key.key, p.slot);
        await this.pause(err, 'in-flight registration');
        return undefined;
      }
    }
    // Keys of a round may live on different cluster nodes, so one claim (transaction or script) per key;
    // ioredis writes them back to back (one round trip), they just are not one transaction — each list is
    // claimed atomically.
    const results = await Promise.allSettled(planned.map((p) => (p.inflightKey === undefined
      ? claimChunk(client, p.list.key.key, p.n)
      : client.tykClaimInflightBuffer(p.list.key.key, p.inflightKey, p.n))));
    const parts: Part[] = [];
    let broken: unknown;
    results.forEach((r, i) => {
      const p = planned[i] as (typeof planned)[number];
      const key = p.list.key.key;
      if (r.status === 'fulfilled') {
        const items = r.value;
        if (items.length < p.n) this.active.delete(key);
        else {
          p.list.estimate -= items.length;
          if (p.list.estimate <= 0) this.active.delete(key);
        }
        if (items.length === 0) {
          this.releaseSlot(key, p.slot);
          return;
        }
        parts.push({ source: p.list.key, items, inflightKey: p.inflightKey, slot: p.slot });
        return;
      }
      const err = r.reason as unknown;
      if (p.inflightKey !== undefined && (!isReplyError(err) || err.message.includes(INFLIGHT_BUSY))) {
        // The claim may have run (lost reply) or the slot still holds an unacknowledged chunk:
        // read the in-flight list back and deliver whatever it holds before using the slot again.
        this.outstanding++;
        this.tasks.push({ source: p.list.key, inflightKey: p.inflightKey, slot: p.slot });
      } else {
        this.releaseSlot(key, p.slot);
      }
      if (isReplyError(err) && /^WRONGTYPE/.test(err.message)) {
        this.active.delete(key);
        this.redisBurst.log('warn', { key }, 'a drained key is not a list; skipping it');
      } else if (!(isReplyError(err) && err.message.includes(INFLIGHT_BUSY))) {
        broken ??= err;
      }
    });
    if (broken !== undefined && parts.length === 0) {
      await this.pause(broken, 'claim');
      return undefined;
    }
    if (broken === undefined) this.succeeded();
    if (parts.length === 0) return undefined;
    this.outstanding++;
    this.reportHealth();
    return { parts, records: undefined, attempts: 0, accepted: false, targets: undefined, id: undefined, redelivery: false };
  }

  /** Reads an in-flight list (adopted, or a slot with an unknown claim outcome) as a chunk. */
  private async loadTask(task: InflightTask): Promise<Chunk | undefined> {
    const client = this.client as RedisClient;
    let items: Buffer[];
    try {
      items = await client.lrangeBuffer(task.inflightKey, 0, -1);
    } catch (err) {
      this.tasks.unshift(task);
      await this.pause(err, 'in-flight read');
      return undefined;
    }
    // A slot task was counted when it was queued; an adopted list counts from now on.
    if (task.slot === undefined) this.outstanding++;
    if (items.length === 0) {
      this.finishTask(task);
      return undefined;
    }
    return {
      parts: [{ source: task.source, items, inflightKey: task.inflightKey, slot: task.slot }],
      records: undefined,
      attempts: 0,
      accepted: false,
      targets: undefined,
      id: undefined,
      redelivery: true,
    };
  }

  /** An empty in-flight list needs no delivery: free its slot (or forget the adopted list). */
  private finishTask(task: InflightTask): void {
    if (task.slot !== undefined) this.releaseSlot(task.source.key, task.slot);
    else if (this.tracker) this.track(this.tracker.ack([{ key: task.inflightKey, adopted: true }]).catch(() => undefined));
    this.finished();
  }

  /** One outstanding chunk (or in-flight list) is done: maybe claim more; keep the `/ready` facts current. */
  private finished(): void {
    this.outstanding--;
    this.reportHealth();
    this.wake.notify();
  }

  // ---------------------------------------------------------------------------------------------
  // Decoding and delivery

  private decode(chunk: Chunk): RecordBatch {
    const out: TykRecord[] = [];
    const raw = this.config.decode.raw;
    const maxBytes = this.config.decode.max_record_bytes;
    const opts = { raw, maxBytes };
    let bad: Map<string, number> | undefined;
    let envelopes: string[] | undefined;
    const now = Date.now();
    for (const part of chunk.parts) {
      const items = part.items;
      const enc = part.source.encoding;
      const first = out.length;
      for (let i = 0; i < items.length; i++) {
        const bytes = items[i] as Buffer;
        try {
          out.push(enc === 'uptime' ? decodeUptime(bytes, opts) : decodeAnalytics(bytes, enc, opts));
        } catch (err) {
          const reason = err instanceof DecodeError ? err.reason : 'decoder_error';
          bad ??= new Map();
          bad.set(reason, (bad.get(reason) ?? 0) + 1);
          if (this.config.dead_letter.enabled) {
            (envelopes ??= []).push(deadLetterEnvelope(part.source.key, reason, message(err), bytes, this.ctx.id, this.instance));
          }
          if (bad.size === 1 && bad.get(reason) === 1) {
            this.decodeBurst.log('warn', { key: part.source.key, reason, err: message(err), deadLetter: this.config.dead_letter.enabled ? this.deadLetterKey : undefined }, 'refused undecodable records');
          }
        }
      }
      part.items = [];
      if (out.length > first) this.noteLag(part.source.key, out[first] as TykRecord, out[out.length - 1] as TykRecord, now);
    }
    if (bad) {
      for (const [reason, n] of bad) this.ctx.telemetry.refused(n, reason);
      if (envelopes) this.deadLetter(envelopes, bad);
    }
    return out;
  }

  private noteLag(key: string, oldest: TykRecord, newest: TykRecord, now: number): void {
    const l = this.lag.get(key) ?? { oldest: 0, newest: 0 };
    if (oldest.timestampMs !== null) l.oldest = Math.max(0, (now - oldest.timestampMs) / 1000);
    if (newest.timestampMs !== null) l.newest = Math.max(0, (now - newest.timestampMs) / 1000);
    this.lag.set(key, l);
  }

  private deadLetter(envelopes: string[], bad: Map<string, number>): void {
    const client = this.client as RedisClient;
    const max = this.config.dead_letter.max_length;
    const push = envelopes.length > max ? envelopes.slice(envelopes.length - max) : envelopes;
    const p = client
      .pipeline()
      .rpush(this.deadLetterKey, ...push)
      .ltrim(this.deadLetterKey, -max, -1)
      .exec()
      .then((res) => {
        const failed = res?.find(([e]) => e);
        if (failed) throw failed[0] as Error;
        for (const [reason, n] of bad) this.inst.deadLettered.add(n, { receiver: this.ctx.id, reason });
      })
      .catch((err: unknown) => {
        this.ctx.telemetry.dropped(envelopes.length, 'dead_letter_failed');
        this.redisBurst.log('warn', { key: this.deadLetterKey, err: message(err), count: envelopes.length }, 'could not push undecodable records to the dead-letter list');
      });
    this.track(p);
  }

  /** Decodes (once) and hands a chunk to the pipelines; its acknowledgement runs when delivery settles. */
  private async deliver(chunk: Chunk): Promise<void> {
    chunk.records ??= this.decode(chunk);
    const records = chunk.records;
    if (records.length === 0) {
      this.acknowledge(chunk);
      return;
    }
    if (chunk.redelivery || chunk.attempts > 0) this.inst.redelivered.add(records.length, { receiver: this.ctx.id });
    // A re-delivery goes only to the exporters that have not taken the chunk yet.
    const { accepted, outcome } = this.pipelines.deliver(records, { only: chunk.targets, chunkId: chunk.id });
    await accepted; // backpressure: the next claim waits for this
    if (!chunk.accepted) {
      chunk.accepted = true;
      this.ctx.telemetry.accepted(records.length);
    }
    const done = outcome.then((o) => this.settle(chunk, o));
    this.awaiting.add(done);
    void done.finally(() => this.awaiting.delete(done));
  }

  private settle(chunk: Chunk, o: PipelineOutcome): void {
    const n = chunk.records?.length ?? 0;
    if (o.retry.length > 0 && this.atLeastOnce) {
      if (this.stopping) {
        // Stays in its in-flight list(s) for the next start or a peer.
        this.unackedLeft++;
        this.finished();
        return;
      }
      chunk.attempts++;
      chunk.targets = o.retry;
      const delay = backoffDelay(chunk.attempts, this.config.at_least_once.retry_initial_interval, this.config.at_least_once.retry_max_interval);
      this.deliveryBurst.log('warn', { err: o.error?.message, records: n, pipelines: o.retry.length, attempt: chunk.attempts, retryInMs: delay }, 'delivery failed; the chunk stays in redis and is re-delivered to the failed pipelines with backoff');
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.retryReady.push(chunk);
        this.wake.notify();
      }, delay);
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    if (o.retry.length > 0 || o.failed.length > 0) {
      this.ctx.telemetry.dropped(n, o.retry.length > 0 ? 'delivery_failed' : 'delivery_failed_permanently');
      this.deliveryBurst.log('error', { err: o.error?.message, records: n, pipelines: o.retry.length + o.failed.length, delivery: this.config.delivery }, this.atLeastOnce
        ? 'delivery failed permanently; the records are dropped in the failed pipelines'
        : 'delivery failed; the records are dropped in the failed pipelines (delivery: at_most_once)');
    }
    this.acknowledge(chunk);
  }

  /** At-least-once: deletes the chunk's in-flight lists (retrying until Redis takes it); frees its slot. */
  private acknowledge(chunk: Chunk): void {
    const tracker = this.tracker;
    const lists = chunk.parts.filter((p) => p.inflightKey !== undefined);
    if (!tracker || lists.length === 0) {
      this.finished();
      return;
    }
    const ack = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await tracker.ack(lists.map((p) => ({ key: p.inflightKey as string, adopted: p.slot === undefined })));
          break;
        } catch (err) {
          if (this.stopping) {
            this.unackedLeft++;
            this.finished();
            return;
          }
          this.redisBurst.log('warn', { err: message(err) }, 'could not acknowledge a delivered chunk; retrying (it may be delivered again)');
          await this.wake.wait(backoffDelay(attempt, this.config.reconnect.initial_interval, this.config.reconnect.max_interval));
        }
      }
      for (const p of lists) this.releaseSlot(p.source.key, p.slot);
      this.finished();
    };
    this.track(ack());
  }

  // ---------------------------------------------------------------------------------------------
  // Gauges

  private registerGauges(): void {
    const receiver = this.ctx.id;
    const add = (gauge: ObservableGauge, cb: (r: ObservableResult) => void) => {
      gauge.addCallback(cb);
      this.gaugeCallbacks.push({ gauge, cb });
    };
    add(this.inst.lag, (r) => {
      for (const [key, l] of this.lag) {
        r.observe(l.oldest, { receiver, key, record: 'oldest' });
        r.observe(l.newest, { receiver, key, record: 'newest' });
      }
    });
    add(this.inst.backlog, (r) => {
      for (const [key, n] of this.backlog) r.observe(n, { receiver, key });
    });
    add(this.inst.unacked, (r) => r.observe(this.outstanding, { receiver }));
  }
}
