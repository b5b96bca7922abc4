/**
 * Reading a Tyk Pump configuration the way Tyk Pump does (`config.go LoadConfig` in TykTechnologies/
 * tyk-pump): the pump.conf JSON, then `TYK_PMP_*` environment variables over it (envconfig naming: Go
 * field names upper-cased, nested structs joined by `_`, lists comma-separated, maps `k:v,k2:v2`), then
 * pumps declared only in the environment (`TYK_PMP_PUMPS_<NAME>_…`), then each pump's meta from its
 * meta env prefix. Env always wins over the file. Every value overridden by the environment remembers
 * the variable, so the output can refer to it and the report can name it.
 */
import type { Report } from './report.js';

/** How an env value is parsed (envconfig's rules for the Go type). */
export type EnvKind = 'string' | 'int' | 'float' | 'bool' | 'list' | 'intlist' | 'map' | 'json';

/** One key a section or a pump's meta takes from the environment. */
export interface EnvKey {
  /** pump.conf JSON key. */
  readonly key: string;
  /** envconfig field name; default: the key upper-cased without underscores. */
  readonly env?: string;
  readonly kind: EnvKind;
}

/** One pump of `pumps`, after the environment was applied. */
export interface PumpEntry {
  /** The `pumps` map key (as written in pump.conf, or lower-cased when it came from the environment). */
  readonly name: string;
  /** `type`, else the map key, lower-cased. */
  readonly type: string;
  /** The pump's settings other than meta (`filters`, `timeout`, …), env applied. */
  readonly conf: Record<string, unknown>;
  /** `meta`, env applied. */
  readonly meta: Record<string, unknown>;
}

/** A Tyk Pump configuration, env applied. */
export interface PumpConf {
  /** Top-level keys (`purge_delay`, …) except the sections below. */
  readonly globals: Record<string, unknown>;
  readonly storage: Record<string, unknown>;
  readonly uptime: Record<string, unknown>;
  readonly pumps: PumpEntry[];
  /** pump.conf path (`pumps.prom.meta.listen_address`) → the env var that set it. */
  readonly fromEnv: ReadonlyMap<string, string>;
}

const GLOBAL_KEYS: readonly EnvKey[] = [
  { key: 'purge_delay', kind: 'int' },
  { key: 'purge_chunk', kind: 'int' },
  { key: 'storage_expiration_time', kind: 'int' },
  { key: 'dont_purge_uptime_data', kind: 'bool' },
  { key: 'max_record_size', kind: 'int' },
  { key: 'omit_detailed_recording', kind: 'bool' },
  { key: 'health_check_endpoint_name', kind: 'string' },
  { key: 'health_check_endpoint_port', kind: 'int' },
  { key: 'log_level', kind: 'string' },
  { key: 'log_format', kind: 'string' },
  { key: 'analytics_storage_type', kind: 'string' },
  { key: 'enable_multiple_analytics_keys', kind: 'bool' },
  { key: 'raw_request_decoded', env: 'DECODERAWREQUEST', kind: 'bool' },
  { key: 'raw_response_decoded', env: 'DECODERAWRESPONSE', kind: 'bool' },
  { key: 'ignore_fields', kind: 'list' },
];

/** `analytics_storage_config` keys (pump `storage/store.go`). */
export const STORAGE_KEYS: readonly EnvKey[] = [
  { key: 'type', kind: 'string' },
  { key: 'host', kind: 'string' },
  { key: 'port', kind: 'int' },
  { key: 'hosts', kind: 'map' },
  { key: 'addrs', kind: 'list' },
  { key: 'master_name', kind: 'string' },
  { key: 'sentinel_password', kind: 'string' },
  { key: 'username', kind: 'string' },
  { key: 'password', kind: 'string' },
  { key: 'database', kind: 'int' },
  { key: 'timeout', kind: 'int' },
  { key: 'optimisation_max_idle', env: 'MAXIDLE', kind: 'int' },
  { key: 'optimisation_max_active', env: 'MAXACTIVE', kind: 'int' },
  { key: 'enable_cluster', kind: 'bool' },
  { key: 'key_prefix', kind: 'string' },
  { key: 'use_ssl', kind: 'bool' },
  { key: 'ssl_insecure_skip_verify', kind: 'bool' },
  { key: 'ssl_ca_file', kind: 'string' },
  { key: 'ssl_cert_file', kind: 'string' },
  { key: 'ssl_key_file', kind: 'string' },
  { key: 'ssl_min_version', kind: 'string' },
  { key: 'ssl_max_version', kind: 'string' },
];

