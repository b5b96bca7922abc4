/**
 * Config schema of the `redis_stream` receiver: which stream and consumer group to read as which consumer,
 * how much to read at once, when to reclaim a dead consumer's entries, when to give up on an entry, and how
 * to reach Redis (the connection keys every Redis component shares: `internal/redis/config.ts`).
 */
import { z } from 'zod';
import { duration, formatDuration } from '../../src/config/schema.js';
import { checkRedisConnection, redisConnectionFields } from '../../internal/redis/config.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../../internal/tyk-wire/decode.js';

/** Config schema of the `redis_stream` receiver. */
export const redisStreamReceiverConfigSchema = z
  .strictObject({
    ...redisConnectionFields({ purpose: 'Redis holding the stream', commandTimeout: '10s' }),
    stream: z.string({ error: 'must be a stream key' }).min(1, 'must not be empty').default('tyk-otel-pump-records').describe('Stream to read (written by the redis_stream exporter).'),
    group: z.string({ error: 'must be a group name' }).min(1, 'must not be empty').default('tyk-otel-pump').describe('Consumer group: every group gets every entry once; the consumers of one group share them.'),
    instance_id: z.string().default('').describe('Consumer name in the group; empty = the agent\'s instance id (new per process). A stable name (the pod name) re-delivers this consumer\'s pending entries at once after a restart.'),
    from: z.enum(['earliest', 'latest'], { error: 'must be earliest or latest' }).default('latest').describe('Where a group created on first start begins: earliest = every entry the stream still holds, latest = entries added from now on.'),
    count: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').default(1000).describe('Entries read per XREADGROUP (one delivery unit, acknowledged together).'),
    block: duration({ min: 1, max: 60_000 }).prefault('2s').describe('How long one blocking read waits for new entries.'),
    max_unacked_reads: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(16).describe('Reads handed downstream whose delivery has not finished (held in the sli emission window, queued in an exporter, waiting for a retry); at the limit no more is read, and a window holding some of them is emitted at once. Each keeps its entries\' bytes for re-delivery.'),
    max_unacked_bytes: z.number({ error: 'must be a number of bytes' }).int('must be an integer').min(1024, 'must be at least 1024').default(64 * 1024 * 1024).describe('Bytes of the entries of those reads (each keeps its entries for re-delivery and dead letters): once reached, no more is read; one read may pass it by at most count entries. Bounds their memory with large records.'),
    claim_idle: duration({ min: 10 }).prefault('60s').describe('An entry pending this long at another consumer of the group (which died) is claimed by this one (XAUTOCLAIM); checked every claim_idle / 2.'),
    max_deliveries: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').default(5).describe('An entry delivered to the group this many times (claimed again and again: it keeps killing its consumers) is dead-lettered instead.'),
    retry_initial_interval: duration({ min: 1 }).prefault('1s').describe('First delay before re-delivering a read after a retryable failure.'),
    retry_max_interval: duration({ min: 1 }).prefault('30s').describe('Cap of the exponential re-delivery backoff.'),
    lag_interval: duration({ min: 10 }).prefault('5s').describe('How often the group\'s lag and pending entries are sampled (XINFO GROUPS) for self-telemetry and /ready.'),
    decode: z
      .strictObject({
        raw: z.boolean({ error: 'must be true or false' }).default(true).describe('Keep raw_request, raw_response and api_schema; false decodes them as empty.'),
        max_record_bytes: z.number({ error: 'must be a number' }).int('must be an integer').min(64, 'must be at least 64').default(DEFAULT_MAX_RECORD_BYTES).describe('Largest entry decoded; larger ones are refused (too_large) and dead-lettered.'),
      })
      .prefault({})
      .describe('Decoding of entries (the tyk_redis decoder).'),
    dead_letter: z
      .strictObject({
        enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Push entries that cannot be decoded, were refused for good, or reached max_deliveries to a capped list.'),
        key: z.string().default('').describe('Dead-letter list; empty = <stream>:dead-letter:<group>.'),
        max_length: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').default(10_000).describe('The list is trimmed to its newest max_length entries.'),
      })
      .prefault({})
      .describe('Where entries that can never be delivered go (JSON envelopes with the bytes in base64).'),
    shutdown_timeout: duration({ min: 1 }).prefault('10s').describe('How long shutdown waits for outstanding deliveries; the rest stays pending in the group for this consumer\'s next start or a peer.'),
  })
  .superRefine((c, ctx) => {
    checkRedisConnection(c, ctx);
    if (c.retry_initial_interval > c.retry_max_interval) {
      ctx.addIssue({ code: 'custom', message: `must not exceed retry_max_interval (${formatDuration(c.retry_max_interval)})`, path: ['retry_initial_interval'], input: formatDuration(c.retry_initial_interval) });
    }
  })
  .describe('Reads records from a Redis stream as one consumer of a consumer group (written by the redis_stream exporter).');

/** Parsed `redis_stream` receiver config (durations in ms). */
export type RedisStreamReceiverConfig = z.infer<typeof redisStreamReceiverConfigSchema>;
