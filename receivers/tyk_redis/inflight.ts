/**
 * At-least-once bookkeeping in Redis, per agent instance:
 *
 * - `<prefix>tyk-otel-pump-instances` (set): instances that may own in-flight lists.
 * - `<prefix>tyk-otel-pump-heartbeat:<instance>` (string with a TTL): refreshed every
 *   `heartbeat_interval`; when it has expired the instance is dead.
 * - `<prefix>tyk-otel-pump-inflight:<instance>` (hash): every in-flight list the instance may own, field =
 *   list key, value = `<encoding>|<source key>`. A list is registered *before* the first claim into it.
 * - `{<source key's hash tag>}:tyk-otel-pump-inflight:<instance>:<slot>` (list): one claimed chunk of
 *   one source key, deleted once delivered. Slots are reused, so registration happens once per slot.
 *
 * Recovery: at start an instance takes over its own registry (a stable `instance_id` after a restart), and
 * periodically every instance whose heartbeat expired. Taking over is a `RENAME` of each in-flight list
 * to a fresh name of the adopter (one atomic script per list, so two adopters can never both get one);
 * the adopted lists are then delivered like claimed chunks and deleted once delivered.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BookkeepingKeys, DrainKey, ListEncoding } from './keys.js';
import type { RedisClient } from '../../internal/redis/connection.js';
import type { ScriptCommands } from './scripts.js';

/** An in-flight list to read and deliver (adopted, or a slot whose claim outcome is unknown). */
export interface InflightTask {
  readonly source: DrainKey;
  readonly inflightKey: string;
  /** Slot index of one of our own slot lists; undefined for adopted lists (their registry field is removed on ack). */
  readonly slot: number | undefined;
}

/** Tuning of the tracker (ms). */
export interface InflightOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

const ENCODINGS: readonly ListEncoding[] = ['msgpack', 'protobuf', 'uptime'];

function parseEntry(value: string): DrainKey | undefined {
  const bar = value.indexOf('|');
  if (bar < 0) return undefined;
  const encoding = value.slice(0, bar) as ListEncoding;
  if (!ENCODINGS.includes(encoding)) return undefined;
  return { key: value.slice(bar + 1), encoding };
}

/** One instance's heartbeat, registry and adoption logic. */
export class InflightTracker {
  private readonly registered = new Set<string>();
  private readonly nonce = randomBytes(3).toString('hex');
  private adopted = 0;
  private lastBeatAt = 0;

  constructor(
    private readonly client: RedisClient & ScriptCommands,
    private readonly keys: BookkeepingKeys,
    /** This instance's id. */
    readonly instance: string,
    private readonly options: InflightOptions,
    private readonly logger: Logger,
  ) {}

  /** The slot list of `source` with index `slot`. */
  slotKey(source: DrainKey, slot: number): string {
    return this.keys.inflight(source.key, this.instance, String(slot));
  }

  /** Whether the heartbeat was refreshed recently enough that no peer can consider us dead. */
  get fresh(): boolean {
    return Date.now() - this.lastBeatAt < this.options.heartbeatTimeoutMs - this.options.heartbeatIntervalMs;
  }

  /**
   * Refreshes the heartbeat. If it had expired (or a peer was adopting us), our registry may be gone, so
   * we join the instance set again and register every list anew before the next claim into it.
   */
  async beat(): Promise<void> {
    const hb = this.keys.heartbeat(this.instance);
    const previous = (await this.client.call('SET', hb, this.instance, 'PX', String(this.options.heartbeatTimeoutMs), 'GET')) as string | null;
    if (previous !== this.instance) {
      await this.client.sadd(this.keys.instances, this.instance);
      this.registered.clear();
    }
    this.lastBeatAt = Date.now();
  }

  /** Registers an in-flight list before the first claim into it (cached afterwards). */
  async register(inflightKey: string, source: DrainKey): Promise<void> {
    if (this.registered.has(inflightKey)) return;
    await this.client.hset(this.keys.registry(this.instance), inflightKey, `${source.encoding}|${source.key}`);
    this.registered.add(inflightKey);
  }

  /** Deletes delivered in-flight lists (and forgets adopted ones in the registry). */
  async ack(lists: readonly { key: string; adopted: boolean }[]): Promise<void> {
    const adoptedKeys = lists.filter((l) => l.adopted).map((l) => l.key);
    // Keys of one chunk may live on different cluster nodes: one DEL per key.
    await Promise.all(lists.map((l) => this.client.del(l.key)));
    if (adoptedKeys.length > 0) {
      await this.client.hdel(this.keys.registry(this.instance), ...adoptedKeys);
      for (const k of adoptedKeys) this.registered.delete(k);
    }
  }

  /** Takes over our own registry from a previous process with the same instance id. */
  recoverOwn(): Promise<InflightTask[]> {
    return this.adopt(this.instance);
  }

  /** Adopts the in-flight lists of every instance whose heartbeat has expired. */
  async adoptDead(): Promise<InflightTask[]> {
    const instances = await this.client.smembers(this.keys.instances);
    const tasks: InflightTask[] = [];
    for (const other of instances) {
      if (other === this.instance) continue;
      const hb = this.keys.heartbeat(other);
      // NX: only one adopter wins a dead instance (until this marker expires, e.g. if the adopter dies too).
      const won = await this.client.call('SET', hb, `adopting:${this.instance}`, 'PX', String(this.options.heartbeatTimeoutMs), 'NX');
      if (won !== 'OK') continue;
      const got = await this.adopt(other);
      tasks.push(...got);
      this.logger.warn({ from: other, lists: got.length }, 'adopted the in-flight records of an instance whose heartbeat expired; re-delivering them');
    }
    return tasks;
  }

  private async adopt(from: string): Promise<InflightTask[]> {
    const registry = this.keys.registry(from);
    const entries = await this.client.hgetall(registry);
    const mine = this.keys.registry(this.instance);
    const tasks: InflightTask[] = [];
    for (const [oldKey, value] of Object.entries(entries)) {
      const source = parseEntry(value);
      if (!source) {
        await this.client.hdel(registry, oldKey);
        continue;
      }
      const newKey = this.keys.inflight(source.key, this.instance, `r${this.nonce}-${this.adopted++}`);
      await this.client.hset(mine, newKey, value);
      const moved = await this.client.tykAdopt(oldKey, newKey);
      if (moved === 1) {
        this.registered.add(newKey);
        tasks.push({ source, inflightKey: newKey, slot: undefined });
      } else {
        await this.client.hdel(mine, newKey);
      }
      if (from === this.instance) {
        await this.client.hdel(registry, oldKey);
        this.registered.delete(oldKey);
      }
    }
    if (from !== this.instance) {
      await this.client.del(registry);
      await this.client.srem(this.keys.instances, from);
      await this.client.del(this.keys.heartbeat(from));
    }
    return tasks;
  }

  /**
   * On a clean shutdown: with nothing left in flight, leave no trace; otherwise drop only the heartbeat
   * so a peer (or our next start) adopts the rest at once.
   */
  async leave(nothingInFlight: boolean): Promise<void> {
    if (nothingInFlight) {
      const left = await this.client.hgetall(this.keys.registry(this.instance));
      const lists = Object.keys(left);
      const existing = lists.length === 0 ? 0 : (await Promise.all(lists.map((k) => this.client.exists(k)))).reduce((a, b) => a + b, 0);
      if (existing === 0) {
        await this.client.del(this.keys.registry(this.instance));
        await this.client.srem(this.keys.instances, this.instance);
      }
    }
    await this.client.del(this.keys.heartbeat(this.instance));
  }
}
