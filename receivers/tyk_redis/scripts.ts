/**
 * How the receiver claims chunks. Each claim is a single atomic step on the Redis server (a Lua script), so
 * any number of agents (and Tyk Pump's own `MULTI LRANGE/LTRIM EXEC`) can work on the same lists without
 * a record being claimed twice. A claim moves the elements into an in-flight list of this agent in both
 * delivery modes, so a reply lost to a timeout never loses the elements: they are read back. Every step
 * touches only keys that share one hash slot (an in-flight list carries its source key's hash tag), so they
 * are legal in Redis Cluster too (`SORT … STORE` included: both keys are in one slot, `BY nosort` reads no
 * other key).
 */
import type { RedisClient } from '../../internal/redis/connection.js';

/**
 * The first element of every in-flight list: this marker followed by the chunk id. It makes the id travel
 * with the elements — through a restart, a re-read after a lost reply and an adoption (a `RENAME`) — so
 * every delivery of a chunk carries the same id. No Tyk record starts with a zero byte (a msgpack map
 * starts with 0x80-0x8f/0xde/0xdf; protobuf field number 0 does not exist).
 */
export const CHUNK_HEADER = Buffer.from('\x00tyk-otel-pump-chunk\x00', 'latin1');

/** The header element of a chunk id. */
export function chunkHeader(id: string): Buffer {
  return Buffer.concat([CHUNK_HEADER, Buffer.from(id, 'utf8')]);
}

/** The chunk id of a header element, or undefined when `element` is not one. */
export function parseChunkHeader(element: Buffer | undefined): string | undefined {
  if (!element || element.length < CHUNK_HEADER.length || !element.subarray(0, CHUNK_HEADER.length).equals(CHUNK_HEADER)) return undefined;
  return element.subarray(CHUNK_HEADER.length).toString('utf8');
}

/**
 * The claim, in both delivery modes: copies a prefix of KEYS[1] into the in-flight list KEYS[2], behind the
 * header ARGV[3], and removes it from KEYS[1] (`LTRIM`), stopping at ARGV[1] elements or ARGV[2] bytes
 * (the element that reaches the byte bound is the last one: a chunk exceeds the bound by at most one
 * element, and always holds at least one). Returns `{moved, bytes counted, length of KEYS[1] left}`.
 *
 * No element enters Lua on the common path. Turning every element into a Lua string and back (per element
 * with `LMOVE`, or per window with `LRANGE` + `RPUSH`) is what made the claim cost ~4 µs of Redis CPU per
 * 1 KB record, ~4-6× Tyk Pump's `MULTI LRANGE/LTRIM` (BENCHMARKS.md, "Claim methods"). Instead the prefix
 * is copied inside Redis (`SORT … BY nosort LIMIT 0 w STORE`, which keeps list order and reads only the
 * range: redis src/sort.c `sortCommandGeneric`) and weighed there (`MEMORY USAGE … SAMPLES 0`: the bytes
 * Redis stores for it, a few bytes per element more than the elements themselves).
 *
 * The prefix starts at one element and grows per step by at most three times its size (1, 4, 16 … 1000:
 * ~1.3 copies per element claimed; doubling cost ~2, measured) and by no more than the remaining budget
 * divided by the heaviest weight per element seen so far. So a list of 5 MB records is copied a few at a
 * time, never whole; what no step can foresee is a run of small records followed at once by large ones
 * (one step then copies up to 3× as many large ones as the small ones weighed). Once a prefix weighs
 * `max_chunk_bytes` or more, the elements added by that step are read one at a time (`LINDEX`, one element
 * in Lua at a time) to find the one that reaches the bound, and the copy is cut there. The bytes counted
 * are thus Redis' own weight of the prefix, never less than the elements' bytes (unless Redis compresses
 * lists: `list-compress-depth` > 0, off by default), so a chunk may stop a few records before the bound.
 *
 * The caller reads KEYS[2] back in the same round trip (`LRANGE`). Refuses (error `TYK_INFLIGHT_BUSY`)
 * when KEYS[2] still exists, so a claim re-run after a lost reply never overwrites — and later deletes
 * with — a chunk not delivered yet. A key of another type is refused before anything is written (a script
 * is not rolled back on an error). Writes only KEYS[2] until the final `LTRIM` of KEYS[1], so a failure
 * half-way can duplicate a chunk (read back from KEYS[2]), never lose one.
 */
export const CLAIM_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TYK_INFLIGHT_BUSY') end
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return {0, 0, 0} end
if t ~= 'list' then return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value') end
local max, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local len = redis.call('LLEN', KEYS[1])
if max > len then max = len end
local n, used, per, w, take = 0, 0, 0, 1, 0
while true do
  redis.call('SORT', KEYS[1], 'BY', 'nosort', 'LIMIT', 0, w, 'STORE', KEYS[2])
  local weight = redis.call('MEMORY', 'USAGE', KEYS[2], 'SAMPLES', 0)
  if weight >= budget then
    take = n
    while take < w and used < budget do
      used = used + #redis.call('LINDEX', KEYS[1], take)
      take = take + 1
    end
    if take < w then redis.call('LTRIM', KEYS[2], 0, take - 1) end
    break
  end
  local p = (weight - used) / (w - n)
  if p > per then per = p end
  n, used = w, weight
  if w >= max then
    take = w
    break
  end
  local room = math.max(1, math.min(3 * w, math.floor((budget - weight) / per)))
  w = math.min(max, w + room)
