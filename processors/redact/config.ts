/**
 * Config of the `redact` processor: Tyk Pump's per-pump record trimming (`omit_detailed_recording`,
 * `max_record_size`, `ignore_fields`, `raw_request_decoded`, `raw_response_decoded`, same names and the
 * same order of operations) plus API-key obfuscation as Tyk's Prometheus pump does it.
 */
import { z } from 'zod';
import { ANALYTICS_JSON_NAMES, type AnalyticsJsonField } from '../../src/tyk-json.js';

const KNOWN = new Set<string>(ANALYTICS_JSON_NAMES);

/** Schema of `processors::redact`. */
export const redactConfigSchema = z
  .strictObject({
    omit_detailed_recording: z
      .boolean({ error: 'must be true or false' })
      .default(false)
      .describe('Blank raw_request and raw_response (the base64 wire-format request/response) of every record. Tyk `omit_detailed_recording`.'),
    max_record_size: z
      .number({ error: 'must be a number of bytes' })
      .int('must be an integer number of bytes')
      .min(0, 'must be 0 (no limit) or a positive number of bytes')
      .default(0)
      .describe('Bytes: truncate raw_request and raw_response to this many bytes of their base64 text, as Tyk does (0 = no limit). Ignored when omit_detailed_recording is on. Tyk `max_record_size`.'),
    ignore_fields: z
      .array(z.string({ error: 'must be a Tyk JSON field name' }), { error: 'must be a list of Tyk JSON field names' })
      .default([])
      .superRefine((names, ctx) => {
        names.forEach((name, i) => {
          if (!KNOWN.has(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              input: name,
              message: `must be a Tyk JSON field name of an analytics record (one of: ${ANALYTICS_JSON_NAMES.join(', ')})`,
            });
          }
        });
      })
      .transform((names) => [...new Set(names)] as AnalyticsJsonField[])
      .describe('Top-level record fields to reset to their zero value, by Tyk JSON name (api_key, raw_request, geo, …). Tyk `ignore_fields`.'),
    obfuscate_api_keys: z
      .boolean({ error: 'must be true or false' })
      .default(false)
      .describe('Replace api_key by "****" + its last 4 characters ("--" when it has 4 or fewer), as Tyk\'s Prometheus pump does; the suffix of key-<key> tags is obfuscated the same way.'),
    drop_key_tags: z
      .boolean({ error: 'must be true or false' })
      .default(false)
      .describe('Remove the key-<hashed key> tags the gateway adds (as Tyk\'s aggregate pumps do), so no key reaches a tag.'),
    raw_request_decoded: z
      .boolean({ error: 'must be true or false' })
      .default(false)
      .describe('Replace raw_request by its base64-decoded text (UTF-8, invalid bytes become U+FFFD). Tyk `raw_request_decoded`.'),
    raw_response_decoded: z
      .boolean({ error: 'must be true or false' })
      .default(false)
      .describe('Replace raw_response by its base64-decoded text (UTF-8, invalid bytes become U+FFFD). Tyk `raw_response_decoded`.'),
  })
  .describe('Trims and redacts record fields (Tyk Pump record trimming, ignore_fields, API-key obfuscation, raw request/response decoding).');

/** Parsed `processors::redact` config. */
export type RedactConfig = z.infer<typeof redactConfigSchema>;
