/**
 * Tyk pumps that have an OpenTelemetry Collector (contrib) exporter: each pump's meta (pump
 * `pumps/<type>.go`) → that exporter's documented keys (opentelemetry-collector-contrib
 * `exporter/<type>exporter` README and config.go). Anything without a counterpart is reported.
 */
import { Reader, type Ctx } from './context.js';
import type { EnvKey } from './pump-conf.js';

/** One Collector exporter replacing a pump. */
export interface CollectorExporter {
  /** Exporter type (`elasticsearch`, `kafka`, …). */
  readonly type: string;
  readonly config: Record<string, unknown>;
  /** Whether Tyk's payload carried raw_request/raw_response (then the agent's logs carry them too). */
  readonly includeRaw: boolean;
  /** Obfuscate api keys agent-side (Tyk's `obfuscate_api_keys`). */
  readonly obfuscateApiKeys?: boolean;
  /** OTTL statements for a `transform` processor before the exporter, if it needs attributes set. */
  readonly transform?: readonly string[];
}

/** A mapping of one pump type. */
export interface CollectorMapping {
  readonly meta: readonly EnvKey[];
  map(ctx: Ctx, m: Reader, at: string): CollectorExporter;
}

const s = (key: string, env?: string): EnvKey => ({ key, kind: 'string', ...(env ? { env } : {}) });
const b = (key: string, env?: string): EnvKey => ({ key, kind: 'bool', ...(env ? { env } : {}) });
const l = (key: string): EnvKey => ({ key, kind: 'list' });
const n = (key: string): EnvKey => ({ key, kind: 'int' });

/** Tyk field names → the audit_log attribute carrying the same value. */
const ATTRIBUTE_OF: Readonly<Record<string, string>> = {
  method: 'http.request.method',
  path: 'url.path',
  response_code: 'http.response.status_code',
  api_version: 'tyk.api.version',
  api_name: 'tyk.api.name',
  api_id: 'tyk.api.id',
  org_id: 'tyk.org.id',
  oauth_id: 'tyk.oauth.client_id',
  ip_address: 'client.address',
  alias: 'tyk.key.alias',
  host: 'tyk.upstream.host',
};

/** configtls client settings from Tyk's `ssl_*` keys. */
function tlsFrom(ctx: Ctx, m: Reader, at: string, serverNameKey?: string): Record<string, unknown> {
  const tls: Record<string, unknown> = {};
  for (const [k, to] of [['ssl_ca_file', 'ca_file'], ['ssl_cert_file', 'cert_file'], ['ssl_key_file', 'key_file']] as const) {
    const v = m.str(k);
    if (v) {
      tls[to] = v;
      ctx.report.mapped(m.src(k), `${at}.tls.${to}`);
    }
  }
  if (m.bool('ssl_insecure_skip_verify')) {
    tls['insecure_skip_verify'] = true;
    ctx.report.mapped(m.src('ssl_insecure_skip_verify'), `${at}.tls.insecure_skip_verify`);
  }
  if (serverNameKey) {
    const sn = m.str(serverNameKey);
    if (sn) {
      tls['server_name_override'] = sn;
      ctx.report.mapped(m.src(serverNameKey), `${at}.tls.server_name_override`);
    }
  }
  return tls;
}

const SHAPE = 'log records carry OTel attribute names (http.request.method, tyk.api.id, …) instead of Tyk\'s field names (http_method, api_id, …): adapt dashboards and queries';

