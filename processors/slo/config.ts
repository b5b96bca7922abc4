/**
 * Config of the `slo` processor (records → metrics): which SLOs of the top-level `slos:` section to
 * evaluate, how often to emit the gauges, and the Redis that holds the shared per-minute counts (the
 * connection keys every Redis component shares: `internal/redis/config.ts`, so Sentinel, Cluster, TLS
 * files and ACL users work here exactly as in the `tyk_redis` receiver).
 */
import { z } from 'zod';
import { duration } from '../../src/config/schema.js';
import { checkRedisConnection, redisConnectionFields } from '../../internal/redis/config.js';

/** Config schema of the `slo` processor. */
export const sloConfigSchema = z
  .strictObject({
    slos: z
      .array(z.string({ error: 'must be an SLO name' }), { error: 'must be a list of SLO names' })
      .default([])
      .describe('Names of the top-level slos to evaluate; empty = all of them.'),
    evaluation_interval: duration({ min: 1000, max: 3_600_000 })
      .prefault('30s')
      .describe('How often the SLO gauges are computed from Redis and emitted downstream (also after consumed batches, at most once a second, and on shutdown).'),
    ...redisConnectionFields({ purpose: 'Redis holding the shared SLO counts (usually the gateway Redis the receiver drains)', commandTimeout: '5s' }),
    key_prefix: z
      .string({ error: 'must be a string' })
      .default('')
      .describe('Prefix of the state keys (<key_prefix>tyk-otel-pump:slo:<name>:…; in Cluster mode {<key_prefix>tyk-otel-pump:slo}:<name>:…). Agents that must report the same SLO share it.'),
  })
  .superRefine((c, ctx) => checkRedisConnection(c, ctx))
  .describe('Computes SLO error ratios, burn rates, error budget and alert state from records, with per-minute counts shared through Redis, and emits them as gauges.');

/** Parsed `slo` processor config (durations in ms). */
export type SloProcessorConfig = z.infer<typeof sloConfigSchema>;
