/** The `audit_log` processor: Tyk records → OTel log records (the API audit trail). */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import type { AnalyticsField } from '../../src/record-reads.js';
import { auditLogConfigSchema, type AuditLogConfig } from './config.js';
import { AuditLogProcessor } from './audit_log.js';

/** Read for every selected kind: the timestamp, the status (the kind), the API and the tags (a trace id may be among them). */
const COMMON: readonly AnalyticsField[] = ['timestampMs', 'responseCode', 'apiId', 'apiName', 'apiVersion', 'orgId', 'tags'];
/** Read for HTTP records (audit_log.ts, `httpLog`). */
const HTTP: readonly AnalyticsField[] = [
  'method', 'path', 'rawPath', 'originalPath', 'listenPath', 'host', 'ipAddress', 'userAgent', 'contentLength', 'alias', 'oauthId',
  'latency', 'geo', 'graphqlStats', 'mcpStats',
];

/**
 * What `audit_log` reads: never the hashed key, the date parts, `RequestTime` (latency.total is the
 * same figure) or the schema; the raw request/response only with `include_raw` (the largest fields of a
 * record, base64, when the gateway records detail). Uptime records are not analytics records.
 */
export function auditLogReads(config: AuditLogConfig): readonly AnalyticsField[] {
  const out = [...COMMON];
  if (config.kinds.includes('http')) {
    out.push(...HTTP);
    if (config.include_raw) out.push('rawRequest', 'rawResponse');
  }
  if (config.kinds.includes('network')) out.push('network');
  return out;
}

/** Factory of the `audit_log` processor. */
export const auditLogProcessorFactory: ProcessorFactory<AuditLogConfig> = {
  kind: 'processor',
  type: 'audit_log',
  description: 'Turns each Tyk record into an OTel log record (semconv attributes) for a logs pipeline.',
  configSchema: auditLogConfigSchema,
  signatures: [{ input: 'records', output: 'logs' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  reads: auditLogReads,
  create: (ctx, config, _signature, next) => new AuditLogProcessor(ctx, config, next as Consumer<'logs'>),
};