const elasticsearch: CollectorMapping = {
  meta: [s('index_name'), s('elasticsearch_url'), b('use_sniffing'), s('document_type'), b('rolling_index'), b('extended_stats'), b('generate_id'), b('decode_base64'), s('version'), b('disable_bulk'), s('auth_api_key_id'), s('auth_api_key'), s('auth_basic_username'), s('auth_basic_password'), b('use_ssl'), b('ssl_insecure_skip_verify'), s('ssl_cert_file'), s('ssl_key_file'), s('ssl_ca_file'), s('mcp_index_name')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = {};
    const urls = (m.str('elasticsearch_url') ?? 'http://localhost:9200').split(',').map((u) => u.trim()).filter((u) => u !== '');
    out['endpoints'] = urls;
    ctx.report.mapped(m.has('elasticsearch_url') ? m.src('elasticsearch_url') : `${m.path}.elasticsearch_url (default)`, `${at}.endpoints`);
    out['logs_index'] = m.str('index_name') || 'tyk_analytics';
    ctx.report.mapped(m.has('index_name') ? m.src('index_name') : `${m.path}.index_name (default)`, `${at}.logs_index`);
    if (m.bool('rolling_index')) {
      out['logstash_format'] = { enabled: true };
      ctx.report.approximated(m.src('rolling_index'), `${at}.logstash_format: <index>-YYYY.MM.DD from the record time (Tyk: the pump's clock)`);
    }
    const keyId = m.str('auth_api_key_id');
    const key = m.secret('auth_api_key');
    if (keyId && key) {
      // The exporter wants the encoded form, base64(id:key), which is what Tyk sends.
      out['api_key'] = key.startsWith('${env:') ? key : Buffer.from(`${keyId}:${key}`).toString('base64');
      if (key.startsWith('${env:')) ctx.report.approximated(m.src('auth_api_key'), `${at}.api_key must be base64(id:key): set the variable to the encoded form`);
      else ctx.report.mapped(`${m.src('auth_api_key_id')}, auth_api_key`, `${at}.api_key (base64 of id:key)`);
    }
    const user = m.str('auth_basic_username');
    if (user) {
      out['user'] = user;
      const pw = m.secret('auth_basic_password');
      if (pw) out['password'] = pw;
      ctx.report.mapped(m.src('auth_basic_username'), `${at}.user / password`);
    }
    if (m.bool('use_ssl')) ctx.report.mapped(m.src('use_ssl'), 'TLS follows the https:// scheme of the endpoints');
    const tls = tlsFrom(ctx, m, at);
    if (Object.keys(tls).length > 0) out['tls'] = tls;
    if (m.bool('use_sniffing')) {
      out['discover'] = { on_start: true };
      ctx.report.mapped(m.src('use_sniffing'), `${at}.discover.on_start`);
    }
    const extended = m.bool('extended_stats') ?? false;
    if (m.has('extended_stats')) ctx.report.mapped(m.src('extended_stats'), `raw request/response ${extended ? 'included' : 'left out'} (audit_log include_raw)`);
    if (m.bool('generate_id')) ctx.report.dropped(m.src('generate_id'), 'Elasticsearch assigns ids (Tyk hashed fields into _id)');
    if (m.has('mcp_index_name')) ctx.report.dropped(m.src('mcp_index_name'), 'MCP records go to logs_index with the others');
    for (const k of ['document_type', 'version', 'disable_bulk', 'decode_base64']) {
      if (m.has(k)) ctx.report.dropped(m.src(k), k === 'decode_base64' ? 'raw request/response stay base64 (use redact raw_request_decoded on the pump instead)' : 'mapping types and client versions do not exist in the exporter (Elasticsearch 7.17+, always the Bulk API)');
      m.touch(k);
    }
    if (m.has('bulk_config')) ctx.report.approximated(m.src('bulk_config'), 'the exporter batches by its own flush settings (flush.interval, flush.bytes)');
    m.touch('bulk_config');
    ctx.report.approximated(`${m.path} (documents)`, SHAPE);
    return { type: 'elasticsearch', config: out, includeRaw: extended };
  },
};

