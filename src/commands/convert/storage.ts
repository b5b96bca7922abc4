/**
 * `analytics_storage_config`, the purge loop settings and the uptime settings → the one `tyk_redis`
 * receiver; health check and log level → `service.telemetry`. Tyk Pump semantics from pump
 * `storage/store.go`, `main.go StartPurgeLoop` and the storage library's `redisv9.go` (TykTechnologies).
 */
import { Reader, seconds, type Ctx } from './context.js';

/** What the uptime settings asked for. */
export interface UptimePlan {
  /** Drain the host-checker list. */
  readonly drain: boolean;
  /** Write uptime records with a native exporter (`sql_aggregate`, its `uptime` aggregates). */
  readonly sql: { readonly connection_string: string; readonly table_sharding: boolean | undefined; readonly source: string } | undefined;
}

/** Adds `receivers::tyk_redis` (the uptime plan decides its `uptime`). */
export function convertStorage(ctx: Ctx, plan: UptimePlan): void {
  const { report } = ctx;
  const s = new Reader(ctx, 'analytics_storage_config', ctx.conf.storage);
  const g = new Reader(ctx, '', ctx.conf.globals);
  const out: Record<string, unknown> = {};
  const at = `receivers::${ctx.receiver}`;

  const type = s.str('type');
  if (type !== undefined && type !== '' && type !== 'redis') report.dropped(s.src('type'), `"${type}" is not redis; Tyk Pump refuses it too`);
  const storageType = g.str('analytics_storage_type');
  if (storageType !== undefined && storageType !== '' && storageType !== 'redis') report.dropped('analytics_storage_type', `"${storageType}" is not redis; Tyk Pump refuses it too`);

  // Addresses: addrs wins, then the deprecated hosts map, then host:port (storage lib helper/redis.go).
  let addrs = s.list('addrs') ?? [];
  let addrSource = s.src('addrs');
  const hosts = s.object('hosts');
  if (addrs.length === 0 && hosts && Object.keys(hosts).length > 0) {
    addrs = Object.entries(hosts).map(([h, p]) => `${h}:${String(p)}`);
    addrSource = s.src('hosts');
  }
  const host = s.str('host');
  const port = s.num('port');
  if (addrs.length === 0 && port !== undefined && port !== 0) {
    addrs = [`${host ?? ''}:${port}`.replace(/^:/, 'localhost:')];
    addrSource = `${s.src('host')} + ${s.src('port')}`;
  } else if (addrs.length > 0 && (host !== undefined || port !== undefined) && s.has('host')) {
    report.mapped(`${s.src('host')}, port`, `not used: ${addrSource} takes priority, as in Tyk Pump`);
  }
  const masterName = s.str('master_name') ?? '';
  const cluster = s.bool('enable_cluster') ?? false;
  if (masterName !== '') {
    out['sentinel'] = { master_name: masterName, addrs };
    report.mapped(`${s.src('master_name')}, ${addrSource}`, `${at}.sentinel (master_name, addrs): Redis Sentinel`);
    const sp = s.secret('sentinel_password');
    if (sp !== undefined) {
      (out['sentinel'] as Record<string, unknown>)['password'] = sp;
      report.mapped(s.src('sentinel_password'), `${at}.sentinel.password`);
    }
    if (cluster) report.dropped(s.src('enable_cluster'), 'ignored: master_name selects Sentinel first, as in Tyk Pump');
  } else if (cluster) {
    out['cluster'] = { addrs };
    report.mapped(`${s.src('enable_cluster')}, ${addrSource}`, `${at}.cluster.addrs: Redis Cluster`);
  } else if (addrs.length > 0) {
    out['endpoint'] = addrs[0];
    report.mapped(addrSource, `${at}.endpoint`);
    if (addrs.length > 1) report.approximated(addrSource, `${addrs.length} addresses without master_name or enable_cluster: Tyk Pump's simple client uses the first one, so does the agent`);
  } else {
    out['endpoint'] = 'localhost:6379';
    report.approximated('analytics_storage_config', 'no address set: localhost:6379 (Tyk Pump would have no Redis to connect to)');
  }
  if (s.secret('sentinel_password') !== undefined && masterName === '') report.dropped(s.src('sentinel_password'), 'no master_name: not a Sentinel setup');

  const username = s.str('username');
  if (username) {
    out['username'] = username;
    report.mapped(s.src('username'), `${at}.username`);
  }
  const password = s.secret('password');
  if (password !== undefined) {
    out['password'] = password;
    report.mapped(s.src('password'), `${at}.password${password.startsWith('${env:') ? ' (as an ${env:…} reference, not copied)' : ' (copied from pump.conf; consider ${env:VAR})'}`);
  }
  const db = s.num('database');
  if (db !== undefined && db !== 0) {
    if (cluster) report.dropped(s.src('database'), 'ignored in Cluster mode (as in Tyk Pump)');
    else {
      out['database'] = db;
      report.mapped(s.src('database'), `${at}.database`);
    }
  }
  const timeout = s.num('timeout');
  if (timeout !== undefined && timeout > 0) {
    out['connect_timeout'] = seconds(timeout);
    out['command_timeout'] = seconds(timeout);
    report.mapped(s.src('timeout'), `${at}.connect_timeout and command_timeout (${timeout}s; Tyk reads this as seconds)`);
  }
  const keyPrefix = s.str('key_prefix');
  if (keyPrefix !== undefined && keyPrefix !== 'analytics-') {
    out['key_prefix'] = keyPrefix;
    report.mapped(s.src('key_prefix'), `${at}.key_prefix`);
  }
  for (const k of ['optimisation_max_active', 'optimisation_max_idle']) {
    if (s.has(k)) report.dropped(s.src(k), 'the receiver uses one Redis client (one connection, one per node in a Cluster), not a pool');
    s.touch(k);
  }

  // TLS.
  const tls: Record<string, unknown> = {};
  if (s.bool('use_ssl')) {
    tls['enabled'] = true;
    report.mapped(s.src('use_ssl'), `${at}.tls.enabled`);
  }
  for (const [k, to] of [['ssl_insecure_skip_verify', 'insecure_skip_verify'], ['ssl_ca_file', 'ca_file'], ['ssl_cert_file', 'cert_file'], ['ssl_key_file', 'key_file']] as const) {
    const v = k === 'ssl_insecure_skip_verify' ? s.bool(k) : s.str(k);
    if (v === undefined || v === '' || v === false) continue;
    tls[to] = v;
    report.mapped(s.src(k), `${at}.tls.${to}`);
  }
  const minVersion = s.str('ssl_min_version');
  if (minVersion === '1.3') {
    tls['min_version'] = '1.3';
    report.mapped(s.src('ssl_min_version'), `${at}.tls.min_version`);
  } else if (minVersion === '1.2') {
    report.mapped(s.src('ssl_min_version'), `${at}.tls.min_version 1.2 (the default)`);
  } else if (minVersion === '1.0' || minVersion === '1.1') {
    report.approximated(s.src('ssl_min_version'), `TLS ${minVersion} is not offered: the agent's minimum is 1.2`);
  }
  if (s.has('ssl_max_version')) report.dropped(s.src('ssl_max_version'), 'no maximum: Node negotiates the highest version both sides support');
  s.touch('ssl_max_version');
  if (Object.keys(tls).length > 0) {
    if (tls['enabled'] === undefined && Object.keys(tls).length > 0) report.approximated(`${s.path}.ssl_*`, 'TLS options without use_ssl: written under tls, but TLS stays off as in Tyk Pump');
    out['tls'] = tls;
  }
  const iam = s.object('iam_auth');
  if (iam && iam['enabled'] === true) report.dropped(s.src('iam_auth'), 'GCP Memorystore IAM tokens are not supported: use a Redis password');
  s.dropUnread('not a Tyk Pump storage setting the agent knows');

  // Purge loop.
  const chunk = g.num('purge_chunk');
  if (chunk !== undefined && chunk > 0) {
    out['chunk_size'] = Math.min(chunk, 100_000);
    if (chunk > 100_000) report.approximated(g.src('purge_chunk'), `chunk_size 100000 (the receiver's maximum; it claims chunk after chunk until a list is empty)`);
    else report.mapped(g.src('purge_chunk'), `${at}.chunk_size (the receiver claims chunk after chunk until the list is empty, Tyk Pump one chunk per purge_delay)`);
  } else if (chunk === 0) {
    report.approximated(g.src('purge_chunk'), `0 (whole list at once): the receiver claims chunks of ${1000} records until the list is empty, so memory stays bounded`);
  }
  const delay = g.num('purge_delay');
  if (delay !== undefined && delay > 0) {
    out['poll_interval'] = seconds(delay);
    report.approximated(g.src('purge_delay'), `${at}.poll_interval: ${delay}s between polls once every list is empty; while records are waiting the receiver does not sleep`);
  } else if (delay !== undefined) {
    report.approximated(g.src('purge_delay'), '0: Tyk Pump never purges with 0; the agent polls every second (default)');
  }
  const expiration = g.num('storage_expiration_time');
  if (expiration !== undefined) {
    report.dropped(g.src('storage_expiration_time'), 'Tyk Pump re-set this TTL on the list after each chunk, so a list nobody drained vanished; the agent never sets a TTL (the gateway still expires undrained lists after its own analytics_config.storage_expiration_time)');
  }
  const multi = g.bool('enable_multiple_analytics_keys');
  if (multi !== undefined) report.mapped(g.src('enable_multiple_analytics_keys'), `${at}.keys.sharded defaults to true: the _0…_9 lists are drained like Tyk Pump always does (this is a gateway setting)`);

  // Uptime.
  out['uptime'] = plan.drain;
  ctx.agent.set(['receivers', ctx.receiver], out, 'from analytics_storage_config, purge_chunk, purge_delay and the uptime settings of pump.conf');
}

