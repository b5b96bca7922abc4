/**
 * The receiver's dead-letter list as operators use it (`tyk-otel-pump dead-letters …`): read the JSON
 * envelopes the receiver writes (`entries.ts`), dump an entry's bytes, put an entry back (replay) or remove
 * it (purge). Entries are identified by their exact list element, so concurrent appends and the receiver's
 * trimming never make a command act on the wrong entry.
 *
 * Replay appends the bytes to the stream again, with a `group` field naming the dead letter's consumer
 * group: only that group's consumers deliver it; the consumers of every other group acknowledge it without
 * delivering (they had the entry already). One Lua script removes the envelope and appends the entry when
 * both keys hash to the same slot (always on a standalone or Sentinel-managed Redis); on a Cluster whose
 * dead-letter list and stream live in different slots it takes two steps — append, then remove — so a crash
 * between them leaves a copy in both (a duplicate, never a loss).
 */
import type { DeadLetterEntry, DeadLetterStore } from '../../src/component.js';
import type { WireFormat } from '../../src/model.js';
import { connectionPlan, type RedisClient } from '../../internal/redis/connection.js';
import { lazyClient } from '../../internal/redis/lazy-client.js';
import { clusterSlot } from '../../internal/redis/slot.js';
import { dumpElement, typedError } from '../../internal/tyk-wire/dump.js';
import type { RedisStreamReceiverConfig } from './config.js';

const PAGE = 200;

/** KEYS: dead-letter list, stream; ARGV: element, data, source, format, group. */
const REPLAY_SCRIPT = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[2], 'source', ARGV[3], 'format', ARGV[4], 'group', ARGV[5])
  return 1
end
return 0`;

/** The envelope the receiver writes (`envelope()` in `entries.ts`). */
interface Envelope {
  time?: unknown;
  reason?: unknown;
  error?: unknown;
  stream?: unknown;
  group?: unknown;
  entry?: unknown;
  source?: unknown;
  format?: unknown;
  receiver?: unknown;
  consumer?: unknown;
  bytes?: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const FORMATS: ReadonlySet<string> = new Set(['msgpack', 'protobuf', 'uptime']);

/** The `format` an envelope declares ('' when it has none or is not an envelope). */
function declaredFormat(element: string): string {
  try {
    return text((JSON.parse(element) as Envelope).format);
  } catch {
    return '';
  }
}

/** The dead-letter list of a `redis_stream` receiver config: `dead_letter.key`, or `<stream>:dead-letter:<group>`. */
export function deadLetterKey(config: RedisStreamReceiverConfig): string {
  return config.dead_letter.key !== '' ? config.dead_letter.key : `${config.stream}:dead-letter:${config.group}`;
}

/** Opens the dead-letter list of a `redis_stream` receiver config. */
export function openDeadLetters(config: RedisStreamReceiverConfig, configDir: string): DeadLetterStore {
  const plan = connectionPlan(config, configDir);
  const key = deadLetterKey(config);
  const redis = lazyClient(plan, config.connect_timeout);
  const connected = (): Promise<RedisClient> => redis.get();
  const parse = (element: string, index: number): DeadLetterEntry => {
    let e: Envelope | undefined;
    try {
      const v: unknown = JSON.parse(element);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) e = v as Envelope;
    } catch {
      e = undefined;
    }
    if (!e || typeof e.bytes !== 'string') {
      const bytes = Buffer.from(element, 'utf8');
      return { index, time: '', reason: 'unreadable', source: '', format: 'msgpack', sizeBytes: bytes.length, error: 'not a dead-letter envelope', receiver: '', instance: '', bytes, element };
    }
    const bytes = Buffer.from(e.bytes, 'base64');
    const format = text(e.format);
    const entry = text(e.entry);
    return {
      index,
      time: text(e.time),
      reason: text(e.reason) || 'unknown',
      source: text(e.source),
      format: format === 'protobuf' || format === 'uptime' ? format : 'msgpack',
      sizeBytes: bytes.length,
      error: entry !== '' ? `${text(e.error)} (entry ${entry})` : text(e.error),
      receiver: text(e.receiver),
      instance: text(e.consumer),
      bytes,
      element,
    };
  };

  return {
    describe: `${plan.describe} ${key} (replays to stream ${config.stream}, group ${config.group})`,
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
      // An entry of a format this version does not know (`not_a_record`) stays: replaying it would relabel it.
      const declared = declaredFormat(entry.element);
      if (!FORMATS.has(declared)) return `unknown format ${JSON.stringify(declared.slice(0, 40))}`;
      const err = typedError(entry.bytes, entry.format, true);
      return err ? `${err.reason}: ${err.message}` : undefined;
    },
    async replay(entry) {
      if (entry.reason === 'unreadable') return false;
      const c = await connected();
      const format: WireFormat = entry.format;
      if (plan.mode !== 'cluster' || clusterSlot(key) === clusterSlot(config.stream)) {
        return (await c.eval(REPLAY_SCRIPT, 2, key, config.stream, entry.element, entry.bytes, entry.source, format, config.group)) === 1;
      }
      await c.xadd(config.stream, '*', 'data', entry.bytes, 'source', entry.source, 'format', format, 'group', config.group);
      return (await c.lrem(key, 1, entry.element)) === 1;
    },
    async purge(entry) {
      const c = await connected();
      return (await c.lrem(key, 1, entry.element)) === 1;
    },
    close: () => redis.close(),
  };
}
