/**
 * The receiver's dead-letter list as operators use it (`tyk-otel-pump dead-letters …`): read the JSON
 * envelopes the receiver writes, dump an entry's bytes, push an entry back to its source list (replay) or
 * remove it (purge). Entries are identified by their exact list element, so concurrent appends and the
 * receiver's trimming never make a command act on the wrong entry.
 *
 * Replay is atomic per entry where Redis allows it: one Lua script removes the envelope and pushes the bytes
 * when both keys hash to the same slot (always on a standalone or Sentinel-managed Redis). On a Cluster
 * whose dead-letter list and source list live in different slots it takes two steps — push, then remove —
 * so a crash between them can leave a copy in both lists (a duplicate, never a loss).
 */
import type { DeadLetterEntry, DeadLetterStore } from '../../src/component.js';
import type { TykRedisConfig } from './config.js';
import { connectionPlan, type RedisClient } from '../../internal/redis/connection.js';
import { lazyClient } from '../../internal/redis/lazy-client.js';
import { BookkeepingKeys, hashTagOf } from './keys.js';
import type { ListEncoding } from './keys.js';
import { dumpElement, typedError } from '../../internal/tyk-wire/dump.js';

const PAGE = 200;

/** Removes the envelope and pushes the bytes back, in one step (KEYS: dead-letter list, source list). */
const REPLAY_SCRIPT = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** The dead-letter envelope the receiver writes (one JSON object per list element). */
interface Envelope {
  source_key?: unknown;
  reason?: unknown;
  error?: unknown;
  receiver?: unknown;
  instance?: unknown;
  time?: unknown;
  size_bytes?: unknown;
  bytes_b64?: unknown;
  format?: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Opens the dead-letter list of a `tyk_redis` receiver config. */
export function openDeadLetters(config: TykRedisConfig, configDir: string): DeadLetterStore {
  const plan = connectionPlan(config, configDir);
  const key = config.dead_letter.key !== '' ? config.dead_letter.key : new BookkeepingKeys(config.key_prefix).deadLetter;
  const redis = lazyClient(plan, config.connect_timeout);
  const connected = (): Promise<RedisClient> => redis.get();
  const formatOf = (source: string, declared: string): ListEncoding => {
    if (declared === 'msgpack' || declared === 'protobuf' || declared === 'uptime') return declared;
    if (source === config.uptime_key) return 'uptime';
    return source.endsWith('_protobuf') ? 'protobuf' : 'msgpack';
  };
  const parse = (element: string, index: number): DeadLetterEntry => {
    let e: Envelope | undefined;
    try {
      const v: unknown = JSON.parse(element);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) e = v as Envelope;
    } catch {
      e = undefined;
    }
    if (!e || typeof e.bytes_b64 !== 'string') {
      const bytes = Buffer.from(element, 'utf8');
      return { index, time: '', reason: 'unreadable', source: '', format: 'msgpack', sizeBytes: bytes.length, error: 'not a dead-letter envelope', receiver: '', instance: '', bytes, element };
    }
    const source = text(e.source_key);
    const bytes = Buffer.from(e.bytes_b64, 'base64');
    return {
      index,
      time: text(e.time),
      reason: text(e.reason) || 'unknown',
      source,
      format: formatOf(source, text(e.format)),
      sizeBytes: bytes.length,
      error: text(e.error),
      receiver: text(e.receiver),
      instance: text(e.instance),
      bytes,
      element,
    };
  };

  return {
    describe: `${plan.describe} ${key}`,
    async list() {
      const c = await connected();
      const out: DeadLetterEntry[] = [];
      for (let start = 0; ; start += PAGE) {
        const page = await c.lrange(key, start, start + PAGE - 1);
        page.forEach((el, i) => out.push(parse(el, start + i)));
        if (page.length < PAGE) break;
      }
      return out;
    },
    dump: (entry) => dumpElement(entry.bytes, entry.format),
    check(entry) {
      if (entry.reason === 'unreadable') return 'not a dead-letter envelope';
      const err = typedError(entry.bytes, entry.format, true);
      return err ? `${err.reason}: ${err.message}` : undefined;
    },
    async replay(entry) {
      if (entry.source === '') return false;
      const c = await connected();
      if (plan.mode !== 'cluster' || hashTagOf(key) === hashTagOf(entry.source) || sameSlot(key, entry.source)) {
        const n = await c.eval(REPLAY_SCRIPT, 2, key, entry.source, entry.element, entry.bytes);
        return n === 1;
      }
      await c.rpush(entry.source, entry.bytes);
      const removed = await c.lrem(key, 1, entry.element);
      return removed === 1;
    },
    async purge(entry) {
      const c = await connected();
      return (await c.lrem(key, 1, entry.element)) === 1;
    },
    close: () => redis.close(),
  };
}

/** Whether two keys hash to the same Cluster slot (CRC16 of the hash tag, mod 16384). */
function sameSlot(a: string, b: string): boolean {
  return slotOf(a) === slotOf(b);
}

function slotOf(key: string): number {
  const s = Buffer.from(hashTagOf(key), 'utf8');
  let crc = 0;
  for (const byte of s) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
