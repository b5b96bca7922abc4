/**
 * Config of the `filter` processor: Tyk Pump's per-pump `filters` (allow and block lists of org ids, API
 * ids and response codes, same key names and the same rule order) plus a `kinds` selector.
 */
import { z } from 'zod';

/** Record kinds the processor can keep. */
export const RECORD_KINDS = ['http', 'network', 'uptime'] as const;

const ids = (what: string) =>
  z
    .array(z.string({ error: `must be a list of ${what}` }), { error: `must be a list of ${what}` })
    .default([]);

const codes = () =>
  z
    .array(
      z
        .number({ error: 'must be a status code (an integer, -1 for TCP network records)' })
        .int('must be an integer')
        .min(-1, 'must be a status code between -1 and 999')
        .max(999, 'must be a status code between -1 and 999'),
      { error: 'must be a list of status codes' },
    )
    .default([]);

/** Schema of `processors::filter`. */
export const filterConfigSchema = z
  .strictObject({
    org_ids: ids('org ids').describe('Allow list: keep only records whose org_id is listed (empty = any org). Tyk `filters.org_ids`.'),
    api_ids: ids('API ids').describe('Allow list: keep only records whose api_id is listed (empty = any API). Tyk `filters.api_ids`.'),
    response_codes: codes().describe('Allow list: keep only records whose response_code is listed (empty = any code; -1 = TCP network records). Tyk `filters.response_codes`.'),
    skip_org_ids: ids('org ids').describe('Block list: drop records whose org_id is listed. Block lists beat allow lists. Tyk `filters.skip_org_ids`.'),
    skip_api_ids: ids('API ids').describe('Block list: drop records whose api_id is listed. Tyk `filters.skip_api_ids`.'),
    skip_response_codes: codes().describe('Block list: drop records whose response_code is listed. Tyk `filters.skip_response_codes`.'),
    kinds: z
      .array(z.enum(RECORD_KINDS, { error: 'must be one of "http", "network", "uptime"' }), { error: 'must be a list of record kinds' })
      .min(1, 'must list at least one record kind (http, network, uptime)')
      .default([...RECORD_KINDS])
      .describe('Record kinds to keep: http (requests), network (TCP stats, response_code -1), uptime (host checks). Default: all.'),
  })
  .describe('Drops records by org, API, response code (Tyk Pump filter semantics) and record kind.');

/** Parsed `processors::filter` config. */
export type FilterConfig = z.infer<typeof filterConfigSchema>;
