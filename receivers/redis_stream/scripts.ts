/**
 * The receiver's Lua scripts. Each touches the stream key only (one Cluster slot). Trimming (MAXLEN or
 * MINID on the exporter side) can remove entries a group has not read yet; Redis then silently skips them
 * on the next read. `READ` looks for that gap and reads in one atomic step, so exactly one consumer of the
 * group counts each loss, and re-aligns the group's `entries-read` so the same gap is never counted again.
 */
import type { RedisClient } from '../../internal/redis/connection.js';

const ID_HELPERS = `
local function parse(id) local ms, seq = string.match(id, '^(%d+)-(%d+)$'); return tonumber(ms), tonumber(seq) end
local function less(a, b)
  local am, as = parse(a); local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function map(flat) local t = {}; for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end; return t end
`;

/**
 * KEYS[1] stream; ARGV group, consumer, count. Returns `{lost, last-generated-id, entries}`: `lost` entries
 * were trimmed before the group read them (counted once, here); `entries` as XREADGROUP's `>` read gives.
 */
export const READ_LUA = `${ID_HELPERS}
local stream, group = KEYS[1], ARGV[1]
local lost = 0
local s = map(redis.call('XINFO', 'STREAM', stream))
local first = s['first-entry']
if first then
  for _, flat in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local g = map(flat)
    if g['name'] == group and g['entries-read'] and less(g['last-delivered-id'], first[1]) then
      local before = s['entries-added'] - s['length']
      lost = before - g['entries-read']
      if lost < 0 then lost = 0 end
      if lost > 0 then redis.call('XGROUP', 'SETID', stream, group, g['last-delivered-id'], 'ENTRIESREAD', before) end
    end
  end
end
local r = redis.call('XREADGROUP', 'GROUP', group, ARGV[2], 'COUNT', ARGV[3], 'STREAMS', stream, '>')
local entries = {}
if r then entries = r[1][2] end
return {lost, s['last-generated-id'], entries}
`;

/**
 * KEYS[1] stream; ARGV group, start id ('0' earliest or '$' latest). Creates the group (and the stream) when
 * missing; from '0', entries trimmed before the group existed are not counted as lost (ENTRIESREAD).
 * Returns 1 when created, 0 when it existed.
 */
export const CREATE_GROUP_LUA = `
local stream, group, from = KEYS[1], ARGV[1], ARGV[2]
if redis.call('EXISTS', stream) == 1 then
  for _, flat in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    for i = 1, #flat, 2 do if flat[i] == 'name' and flat[i + 1] == group then return 0 end end
  end
end
redis.call('XGROUP', 'CREATE', stream, group, from, 'MKSTREAM')
if from == '0' then
  local flat = redis.call('XINFO', 'STREAM', stream)
  local s = {}
  for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
  redis.call('XGROUP', 'SETID', stream, group, '0', 'ENTRIESREAD', s['entries-added'] - s['length'])
end
return 1
`;

/**
 * KEYS[1] stream; ARGV group, consumer, max. The heartbeat of a live consumer: re-claims (`XCLAIM … JUSTID`,
 * which neither re-delivers nor counts a delivery) up to `max` of its own pending entries, which resets their
 * idle time and the consumer's, so no peer claims the entries of a consumer that is slow but alive. Only the
 * entries pending at this consumer in the same atomic step are touched: never one a peer claimed meanwhile.
 * Returns `{refreshed, trimmed}`: `XCLAIM` drops from the pending list the entries trimmed from the stream
 * meanwhile (Redis 7), so `trimmed` are entries this consumer holds in memory that exist nowhere else now.
 */
export const HEARTBEAT_LUA = `
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local pending = redis.call('XPENDING', stream, group, '-', '+', tonumber(ARGV[3]), consumer)
local n = 0
local args = {}
local function flush()
  if #args == 0 then return end
  local call = {'XCLAIM', stream, group, consumer, 0}
  for _, id in ipairs(args) do call[#call + 1] = id end
  call[#call + 1] = 'JUSTID'
  n = n + #redis.call(unpack(call))
  args = {}
end
for _, e in ipairs(pending) do
  args[#args + 1] = e[1]
  if #args == 500 then flush() end
end
flush()
return {n, #pending - n}
`;

/** The scripts as client commands. */
export interface StreamScripts {
  streamHeartbeat(stream: string, group: string, consumer: string, max: number): Promise<[number, number]>;
  streamReadBuffer(stream: string, group: string, consumer: string, count: number): Promise<[number, Buffer, [Buffer, Buffer[] | null][]]>;
  streamCreateGroup(stream: string, group: string, from: string): Promise<number>;
}

/** Defines the scripts on a client (EVALSHA with a fallback to EVAL). */
export function defineStreamScripts<C extends RedisClient>(client: C): C & StreamScripts {
  client.defineCommand('streamRead', { numberOfKeys: 1, lua: READ_LUA });
  client.defineCommand('streamCreateGroup', { numberOfKeys: 1, lua: CREATE_GROUP_LUA });
  client.defineCommand('streamHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_LUA });
  return client as C & StreamScripts;
}
