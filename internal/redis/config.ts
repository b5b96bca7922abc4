/**
 * The one declaration of "how to reach Redis" that every component using Redis composes into its own
 * schema (`tyk_redis` receiver, `slo` processor, …), so the keys, defaults, messages and documentation
 * are the same everywhere: endpoint URL or host:port, ACL user and password, database, TLS (CA file,
 * client certificate), Sentinel, Cluster, timeouts and reconnect backoff.
 *
 * Use: `z.strictObject({ ...redisConnectionFields({ purpose: '…' }), mine: … }).superRefine((c, ctx) =>
 * checkRedisConnection(c, ctx))`.
 */
import { z } from 'zod';
import { duration, formatDuration, maskCredentials, parseHostPort, secret } from '../../src/config/schema.js';
import { parseEndpoint } from './endpoint.js';

const hostPortList = (what: string) =>
  z
    .array(
      z.string({ error: 'must be host:port' }).refine((s) => {
        const hp = parseHostPort(s);
        return hp !== undefined && hp.host !== '' && hp.port !== 0;
      }, { message: 'must be host:port' }),
      { error: `must be a list of ${what} host:port addresses` },
    )
    .default([]);

const path = (doc: string) => z.string({ error: 'must be a file path' }).default('').describe(doc);

/** `tls` section. */
export const redisTlsSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Use TLS (implied by a rediss:// endpoint).'),
    ca_file: path('PEM file of the CA(s) that signed the server certificate; empty = the system CAs. Relative to the config file.'),
    cert_file: path('PEM client certificate for mutual TLS (needs key_file).'),
    key_file: path('PEM private key of cert_file.'),
    server_name: z.string().default('').describe('Server name for SNI and certificate verification; empty = the endpoint host.'),
    insecure_skip_verify: z.boolean({ error: 'must be true or false' }).default(false).describe('Accept any server certificate (testing only).'),
    min_version: z.enum(['1.2', '1.3'], { error: 'must be 1.2 or 1.3' }).default('1.2').describe('Lowest TLS version accepted.'),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === '') !== (t.key_file === '')) {
      const [path, input] = t.cert_file === '' ? ['cert_file', t.cert_file] : ['key_file', t.key_file];
      ctx.addIssue({ code: 'custom', message: `must be set when ${path === 'cert_file' ? 'key_file' : 'cert_file'} is set`, path: [path], input });
    }
  })
  .describe('TLS to Redis (and to the Sentinels when sentinel.tls is true).');