const kafka: CollectorMapping = {
  meta: [l('broker'), s('client_id'), s('topic'), s('timeout'), b('compressed'), { key: 'meta_data', kind: 'map' }, b('use_ssl'), b('ssl_insecure_skip_verify'), s('ssl_cert_file'), s('ssl_key_file'), s('ssl_ca_file'), s('sasl_mechanism'), s('sasl_username'), s('sasl_password'), s('sasl_algorithm'), n('batch_bytes')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = {};
    const brokers = m.list('broker') ?? [];
    out['brokers'] = brokers.length > 0 ? brokers : ['localhost:9092'];
    ctx.report[brokers.length > 0 ? 'mapped' : 'approximated'](m.src('broker'), `${at}.brokers${brokers.length > 0 ? '' : ' (none set: localhost:9092)'}`);
    out['protocol_version'] = '2.1.0';
    const clientId = m.str('client_id');
    if (clientId) {
      out['client_id'] = clientId;
      ctx.report.mapped(m.src('client_id'), `${at}.client_id`);
    }
    const topic = m.str('topic') || 'tyk-pump';
    out['logs'] = { topic, encoding: 'otlp_json' };
    ctx.report.approximated(m.src('topic'), `${at}.logs.topic ${topic}, encoding otlp_json: one message per export batch (an OTLP/JSON ExportLogsServiceRequest), not one flat JSON object per call as Tyk Pump sent; adapt the consumers`);
    const timeout = m.raw('timeout');
    if (typeof timeout === 'number' && timeout > 0) out['timeout'] = `${Math.trunc(timeout)}s`;
    else if (typeof timeout === 'string' && timeout !== '') out['timeout'] = /^\d+(\.\d+)?$/.test(timeout) ? `${Math.trunc(Number(timeout))}s` : timeout;
    if (out['timeout'] !== undefined) ctx.report.mapped(m.src('timeout'), `${at}.timeout`);
    if (m.bool('compressed')) {
      out['producer'] = { compression: 'snappy' };
      ctx.report.mapped(m.src('compressed'), `${at}.producer.compression: snappy`);
    }
    const tls = tlsFrom(ctx, m, at);
    if (m.bool('use_ssl') || Object.keys(tls).length > 0) {
      out['tls'] = Object.keys(tls).length > 0 ? tls : { insecure_skip_verify: false };
      ctx.report.mapped(m.src('use_ssl'), `${at}.tls (a tls block turns TLS on)`);
    }
    const mech = (m.str('sasl_mechanism') ?? '').toLowerCase();
    if (mech === 'plain' || mech === 'scram') {
      const algo = (m.str('sasl_algorithm') ?? 'sha-256').toLowerCase();
      const mechanism = mech === 'plain' ? 'PLAIN' : algo === 'sha-512' ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256';
      const sasl: Record<string, unknown> = { mechanism, username: m.str('sasl_username') ?? '' };
      const pw = m.secret('sasl_password');
      if (pw) sasl['password'] = pw;
      out['auth'] = { sasl };
      ctx.report.mapped(`${m.src('sasl_mechanism')}, sasl_username, sasl_password`, `${at}.auth.sasl (${mechanism})`);
    } else if (mech !== '') ctx.report.dropped(m.src('sasl_mechanism'), `"${mech}": Tyk Pump only logs a warning and connects without SASL; so does this config`);
    m.touch('sasl_username', 'sasl_password', 'sasl_algorithm');
    const bytes = m.num('batch_bytes');
    if (bytes !== undefined && bytes > 0) {
      (out['producer'] as Record<string, unknown> | undefined) ?? (out['producer'] = {});
      (out['producer'] as Record<string, unknown>)['max_message_bytes'] = bytes;
      ctx.report.approximated(m.src('batch_bytes'), `${at}.producer.max_message_bytes (a per-message limit; Tyk's was per partition request)`);
    }
    if (m.has('meta_data')) ctx.report.dropped(m.src('meta_data'), 'no payload enrichment in the exporter: add the values as resource attributes (audit_log resource) instead');
    m.touch('meta_data');
    return { type: 'kafka', config: out, includeRaw: true };
  },
};

