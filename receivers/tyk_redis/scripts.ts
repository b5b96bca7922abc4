/**
 * How the receiver claims chunks. Each claim is a single atomic step on the Redis server, so any number of
 * agents (and Tyk Pump's own `MULTI LRANGE/LTRIM EXEC`) can work on the same lists without a record
 * being claimed twice. Every step touches only keys that share one hash slot (an in-flight list carries
 * its source key's hash tag), so they are legal in Redis Cluster too.
 */
import type { RedisClient } from '../../internal/redis/connection.js';

/**
 * At-most-once claim: `MULTI / LRANGE key 0 n-1 / LTRIM key n -1 / EXEC` — Tyk Pump's own claim, atomic
 * and one round trip (ioredis writes the four commands at once). Returns the claimed elements.
 *
 * Not a Lua script on purpose: a script turns every element into a Lua string and back, which costs Redis
 * several times the CPU of the transaction (BENCHMARKS.md, Pipeline) — and on a small host Redis takes
 * that CPU from the agent.
 */
export async function claimChunk(client: RedisClient, key: string, n: number): Promise<Buffer[]> {
  let res: [Error | null, unknown][] | null;
  try {
    res = await client.multi().lrangeBuffer(key, 0, n - 1).ltrim(key, n, -1).exec();
  } catch (err) {
    // A command refused while queued (NOPERM, …) discards the transaction (EXECABORT): report that error.
    throw (err as { previousErrors?: Error[] }).previousErrors?.[0] ?? err;
  }
  const range = res?.[0];
  const trim = res?.[1];
  if (!range || !trim) throw new Error('redis: the claim transaction returned no result');
  // Either failing (WRONGTYPE, …) leaves the list as it was: report it, return nothing.
  if (range[0]) throw range[0];
  if (trim[0]) throw trim[0];
  return range[1] as Buffer[];
}

/**
 * At-least-once claim: moves up to n elements from the head of KEYS[1] to the in-flight list KEYS[2] and
 * returns them. Refuses (error `TYK_INFLIGHT_BUSY`) when KEYS[2] still exists, so a claim re-run after a
 * lost reply can never append to — and later delete with — an unacknowledged chunk.
 */
export const CLAIM_INFLIGHT_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TYK_INFLIGHT_BUSY') end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local n = #items
if n == 0 then return items end
redis.call('LTRIM', KEYS[1], n, -1)
for i = 1, n, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, n)))
end
return items`;

/** Takes over an in-flight list: `RENAME KEYS[1] KEYS[2]` if KEYS[1] exists. Returns 1 if moved, else 0. */
export const ADOPT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1`;

/** The error text of a busy in-flight list. */
export const INFLIGHT_BUSY = 'TYK_INFLIGHT_BUSY';

/** The script commands defined on a client (ioredis `defineCommand`, EVALSHA with EVAL fallback). */
export interface ScriptCommands {
  tykClaimInflightBuffer(key: string, inflight: string, n: number): Promise<Buffer[]>;
  tykAdopt(from: string, to: string): Promise<number>;
}

/** Defines the scripts on `client` and returns it typed with them. */
export function defineScripts(client: RedisClient): RedisClient & ScriptCommands {
  client.defineCommand('tykClaimInflight', { numberOfKeys: 2, lua: CLAIM_INFLIGHT_LUA });
  client.defineCommand('tykAdopt', { numberOfKeys: 2, lua: ADOPT_LUA });
  return client as RedisClient & ScriptCommands;
}
