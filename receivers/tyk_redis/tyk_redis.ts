/**
 * The `tyk_redis` receiver at run time: drains Tyk's analytics (and uptime) lists chunk by chunk, decodes
 * each element, hands the records downstream and — in at-least-once mode — deletes them from Redis only
 * once every pipeline has delivered them.
 *
 * This file wires the parts together and owns start and shutdown: `health.ts` (the connection and
 * `/ready`), `drain.ts` (the claim loop), `chunk.ts` (a chunk's lifecycle, from claimed to its one end),
 * `handover.ts` (decoding, delivery, re-delivery, acknowledgement), `dead-letter.ts` and `inflight.ts`
 * (the at-least-once bookkeeping in Redis: heartbeats, in-flight lists, adoption).
 */
import type { Logger } from 'pino';
import type { Counter, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { ComponentContext, Consumer, Receiver, ShutdownDeadline } from '../../src/component.js';
import { asPipelines } from '../../src/delivery.js';
import type { TykRedisConfig } from './config.js';
import type { RecordReads } from '../../src/record-reads.js';
import { projection } from '../../internal/tyk-wire/projection.js';
import { connectionPlan, createClient, type RedisClient } from '../../internal/redis/connection.js';
import { BookkeepingKeys, drainKeys, type DrainKey } from './keys.js';
import { defineScripts, type ScriptCommands } from './scripts.js';
import { InflightTracker } from './inflight.js';
import { ChunkLedger, type Chunk, type ChunkEnd } from './chunk.js';
import { RedisHealth } from './health.js';
import { DeadLetters } from './dead-letter.js';
import { Handover, type LagByKey } from './handover.js';
import { Drain } from './drain.js';
import { Background, message, Wakeup } from '../../internal/async/wakeup.js';

/** Instruments shared by every receiver instance on one meter (each instance adds its own callbacks). */
interface Instruments {
  readonly lag: ObservableGauge;
  readonly backlog: ObservableGauge;
  readonly unacked: ObservableGauge;
  readonly deadLettered: Counter;
  readonly redelivered: Counter;
  readonly lost: Counter;
  readonly coercions: Counter;
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
      coercions: meter.createCounter('receiver.decode_coercions', {
        description: 'Values the tolerant decoder coerced in records of an unexpected shape, by wire field and reason (unrecoverable: left at the zero value).',
        unit: '{value}',
      }),
      lost: meter.createCounter('receiver.lost_items', {
        description: 'Records removed from Redis and never delivered, by reason (shutdown: at-most-once chunks whose delivery had not finished when the shutdown deadline passed).',
        unit: '{item}',
      }),
    };
    instrumentsByMeter.set(meter, i);
  }
  return i;
}

/** The receiver. */
export class TykRedisReceiver implements Receiver {
  private readonly keys: readonly DrainKey[];
  private readonly book: BookkeepingKeys;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly wake = new Wakeup();
  private readonly inst: Instruments;
  private readonly ledger: ChunkLedger;
  private readonly backlog = new Map<string, number>();
  private readonly lag: LagByKey = new Map();
  /** Deliveries whose outcome is pending. */
  private readonly deliveries = new Background();
  /** Acknowledgements, dead-letter writes, heartbeats, adoption. */
  private readonly background = new Background();

