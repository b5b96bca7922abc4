/**
 * The Lua scripts of the receiver. Each one is a single atomic step on the Redis server, so any number of
 * agents (and Tyk Pump's own `MULTI LRANGE/LTRIM EXEC`) can work on the same lists without a record
 * being claimed twice. Every script touches only keys that share one hash slot (an in-flight list carries
 * its source key's hash tag), so they are legal in Redis Cluster too.
 */
import type { RedisClient } from './connection.js';

/**
 * At-most-once claim: `LRANGE key 0 n-1` + `LTRIM key n -1`, the same effect as Tyk Pump's
 * `MULTI LRANGE/LTRIM EXEC` in one round trip. KEYS[1] = list, ARGV[1] = n. Returns the claimed elements.
 */
export const CLAIM_LUA = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then redis.call('LTRIM', KEYS[1], #items, -1) end
return items`;

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
  tykClaimBuffer(key: string, n: number): Promise<Buffer[]>;
  tykClaimInflightBuffer(key: string, inflight: string, n: number): Promise<Buffer[]>;
  tykAdopt(from: string, to: string): Promise<number>;
}

/** Defines the scripts on `client` and returns it typed with them. */
export function defineScripts(client: RedisClient): RedisClient & ScriptCommands {
  client.defineCommand('tykClaim', { numberOfKeys: 1, lua: CLAIM_LUA });
  client.defineCommand('tykClaimInflight', { numberOfKeys: 2, lua: CLAIM_INFLIGHT_LUA });
  client.defineCommand('tykAdopt', { numberOfKeys: 2, lua: ADOPT_LUA });
  return client as RedisClient & ScriptCommands;
}