const splunk: CollectorMapping = {
  meta: [s('collector_token'), s('collector_url'), b('ssl_insecure_skip_verify'), s('ssl_cert_file'), s('ssl_key_file'), s('ssl_ca_file'), s('ssl_server_name'), b('obfuscate_api_keys'), n('obfuscate_api_keys_length'), l('fields'), l('ignore_tag_prefix_list'), b('enable_batch'), n('batch_max_content_length'), n('max_retries')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = {};
    const token = m.secret('collector_token');
    out['token'] = token ?? '';
    ctx.report[token ? 'mapped' : 'dropped'](m.src('collector_token'), token ? `${at}.token` : 'not set: Tyk Pump refuses to start without it; set token');
    const url = m.str('collector_url') ?? '';
    let endpoint = url;
    try {
      const u = new URL(url);
      endpoint = `${u.protocol}//${u.host}/services/collector`;
    } catch {
      /* reported below */
    }
    out['endpoint'] = endpoint;
    ctx.report[endpoint !== '' ? 'mapped' : 'dropped'](m.src('collector_url'), endpoint !== '' ? `${at}.endpoint ${endpoint} (Tyk replaced the path with the event endpoint too)` : 'not set: set endpoint');
    const tls = tlsFrom(ctx, m, at, 'ssl_server_name');
    if (Object.keys(tls).length > 0) out['tls'] = tls;
    const maxLen = m.num('batch_max_content_length');
    if (m.bool('enable_batch') && maxLen !== undefined && maxLen > 0) {
      out['max_content_length_logs'] = Math.min(maxLen, 838_860_800);
      ctx.report.mapped(m.src('batch_max_content_length'), `${at}.max_content_length_logs`);
    } else if (m.has('enable_batch')) ctx.report.approximated(m.src('enable_batch'), 'the exporter always batches (max_content_length_logs, default 2 MiB)');
    m.touch('enable_batch', 'batch_max_content_length');
    if (m.has('max_retries')) ctx.report.approximated(m.src('max_retries'), 'retry_on_failure retries by time (max_elapsed_time), not by count');
    m.touch('max_retries');
    const obfuscate = m.bool('obfuscate_api_keys') ?? false;
    if (obfuscate) ctx.report.mapped(m.src('obfuscate_api_keys'), 'agent-side: redact obfuscate_api_keys (the key itself is never logged; key-<key> tags are obfuscated)');
    m.touch('obfuscate_api_keys_length');
    for (const k of ['fields', 'ignore_tag_prefix_list']) {
      if (m.has(k)) ctx.report.approximated(m.src(k), 'the HEC event is the audit-log line; record attributes become HEC indexed fields');
      m.touch(k);
    }
    ctx.report.approximated(`${m.path} (events)`, SHAPE);
    return { type: 'splunk_hec', config: out, includeRaw: true, obfuscateApiKeys: obfuscate };
  },
};

function influxTags(ctx: Ctx, m: Reader, at: string, out: Record<string, unknown>): void {
  const tags = m.list('tags') ?? [];
  const dims = tags.map((t) => ATTRIBUTE_OF[t]).filter((a): a is string => a !== undefined);
  if (dims.length > 0) {
    out['log_record_dimensions'] = [...new Set(dims)];
    ctx.report.approximated(m.src('tags'), `${at}.log_record_dimensions (the attributes carrying the same values: ${[...new Set(dims)].join(', ')})`);
  }
  for (const t of tags.filter((x) => ATTRIBUTE_OF[x] === undefined)) ctx.report.dropped(m.src('tags'), `"${t}" has no attribute to become a tag`);
  if (m.has('fields')) ctx.report.approximated(m.src('fields'), 'every attribute not a dimension is written as a field');
  m.touch('fields');
  ctx.report.approximated(`${m.path} (points)`, `measurement "logs", not "analytics"; ${SHAPE}`);
}