/** Deprecated storage key spellings Tyk Pump still reads. */
const STORAGE_ALIASES: Readonly<Record<string, string>> = {
  redis_key_prefix: 'key_prefix',
  redis_use_ssl: 'use_ssl',
  redis_ssl_insecure_skip_verify: 'ssl_insecure_skip_verify',
};

const UPTIME_KEYS: readonly EnvKey[] = [
  { key: 'uptime_type', kind: 'string' },
  { key: 'type', kind: 'string' },
  { key: 'connection_string', kind: 'string' },
  { key: 'table_sharding', kind: 'bool' },
  { key: 'batch_size', kind: 'int' },
  { key: 'mongo_url', kind: 'string' },
  { key: 'collection_name', kind: 'string' },
];

/** Per-pump keys (`PumpConfig`), with their nested `filters`. */
const PUMP_KEYS: readonly (EnvKey & { readonly path: readonly string[] })[] = [
  { key: 'type', path: ['type'], kind: 'string' },
  { key: 'org_ids', path: ['filters', 'org_ids'], env: 'FILTERS_ORGSIDS', kind: 'list' },
  { key: 'api_ids', path: ['filters', 'api_ids'], env: 'FILTERS_APIIDS', kind: 'list' },
  { key: 'response_codes', path: ['filters', 'response_codes'], env: 'FILTERS_RESPONSECODES', kind: 'intlist' },
  { key: 'skip_org_ids', path: ['filters', 'skip_org_ids'], env: 'FILTERS_SKIPPEDORGSIDS', kind: 'list' },
  { key: 'skip_api_ids', path: ['filters', 'skip_api_ids'], env: 'FILTERS_SKIPPEDAPIIDS', kind: 'list' },
  { key: 'skip_response_codes', path: ['filters', 'skip_response_codes'], env: 'FILTERS_SKIPPEDRESPONSECODES', kind: 'intlist' },
  { key: 'timeout', path: ['timeout'], kind: 'int' },
  { key: 'omit_detailed_recording', path: ['omit_detailed_recording'], kind: 'bool' },
  { key: 'max_record_size', path: ['max_record_size'], kind: 'int' },
  { key: 'ignore_fields', path: ['ignore_fields'], kind: 'list' },
  { key: 'raw_request_decoded', path: ['raw_request_decoded'], env: 'DECODERAWREQUEST', kind: 'bool' },
  { key: 'raw_response_decoded', path: ['raw_response_decoded'], env: 'DECODERAWRESPONSE', kind: 'bool' },
];

/** Pump types whose name is a valid env token (LoadPumpsByEnv takes a lower-cased known type as the type). */
const ENV_NAMED_TYPES = new Set([
  'dummy', 'mongo', 'csv', 'elasticsearch', 'influx', 'influx2', 'moesif', 'statsd', 'segment', 'graylog', 'splunk',
  'hybrid', 'prometheus', 'logzio', 'dogstatsd', 'kafka', 'syslog', 'sql', 'stdout', 'timestream', 'resurfaceio', 'sqs', 'kinesis',
]);

/** Default meta env prefixes that differ from `TYK_PMP_PUMPS_<TYPE>_META` (pump `pumps/*.go`). */
const META_PREFIX: Readonly<Record<string, string>> = {
  'mongo-pump-selective': 'MONGOSELECTIVE',
  'mongo-pump-aggregate': 'MONGOAGGREGATE',
  sql_aggregate: 'SQLAGGREGATE',
  'mongo-graph': 'MONGOGRAPH',
  'sql-graph-aggregate': 'SQLGRAPHAGGREGATE',
  'mongo-mcp': 'MONGOMCP',
  'mongo-mcp-aggregate': 'MONGOMCPAGGREGATE',
  'sql-mcp-aggregate': 'SQLMCPAGGREGATE',
};

const envName = (k: EnvKey): string => k.env ?? k.key.replace(/_/g, '').toUpperCase();

