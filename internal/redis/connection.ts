/**
 * Turns the connection keys of a component (`./config.ts`) into an ioredis client: standalone (URL or
 * host:port), Sentinel or Cluster, with ACL user/password, database, TLS files, timeouts and an exponential
 * reconnect backoff. Every Redis client of the agent is made here.
 *
 * The client never queues commands while disconnected and never re-sends a command whose reply was lost:
 * the component decides what to retry, because re-running a claim or an increment blindly could lose a
 * chunk or count it twice. A database that cannot be selected is never replaced by another one: see
 * `guardDatabase`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { maskCredentials, parseHostPort, REDACTED } from '../../src/config/schema.js';
import { StartError } from '../../src/errors.js';
import type { RedisConnectionConfig } from './config.js';
import { parseEndpoint } from './endpoint.js';

/** What `connectionPlan` decided, before any socket is opened. */
export type ConnectionPlan =
  | { readonly mode: 'standalone'; readonly options: RedisOptions; readonly describe: string }
  | { readonly mode: 'sentinel'; readonly options: RedisOptions; readonly describe: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly { host: string; port: number }[]; readonly options: ClusterOptions; readonly describe: string };

/** A file reader (injectable for tests). */
export type ReadFile = (path: string) => Buffer;

/** Exponential backoff with ±10 % jitter: `initial * 2^(attempt-1)`, capped at `max`. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.max(1, Math.round(base * (0.9 + 0.2 * random())));
}

function addrs(component: string, list: readonly string[]): { host: string; port: number }[] {
  return list.map((a) => {
    const hp = parseHostPort(a);
    if (!hp) throw new StartError(component, `invalid address ${a}`);
    return { host: hp.host, port: hp.port };
  });
}

/** TLS options from the `tls` section (reads the PEM files), or undefined when TLS is off. */
export function tlsOptions(config: Pick<RedisConnectionConfig, 'tls'>, configDir: string, host: string, urlTls: boolean, read: ReadFile = readFileSync, component = 'redis'): ConnectionOptions | undefined {
  const t = config.tls;
  if (!t.enabled && !urlTls) return undefined;
  const file = (what: string, p: string): Buffer | undefined => {
    if (p === '') return undefined;
    const full = isAbsolute(p) ? p : resolve(configDir, p);
    try {
      return read(full);
    } catch (err) {
      throw new StartError(component, `cannot read tls.${what} ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  };
  const opts: ConnectionOptions = {
    minVersion: t.min_version === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    rejectUnauthorized: !t.insecure_skip_verify,
  };
  const ca = file('ca_file', t.ca_file);
  if (ca) opts.ca = ca;
  const cert = file('cert_file', t.cert_file);
  const key = file('key_file', t.key_file);
  if (cert && key) {
    opts.cert = cert;
    opts.key = key;
  }
  const servername = t.server_name !== '' ? t.server_name : host;
  // SNI must not be an IP address (Node warns); verification still checks the IP SAN.
  if (!/^[\d.]+$/.test(servername) && !servername.includes(':')) opts.servername = servername;
  if (t.server_name !== '') {
    const expected = t.server_name;
    // Verify against server_name rather than the address we dialled (e.g. an IP behind a load balancer).
    opts.checkServerIdentity = (_host, cert) => checkServerIdentity(expected, cert);
  }
  return opts;
}

/** Who connects: names the component in errors and the client connection name. */
export interface PlanOptions {
  /** Component id or type, for start errors (default `redis`). */
  readonly component?: string;
  /** `CLIENT SETNAME` of the connections (default `tyk-otel-pump`). */
  readonly connectionName?: string;
  /** PEM file reader (injectable for tests). */
  readonly read?: ReadFile;
}

/**
 * Decides the client mode and its options. Explicit `username`/`password`/`database` keys win over the
 * URL's. `describe` is safe to log (no credentials).
 */
export function connectionPlan(config: RedisConnectionConfig, configDir: string, opts: PlanOptions = {}): ConnectionPlan {
  const component = opts.component ?? 'redis';
  const read = opts.read ?? readFileSync;
  const ep = parseEndpoint(config.endpoint);
  if (!ep) throw new StartError(component, 'invalid endpoint');
  const username = config.username !== '' ? config.username : ep.username;
  const password = config.password !== '' ? config.password : ep.password;
  const db = config.database ?? ep.database ?? 0;
  const common: RedisOptions = {
    connectTimeout: config.connect_timeout,
    commandTimeout: config.command_timeout,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectionName: opts.connectionName ?? 'tyk-otel-pump',
    // The database guard (`guardDatabase`) hooks the INFO ready check: it must run.
    enableReadyCheck: true,
    // After a failover the old master answers READONLY: reconnect (to the new master via DNS or Sentinel),
    // but never re-send the failed command (1, not 2): the component decides what to retry. A failed
    // SELECT outside the handshake (ioredis re-selects after a reconnect when the database changed) closes
    // the connection too: commands sent behind it would run on the previous database.
    reconnectOnError: (err) => (/^READONLY/.test(err.message) || isSelectError(err) ? 1 : false),
    ...(username !== '' ? { username } : {}),
    ...(password !== '' ? { password } : {}),
  };
  const retryStrategy = (times: number): number => backoffDelay(times, config.reconnect.initial_interval, config.reconnect.max_interval);
  const tlsOn = config.tls.enabled || ep.tls;
  const scheme = tlsOn ? 'rediss' : 'redis';

  if (config.cluster.addrs.length > 0) {
    const nodes = addrs(component, config.cluster.addrs);
    const tls = tlsOptions(config, configDir, nodes[0]?.host ?? '', ep.tls, read, component);
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: config.connect_timeout,
      redisOptions: {
        ...withoutKeys(common, ['lazyConnect', 'enableOfflineQueue']),
        ...(tls ? { tls } : {}),
      },
    };
    return { mode: 'cluster', nodes, options, describe: `${scheme} cluster ${config.cluster.addrs.join(',')}` };
  }

  if (config.sentinel.master_name !== '') {
    const sentinels = addrs(component, config.sentinel.addrs);
    const tls = tlsOptions(config, configDir, '', ep.tls, read, component);
    const options: RedisOptions = {
      ...common,
      db,
      name: config.sentinel.master_name,
      sentinels,
      retryStrategy,
      sentinelRetryStrategy: retryStrategy,
      ...(config.sentinel.username !== '' ? { sentinelUsername: config.sentinel.username } : {}),
      ...(config.sentinel.password !== '' ? { sentinelPassword: config.sentinel.password } : {}),
      ...(tls ? { tls } : {}),
      ...(tls && config.sentinel.tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    };
    return { mode: 'sentinel', options, describe: `${scheme} sentinel master ${config.sentinel.master_name} via ${config.sentinel.addrs.join(',')} db ${db}` };
  }

  const tls = tlsOptions(config, configDir, ep.host, ep.tls, read, component);
  const options: RedisOptions = {
    ...common,
    host: ep.host,
    port: ep.port,
    db,
    retryStrategy,
    ...(tls ? { tls } : {}),
  };
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return { mode: 'standalone', options, describe: `${scheme}://${host}:${ep.port}/${db}` };
}

function withoutKeys<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Omit<T, K> {
  const copy = { ...o };
  for (const k of keys) delete copy[k];
  return copy;
}

/** Any ioredis client made by `createClient`. */
export type RedisClient = Redis | Cluster;

/** Whether an error is the reply to a SELECT (ioredis attaches the command to reply errors). */
function isSelectError(err: unknown): boolean {
  return err instanceof Error && (err as Error & { command?: { name?: string } }).command?.name === 'select';
}

/**
 * Creates the (not yet connected) client of a plan. Errors it emits have their secrets masked
 * (`redactRedisError`); standalone and Sentinel clients are guarded so that a failed SELECT never leaves a
 * connection on another database (`guardDatabase`).
 */
export function createClient(plan: ConnectionPlan): RedisClient {
  if (plan.mode === 'cluster') {
    const cluster = new Cluster(plan.nodes.map((n) => ({ ...n })), plan.options);
    cluster.on('error', redactRedisError);
    cluster.on('node error', redactRedisError);
    return cluster;
  }
  const client = new Redis(plan.options);
  client.on('error', redactRedisError);
  guardDatabase(client, plan.options.db ?? 0);
  return client;
}

/** Commands whose arguments carry credentials. */
const SECRET_COMMANDS = new Set(['auth', 'hello', 'acl', 'migrate', 'config']);

/**
 * Masks the secrets an ioredis error can carry before any component logs it: ioredis attaches the failed
 * command to reply errors, so a refused `AUTH`/`HELLO` holds the password in `command.args` (a logger
 * serialising the error object would print it); and a URL's user info in the message or stack. Mutates
 * `err` (every 'error' listener receives the same object; this one is registered first).
 */
export function redactRedisError(err: unknown): void {
  if (!(err instanceof Error)) return;
  err.message = maskCredentials(err.message);
  if (err.stack !== undefined) err.stack = maskCredentials(err.stack);
  const e = err as Error & { command?: { name?: unknown; args?: unknown }; previousErrors?: unknown; lastNodeError?: unknown };
  const cmd = e.command;
  if (cmd && Array.isArray(cmd.args) && SECRET_COMMANDS.has(String(cmd.name).toLowerCase())) cmd.args = cmd.args.map(() => REDACTED);
  // Cluster errors wrap the node errors that caused them.
  if (Array.isArray(e.previousErrors)) for (const inner of e.previousErrors) if (inner !== err) redactRedisError(inner);
  if (e.lastNodeError !== err) redactRedisError(e.lastNodeError);
}

/**
 * ioredis sends `SELECT <db>` while setting up each connection (the first one and every reconnect), but
 * treats a refused SELECT (`ERR DB index is out of range`, an ACL `NOPERM`) as a warning: the connection
 * becomes ready on database 0 and every command runs there. This guard makes the failure fatal to that
 * connection: the error is reworded to say which database failed, the INFO ready check that follows the
 * set-up is answered "not ready" (so no 'ready' event, no command), and ioredis closes the connection and
 * retries with the plan's backoff. The component sees an unreachable Redis with that reason.
 *
 * The other places ioredis selects a database cannot run a command elsewhere either: after 'ready' it
 * re-selects only when `select()` was called on the client (never here), and a SELECT refused outside
 * the set-up closes the connection (`reconnectOnError`); commands are never queued offline nor re-sent
 * after a reconnect (`enableOfflineQueue`, `autoResendUnfulfilledCommands` false), the two queues ioredis
 * replays with a SELECT in front. Cluster has database 0 only (validation refuses another).
 */
export function guardDatabase(client: Redis, db: number): void {
  // ioredis' connector decides after INFO whether the connection may become ready (Sentinel: "is it the
  // master?"); the guard adds "did SELECT succeed?". Checked at creation so an ioredis upgrade that moves
  // it fails loudly here instead of silently dropping the guard.
  const connector = (client as unknown as { connector?: { check?: (info: unknown) => boolean } }).connector;
  if (!connector || typeof connector.check !== 'function') throw new Error('ioredis internals changed: cannot guard the database selection');
  const check = connector.check.bind(connector);
  let selectFailed = false;
  connector.check = (info: unknown) => {
    const failed = selectFailed;
    selectFailed = false;
    return !failed && check(info);
  };
  // Registered before any other listener, so every listener sees the reworded error.
  client.on('error', (err: unknown) => {
    if (!isSelectError(err)) return;
    selectFailed = true;
    const e = err as Error;
    e.message = `cannot select database ${db} (${e.message}); the connection is closed and retried, never used on another database`;
  });
  client.on('connect', () => {
    selectFailed = false;
  });
}