const influx: CollectorMapping = {
  meta: [s('database_name'), s('address'), s('username'), s('password'), l('fields'), l('tags')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = { endpoint: m.str('address') || 'http://localhost:8086' };
    ctx.report.mapped(m.src('address'), `${at}.endpoint`);
    const v1: Record<string, unknown> = { enabled: true, db: m.str('database_name') ?? '' };
    const user = m.str('username');
    if (user) v1['username'] = user;
    const pw = m.secret('password');
    if (pw) v1['password'] = pw;
    out['v1_compatibility'] = v1;
    ctx.report.mapped(`${m.src('database_name')}, username, password`, `${at}.v1_compatibility`);
    influxTags(ctx, m, at, out);
    return { type: 'influxdb', config: out, includeRaw: (m.list('fields') ?? []).some((f) => f.startsWith('raw_')) };
  },
};

const influx2: CollectorMapping = {
  meta: [s('bucket'), s('organization'), s('address'), s('token'), l('fields'), l('tags'), b('flush'), b('create_missing_bucket')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = { endpoint: m.str('address') || 'http://localhost:8086' };
    ctx.report.mapped(m.src('address'), `${at}.endpoint`);
    for (const [k, to] of [['bucket', 'bucket'], ['organization', 'org']] as const) {
      const v = m.str(k);
      if (v) {
        out[to] = v;
        ctx.report.mapped(m.src(k), `${at}.${to}`);
      }
    }
    const token = m.secret('token');
    if (token) {
      out['token'] = token;
      ctx.report.mapped(m.src('token'), `${at}.token`);
    }
    if (m.bool('create_missing_bucket') || m.has('new_bucket_config')) ctx.report.dropped(m.src('create_missing_bucket'), 'the exporter does not create buckets: create it first');
    if (m.has('flush')) ctx.report.mapped(m.src('flush'), 'the exporter writes each batch at once');
    m.touch('create_missing_bucket', 'new_bucket_config', 'flush');
    influxTags(ctx, m, at, out);
    return { type: 'influxdb', config: out, includeRaw: (m.list('fields') ?? []).some((f) => f.startsWith('raw_')) };
  },
};

const syslog: CollectorMapping = {
  meta: [s('transport'), s('network_addr'), n('log_level'), s('tag')],
  map(ctx, m, at) {
    const transport = (m.str('transport') ?? 'udp').toLowerCase();
    const addr = m.str('network_addr') || 'localhost:5140';
    const hp = /^(.*):(\d+)$/.exec(addr);
    const out: Record<string, unknown> = { endpoint: hp ? hp[1] : addr, port: hp ? Number(hp[2]) : 514, network: transport === 'udp' ? 'udp' : 'tcp', protocol: 'rfc3164' };
    if (transport === 'tls') out['tls'] = { insecure: false };
    ctx.report.mapped(`${m.src('network_addr')}, transport`, `${at}.endpoint, port, network${transport === 'tls' ? ' and tls' : ''}; protocol rfc3164 (closest to Go's log/syslog)`);
    const priority = m.num('log_level') ?? 0;
    const tag = m.str('tag') || 'syslog-pump';
    ctx.report.mapped(`${m.src('log_level')}, tag`, `a transform processor sets the priority (${priority}) and appname (${tag}) attributes the exporter reads`);
    ctx.report.approximated(`${m.path} (messages)`, "the message is the audit-log line (GET /path 200 12ms), not Go's map[...] rendering of the record");
    return {
      type: 'syslog',
      config: out,
      includeRaw: false,
      transform: [`set(attributes["message"], body)`, `set(attributes["appname"], ${JSON.stringify(tag)})`, `set(attributes["priority"], ${priority})`],
    };
  },
};

/** Logz.io listener hosts → the exporter's `region`. */
const LOGZIO_REGIONS: Readonly<Record<string, string>> = {
  'listener.logz.io': 'us',
  'listener-ca.logz.io': 'ca',
  'listener-eu.logz.io': 'eu',
  'listener-uk.logz.io': 'uk',
  'listener-au.logz.io': 'au',
  'listener-nl.logz.io': 'nl',
  'listener-wa.logz.io': 'wa',
};

