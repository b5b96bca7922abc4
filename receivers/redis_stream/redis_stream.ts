/**
 * The `redis_stream` receiver at run time: one consumer (`instance_id`) of a consumer group (`group`) of a
 * stream. It creates the group on first start, re-delivers its own pending entries (a previous run under
 * the same name), then reads new entries and hands each read to the pipelines as one batch
 * (`handover.ts`: `XACK` only once every pipeline delivered). Every `claim_idle / 2` it claims entries
 * pending longer than `claim_idle` at other consumers (dead ones) with `XAUTOCLAIM`, dead-lettering those
 * delivered `max_deliveries` times already. Every `lag_interval` it samples the group's lag and pending
 * entries (`XINFO GROUPS`) for self-telemetry and `/ready`.
 *
 * Two connections: a blocking read holds its connection, so the wait for new entries (`XREAD BLOCK`) has
 * one of its own; reads, claims, acknowledgements and dead letters share the other. A read is one Lua
 * script (`scripts.ts`) that also counts entries trimmed before the group read them (lost, logged).
 */
import type { Logger } from 'pino';
import type { Counter, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { ComponentContext, Consumer, Receiver, ShutdownDeadline } from '../../src/component.js';
import { asPipelines } from '../../src/delivery.js';
import { BurstLogger } from '../../src/logger.js';
import { backoffDelay, connectionPlan, createClient, type RedisClient } from '../../internal/redis/connection.js';
import { ConnectionWatch } from '../../internal/redis/watch.js';
import { Background, message, Wakeup } from '../../internal/async/wakeup.js';
import type { RedisStreamReceiverConfig } from './config.js';
import { defineStreamScripts, type StreamScripts } from './scripts.js';
import { BatchLedger, StreamBatch, type BatchEnd } from './batch.js';
import { decodeEntries, type RawEntry } from './entries.js';
import type { RecordReads } from '../../src/record-reads.js';
import { projection, type Projection } from '../../internal/tyk-wire/projection.js';
import type { DecodeOptions } from '../../internal/tyk-wire/decode.js';
import { Handover } from './handover.js';
import { Claimer } from './claim.js';
import { deadLetterKey } from './dead-letters.js';
import { chunkIdOf, endsARead, ReadRanges, splitByRanges, type EntryGroup, type ReadRange } from './ranges.js';

interface Instruments {
  readonly lag: ObservableGauge;
  readonly pending: ObservableGauge;
  readonly lost: Counter;
  readonly deadLettered: Counter;
  readonly redelivered: Counter;
  readonly claimed: Counter;
}
const byMeter = new WeakMap<Meter, Instruments>();

function instruments(meter: Meter): Instruments {
  let i = byMeter.get(meter);
  if (!i) {
    i = {
      lag: meter.createObservableGauge('receiver.stream_lag_entries', { description: 'Entries of the stream not yet delivered to the consumer group (XINFO GROUPS lag).', unit: '{entry}' }),
      pending: meter.createObservableGauge('receiver.stream_pending_entries', { description: 'Entries delivered to the group\'s consumers and not acknowledged yet (XINFO GROUPS pending).', unit: '{entry}' }),
      lost: meter.createCounter('receiver.stream_lost_entries', { description: 'Entries trimmed from the stream before the group delivered them (trimmed_unread) or while pending at a consumer (trimmed_pending): retention was exceeded.', unit: '{entry}' }),
      deadLettered: meter.createCounter('receiver.stream_dead_lettered_entries', { description: 'Entries pushed to the dead-letter list, by reason.', unit: '{entry}' }),
      redelivered: meter.createCounter('receiver.stream_redelivered_entries', { description: 'Records delivered again (retries, own pending entries after a restart, entries claimed from dead consumers).', unit: '{record}' }),
      claimed: meter.createCounter('receiver.stream_claimed_entries', { description: 'Entries claimed from other consumers of the group after claim_idle (XAUTOCLAIM).', unit: '{entry}' }),
    };
    byMeter.set(meter, i);
  }
  return i;
}

/**
 * The entries of a one-stream XREADGROUP reply: `[[key, entries]]` as Redis sends it, or `[key, entries]`
 * as some ioredis versions reshape it.
 */
function readReply(r: unknown): RawEntry[] {
  if (!Array.isArray(r) || r.length === 0) return [];
  const pair = (Array.isArray(r[0]) ? r[0] : r) as unknown[];
  return Array.isArray(pair[1]) ? (pair[1] as RawEntry[]) : [];
}

/** Whether an error says the group (or the stream) is gone. */
function noGroup(err: unknown): boolean {
  return err instanceof Error && /NOGROUP/.test(err.message);
}

/** The receiver. */
export class RedisStreamReceiver implements Receiver {
  private readonly log: Logger;
  private readonly consumer: string;
  private readonly wake = new Wakeup();
  private readonly inst: Instruments;
  private readonly ledger: BatchLedger;
  private readonly deliveries = new Background();
  private readonly background = new Background();
  private readonly burst: BurstLogger;
  private readonly lossBurst: BurstLogger;
  /** Entries claimed from dead consumers (split into their original reads), waiting to be delivered. */
  private readonly claimedQueue: EntryGroup[] = [];
  private client: (RedisClient & StreamScripts) | undefined;
  private reader: RedisClient | undefined;
  private watch: ConnectionWatch | undefined;
  private handover: Handover | undefined;
  private claimer: Claimer | undefined;
  private ranges: ReadRanges | undefined;
  /** Own pending entries of a previous run re-read: from then on every pending entry of this consumer is held in memory. */
  private recovered = false;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Aborted when shutdown begins: waits for the connection end at once. */
  private readonly abort = new AbortController();
  private stopped: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private joined = false;
  private group: { lag: number | null; pending: number } | undefined;
  private lastReadAt = 0;
  private readonly gaugeCallbacks: { gauge: ObservableGauge; cb: (r: ObservableResult) => void }[] = [];
  private readonly projection: Projection;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: RedisStreamReceiverConfig,
    private readonly next: Consumer<'records'>,
    /** What the pipelines read of the records (src/record-reads.ts): only those fields are decoded. */
    reads: RecordReads = 'all',
  ) {
    this.projection = projection(reads, { raw: config.decode.raw });
    this.log = ctx.logger;
    this.consumer = config.instance_id !== '' ? config.instance_id : ctx.instanceId;
    this.inst = instruments(ctx.telemetry.meter);
    this.burst = new BurstLogger(this.log);
    this.lossBurst = new BurstLogger(this.log);
    this.ledger = new BatchLedger((_b: StreamBatch, _end: BatchEnd) => {
      this.wake.notify();
    });
  }

  async start(): Promise<void> {
    if (this.loop || this.stopping) return;
    const c = this.config;
    const plan = connectionPlan(c, this.ctx.configDir, { component: this.ctx.id });
    const client = defineStreamScripts(createClient(plan));
    // The blocking wait may take `block` before it answers: its command timeout covers that.
    this.reader = createClient(connectionPlan({ ...c, command_timeout: c.command_timeout + c.block }, this.ctx.configDir, { component: this.ctx.id, connectionName: 'tyk-otel-pump-stream-reader' }));
    this.client = client;
    const watch = new ConnectionWatch(client, plan.describe);
    this.watch = watch;
    client.on('ready', () => this.report());
    client.on('error', () => this.report());
    const ranges = new ReadRanges(client, `${c.stream}:reads:${c.group}`);
    this.ranges = ranges;
    this.handover = new Handover({
      ctx: this.ctx, config: c, pipelines: asPipelines(this.next), client, consumer: this.consumer, wake: this.wake, ranges,
      deadLetterKey: deadLetterKey(c),
      deliveries: this.deliveries, background: this.background, redelivered: this.inst.redelivered, deadLettered: this.inst.deadLettered,
      decodeOptions: this.decodeOptions(), stopping: () => this.stopping,
    });
    const active = () => !this.stopping && this.joined && client.status === 'ready';
    this.claimer = new Claimer({
      ctx: this.ctx, config: c, consumer: this.consumer, client, ranges, handover: this.handover, claimed: this.inst.claimed, burst: this.burst,
      queue: this.claimedQueue, lost: (n, reason) => this.lost(n, reason), notify: () => this.wake.notify(), active,
    });
    this.registerGauges();
    this.report();
    const claimer = this.claimer;
    this.timers.push(setInterval(() => void claimer.claim(), Math.max(5, Math.floor(c.claim_idle / 2))));
    // Before its own pending entries of a previous run are re-read, they are not held: no heartbeat for them.
    this.timers.push(setInterval(() => void (this.recovered ? claimer.heartbeat() : undefined), Math.max(5, Math.floor(c.claim_idle / 4))));
    this.timers.push(setInterval(() => void this.sampleLag(), c.lag_interval));
    for (const t of this.timers) t.unref();
    this.log.info({ redis: plan.describe, stream: c.stream, group: c.group, consumer: this.consumer, from: c.from }, 'reading records from a redis stream consumer group');
    client.connect().catch(() => undefined); // failures arrive as 'error' events and are retried with backoff
    this.reader.connect().catch(() => undefined);
    this.loop = this.run().catch((err: unknown) => this.log.error({ err }, 'read loop stopped by an unexpected error'));
  }

  shutdown(deadline?: ShutdownDeadline): Promise<void> {
    this.stopped ??= this.stop(deadline?.at ?? Infinity);
    return this.stopped;
  }

  private report(): void {
    if (this.stopping || !this.watch) return;
    const facts = {
      stream: this.config.stream, group: this.config.group, consumer: this.consumer,
      lagEntries: this.group?.lag ?? null, pendingEntries: this.group?.pending ?? null, unackedReads: this.ledger.size,
      lastReadAgeSeconds: this.lastReadAt === 0 ? null : Math.round((Date.now() - this.lastReadAt) / 1000),
    };
    if (!this.watch.ready) this.ctx.health.set({ ready: false, detail: this.watch.problem ?? 'connecting', facts });
    else if (!this.joined) this.ctx.health.set({ ready: false, detail: `joining group ${this.config.group}`, facts });
    else this.ctx.health.set({ ready: true, facts });
  }

  /** Creates the group when missing (from earliest or latest). */
  private async join(client: RedisClient & StreamScripts): Promise<void> {
    const c = this.config;
    const created = await client.streamCreateGroup(c.stream, c.group, c.from === 'earliest' ? '0' : '$');
    if (created === 1) this.log.info({ stream: c.stream, group: c.group, from: c.from }, 'created the consumer group');
    this.joined = true;
    this.report();
  }

  private async run(): Promise<void> {
    const c = this.config;
    const client = this.client as RedisClient & StreamScripts;
    const handover = this.handover as Handover;
    let failures = 0;
    const pause = async (err: unknown, what: string) => {
      // A failure caused by the shutdown itself (the connection wait given up) is no reason to back off.
      if (this.stopping) return;
      failures++;
      this.burst.log('warn', { err: message(err), during: what}, 'redis stream read failed; retrying with backoff');
      await this.wake.wait(backoffDelay(failures, c.reconnect.initial_interval, c.reconnect.max_interval));
    };
    // Join the group and re-deliver this consumer's own pending entries (a previous run under this name),
    // split at the reads they came from (`ranges.ts`); the last group of a page may go on in the next one.
    let cursor = '0';
    let carry: RawEntry[] = [];
    let ranges: ReadRange[] | undefined;
    while (!this.stopping) {
      try {
        await (this.watch as ConnectionWatch).whenReady(c.connect_timeout, this.abort.signal);
        if (!this.joined) await this.join(client);
        if (this.ledger.size >= c.max_unacked_reads || this.ledger.bytes >= c.max_unacked_bytes) {
          if (!this.ledger.has('acking')) handover.release();
          await this.wake.wait(1000);
          continue;
        }
        ranges ??= await (this.ranges as ReadRanges).load();
        const entries = readReply(await client.callBuffer('XREADGROUP', 'GROUP', c.group, this.consumer, 'COUNT', c.count, 'STREAMS', c.stream, cursor));
        const held = carry.concat(entries);
        if (entries.length > 0) cursor = String(entries[entries.length - 1]?.[0]);
        const more = entries.length === c.count;
        const groups = splitByRanges(held, ranges, c.count);
        carry = more && !endsARead(held, ranges) ? (groups.pop()?.entries ?? []) : [];
        if (groups.length > 0) this.log.info({ entries: held.length - carry.length }, 'found pending entries of a previous run of this consumer; re-delivering them');
        for (const g of groups) await this.handle(g.entries, true, g.range);
        failures = 0;
        if (!more) break;
      } catch (err) {
        await pause(err, 'start-up');
      }
    }
    this.recovered = true;
    while (!this.stopping) {
      try {
        const retry = handover.nextRetry();
        if (retry) {
          await handover.deliver(retry);
          continue;
        }
        if (this.ledger.size >= c.max_unacked_reads || this.ledger.bytes >= c.max_unacked_bytes) {
          // Reads held by a processor to be emitted with later ones (the sli window) are emitted now: no
          // later read comes until one ends — unless one is being acknowledged (its slot frees in a round trip).
          if (!this.ledger.has('acking')) handover.release();
          await this.wake.wait(1000);
          continue;
        }
        const claimed = this.claimedQueue.shift();
        if (claimed) {
          await this.handle(claimed.entries, true, claimed.range);
          continue;
        }
        const [lost, lastId, entries] = await client.streamReadBuffer(c.stream, c.group, this.consumer, c.count);
        failures = 0;
        this.lastReadAt = Date.now();
        if (lost > 0) this.lost(lost, 'trimmed_unread');
        if (entries.length === 0) {
          await this.waitForEntries(lastId.toString());
          continue;
        }
        await this.handle(entries, false, undefined);
      } catch (err) {
        if (noGroup(err)) this.joined = false; // deleted (or the stream was): created again before the next read
        if (!this.joined && !this.stopping) {
          try {
            await this.join(client);
            continue;
          } catch (e) {
            await pause(e, 'joining the group');
            continue;
          }
        }
        await pause(err, 'read');
      }
    }
  }

  /** Waits (on the reader connection) until the stream has an entry after `lastId`, at most `block`. */
  private async waitForEntries(lastId: string): Promise<void> {
    const reader = this.reader;
    if (!reader || reader.status !== 'ready') {
      await this.wake.wait(Math.min(this.config.block, 1000));
      return;
    }
    await reader.call('XREAD', 'COUNT', 1, 'BLOCK', this.config.block, 'STREAMS', this.config.stream, lastId).catch(async () => {
      if (!this.stopping) await this.wake.wait(Math.min(this.config.block, 1000));
    });
  }

  /**
   * Decodes a read (or a claimed or recovered part of one), dead-letters what cannot be decoded, and delivers
   * the rest as one batch. Entries that belong to no registered read (a fresh read, or a part whose read was
   * never registered) are registered as one before delivery, so a later re-claim rebuilds the same batch.
   */
  private async handle(entries: RawEntry[], recovered: boolean, range: ReadRange | undefined): Promise<void> {
    const handover = this.handover as Handover;
    const d = decodeEntries(entries, this.decodeOptions(), this.config.group);
    if (d.trimmed > 0) this.lost(d.trimmed, 'trimmed_pending');
    const present = entries.filter((e) => e[1] !== null).map((e) => e[0].toString());
    let read = range;
    if (!read && present.length > 0) {
      read = { first: present[0] as string, last: present[present.length - 1] as string };
      await (this.ranges as ReadRanges).register(read).catch((err: unknown) => {
        this.burst.log('warn', { err: message(err) }, 'could not register a read; should this consumer die, a peer may deliver its entries under another chunk id (duplicates in SQL)');
      });
    }
    if (d.refused.length > 0) {
      const byReason = new Map<string, number>();
      for (const r of d.refused) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
      for (const [reason, n] of byReason) this.ctx.telemetry.refused(n, reason);
      this.burst.log('warn', { entries: d.refused.length, reason: d.refused[0]?.reason, err: d.refused[0]?.error }, 'refused entries that do not decode; they go to the dead-letter list');
      // Written before the batch is acknowledged: a crash in between re-delivers, never loses.
      if ((await handover.deadLetter(d.refused)) === 'stopped') return;
    }
    const batch = new StreamBatch(this.ledger, chunkIdOf(this.config.stream, present), d.ids, d.records, d.bytes, recovered, read?.first);
    await handover.deliver(batch);
  }

  /** How entries are decoded: only the fields the pipelines read, within the size bound. */
  private decodeOptions(): DecodeOptions {
    return { projection: this.projection, maxBytes: this.config.decode.max_record_bytes };
  }

  private lost(n: number, reason: 'trimmed_unread' | 'trimmed_pending'): void {
    this.inst.lost.add(n, { receiver: this.ctx.id, reason });
    this.lossBurst.log('error', { entries: n, reason, stream: this.config.stream, group: this.config.group }, reason === 'trimmed_unread'
      ? 'entries were trimmed from the stream before this group read them: the group is behind the stream\'s retention (max_len / max_age); they are lost'
      : 'entries pending at a consumer were trimmed from the stream before they were acknowledged; they are lost');
  }

  private async sampleLag(): Promise<void> {
    const client = this.client;
    if (this.stopping || !this.joined || !client || client.status !== 'ready') return;
    try {
      const groups = (await client.call('XINFO', 'GROUPS', this.config.stream)) as unknown[][];
      for (const flat of groups) {
        const g = new Map<string, unknown>();
        for (let i = 0; i + 1 < flat.length; i += 2) g.set(String(flat[i]), flat[i + 1]);
        if (g.get('name') !== this.config.group) continue;
        const lag = g.get('lag');
        this.group = { lag: lag === null || lag === undefined ? null : Number(lag), pending: Number(g.get('pending') ?? 0) };
      }
      this.report();
    } catch (err) {
      this.burst.log('warn', { err: message(err) }, 'could not sample the consumer group\'s lag');
    }
  }

  private registerGauges(): void {
    const attrs = { receiver: this.ctx.id, stream: this.config.stream, group: this.config.group };
    const add = (gauge: ObservableGauge, cb: (r: ObservableResult) => void) => {
      gauge.addCallback(cb);
      this.gaugeCallbacks.push({ gauge, cb });
    };
    add(this.inst.lag, (r) => {
      if (this.group?.lag !== null && this.group?.lag !== undefined) r.observe(this.group.lag, attrs);
    });
    add(this.inst.pending, (r) => {
      if (this.group) r.observe(this.group.pending, attrs);
    });
  }

  private async stop(until: number): Promise<void> {
    this.stopping = true;
    // Ends a wait for the connection at once (Redis unreachable: it would last up to connect_timeout).
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.handover?.stop();
    this.wake.notify();
    // Ends a blocking wait at once.
    this.reader?.disconnect();
    const client = this.client;
    if (!client) return;
    const deadline = Math.min(Date.now() + this.config.shutdown_timeout, until);
    const within = async (p: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([p, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    };
    await within(this.loop ?? Promise.resolve());
    while (this.deliveries.size > 0 && Date.now() < deadline) await within(this.deliveries.any());
    while (this.background.size > 0 && Date.now() < deadline) await within(this.background.any());
    const open = this.ledger.openBatches();
    for (const b of open) if (!b.ended) b.leave();
    if (open.length > 0) this.log.warn({ reads: open.length }, 'shut down with undelivered entries; they stay pending in the group for this consumer\'s next start or a peer\'s claim');
    for (const { gauge, cb } of this.gaugeCallbacks) gauge.removeCallback(cb);
    this.ctx.health.set({ ready: false, detail: 'stopped' });
    if (client.status === 'ready') await within(client.quit().catch(() => undefined));
    client.disconnect();
    this.log.info('stopped reading the stream');
  }
}
