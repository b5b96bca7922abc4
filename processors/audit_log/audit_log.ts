/**
 * The `audit_log` processor: one OTel log record per Tyk record — the API audit trail. Attribute names
 * follow the OTel semantic conventions where one exists (`http.*`, `url.path`, `client.address`,
 * `user_agent.original`, `error.type`, `geo.*`, `graphql.operation.type`, `mcp.method.name`,
 * `gen_ai.tool.name`, …) and `tyk.*` otherwise. See README.md for the full list.
 */
import type { AnyValue, SeverityNumber } from '@opentelemetry/api-logs';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, LogEntry, LogsBatch, RecordBatch, ResourceAttributes, UptimeRecord } from '../../src/model.js';
import { compileErrorDefinition, type ErrorDefinition } from '../../src/error-definition.js';
import { redactUrl } from '../../src/record-fields.js';
import type { AuditLogConfig } from './config.js';

/** OTel severity numbers used (INFO, WARN, ERROR). */
const INFO = 9 as SeverityNumber;
const WARN = 13 as SeverityNumber;
const ERROR = 17 as SeverityNumber;

const GRAPHQL_OPERATION = ['', 'query', 'mutation', 'subscription'] as const;
const TRACE_TAG = 'trace-id-';
const TRACE_ID = /^[0-9a-f]{32}$/;

/** Severity of an HTTP status: 5xx ERROR, 4xx WARN, everything else INFO. */
export function severityOf(status: number): { number: SeverityNumber; text: string } {
  if (status >= 500) return { number: ERROR, text: 'ERROR' };
  if (status >= 400) return { number: WARN, text: 'WARN' };
  return { number: INFO, text: 'INFO' };
}

/** What the conversion needs besides the record. */
export interface AuditOptions {
  readonly errorDefinition: ErrorDefinition;
  readonly includeRaw: boolean;
  readonly includeTags: boolean;
}

function traceIdOf(tags: readonly string[]): string | undefined {
  for (const t of tags) {
    if (t.startsWith(TRACE_TAG)) {
      const id = t.slice(TRACE_TAG.length).toLowerCase();
      if (TRACE_ID.test(id)) return id;
    }
  }
  return undefined;
}

function addCommon(a: Record<string, AnyValue>, r: AnalyticsRecord, o: AuditOptions): void {
  if (r.apiId !== '') a['tyk.api.id'] = r.apiId;
  if (r.apiName !== '') a['tyk.api.name'] = r.apiName;
  if (r.apiVersion !== '') a['tyk.api.version'] = r.apiVersion;
  if (r.orgId !== '') a['tyk.org.id'] = r.orgId;
  if (o.includeTags && r.tags.length > 0) a['tyk.tags'] = r.tags as string[];
}

/** The log entry of an HTTP analytics record. */
export function httpLog(r: AnalyticsRecord, o: AuditOptions): LogEntry {
  const status = r.responseCode;
  const path = r.route !== '' ? r.route : r.path;
  const a: Record<string, AnyValue> = {
    'http.request.method': r.method,
    'url.path': r.rawPath !== '' ? r.rawPath : r.path,
    'http.response.status_code': status,
  };
  if (r.route !== '') a['http.route'] = r.route;
  const errorType = o.errorDefinition.errorType(status);
  if (errorType !== undefined) a['error.type'] = errorType;
  if (r.ipAddress !== '') a['client.address'] = r.ipAddress;
  if (r.userAgent !== '') a['user_agent.original'] = r.userAgent;
  if (r.contentLength > 0) a['http.request.body.size'] = r.contentLength;
  addCommon(a, r, o);
  if (r.alias !== '') a['tyk.key.alias'] = r.alias;
  if (r.oauthId !== '') a['tyk.oauth.client_id'] = r.oauthId;
  if (r.host !== '') a['tyk.upstream.host'] = r.host;
  if (r.listenPath !== '') a['tyk.listen_path'] = r.listenPath;
  if (r.originalPath !== '' && r.originalPath !== r.path) a['tyk.original_path'] = r.originalPath;
  a['tyk.latency.total_ms'] = r.latency.total;
  a['tyk.latency.upstream_ms'] = r.latency.upstream;
  a['tyk.latency.gateway_ms'] = r.latency.gateway;

  const geo = r.geo;
  if (geo.country.isoCode !== '') a['geo.country.iso_code'] = geo.country.isoCode;
  const city = geo.city.names?.['en'];
  if (city !== undefined && city !== '') a['geo.locality.name'] = city;
  if (geo.location.latitude !== 0 || geo.location.longitude !== 0) {
    a['geo.location.lat'] = geo.location.latitude;
    a['geo.location.lon'] = geo.location.longitude;
  }

  const g = r.graphqlStats;
  if (g.isGraphQL) {
    const op = GRAPHQL_OPERATION[g.operationType] ?? '';
    if (op !== '') a['graphql.operation.type'] = op;
    if (g.rootFields && g.rootFields.length > 0) a['tyk.graphql.root_fields'] = g.rootFields as string[];
    if (g.errors && g.errors.length > 0) a['tyk.graphql.errors'] = g.errors.map((e) => e.message);
    if (g.hasErrors) a['tyk.graphql.has_errors'] = true;
  }

  const m = r.mcpStats;
  if (m.isMCP) {
    if (m.jsonRpcMethod !== '') a['mcp.method.name'] = m.jsonRpcMethod;
    if (m.primitiveType !== '') a['tyk.mcp.primitive.type'] = m.primitiveType;
    if (m.primitiveName !== '') {
      a['tyk.mcp.primitive.name'] = m.primitiveName;
      if (m.primitiveType === 'tool') a['gen_ai.tool.name'] = m.primitiveName;
      else if (m.primitiveType === 'prompt') a['gen_ai.prompt.name'] = m.primitiveName;
      else if (m.primitiveType === 'resource') a['mcp.resource.uri'] = m.primitiveName;
    }
  }

  if (o.includeRaw) {
    if (r.rawRequest !== '') a['tyk.raw_request'] = r.rawRequest;
    if (r.rawResponse !== '') a['tyk.raw_response'] = r.rawResponse;
  }

  const sev = severityOf(status);
  const traceId = r.tags.length > 0 ? traceIdOf(r.tags) : undefined;
  return {
    timestampMs: r.timestampMs ?? 0,
    timestampNs: r.timestampMs === null ? 0 : r.timestampNs,
    severityNumber: sev.number,
    severityText: sev.text,
    body: `${r.method} ${path} ${status} ${r.latency.total}ms`,
    attributes: a,
    ...(traceId === undefined ? {} : { traceId }),
  };
}