/** Parses an env value as envconfig would; undefined when it does not parse. */
export function parseEnvValue(text: string, kind: EnvKind): unknown {
  const t = text.trim();
  switch (kind) {
    case 'string':
      return text;
    case 'int':
      return /^[+-]?\d+$/.test(t) ? Number(t) : undefined;
    case 'float':
      return t !== '' && Number.isFinite(Number(t)) ? Number(t) : undefined;
    case 'bool':
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(t)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(t)) return false;
      return undefined;
    case 'list':
      return t === '' ? [] : t.split(',').map((s) => s.trim());
    case 'intlist': {
      const parts = t === '' ? [] : t.split(',').map((s) => s.trim());
      return parts.every((p) => /^[+-]?\d+$/.test(p)) ? parts.map(Number) : undefined;
    }
    case 'map': {
      const out: Record<string, string> = {};
      for (const part of t === '' ? [] : t.split(',')) {
        const i = part.indexOf(':');
        if (i <= 0) return undefined;
        out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
      }
      return out;
    }
    case 'json':
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return undefined;
      }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Problems that make a pump.conf unusable. */
export class PumpConfError extends Error {}

/** Per-family meta keys, for env overrides of `meta`; unknown types take none. */
export type MetaKeysOf = (type: string) => readonly EnvKey[];

/**
 * Builds the effective Tyk Pump configuration from pump.conf text (or none) and an environment (or
 * none). Values that fail to parse from env are reported as dropped, as Tyk Pump would refuse them.
 */