/** Reads `dont_purge_uptime_data` and `uptime_pump_config` into a plan (reported). */
export function planUptime(ctx: Ctx): UptimePlan {
  const g = new Reader(ctx, '', ctx.conf.globals);
  const u = new Reader(ctx, 'uptime_pump_config', ctx.conf.uptime);
  const dont = g.bool('dont_purge_uptime_data') ?? false;
  const kind = (u.str('uptime_type') ?? 'mongo').toLowerCase();
  u.touch('uptime_type');
  if (dont) {
    ctx.report.mapped(g.src('dont_purge_uptime_data'), `receivers::${ctx.receiver}.uptime: false (the host-checker list is left alone)`);
    u.touch(...Object.keys(ctx.conf.uptime));
    return { drain: false, sql: undefined };
  }
  if (kind === 'sql') {
    const cs = u.secret('connection_string') ?? '';
    const dialect = u.str('type') ?? 'postgres';
    if (dialect !== 'postgres') ctx.report.approximated(u.src('type'), `"${dialect}": the sql exporters write PostgreSQL; point connection_string at PostgreSQL`);
    const sharding = u.bool('table_sharding');
    u.touch('batch_size', 'log_level', 'postgres', 'mysql', 'mongo_url', 'collection_name');
    u.dropUnread('not used for SQL uptime');
    ctx.report.mapped(`${u.src('uptime_type')}, connection_string`, 'uptime records → exporters::sql_aggregate/uptime (uptime.enabled, tyk_uptime_analytics) in pipeline records/uptime');
    return { drain: true, sql: { connection_string: cs, table_sharding: sharding, source: 'uptime_pump_config' } };
  }
  u.touch(...Object.keys(ctx.conf.uptime));
  ctx.report.dropped(
    ctx.conf.uptime['uptime_type'] !== undefined ? u.src('uptime_type') : 'dont_purge_uptime_data: false',
    'uptime records go to MongoDB in Tyk Pump (no MongoDB exporter here): receivers::tyk_redis.uptime: false leaves the host-checker list for a Tyk Pump that keeps uptime_pump_config',
  );
  return { drain: false, sql: undefined };
}