/** The log entry of a TCP network-stats record. */
export function networkLog(r: AnalyticsRecord, o: AuditOptions): LogEntry {
  const n = r.network;
  const a: Record<string, AnyValue> = { 'tyk.record.kind': 'network' };
  addCommon(a, r, o);
  a['tyk.network.open_connections'] = n.openConnections;
  a['tyk.network.closed_connections'] = n.closedConnections;
  a['tyk.network.bytes_in'] = n.bytesIn;
  a['tyk.network.bytes_out'] = n.bytesOut;
  return {
    timestampMs: r.timestampMs ?? 0,
    timestampNs: r.timestampMs === null ? 0 : r.timestampNs,
    severityNumber: INFO,
    severityText: 'INFO',
    body: `TCP ${r.apiName !== '' ? r.apiName : r.apiId} open=${n.openConnections} closed=${n.closedConnections} in=${n.bytesIn}B out=${n.bytesOut}B`,
    attributes: a,
  };
}

/** The log entry of an uptime (host check) record. */
export function uptimeLog(r: UptimeRecord, o: AuditOptions): LogEntry {
  // Semantic conventions forbid credentials in url.full, and a log line must never carry a secret.
  const url = redactUrl(r.url);
  const a: Record<string, AnyValue> = {
    'tyk.record.kind': 'uptime',
    'url.full': url,
    'http.response.status_code': r.responseCode,
    'tyk.latency.total_ms': r.requestTime,
  };
  if (r.apiId !== '') a['tyk.api.id'] = r.apiId;
  if (r.orgId !== '') a['tyk.org.id'] = r.orgId;
  if (r.tcpError) {
    a['tyk.uptime.tcp_error'] = true;
    a['error.type'] = 'tcp_error';
  } else {
    const errorType = o.errorDefinition.errorType(r.responseCode);
    if (errorType !== undefined) a['error.type'] = errorType;
  }
  const sev = r.tcpError ? { number: ERROR, text: 'ERROR' } : severityOf(r.responseCode);
  return {
    timestampMs: r.timestampMs ?? 0,
    timestampNs: r.timestampMs === null ? 0 : r.timestampNs,
    severityNumber: sev.number,
    severityText: sev.text,
    body: r.tcpError ? `UPTIME ${url} tcp_error ${r.requestTime}ms` : `UPTIME ${url} ${r.responseCode} ${r.requestTime}ms`,
    attributes: a,
  };
}

/** The processor instance (one per pipeline). */
export class AuditLogProcessor implements Processor<'records'> {
  private readonly ctx: ComponentContext;
  private readonly next: Consumer<'logs'>;
  private readonly options: AuditOptions;
  private readonly resource: ResourceAttributes;
  private readonly scope: string;
  private readonly http: boolean;
  private readonly network: boolean;
  private readonly uptime: boolean;

  constructor(ctx: ComponentContext, config: AuditLogConfig, next: Consumer<'logs'>) {
    this.ctx = ctx;
    this.next = next;
    this.options = {
      errorDefinition: config.error_definition ? compileErrorDefinition(config.error_definition) : ctx.shared.errorDefinition,
      includeRaw: config.include_raw,
      includeTags: config.include_tags,
    };
    this.resource = Object.freeze({ 'service.name': 'tyk-gateway', ...config.resource });
    this.scope = `tyk-otel-pump/${ctx.id.split('@')[0] ?? ctx.id}`;
    this.http = config.kinds.includes('http');
    this.network = config.kinds.includes('network');
    this.uptime = config.kinds.includes('uptime');
  }

  async start(): Promise<void> {}

  /** Stateless: nothing to flush. */
  async shutdown(): Promise<void> {}

  async consume(records: RecordBatch, ctx: BatchContext): Promise<void> {
    const logs: LogEntry[] = [];
    const o = this.options;
    let skipped = 0;
    for (const r of records) {
      if (r.kind === 'http') {
        if (this.http) logs.push(httpLog(r, o));
        else skipped++;
      } else if (r.kind === 'network') {
        if (this.network) logs.push(networkLog(r, o));
        else skipped++;
      } else if (r.kind === 'uptime' && this.uptime) logs.push(uptimeLog(r, o));
      else skipped++;
    }
    this.ctx.telemetry.accepted(records.length);
    this.ctx.telemetry.dropped(skipped, 'kind_not_selected');
    if (logs.length === 0) return;
    const batch: LogsBatch = { resource: this.resource, scope: this.scope, logs };
    await this.next.consume(batch, ctx);
  }
}