export function readPumpConf(
  text: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  metaKeysOf: MetaKeysOf,
  report: Report,
): PumpConf {
  let root: Record<string, unknown> = {};
  if (text !== undefined && parseEnvValue(env['TYK_PMP_OMITCONFIGFILE'] ?? '', 'bool') === true) {
    report.dropped('pump.conf', 'TYK_PMP_OMITCONFIGFILE is true: Tyk Pump reads only the environment, so does the converter');
    text = undefined;
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new PumpConfError(`pump.conf is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new PumpConfError('pump.conf must be a JSON object');
    root = parsed;
  }
  const fromEnv = new Map<string, string>();
  const apply = (target: Record<string, unknown>, keys: readonly EnvKey[], prefix: string, path: string, innerPath?: (k: EnvKey) => readonly string[]): void => {
    for (const k of keys) {
      const name = `${prefix}_${envName(k)}`;
      const raw = env[name];
      if (raw === undefined) continue;
      const value = parseEnvValue(raw, k.kind);
      const where = innerPath ? innerPath(k) : [k.key];
      if (value === undefined) {
        report.dropped(name, `not a valid ${k.kind} (Tyk Pump refuses it too); the pump.conf value, if any, is kept`);
        continue;
      }
      let node = target;
      for (const part of where.slice(0, -1)) {
        if (!isObject(node[part])) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
      node[where[where.length - 1] as string] = value;
      fromEnv.set(`${path}${where.join('.')}`, name);
    }
  };

  const { analytics_storage_config: rawStorage, uptime_pump_config: rawUptime, pumps: rawPumps, ...rest } = root;
  const globals: Record<string, unknown> = { ...rest };
  apply(globals, GLOBAL_KEYS, 'TYK_PMP', '');

  const storage: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(isObject(rawStorage) ? rawStorage : {})) storage[STORAGE_ALIASES[k] ?? k] = v;
  // Three layers, the later winning, as Tyk Pump applies them (storage lib Init).
  for (const prefix of ['TYK_PMP_ANALYTICSSTORAGECONFIG', 'TYK_PMP_REDIS', 'TYK_PMP_TEMPORAL_STORAGE']) {
    apply(storage, STORAGE_KEYS, prefix, 'analytics_storage_config.');
  }

  const uptime: Record<string, unknown> = { ...(isObject(rawUptime) ? rawUptime : {}) };
  apply(uptime, UPTIME_KEYS, 'TYK_PMP_UPTIMEPUMPCONFIG', 'uptime_pump_config.');

  // Pumps from the file, keyed by their upper-cased name as Tyk Pump does.
  const pumps = new Map<string, { name: string; conf: Record<string, unknown>; fromEnvOnly: boolean }>();
  if (rawPumps !== undefined && !isObject(rawPumps)) throw new PumpConfError('pumps must be a JSON object of pump name → pump settings');
  for (const [name, p] of Object.entries(isObject(rawPumps) ? rawPumps : {})) {
    if (!isObject(p)) {
      report.dropped(`pumps.${name}`, 'not a JSON object; skipped');
      continue;
    }
    const clash = pumps.get(name.toUpperCase());
    if (clash) report.dropped(`pumps.${clash.name}`, `Tyk Pump upper-cases pump names, so "${name}" replaces it`);
    pumps.set(name.toUpperCase(), { name, conf: structuredClone(p), fromEnvOnly: false });
  }
  // Pumps named in the environment: TYK_PMP_PUMPS_<NAME>_<FIELD>.
  const envPumpNames = new Set<string>();
  for (const key of Object.keys(env)) {
    const m = /^TYK_PMP_PUMPS_([A-Z0-9]+)_(.+)$/.exec(key);
    if (m) envPumpNames.add(m[1] as string);
  }
  for (const upper of [...envPumpNames].sort()) {
    let entry = pumps.get(upper);
    const vars = Object.keys(env).filter((k) => k.startsWith(`TYK_PMP_PUMPS_${upper}_`));
    const onlyMeta = vars.every((k) => k.startsWith(`TYK_PMP_PUMPS_${upper}_META_`));
    if (!entry) {
      const typed = env[`TYK_PMP_PUMPS_${upper}_TYPE`];
      const known = ENV_NAMED_TYPES.has(upper.toLowerCase());
      if (typed === undefined && !known) {
        // A default meta prefix of a file pump (e.g. …_MONGOAGGREGATE_META_…) is not a pump of its own.
        if (onlyMeta && [...pumps.values()].some((p) => defaultMetaPrefix(pumpType(p.name, p.conf)) === `TYK_PMP_PUMPS_${upper}_META`)) continue;
        report.dropped(`TYK_PMP_PUMPS_${upper}_*`, `no TYK_PMP_PUMPS_${upper}_TYPE and ${upper.toLowerCase()} is not a pump type: Tyk Pump skips this pump too`);
        continue;
      }
      if (onlyMeta && known && typed === undefined && [...pumps.values()].some((p) => pumpType(p.name, p.conf) === upper.toLowerCase())) {
        continue; // the default meta prefix of a file pump of that type
      }
      entry = { name: upper.toLowerCase(), conf: {}, fromEnvOnly: true };
      pumps.set(upper, entry);
    }
    apply(entry.conf, PUMP_KEYS, `TYK_PMP_PUMPS_${upper}`, `pumps.${entry.name}.`, (k) => (k as (typeof PUMP_KEYS)[number]).path);
    if (!isObject(entry.conf['meta'])) entry.conf['meta'] = {};
    // LoadPumpsByEnv points the pump's meta at its own name's prefix.
    (entry.conf['meta'] as Record<string, unknown>)['meta_env_prefix'] ??= `TYK_PMP_PUMPS_${upper}_META`;
  }

  const out: PumpEntry[] = [];
  for (const { name, conf } of pumps.values()) {
    const type = pumpType(name, conf);
    const meta = isObject(conf['meta']) ? { ...conf['meta'] } : {};
    const prefix = typeof meta['meta_env_prefix'] === 'string' && meta['meta_env_prefix'] !== '' ? meta['meta_env_prefix'] : defaultMetaPrefix(type);
    delete meta['meta_env_prefix'];
    apply(meta, metaKeysOf(type), prefix, `pumps.${name}.meta.`);
    const { meta: _meta, ...rest } = conf;
    out.push({ name, type, conf: rest, meta });
  }
  return { globals, storage, uptime, pumps: out, fromEnv };
}

/** The pump's type: `type`, else its map key, lower-cased (pump `pumps/init.go` lookup). */
function pumpType(name: string, conf: Record<string, unknown>): string {
  const t = conf['type'];
  return (typeof t === 'string' && t !== '' ? t : name).toLowerCase();
}

/** `TYK_PMP_PUMPS_<TYPE>_META` for a type. */
export function defaultMetaPrefix(type: string): string {
  return `TYK_PMP_PUMPS_${META_PREFIX[type] ?? type.replace(/[^a-z0-9]/gi, '').toUpperCase()}_META`;
}