/** `sentinel` section. */
export const redisSentinelSchema = z
  .strictObject({
    master_name: z.string().default('').describe('Name of the monitored master; setting it switches to Sentinel mode.'),
    addrs: hostPortList('Sentinel').describe('Sentinel host:port addresses (the endpoint host is not used in Sentinel mode).'),
    username: z.string().default('').describe('ACL user for the Sentinels.'),
    password: secret().default('').describe('Password for the Sentinels (Tyk: sentinel_password).'),
    tls: z.boolean({ error: 'must be true or false' }).default(false).describe('Use the tls section for the Sentinel connections too.'),
  })
  .superRefine((s, ctx) => {
    if (s.master_name !== '' && s.addrs.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one Sentinel when master_name is set', path: ['addrs'], input: s.addrs });
  })
  .describe('Redis Sentinel: the master is looked up by name.');

/** `cluster` section. */
export const redisClusterSchema = z
  .strictObject({
    addrs: hostPortList('cluster node').describe('Seed nodes; a non-empty list switches to Cluster mode (the endpoint host is then ignored).'),
  })
  .describe('Redis Cluster (one database only: database must be 0).');

/** What differs between the components that compose the connection keys. */
export interface RedisFieldOptions {
  /** What this Redis is for, first sentence of the `endpoint` doc (e.g. 'Redis to drain'). */
  readonly purpose: string;
  /** Default of `command_timeout` (a duration string). */
  readonly commandTimeout: string;
}

/**
 * The connection keys, to spread into a component's `z.strictObject({...})`. Cross-key rules live in
 * `checkRedisConnection` (call it from the component's `superRefine`).
 */
export function redisConnectionFields(opts: RedisFieldOptions) {
  return {
    endpoint: z
      // Encoding (what `validate --print` shows) masks a password in the URL; parsing keeps it.
      .codec(z.string({ error: 'must be a redis:// or rediss:// URL or host:port' }), z.string(), { decode: (s) => s, encode: (s) => maskCredentials(s) })
      .default('redis://127.0.0.1:6379/0')
      .superRefine((s, ctx) => {
        // The value shown in the problem has any URL password masked.
        if (parseEndpoint(s) === undefined) ctx.addIssue({ code: 'custom', message: 'must be a redis://[user:password@]host[:port][/db] or rediss:// URL, or host:port', input: maskCredentials(s) });
      })
      .describe(`${opts.purpose}: redis://host:port/db, rediss:// for TLS, or host:port. Prefer the password key over a password in the URL.`),
    username: z.string({ error: 'must be a string' }).default('').describe('ACL user name (Redis 6+); overrides one in the endpoint URL.'),
    password: secret().default('').describe('Password (of the ACL user, or requirepass); overrides one in the endpoint URL.'),
    database: z
      .number({ error: 'must be a database number' })
      .int('must be an integer')
      .min(0, 'must be 0 or more')
      .optional()
      .describe('Database index; overrides the /db of the URL (default 0). A database the server does not have (SELECT fails) is never replaced by another: the connection is closed and retried, and /ready says why. Must be 0 in Cluster mode.'),
    tls: redisTlsSchema.prefault({}),
    sentinel: redisSentinelSchema.prefault({}),
    cluster: redisClusterSchema.prefault({}),
    connect_timeout: duration({ min: 1 }).prefault('5s').describe('How long one connection attempt may take.'),
    command_timeout: duration({ min: 1 }).prefault(opts.commandTimeout).describe('How long one Redis command may take before the connection is considered broken.'),
    reconnect: z
      .strictObject({
        initial_interval: duration({ min: 1 }).prefault('100ms').describe('Delay before the first reconnect attempt.'),
        max_interval: duration({ min: 1 }).prefault('10s').describe('Cap of the exponential reconnect backoff.'),
      })
      .superRefine((r, ctx) => {
        if (r.initial_interval > r.max_interval) ctx.addIssue({ code: 'custom', message: `must not exceed max_interval (${formatDuration(r.max_interval)})`, path: ['initial_interval'], input: formatDuration(r.initial_interval) });
      })
      .prefault({})
      .describe('Reconnect backoff after Redis became unreachable (exponential with jitter).'),
  };
}

/** The connection keys alone, to derive their parsed type (components' schemas hold them plus their own). */
const connectionOnly = z.strictObject(redisConnectionFields({ purpose: 'Redis', commandTimeout: '5s' }));

/** The parsed connection keys (durations in ms), as every component using Redis has them. */
export type RedisConnectionConfig = z.infer<typeof connectionOnly>;

/** Cross-key rules of the connection keys; call from the component schema's `superRefine`. */
export function checkRedisConnection(c: RedisConnectionConfig, ctx: z.RefinementCtx): void {
  if (c.sentinel.master_name !== '' && c.cluster.addrs.length > 0) {
    ctx.addIssue({ code: 'custom', message: 'must not be combined with cluster.addrs (choose Sentinel or Cluster)', path: ['sentinel', 'master_name'], input: c.sentinel.master_name });
  }
  if (c.cluster.addrs.length > 0) {
    // Redis Cluster has database 0 only; silently using 0 for another number would read the wrong data.
    if (c.database !== undefined && c.database !== 0) {
      ctx.addIssue({ code: 'custom', message: 'must be 0 in Cluster mode (Redis Cluster has only database 0)', path: ['database'], input: c.database });
    } else if (c.database === undefined) {
      const db = parseEndpoint(c.endpoint)?.database;
      if (db !== undefined && db !== 0) ctx.addIssue({ code: 'custom', message: `must not select database ${db} in Cluster mode (Redis Cluster has only database 0)`, path: ['endpoint'], input: maskCredentials(c.endpoint) });
    }
  }
}
