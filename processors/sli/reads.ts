/**
 * The record fields the `sli` processor reads with a config (`FactoryBase.reads`): the receiver decodes
 * only these for a metrics-only pipeline. `test/record-reads.test.ts` checks the declaration against the
 * processor's output on records decoded with it and in full.
 */
import type { AnalyticsField } from '../../src/record-reads.js';
import type { SliConfig, TykCustomLabel } from './config.js';

/** Always: timestamps, status, method, durations, body size, network counters, the API attributes. */
const BASE: readonly AnalyticsField[] = [
  'timestampMs', 'responseCode', 'method', 'requestTime', 'latency', 'contentLength', 'network', 'apiId', 'apiName', 'orgId',
];

/** Opt-in HTTP attributes and the field each reads. */
const OPT_IN: readonly (readonly [string, AnalyticsField])[] = [
  ['tyk.api.version', 'apiVersion'], ['tyk.oauth.client_id', 'oauthId'], ['tyk.key.alias', 'alias'],
];

/** Tyk Pump's base families: per path (with TrackPath), per key, per OAuth client. */
const TYK_FAMILIES: readonly AnalyticsField[] = ['path', 'trackPath', 'apiKey', 'oauthId'];

/** The fields a Tyk custom-metric label reads (`custom-metrics.ts`, `labelValue`). */
const LABEL_FIELDS: Readonly<Record<TykCustomLabel, readonly AnalyticsField[]>> = {
  host: ['host'], method: ['method'], path: ['path', 'trackPath'], response_code: ['responseCode'], code: ['responseCode'],
  api_key: ['apiKey'], key: ['apiKey'], time_stamp: ['timestampMs', 'timestampNs'], api_version: ['apiVersion'],
  api_name: ['apiName'], api_id: ['apiId'], api: ['apiId'], org_id: ['orgId'], oauth_id: ['oauthId'], client_id: ['oauthId'],
  request_time: ['requestTime'], latency_total: ['latency'], latency_upstream: ['latency'], latency_gateway: ['latency'],
  ip_address: ['ipAddress'], alias: ['alias'], mcp_method: ['mcpStats'], mcp_primitive_type: ['mcpStats'], mcp_primitive_name: ['mcpStats'],
};

/** What `sli` with `config` reads of each record. */
export function sliReads(config: SliConfig): readonly AnalyticsField[] {
  const out = new Set<AnalyticsField>(BASE);
  for (const [attr, field] of OPT_IN) if ((config.attributes as readonly string[]).includes(attr)) out.add(field);
  const tyk = config.tyk_compatible;
  if (tyk.enabled) {
    for (const f of TYK_FAMILIES) out.add(f);
    for (const m of tyk.custom_metrics) {
      if (m.mcp_only) out.add('mcpStats');
      for (const l of m.labels) if (l !== 'type') for (const f of LABEL_FIELDS[l as TykCustomLabel]) out.add(f);
    }
  }
  return [...out];
}
