/**
 * The single definition of a "bad" request shared by every SLI component (sli, dogstatsd, statsd, slo):
 * by default a status of 500–599 (the OTel semantic-conventions rule for servers), extendable with status
 * classes and explicit codes (e.g. 429), and with codes that never count as bad (e.g. 501).
 *
 * A code outside 100–599 (0, 999: what an upstream may send and the gateway records, but no valid HTTP
 * response carries) is always bad: the semantic conventions mark as an error any status "the server failed
 * to interpret" besides 5xx, and counting it good would hide a broken upstream. The one exception is -1,
 * the gateway's TCP network-stats pseudo-record, which is not a request and is never classified.
 * `error.type` is set exactly when a request counts as bad, to its status code as a string.
 */
import { z } from 'zod';

const STATUS_CLASS = z.enum(['1xx', '2xx', '3xx', '4xx', '5xx'], { error: 'must be one of 1xx, 2xx, 3xx, 4xx, 5xx' });
const STATUS_CODE = z.number({ error: 'must be an HTTP status code' }).int('must be an integer').min(100, 'must be an HTTP status code (100-599)').max(599, 'must be an HTTP status code (100-599)');

/** Config schema of `error_definition` (top-level, overridable per component and per SLO). */
export const errorDefinitionSchema = z
  .strictObject({
    status_classes: z.array(STATUS_CLASS).default(['5xx']).describe('Status classes that count as bad requests.'),
    status_codes: z.array(STATUS_CODE).default([]).describe('Extra status codes that count as bad (e.g. 429).'),
    exclude_status_codes: z.array(STATUS_CODE).default([]).describe('Status codes that never count as bad, even inside a bad class (e.g. 501).'),
  })
  .describe('Which requests count as bad (errors) for SLIs and SLOs.');

/** Parsed `error_definition`. */
export type ErrorDefinitionConfig = z.infer<typeof errorDefinitionSchema>;

/** A compiled error definition: O(1) lookups on the hot path. */
export interface ErrorDefinition {
  /** Whether an HTTP status counts as a bad request. Codes outside 100–599 are bad, except -1 (network records). */
  isBad(status: number): boolean;
  /** The `error.type` attribute value: the status as a string when bad, otherwise undefined. */
  errorType(status: number): string | undefined;
  /** The config it was compiled from. */
  readonly config: ErrorDefinitionConfig;
}

/** Compiles an error definition config. */
export function compileErrorDefinition(config: ErrorDefinitionConfig = errorDefinitionSchema.parse({})): ErrorDefinition {
  const bad = new Uint8Array(600);
  for (const cls of config.status_classes) {
    const base = Number(cls[0]) * 100;
    bad.fill(1, base, base + 100);
  }
  for (const code of config.status_codes) bad[code] = 1;
  for (const code of config.exclude_status_codes) bad[code] = 0;
  bad.fill(1, 0, 100);
  const labels: (string | undefined)[] = [];
  for (let code = 0; code < 600; code++) labels.push(bad[code] === 1 ? String(code) : undefined);
  const inRange = (status: number): boolean => status >= 0 && status < 600;
  return {
    config,
    isBad: (status) => (inRange(status) ? bad[status] === 1 : status !== -1),
    errorType: (status) => (inRange(status) ? labels[status] : status === -1 ? undefined : String(status)),
  };
}
