/**
 * The `redis_stream` receiver: one consumer of a Redis stream consumer group, reading what `redis_stream`
 * exporters (drainer agents) appended, acknowledging entries only once every pipeline delivered them.
 */
import type { ReceiverFactory } from '../../src/component.js';
import { redisStreamReceiverConfigSchema, type RedisStreamReceiverConfig } from './config.js';
import { RedisStreamReceiver } from './redis_stream.js';
import { openDeadLetters } from './dead-letters.js';

/** Factory of the `redis_stream` receiver. */
export const redisStreamReceiverFactory: ReceiverFactory<RedisStreamReceiverConfig> = {
  kind: 'receiver',
  type: 'redis_stream',
  description: 'Reads records from a Redis stream as one consumer of a consumer group (XREADGROUP, XACK after delivery, XAUTOCLAIM of dead consumers\' entries).',
  configSchema: redisStreamReceiverConfigSchema,
  shutdownWaits: (config) => [{ path: ['shutdown_timeout'], ms: config.shutdown_timeout }],
  create: (ctx, config, next, reads) => new RedisStreamReceiver(ctx, config, next, reads),
  openDeadLetters,
};