end
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[1], take, -1)
return {take, used, len - take}`;

/**
 * Prepares an in-flight list for reading back: gives a list without a header (written by an older
 * version) the header ARGV[1], so its id stays the same from now on (ARGV[2] is the header marker), and
 * deletes a list that holds only a header (a claim that failed half-way). Returns 0 when nothing is left.
 */
export const ENSURE_HEADER_LUA = `
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return 0 end
if string.sub(first, 1, #ARGV[2]) == ARGV[2] then
  if redis.call('LLEN', KEYS[1]) == 1 then redis.call('DEL', KEYS[1]) return 0 end
  return 1
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return 2`;

/** Takes over an in-flight list: `RENAME KEYS[1] KEYS[2]` if KEYS[1] exists. Returns 1 if moved, else 0. */
export const ADOPT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1`;

/** The error text of a busy in-flight list. */
export const INFLIGHT_BUSY = 'TYK_INFLIGHT_BUSY';

/** The script commands defined on a client (ioredis `defineCommand`, EVALSHA with EVAL fallback). */
export interface ScriptCommands {
  tykAdopt(from: string, to: string): Promise<number>;
  tykEnsureHeader(key: string, header: Buffer, marker: Buffer): Promise<number>;
}

/** Defines the scripts on `client` and returns it typed with them. */
export function defineScripts(client: RedisClient): RedisClient & ScriptCommands {
  client.defineCommand('tykClaim', { numberOfKeys: 2, lua: CLAIM_LUA });
  client.defineCommand('tykAdopt', { numberOfKeys: 2, lua: ADOPT_LUA });
  client.defineCommand('tykEnsureHeader', { numberOfKeys: 1, lua: ENSURE_HEADER_LUA });
  return client as RedisClient & ScriptCommands;
}

/** What one claim took. */
export interface Claimed {
  /** The claimed elements, in list order. */
  readonly items: Buffer[];
  /** Their total size (bytes of the elements, counted here). */
  readonly bytes: number;
  /** Length of the source list after the claim. */
  readonly left: number;
}

/**
 * Claims up to `n` elements (and about `maxBytes`) of `key` into the in-flight list `inflight` under the
 * chunk id `id`, and reads them back: one round trip. Rejects with the claim's error (`TYK_INFLIGHT_BUSY`,
 * `WRONGTYPE`, a timeout: then whether the claim ran is unknown, and `inflight` must be read back).
 */
export async function claimInflight(client: RedisClient & ScriptCommands, key: string, inflight: string, n: number, maxBytes: number, id: string): Promise<Claimed> {
  const res = await (client.pipeline() as unknown as ScriptPipeline).tykClaim(key, inflight, n, maxBytes, chunkHeader(id)).lrangeBuffer(inflight, 1, -1).exec();
  const claim = res?.[0];
  const range = res?.[1];
  if (!claim || !range) throw new Error('redis: the claim returned no result');
  if (claim[0]) throw claim[0];
  const [moved, , left] = claim[1] as [number, number, number];
  if (moved === 0) return { items: [], bytes: 0, left };
  // The claim ran and moved `moved` elements; a failed read-back leaves them in the in-flight list.
  if (range[0]) throw range[0];
  const items = range[1] as Buffer[];
  let bytes = 0;
  for (const item of items) bytes += item.length;
  return { items, bytes, left };
}

/**
 * Reads an in-flight list back with its chunk id (giving a list without one the id `newId` first). One
 * round trip: both commands touch one key, so they go to one node in Cluster mode too.
 */
export async function readInflight(client: RedisClient & ScriptCommands, inflight: string, newId: string): Promise<{ id: string; items: Buffer[] }> {
  const res = await (client.pipeline() as unknown as ScriptPipeline).tykEnsureHeader(inflight, chunkHeader(newId), CHUNK_HEADER).lrangeBuffer(inflight, 0, -1).exec();
  const ensure = res?.[0];
  const range = res?.[1];
  if (!ensure || !range) throw new Error('redis: the in-flight read returned no result');
  if (ensure[0]) throw ensure[0];
  if (range[0]) throw range[0];
  const all = range[1] as Buffer[];
  const id = parseChunkHeader(all[0]);
  return id === undefined ? { id: newId, items: all } : { id, items: all.slice(1) };
}

/** A pipeline with the script commands (ioredis adds defined commands to pipelines too). */
interface ScriptPipeline {
  tykClaim(key: string, inflight: string, n: number, maxBytes: number, header: Buffer): ScriptPipeline;
  tykEnsureHeader(key: string, header: Buffer, marker: Buffer): ScriptPipeline;
  lrangeBuffer(key: string, start: number, stop: number): ScriptPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}