  private client: (RedisClient & ScriptCommands) | undefined;
  private health: RedisHealth | undefined;
  private tracker: InflightTracker | undefined;
  private drain: Drain | undefined;
  private handover: Handover | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private adopting = false;
  private readonly gaugeCallbacks: { gauge: ObservableGauge; cb: (r: ObservableResult) => void }[] = [];

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: TykRedisConfig,
    private readonly next: Consumer<'records'>,
    /** What the pipelines read of the records (src/record-reads.ts): only those fields are decoded. */
    private readonly reads: RecordReads = 'all',
  ) {
    this.keys = drainKeys(config);
    this.book = new BookkeepingKeys(config.key_prefix);
    this.instance = `${config.at_least_once.instance_id !== '' ? config.at_least_once.instance_id : ctx.instanceId}/${ctx.id}`;
    this.log = ctx.logger;
    this.inst = instruments(ctx.telemetry.meter);
    this.ledger = new ChunkLedger({
      accepted: (_chunk, n) => this.ctx.telemetry.accepted(n),
      redelivered: (_chunk, n) => this.inst.redelivered.add(n, { receiver: this.ctx.id }),
      ended: (chunk, end) => this.ended(chunk, end),
    });
  }

  async start(): Promise<void> {
    if (this.loop || this.stopping) return;
    const config = this.config;
    const plan = connectionPlan(config, this.ctx.configDir, { component: this.ctx.id });
    const client = defineScripts(createClient(plan));
    this.client = client;
    const health = new RedisHealth(this.ctx, config, plan.describe, this.wake, { unacked: () => this.ledger.size, stopping: () => this.stopping });
    this.health = health;
    health.attach(client);
    this.registerGauges();
    this.ctx.health.set({ ready: false, detail: `connecting to redis (${plan.describe})`, facts: health.snapshot() });
    this.timers.push(setInterval(() => health.report(), 1000));
    // Both delivery modes claim into in-flight lists of this instance (see drain.ts).
    const tracker = new InflightTracker(client, this.book, this.instance, {
      heartbeatIntervalMs: config.at_least_once.heartbeat_interval,
      heartbeatTimeoutMs: config.at_least_once.heartbeat_timeout,
    }, this.log);
    this.tracker = tracker;
    this.timers.push(setInterval(() => this.heartbeat(), config.at_least_once.heartbeat_interval));
    this.timers.push(setInterval(() => this.adoptDead(), config.at_least_once.heartbeat_timeout));
    for (const t of this.timers) t.unref();
    const stopping = () => this.stopping;
    const deadLetterKey = config.dead_letter.key !== '' ? config.dead_letter.key : this.book.deadLetter;
    const deadLetters = new DeadLetters(this.ctx, config.dead_letter, config.reconnect, deadLetterKey, this.inst.deadLettered, health.burst, this.wake, stopping);
    this.handover = new Handover({
      ctx: this.ctx, config, pipelines: asPipelines(this.next), deadLetters, lag: this.lag, wake: this.wake,
      deliveries: this.deliveries, background: this.background, redisBurst: health.burst, instance: this.instance,
      client, tracker, stopping, coercions: this.inst.coercions, projection: projection(this.reads, { raw: config.decode.raw }),
    });
    this.drain = new Drain({
      config, keys: this.keys, log: this.log, health, ledger: this.ledger, handover: this.handover, wake: this.wake,
      backlog: this.backlog, lag: this.lag, client, tracker, stopping,
    });
    this.log.info(
      { redis: plan.describe, mode: plan.mode, delivery: config.delivery, lists: this.keys.map((k) => k.key), chunkSize: config.chunk_size, maxChunkBytes: config.max_chunk_bytes, instance: this.instance },
      'draining Tyk analytics from redis',
    );
    client.connect().catch(() => undefined); // failures arrive as events and are retried with backoff
    const drain = this.drain;
    this.loop = drain.run().catch((err: unknown) => {
      this.log.error({ err }, 'drain loop stopped by an unexpected error');
    });
  }

  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopped ??= this.stop(deadline?.at ?? Infinity);
    return this.stopped;
  }

  /** A chunk ended: give its slots back, count what it dropped, maybe claim more. */
  private ended(chunk: Chunk, end: ChunkEnd): void {
    if (end === 'dropped') this.ctx.telemetry.dropped(chunk.recordCount ?? 0, chunk.dropReason ?? 'delivery_failed');
    if (end === 'lost') this.inst.lost.add(chunk.recordCount ?? chunk.itemCount, { receiver: this.ctx.id, reason: 'shutdown' });
    if (end === 'empty' && this.tracker) {
      // An empty adopted list: forget it in our registry (a slot list is simply reused).
      const adopted = chunk.parts.filter((p) => p.slot === undefined && p.inflightKey !== undefined).map((p) => ({ key: p.inflightKey as string, adopted: true }));
      if (adopted.length > 0) this.background.add(this.tracker.ack(adopted));
    }
    if (end !== 'left') this.drain?.release(chunk);
    if (!this.stopping) this.health?.report();
    this.wake.notify();
  }

  /** Waits for what is in flight until `shutdown_timeout` or the graph's deadline (`until`), whichever is first. */
  private async stop(until: number): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    for (const t of this.timers) clearInterval(t);
    this.handover?.stop();
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
    while (this.deliveries.size > 0 && Date.now() < deadline) await within(this.deliveries.any());
    while (this.background.size > 0 && Date.now() < deadline) await within(this.background.any());
    // What is still open stays in Redis (in-flight lists) for the next start or a peer — unless
    // at-most-once had taken it out of Redis already: that is lost (counted).
    for (const chunk of this.ledger.openChunks()) chunk.leave();
    const unfinished = this.ledger.ended('left') + (this.drain?.pendingAdopted ?? 0);
    if (this.tracker && this.health?.connected) {
      await within(this.tracker.leave(unfinished === 0).catch(() => undefined));
    }
    if (unfinished > 0) {
      this.log.warn({ chunks: unfinished, delivery: this.config.delivery }, 'shut down with undelivered chunks; they stay in redis in-flight lists and are re-delivered on the next start or by a peer');
    }
    if (this.ledger.ended('lost') > 0) {
      this.log.warn({ chunks: this.ledger.ended('lost'), delivery: this.config.delivery }, 'shut down before every chunk taken out of redis was delivered; its records are lost (counted as lost_items, reason shutdown)');
    }
    for (const { gauge, cb } of this.gaugeCallbacks) gauge.removeCallback(cb);
    this.ctx.health.set({ ready: false, detail: 'stopped' });
    if (client.status === 'ready') await within(client.quit().catch(() => undefined));
    client.disconnect();
    this.log.info('stopped draining');
  }

  // ---------------------------------------------------------------------------------------------
  // In-flight bookkeeping in the background

  private heartbeat(): void {
    const t = this.tracker;
    if (!t || !this.health?.connected || this.stopping) return;
    this.background.add(t.beat().then(() => this.wake.notify(), (err: unknown) => {
      this.health?.burst.log('warn', { err: message(err) }, 'could not refresh the heartbeat of this instance');
    }));
  }

  private adoptDead(): void {
    const t = this.tracker;
    if (!t || !this.health?.connected || this.stopping || this.adopting) return;
    this.adopting = true;
    this.background.add(t.adoptDead().then((tasks) => this.drain?.adopt(tasks), (err: unknown) => {
      this.health?.burst.log('warn', { err: message(err) }, 'could not check for dead peers\' in-flight records');
    }).finally(() => {
      this.adopting = false;
    }));
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
    add(this.inst.unacked, (r) => r.observe(this.ledger.size, { receiver }));
  }
}
