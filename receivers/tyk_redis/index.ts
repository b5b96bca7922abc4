/**
 * The `tyk_redis` receiver: drains Tyk gateway analytics (msgpack and protobuf) and uptime records from
 * Redis lists, at-most-once like Tyk Pump or at-least-once with per-instance in-flight lists.
 */
import type { ReceiverFactory } from '../../src/component.js';
import { tykRedisConfigSchema, type TykRedisConfig } from './config.js';
import { TykRedisReceiver } from './tyk_redis.js';
import { openDemoWriter } from './demo.js';
import { openDeadLetters } from './dead-letters.js';

/** Factory of the `tyk_redis` receiver. */
export const tykRedisReceiverFactory: ReceiverFactory<TykRedisConfig> = {
  kind: 'receiver',
  type: 'tyk_redis',
  description: 'Drains Tyk analytics and uptime records from Redis (at-most-once like Tyk Pump, or at-least-once).',
  configSchema: tykRedisConfigSchema,
  shutdownWaits: (config) => [{ path: ['shutdown_timeout'], ms: config.shutdown_timeout }],
  // Claims are atomic (one Lua script per claim), so copies in worker threads share the lists; each copy
  // keeps its own in-flight lists, under its own instance id when a stable one is configured.
  workers: {
    copy: (config, index) => config.at_least_once.instance_id === ''
      ? config
      : { ...config, at_least_once: { ...config.at_least_once, instance_id: `${config.at_least_once.instance_id}-w${index}` } },
  },
  create: (ctx, config, next, reads) => new TykRedisReceiver(ctx, config, next, reads),
  demo: openDemoWriter,
  openDeadLetters,
};
