/**
 * Config of the `redis_stream` exporter: which stream to append records to, its retention, and how to
 * reach Redis (the connection keys every Redis component shares: `internal/redis/config.ts`).
 */
import { z } from 'zod';
import { duration } from '../../src/config/schema.js';
import { checkRedisConnection, redisConnectionFields } from '../../internal/redis/config.js';

/** Default stream key. */
export const DEFAULT_STREAM = 'tyk-otel-pump-records';

/** Config schema of the `redis_stream` exporter. */
export const redisStreamExporterConfigSchema = z
  .strictObject({
    ...redisConnectionFields({ purpose: 'Redis holding the stream', commandTimeout: '10s' }),
    stream: z.string({ error: 'must be a stream key' }).min(1, 'must not be empty').default(DEFAULT_STREAM).describe('Stream key the records are appended to (one key: one Cluster slot).'),
    max_len: z
      .number({ error: 'must be a number of entries' })
      .int('must be an integer')
      .min(0, 'must be 0 (no length bound) or more')
      .default(1_000_000)
      .describe('Retention by length: every XADD trims the stream to about this many entries (MAXLEN ~, whole radix-tree nodes); 0 turns it off. Size it to hold the slowest consumer group\'s backlog (see README).'),
    max_age: duration({ min: 0 })
      .prefault('0s')
      .describe('Retention by age: after each batch, entries older than this are trimmed (XTRIM MINID ~ <now - max_age>); 0s turns it off. Both bounds may be set; the tighter one wins.'),
  })
  .superRefine((c, ctx) => {
    checkRedisConnection(c, ctx);
  })
  .describe('Appends records\' original wire bytes to a Redis stream, for consumer groups (the redis_stream receiver).');

/** Parsed `redis_stream` exporter config (durations in ms). */
export type RedisStreamExporterConfig = z.infer<typeof redisStreamExporterConfigSchema>;
