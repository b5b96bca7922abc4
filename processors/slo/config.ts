/**
 * Config of the `slo` processor (records → metrics): which SLOs of the top-level `slos:` section to
 * evaluate, how often to emit the gauges, and the Redis that holds the shared per-minute counts.
 */
import { z } from 'zod';
import { duration, parseHostPort, secret } from '../../src/config/schema.js';

/** A Redis endpoint: a `redis://` / `rediss://` URL or a bare `host:port`. Undefined when malformed. */
export function parseRedisEndpoint(text: string): { url: string; tls: boolean } | undefined {
  const trimmed = text.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const hp = parseHostPort(trimmed);
    if (!hp || hp.host === '' || hp.port === 0) return undefined;
    const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
    return { url: `redis://${host}:${hp.port}`, tls: false };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') return undefined;
  if (!/^\/?(\d{1,5})?$/.test(url.pathname)) return undefined;
  return { url: trimmed, tls: url.protocol === 'rediss:' };
}

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
    endpoint: z
      .string({ error: 'must be a redis:// or rediss:// URL or host:port' })
      .default('redis://127.0.0.1:6379/0')
      .refine((s) => parseRedisEndpoint(s) !== undefined, { message: 'must be a redis://[user:password@]host[:port][/db] or rediss:// URL, or host:port' })
      .describe('Redis holding the shared SLO counts (usually the gateway Redis the receiver drains); rediss:// for TLS.'),
    username: z.string({ error: 'must be a string' }).default('').describe('ACL user name (Redis 6+); overrides one in the endpoint URL.'),
    password: secret().default('').describe('Password; overrides one in the endpoint URL.'),
    database: z
      .number({ error: 'must be a database number' })
      .int('must be an integer')
      .min(0, 'must be 0 or more')
      .optional()
      .describe('Database index; overrides the /db of the URL (default 0).'),
    key_prefix: z
      .string({ error: 'must be a string' })
      .default('')
      .describe('Prefix of the state keys (<key_prefix>tyk-otel-pump:slo:<name>:…). Agents that must report the same SLO share it.'),
    connect_timeout: duration({ min: 1 }).prefault('5s').describe('How long one connection attempt may take.'),
    command_timeout: duration({ min: 1 }).prefault('5s').describe('How long one Redis round trip (a batch increment or an evaluation read) may take.'),
  })
  .describe('Computes SLO error ratios, burn rates, error budget and alert state from records, with per-minute counts shared through Redis, and emits them as gauges.');

/** Parsed `slo` processor config (durations in ms). */
export type SloProcessorConfig = z.infer<typeof sloConfigSchema>;
