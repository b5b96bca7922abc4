/**
 * Config schema of the `audit_log` processor (records → logs): which record kinds become log entries,
 * what optional detail they carry, and the resource they are attributed to.
 */
import { z } from 'zod';
import { errorDefinitionSchema } from '../../src/error-definition.js';

const resourceValue = z.union(
  [z.string(), z.number(), z.boolean(), z.array(z.string()), z.array(z.number())],
  { error: 'must be a string, number, boolean, or a list of strings or numbers' },
);

/** Schema of the `audit_log` processor. */
export const auditLogConfigSchema = z
  .strictObject({
    kinds: z
      .array(z.enum(['http', 'network', 'uptime'], { error: 'must be one of http, network, uptime' }), { error: 'must be a list of record kinds' })
      .min(1, 'must list at least one record kind')
      .default(['http'])
      .describe('Record kinds that become log entries; the others are skipped and counted (dropped, reason kind_not_selected).'),
    include_raw: z
      .boolean()
      .default(false)
      .describe('Add the raw request/response (`tyk.raw_request`, `tyk.raw_response`) as the record carries them after upstream processors (e.g. redact).'),
    include_tags: z.boolean().default(true).describe('Add the record tags as `tyk.tags`.'),
    resource: z
      .record(z.string().min(1, 'must not be empty'), resourceValue, { error: 'must be a map of resource attributes' })
      .default({})
      .describe('Resource attributes of the emitted logs, merged over the default {service.name: tyk-gateway}.'),
    error_definition: errorDefinitionSchema
      .optional()
      .describe('Overrides the top-level error_definition for `error.type` on these logs.'),
  })
  .describe('Turns Tyk analytics records into OTel log records (the API audit trail).');

/** Parsed `audit_log` config. */
export type AuditLogConfig = z.infer<typeof auditLogConfigSchema>;
