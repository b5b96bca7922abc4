/** The `audit_log` processor: Tyk records → OTel log records (the API audit trail). */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { auditLogConfigSchema, type AuditLogConfig } from './config.js';
import { AuditLogProcessor } from './audit_log.js';

/** Factory of the `audit_log` processor. */
export const auditLogProcessorFactory: ProcessorFactory<AuditLogConfig> = {
  kind: 'processor',
  type: 'audit_log',
  description: 'Turns each Tyk record into an OTel log record (semconv attributes) for a logs pipeline.',
  configSchema: auditLogConfigSchema,
  signatures: [{ input: 'records', output: 'logs' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  create: (ctx, config, _signature, next) => new AuditLogProcessor(ctx, config, next as Consumer<'logs'>),
};
