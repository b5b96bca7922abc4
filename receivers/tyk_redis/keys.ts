/**
 * Redis key names: the Tyk lists to drain (22 analytics lists + the uptime list, as Tyk Pump drains them)
 * and the receiver's own bookkeeping keys (dead letters, at-least-once in-flight lists, heartbeats).
 */
import type { TykRedisConfig } from './config.js';

/** How a list's elements are encoded. */
export type ListEncoding = 'msgpack' | 'protobuf' | 'uptime';

/** One list to drain. */
export interface DrainKey {
  readonly key: string;
  readonly encoding: ListEncoding;
}

/** The analytics list name without prefix, shard or serializer suffix (Tyk's `analyticsKeyName`). */
export const ANALYTICS_KEY_NAME = 'tyk-system-analytics';

/**
 * The lists a config drains, in Tyk Pump's order: for the base list then shards 0…9, msgpack then
 * `_protobuf`; the uptime list last.
 */
export function drainKeys(config: Pick<TykRedisConfig, 'key_prefix' | 'keys' | 'msgpack' | 'protobuf' | 'uptime' | 'uptime_key'>): DrainKey[] {
  const names: string[] = [];
  if (config.keys.base) names.push(`${config.key_prefix}${ANALYTICS_KEY_NAME}`);
  const shards = config.keys.sharded === true ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] : config.keys.sharded === false ? [] : [...new Set(config.keys.sharded)].sort((a, b) => a - b);
  for (const s of shards) names.push(`${config.key_prefix}${ANALYTICS_KEY_NAME}_${s}`);
  const out: DrainKey[] = [];
  for (const name of names) {
    if (config.msgpack) out.push({ key: name, encoding: 'msgpack' });
    if (config.protobuf) out.push({ key: `${name}_protobuf`, encoding: 'protobuf' });
  }
  if (config.uptime) out.push({ key: config.uptime_key, encoding: 'uptime' });
  return out;
}

/**
 * The hash tag Redis Cluster hashes `key` by: the text between the first `{` and the next `}` when that is
 * non-empty, otherwise the whole key (the rule of the Cluster spec).
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** The receiver's bookkeeping key names under one key prefix. */
export class BookkeepingKeys {
  constructor(private readonly prefix: string) {}

  /** Default dead-letter list. */
  get deadLetter(): string {
    return `${this.prefix}tyk-otel-pump-dead-letter`;
  }

  /** Set of the instance ids that use at-least-once delivery on these lists. */
  get instances(): string {
    return `${this.prefix}tyk-otel-pump-instances`;
  }

  /** Heartbeat string key of one instance (with a TTL). */
  heartbeat(instance: string): string {
    return `${this.prefix}tyk-otel-pump-heartbeat:${instance}`;
  }

  /** Hash of one instance's in-flight lists (field = list key, value = `<encoding>|<source key>`). */
  registry(instance: string): string {
    return `${this.prefix}tyk-otel-pump-inflight:${instance}`;
  }

  /**
   * An in-flight list of `instance` for `sourceKey`. It carries the source key's hash tag, so in Redis
   * Cluster it lives in the same slot and one Lua script may move records between the two.
   */
  inflight(sourceKey: string, instance: string, suffix: string): string {
    return `{${hashTagOf(sourceKey)}}:tyk-otel-pump-inflight:${instance}:${suffix}`;
  }
}
