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
import { decodeEntries, type RawEntry, type RefusedEntry } from './entries.js';
import type { RecordReads } from '../../src/record-reads.js';
import { projection, type Projection } from '../../internal/tyk-wire/projection.js';
import { Handover } from './handover.js';

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
  /** Entries claimed from dead consumers, waiting to be delivered. */
  private readonly claimedQueue: RawEntry[][] = [];
  private client: (RedisClient & StreamScripts) | undefined;
  private reader: RedisClient | undefined;
  private watch: ConnectionWatch | undefined;
  private handover: Handover | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private claiming = false;
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
    this.handover = new Handover({
      ctx: this.ctx, config: c, pipelines: asPipelines(this.next), client, consumer: this.consumer, wake: this.wake,
      deadLetterKey: c.dead_letter.key !== '' ? c.dead_letter.key : `${c.stream}:dead-letter:${c.group}`,
      deliveries: this.deliveries, background: this.background, redelivered: this.inst.redelivered, deadLettered: this.inst.deadLettered,
      stopping: () => this.stopping,
    });
    this.registerGauges();
    this.report();
    this.timers.push(setInterval(() => void this.claim(), Math.max(5, Math.floor(c.claim_idle / 2))));
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
      failures++;
      this.burst.log('warn', { err: message(err), during: what}, 'redis stream read failed; retrying with backoff');
      await this.wake.wait(backoffDelay(failures, c.reconnect.initial_interval, c.reconnect.max_interval));
    };
    // Join the group and re-deliver this consumer's own pending entries (a previous run under this name).
    let cursor = '0';
    while (!this.stopping) {
      try {
        await (this.watch as ConnectionWatch).whenReady(c.connect_timeout);
        if (!this.joined) await this.join(client);
        if (this.ledger.size >= c.max_unacked_reads) {
          await this.wake.wait(1000);
          continue;
        }
        const entries = readReply(await client.callBuffer('XREADGROUP', 'GROUP', c.group, this.consumer, 'COUNT', c.count, 'STREAMS', c.stream, cursor));
        if (entries.length === 0) break;
        cursor = String(entries[entries.length - 1]?.[0]);
        this.log.info({ entries: entries.length }, 'found pending entries of a previous run of this consumer; re-delivering them');
        await this.handle(entries, true);
        failures = 0;
      } catch (err) {
        await pause(err, 'start-up');
      }
    }
    while (!this.stopping) {
      try {
        const retry = handover.nextRetry();
        if (retry) {
          await handover.deliver(retry);
          continue;
        }
        if (this.ledger.size >= c.max_unacked_reads) {
          await this.wake.wait(1000);
          continue;
        }
        const claimed = this.claimedQueue.shift();
        if (claimed) {
          await this.handle(claimed, true);
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
        await this.handle(entries, false);
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

  /** Decodes a read (or a claim), dead-letters what cannot be decoded, and delivers the rest as one batch. */
  private async handle(entries: RawEntry[], recovered: boolean): Promise<void> {
    const handover = this.handover as Handover;
    const d = decodeEntries(entries, { projection: this.projection, maxBytes: this.config.decode.max_record_bytes });
    if (d.trimmed > 0) this.lost(d.trimmed, 'trimmed_pending');
    if (d.refused.length > 0) {
      const byReason = new Map<string, number>();
      for (const r of d.refused) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
      for (const [reason, n] of byReason) this.ctx.telemetry.refused(n, reason);
      this.burst.log('warn', { entries: d.refused.length, reason: d.refused[0]?.reason, err: d.refused[0]?.error }, 'refused entries that do not decode; they go to the dead-letter list');
      // Written before the batch is acknowledged: a crash in between re-delivers, never loses.
      if ((await handover.deadLetter(d.refused)) === 'stopped') return;
    }
    const batch = new StreamBatch(this.ledger, `${this.config.stream}:${d.ids[0] ?? ''}`, d.ids, d.records, d.bytes, recovered);
    await handover.deliver(batch);
  }

  private lost(n: number, reason: 'trimmed_unread' | 'trimmed_pending'): void {
    this.inst.lost.add(n, { receiver: this.ctx.id, reason });
    this.lossBurst.log('error', { entries: n, reason, stream: this.config.stream, group: this.config.group }, reason === 'trimmed_unread'
      ? 'entries were trimmed from the stream before this group read them: the group is behind the stream\'s retention (max_len / max_age); they are lost'
      : 'entries pending at a consumer were trimmed from the stream before they were acknowledged; they are lost');
  }

  /** Claims entries idle longer than `claim_idle` at other consumers; dead-letters the ones delivered too often. */
  private async claim(): Promise<void> {
    const c = this.config;
    const client = this.client;
    if (this.claiming || this.stopping || !this.joined || !client || client.status !== 'ready') return;
    this.claiming = true;
    try {
      // Only when some other consumer with pending entries has not read for claim_idle (it died or hangs):
      // a live consumer's entries can sit pending longer than claim_idle while its destination is slow.
      const consumers = (await client.call('XINFO', 'CONSUMERS', c.stream, c.group)) as unknown[][];
      const idle = consumers.some((flat) => {
        const m = new Map<string, unknown>();
        for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
        return m.get('name') !== this.consumer && Number(m.get('pending')) > 0 && Number(m.get('idle')) >= c.claim_idle;
      });
      if (!idle) return;
      let cursor = '0-0';
      do {
        const [next, entries, deleted] = (await client.callBuffer('XAUTOCLAIM', c.stream, c.group, this.consumer, c.claim_idle, cursor, 'COUNT', c.count)) as [Buffer, RawEntry[], Buffer[] | undefined];
        cursor = next.toString();
        if (deleted && deleted.length > 0) this.lost(deleted.length, 'trimmed_pending');
        if (entries.length === 0) continue;
        const ids = entries.map((e) => e[0].toString());
        const pending = (await client.call('XPENDING', c.stream, c.group, ids[0] as string, ids[ids.length - 1] as string, ids.length + c.count * c.max_unacked_reads, this.consumer)) as [string, string, number, number][];
        const deliveries = new Map(pending.map((p) => [p[0], Number(p[3])]));
        const poison: RawEntry[] = [];
        const fine: RawEntry[] = [];
        for (const e of entries) ((deliveries.get(e[0].toString()) ?? 0) > c.max_deliveries ? poison : fine).push(e);
        if (poison.length > 0) await this.poison(client, poison);
        if (fine.length > 0) {
          this.inst.claimed.add(fine.length, { receiver: this.ctx.id });
          this.log.info({ entries: fine.length, idleMs: c.claim_idle }, 'claimed entries pending at another consumer of the group (it stopped acknowledging)');
          this.claimedQueue.push(fine);
          this.wake.notify();
        }
      } while (cursor !== '0-0' && !this.stopping && this.claimedQueue.length < c.max_unacked_reads);
    } catch (err) {
      this.burst.log('warn', { err: message(err) }, 'could not claim entries of dead consumers; retrying at the next interval');
    } finally {
      this.claiming = false;
    }
  }

  /** Entries delivered `max_deliveries` times: dead-lettered, then acknowledged. */
  private async poison(client: RedisClient, entries: RawEntry[]): Promise<void> {
    const refused: RefusedEntry[] = entries.map(([id, fields]) => {
      const f = new Map<string, Buffer>();
      for (let i = 0; fields && i + 1 < fields.length; i += 2) f.set(String(fields[i]), fields[i + 1] as Buffer);
      return { id: id.toString(), reason: 'max_deliveries', error: `delivered more than ${this.config.max_deliveries} times without being acknowledged`, bytes: f.get('data') ?? Buffer.alloc(0), source: String(f.get('source') ?? ''), format: String(f.get('format') ?? '') };
    });
    this.burst.log('warn', { entries: refused.length, maxDeliveries: this.config.max_deliveries }, 'entries keep failing at every consumer; they go to the dead-letter list');
    const written = await (this.handover as Handover).deadLetter(refused);
    if (written === 'stopped') return;
    if (written === 'skipped') this.ctx.telemetry.dropped(refused.length, 'max_deliveries');
    await client.xack(this.config.stream, this.config.group, ...refused.map((r) => r.id));
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
