/**
 * Config schema of the `tyk_redis` receiver: which Tyk analytics lists to drain, how (chunk size, poll
 * interval, delivery mode, dead letters) and how to reach Redis (the connection keys every Redis component
 * shares: `internal/redis/config.ts`). `parse({})` is a config that drains a gateway on
 * 127.0.0.1:6379 exactly as Tyk Pump would.
 */
import { z } from 'zod';
import { duration, formatDuration } from '../../src/config/schema.js';
import { checkRedisConnection, redisConnectionFields } from '../../internal/redis/config.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../../internal/tyk-wire/decode.js';

/** Default number of records claimed per Redis round trip (measured, see BENCHMARKS.md). */
export const DEFAULT_CHUNK_SIZE = 1000;

/** Default byte bound of one claim: 16 MiB (about 16,000 typical 1 KB records, or three 5 MB ones). */
export const DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** Default `max_unacked_bytes`: 64 MiB (what four chunks of `max_chunk_bytes` could hold). */
export const DEFAULT_MAX_UNACKED_BYTES = 64 * 1024 * 1024;

/** Default byte bound of the dead-letter list: 256 MiB. */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 256 * 1024 * 1024;

/** Config schema of the `tyk_redis` receiver. */
export const tykRedisConfigSchema = z
  .strictObject({
    ...redisConnectionFields({ purpose: 'Redis to drain', commandTimeout: '10s' }),

    key_prefix: z.string().default('analytics-').describe('Prefix of the analytics lists (Tyk Pump key_prefix).'),
    keys: z
      .strictObject({
        base: z.boolean({ error: 'must be true or false' }).default(true).describe('Drain <prefix>tyk-system-analytics.'),
        sharded: z
          .union([
            z.boolean(),
            z.array(z.number().int('must be an integer').min(0, 'must be 0-9').max(9, 'must be 0-9')),
          ], { error: 'must be true, false or a list of shard numbers 0-9' })
          .default(true)
          .describe('Drain <prefix>tyk-system-analytics_0 … _9 (enable_multiple_analytics_keys): true, false, or a list of shards.'),
      })
      .prefault({})
      .describe('Which analytics lists to drain.'),
    msgpack: z.boolean({ error: 'must be true or false' }).default(true).describe('Drain the msgpack lists (the gateway default serializer).'),
    protobuf: z.boolean({ error: 'must be true or false' }).default(true).describe('Drain the _protobuf lists (serializer_type: protobuf).'),
    uptime: z.boolean({ error: 'must be true or false' }).default(true).describe('Drain the host-checker uptime list.'),
    uptime_key: z.string().min(1, 'must not be empty').default('host-checker:tyk-uptime-analytics').describe('Key of the uptime list (not prefixed by key_prefix).'),

    chunk_size: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(100_000, 'must be at most 100000')
      .default(DEFAULT_CHUNK_SIZE)
      .describe('Records claimed per atomic Redis step; several keys with little data share one chunk.'),
    max_chunk_bytes: z
      .number({ error: 'must be a number of bytes' })
      .int('must be an integer')
      .min(1024, 'must be at least 1024')
      .max(512 * 1024 * 1024, 'must be at most 536870912 (512 MiB)')
      .default(DEFAULT_MAX_CHUNK_BYTES)
      .describe('Bytes claimed per atomic Redis step (with chunk_size, whichever is reached first): a chunk stops after the element that reaches this bound, so it holds at most this plus one element, and always at least one element.'),
    poll_interval: duration({ min: 1, max: 3_600_000 }).prefault('1s').describe('How often to look for new records once every list is empty.'),
    delivery: z
      .enum(['at_most_once', 'at_least_once'], { error: 'must be at_most_once or at_least_once' })
      .default('at_most_once')
      .describe('at_most_once: a claimed chunk is removed from Redis (from its in-flight list) before it is delivered (Tyk Pump behaviour, but a lost reply loses nothing). at_least_once: records stay in a per-instance in-flight list until every pipeline delivered them.'),
    max_unacked_chunks: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(16)
      .describe('Chunks handed downstream whose delivery is not finished yet (held in the sli emission window, queued in an exporter, waiting for a retry); at the limit (or at max_unacked_bytes) no more is claimed, and a window holding some of them is emitted at once.'),
    max_unacked_bytes: z
      .number({ error: 'must be a number of bytes' })
      .int('must be an integer')
      .min(1024, 'must be at least 1024')
      .default(DEFAULT_MAX_UNACKED_BYTES)
      .describe('Bytes of the claimed elements of those chunks (each keeps its elements for re-delivery and dead letters): once reached, no more is claimed; one chunk may pass it by at most max_chunk_bytes. Bounds their memory with large records (64 MiB: 4 chunks of max_chunk_bytes).'),
    at_least_once: z
      .strictObject({
        instance_id: z.string().default('').describe('Stable id of this agent for its in-flight lists (both delivery modes use them); empty = a new id per process. A stable id (e.g. the pod name) re-delivers at once after a restart.'),
        heartbeat_interval: duration({ min: 10 }).prefault('5s').describe('How often this agent refreshes its heartbeat key.'),
        heartbeat_timeout: duration({ min: 20 }).prefault('30s').describe('A peer whose heartbeat is older than this is dead; its in-flight records are adopted.'),
        retry_initial_interval: duration({ min: 1 }).prefault('1s').describe('First delay before re-delivering a chunk after a retryable failure.'),
        retry_max_interval: duration({ min: 1 }).prefault('30s').describe('Cap of the exponential re-delivery backoff.'),
      })
      .superRefine((a, ctx) => {
        if (a.heartbeat_interval >= a.heartbeat_timeout) {
          ctx.addIssue({ code: 'custom', message: `must be less than heartbeat_timeout (${formatDuration(a.heartbeat_timeout)})`, path: ['heartbeat_interval'], input: formatDuration(a.heartbeat_interval) });
        }
        if (a.retry_initial_interval > a.retry_max_interval) {
          ctx.addIssue({ code: 'custom', message: `must not exceed retry_max_interval (${formatDuration(a.retry_max_interval)})`, path: ['retry_initial_interval'], input: formatDuration(a.retry_initial_interval) });
        }
      })
      .prefault({})
      .describe('Tuning of delivery: at_least_once (instance_id and the heartbeats apply to at_most_once\'s in-flight lists too).'),
    decode: z
      .strictObject({
        raw: z.boolean({ error: 'must be true or false' }).default(true).describe('Keep raw_request, raw_response and api_schema (large base64 strings); false decodes them as empty.'),
        max_record_bytes: z
          .number({ error: 'must be a number' })
          .int('must be an integer')
          .min(64, 'must be at least 64')
          .default(DEFAULT_MAX_RECORD_BYTES)
          .describe('Largest list element decoded; larger ones are refused (too_large) and dead-lettered.'),
      })
      .prefault({})
      .describe('Decoding of list elements.'),
    dead_letter: z
      .strictObject({
        enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Push undecodable elements to a capped dead-letter list.'),
        key: z.string().default('').describe('Dead-letter list; empty = <key_prefix>tyk-otel-pump-dead-letter.'),
        max_length: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').default(10_000).describe('The list is trimmed to its newest max_length entries.'),
        max_bytes: z
          .number({ error: 'must be a number of bytes' })
          .int('must be an integer')
          .min(1024, 'must be at least 1024')
          .default(DEFAULT_DEAD_LETTER_MAX_BYTES)
          .describe('The list is also trimmed (oldest first) to at most this many bytes of envelopes; an envelope larger than this is not written (counted as dropped, reason dead_letter_too_large).'),
      })
      .prefault({})
      .describe('Where records that fail to decode go (JSON envelopes, see README).'),
    max_poll_age: duration({ min: 1 }).prefault('2m').describe('/ready reports not ready when the last successful poll of Redis is older than this.'),
    shutdown_timeout: duration({ min: 1 }).prefault('10s').describe('How long shutdown waits for outstanding deliveries before closing Redis.'),
  })
  .superRefine((c, ctx) => {
    checkRedisConnection(c, ctx);
    if (!c.msgpack && !c.protobuf && !c.uptime) {
      ctx.addIssue({ code: 'custom', message: 'must be true when protobuf and uptime are false (nothing would be drained)', path: ['msgpack'], input: c.msgpack });
    }
    if ((c.msgpack || c.protobuf) && !c.keys.base && (c.keys.sharded === false || (Array.isArray(c.keys.sharded) && c.keys.sharded.length === 0)) && !c.uptime) {
      ctx.addIssue({ code: 'custom', message: 'must enable base or at least one shard when uptime is false (nothing would be drained)', path: ['keys', 'base'], input: c.keys.base });
    }
  })
  .describe('Drains Tyk gateway analytics (and uptime) records from Redis lists.');

/** Parsed `tyk_redis` receiver config (durations in ms). */
export type TykRedisConfig = z.infer<typeof tykRedisConfigSchema>;