const logzio: CollectorMapping = {
  meta: [s('token'), s('url'), b('check_disk_space'), n('disk_threshold'), s('drain_duration'), s('queue_dir')],
  map(ctx, m, at) {
    const out: Record<string, unknown> = {};
    const token = m.secret('token');
    out['account_token'] = token ?? '';
    ctx.report[token ? 'mapped' : 'dropped'](m.src('token'), token ? `${at}.account_token` : 'not set: Tyk Pump refuses to start without it; set account_token');
    const url = m.str('url') || 'https://listener.logz.io:8071';
    let region: string | undefined;
    try {
      region = LOGZIO_REGIONS[new URL(url).hostname];
    } catch {
      region = undefined;
    }
    if (region) {
      out['region'] = region;
      ctx.report.mapped(m.has('url') ? m.src('url') : `${m.path}.url (default)`, `${at}.region ${region}`);
    } else {
      out['endpoint'] = url;
      ctx.report.approximated(m.src('url'), `${at}.endpoint, used verbatim (add ?token=… if your listener wants it in the URL)`);
    }
    if (m.has('drain_duration')) ctx.report.approximated(m.src('drain_duration'), 'the batch processor (timeout 200ms) decides how often logs are sent');
    for (const k of ['check_disk_space', 'disk_threshold', 'queue_dir']) {
      if (m.has(k)) ctx.report.dropped(m.src(k), 'the disk queue of the Logz.io sender: the exporter queues in memory (sending_queue)');
      m.touch(k);
    }
    m.touch('drain_duration');
    ctx.report.approximated(`${m.path} (events)`, SHAPE);
    return { type: 'logzio', config: out, includeRaw: true };
  },
};

/** Pump types with a Collector exporter. */
export const COLLECTOR_MAPPINGS: Readonly<Record<string, CollectorMapping>> = { elasticsearch, kafka, splunk, influx, influx2, syslog, logzio };

/** Pump types with no exporter anywhere, and why (README "Migrating from Tyk Pump"). */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  mongo: 'no MongoDB exporter exists for the Collector (contrib issue #46933 is open)',
  'mongo-pump-selective': 'no MongoDB exporter exists for the Collector',
  'mongo-pump-aggregate': 'no MongoDB exporter exists for the Collector (and it pre-aggregates in the pump)',
  'mongo-graph': 'no MongoDB exporter exists for the Collector',
  'mongo-mcp': 'no MongoDB exporter exists for the Collector',
  'mongo-mcp-aggregate': 'no MongoDB exporter exists for the Collector',
  'sql-graph': 'its table (tyk_analytics_graph) is not written by the sql exporters, and Tyk Dashboard does not read it: GraphQL records reach tyk_analytics through a sql pump, "Activity by Graph" reads tyk_graph_aggregated (sql-graph-aggregate)',
  'sql-mcp': 'its table (tyk_analytics_mcp) is not written by the sql exporters, and Tyk Dashboard does not read it: "Activity by MCP" reads tyk_mcp_aggregated (sql-mcp-aggregate)',
  graylog: 'no GELF exporter in the Collector; Graylog\'s OpenTelemetry (gRPC) input with the otlp exporter, or its syslog input, are alternatives to set up by hand',
  moesif: 'no Moesif exporter in the Collector (Moesif documents an OTLP intake for traces, not logs)',
  resurfaceio: 'no Resurface exporter in the Collector',
  timestream: 'no Amazon Timestream exporter in the Collector',
  segment: 'no Segment exporter in the Collector',
  hybrid: 'Tyk MDCB (gorpc) is a Tyk control-plane protocol: keep Tyk Pump for it',
  sqs: 'no Amazon SQS exporter in the Collector',
  kinesis: 'the Collector\'s awskinesis exporter is not mapped by the converter yet',
  dummy: 'the dummy pump writes nothing',
};