/** Health check port and log level → `service.telemetry`. */
export function convertService(ctx: Ctx): void {
  const g = new Reader(ctx, '', ctx.conf.globals);
  const port = g.num('health_check_endpoint_port');
  const telemetry: Record<string, unknown> = {};
  telemetry['metrics'] = { address: `0.0.0.0:${port ?? 8083}` };
  ctx.report[port === undefined ? 'approximated' : 'mapped'](
    port === undefined ? 'health_check_endpoint_port (default 8083)' : g.src('health_check_endpoint_port'),
    `service.telemetry.metrics.address 0.0.0.0:${port ?? 8083}: /health (and /ready, /metrics self-telemetry) on Tyk Pump's health port`,
  );
  const name = g.str('health_check_endpoint_name');
  if (name !== undefined && name !== 'health') ctx.report.approximated(g.src('health_check_endpoint_name'), `the agent serves /health, not /${name}: point the probe at /health`);
  const level = g.str('log_level');
  if (level !== undefined) {
    const ok = ['debug', 'info', 'warn', 'error'].includes(level);
    if (ok) {
      telemetry['logs'] = { level };
      ctx.report.mapped(g.src('log_level'), 'service.telemetry.logs.level');
    } else ctx.report.dropped(g.src('log_level'), `"${level}" is not a level Tyk Pump accepts either`);
  }
  if (g.has('log_format')) ctx.report.approximated(g.src('log_format'), 'the agent always logs JSON lines');
  g.touch('log_format');
  ctx.agent.set(['service', 'telemetry'], telemetry, 'from health_check_endpoint_port and log_level');
}
