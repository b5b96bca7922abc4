/**
 * Tyk's per-API aggregates of GraphQL and MCP records: `tyk_graph_aggregated` (tyk-pump
 * `analytics.AggregateGraphData`, pump `sql-graph-aggregate`) and `tyk_mcp_aggregated`
 * (`analytics.AggregateMCPData`, pump `sql-mcp-aggregate`). Both run Tyk's REST aggregation per **API id**
 * (not per org; no org filter, the org is that of the API's first record) with `track_all_paths` off and
 * no tag ignore list, then add their own dimensions from the record's counter:
 * - GraphQL: `operation` (Query/Mutation/Subscription/""), `types`, `fields` (`Type_field`), `rootfields`.
 *   A record with GraphQL errors (or a status ≥ 400) counts as an error there: when its counter has no
 *   error yet, errors +1 and successes −1 (so a 3xx with GraphQL errors counts −1 success: Tyk's arithmetic).
 * - MCP: `methods` (JSON-RPC method), `primitives` (primitive type), `names` (`<type>_<name>`, or the name).
 * Rows: id = hex of `<bucket><api id><dimension><value>`, Tyk's column order (id, org_id, dimension,
 * dimension_value, api_id, counters, codes, timestamp), upsert as tyk_aggregated.
 */
import type { AnalyticsRecord } from '../../src/model.js';
import type { ColumnSpec } from '../../internal/postgres/ddl.js';
import type { TextRow } from '../../internal/postgres/bulk.js';
import { bucketOf, dimensions, increment, incrementOrSetUnit, newAggregate, withLatency, type AggregateOptions, type Counter, type Dimension, type OrgAggregate } from './aggregate.js';
import { AGGREGATE_COLUMNS, aggregateRow } from './rows.js';

/** Table names (tyk-pump `analytics.AggregateGraphSQLTable`, `analytics.AggregateMCPSQLTable`). */
export const GRAPH_AGGREGATE_TABLE = 'tyk_graph_aggregated';
export const MCP_AGGREGATE_TABLE = 'tyk_mcp_aggregated';

const COUNTER_COLUMNS = AGGREGATE_COLUMNS.slice(1, 23);
const CODE_COLUMNS = AGGREGATE_COLUMNS.slice(27);

/** Columns of both per-API tables (`GraphSQLAnalyticsRecordAggregate`, `MCPSQLAnalyticsRecordAggregate`); primary key `id`. */
export const API_AGGREGATE_COLUMNS: readonly ColumnSpec[] = [
  ['id', 'text'], ['org_id', 'text'], ['dimension', 'text'], ['dimension_value', 'text'], ['api_id', 'text'],
  ...COUNTER_COLUMNS, ...CODE_COLUMNS, ['timestamp', 'bigint'],
];

/** Column names only, in order. */
export const API_AGGREGATE_COLUMN_NAMES: readonly string[] = API_AGGREGATE_COLUMNS.map(([n]) => n);

/** One API's aggregate of one chunk, with its extra dimensions (in Tyk's order). */
export interface ApiAggregate {
  readonly apiId: string;
  readonly base: OrgAggregate;
  readonly extra: readonly (readonly [name: string, map: Map<string, Counter>])[];
}

const BASE_OPTIONS = { trackAllPaths: false, ignoreTagPrefixList: [] as string[] };

function unit(map: Map<string, Counter>, key: string, counter: Counter, identifier: string, human: string): void {
  const c = incrementOrSetUnit(counter, map.get(key));
  map.set(key, c);
  c.identifier = identifier;
  c.humanIdentifier = human;
}

const OPERATIONS: Readonly<Record<number, string>> = { 1: 'Query', 2: 'Mutation', 3: 'Subscription' };

/** Tyk's `AggregateGraphData`: GraphQL records only, per API id. */
export function aggregateGraph(records: readonly AnalyticsRecord[], o: Pick<AggregateOptions, 'perMinute' | 'zone'>): ApiAggregate[] {
  const byApi = new Map<string, { agg: ApiAggregate; operation: Map<string, Counter>; types: Map<string, Counter>; fields: Map<string, Counter>; rootFields: Map<string, Counter> }>();
  for (const r of records) {
    if (!r.graphqlStats.isGraphQL) continue;
    let e = byApi.get(r.apiId);
    if (e === undefined) {
      const operation = new Map<string, Counter>();
      const types = new Map<string, Counter>();
      const fields = new Map<string, Counter>();
      const rootFields = new Map<string, Counter>();
      e = { agg: { apiId: r.apiId, base: newAggregate(r.orgId, bucketOf(r, o)), extra: [['types', types], ['fields', fields], ['operation', operation], ['rootfields', rootFields]] }, operation, types, fields, rootFields };
      byApi.set(r.apiId, e);
    }
    const counter = increment(e.agg.base, r, BASE_OPTIONS) ?? zeroLike(r);
    // ToGraphRecord: a status ≥ 400 also marks the record as having errors.
    const hasErrors = r.graphqlStats.hasErrors || r.responseCode >= 400;
    if (hasErrors && counter.errorTotal < 1) {
      counter.errorTotal++;
      counter.success--;
    }
    const op = OPERATIONS[r.graphqlStats.operationType] ?? '';
    unit(e.operation, op, counter, op, op);
    for (const [t, fs] of Object.entries(r.graphqlStats.types ?? {})) {
      unit(e.types, t, counter, t, t);
      for (const f of fs) {
        const label = `${t}_${f}`;
        unit(e.fields, label, counter, label, label);
      }
    }
    for (const f of r.graphqlStats.rootFields ?? []) unit(e.rootFields, f, counter, f, f);
  }
  return [...byApi.values()].map((e) => e.agg);
}

/** Tyk's `AggregateMCPData`: MCP records only, per API id. */
export function aggregateMcp(records: readonly AnalyticsRecord[], o: Pick<AggregateOptions, 'perMinute' | 'zone'>): ApiAggregate[] {
  const byApi = new Map<string, { agg: ApiAggregate; methods: Map<string, Counter>; primitives: Map<string, Counter>; names: Map<string, Counter> }>();
  for (const r of records) {
    if (!r.mcpStats.isMCP) continue;
    let e = byApi.get(r.apiId);
    if (e === undefined) {
      const methods = new Map<string, Counter>();
      const primitives = new Map<string, Counter>();
      const names = new Map<string, Counter>();
      e = { agg: { apiId: r.apiId, base: newAggregate(r.orgId, bucketOf(r, o)), extra: [['methods', methods], ['primitives', primitives], ['names', names]] }, methods, primitives, names };
      byApi.set(r.apiId, e);
    }
    const counter = increment(e.agg.base, r, BASE_OPTIONS) ?? zeroLike(r);
    const m = r.mcpStats;
    if (m.jsonRpcMethod !== '') unit(e.methods, m.jsonRpcMethod, counter, m.jsonRpcMethod, m.jsonRpcMethod);
    if (m.primitiveType !== '') unit(e.primitives, m.primitiveType, counter, m.primitiveType, m.primitiveType);
    if (m.primitiveName !== '') {
      const label = m.primitiveType !== '' ? `${m.primitiveType}_${m.primitiveName}` : m.primitiveName;
      unit(e.names, label, counter, label, m.primitiveName);
    }
  }
  return [...byApi.values()].map((e) => e.agg);
}

/** Tyk's counter of a network-only record (the `-1` branch): zero but for its time and network bytes. */
function zeroLike(r: AnalyticsRecord): Counter {
  return {
    hits: 0, success: 0, errorTotal: 0, requestTime: 0, totalRequestTime: 0, identifier: '', humanIdentifier: '', lastTimeMs: r.timestampMs, lastTimeNs: r.timestampNs,
    openConnections: r.network.openConnections, closedConnections: r.network.closedConnections, bytesIn: r.network.bytesIn, bytesOut: r.network.bytesOut,
    maxUpstreamLatency: 0, minUpstreamLatency: 0, totalUpstreamLatency: 0, upstreamLatency: 0, maxLatency: 0, minLatency: 0, totalLatency: 0, latency: 0, errorMap: new Map(),
  };
}

/** The base dimensions (total included), then the extra ones, as Tyk's `Dimensions()`. */
export function apiDimensions(a: ApiAggregate): Dimension[] {
  const out = dimensions(a.base);
  for (const [name, m] of a.extra) for (const [value, c] of m) out.push({ name, value, counter: withLatency(c) });
  return out;
}

/** One row in the per-API tables' column order; the id is keyed by the API id, as in Tyk. */
export function apiAggregateRow(a: ApiAggregate, d: Dimension): TextRow {
  const r = aggregateRow(a.base.bucket, a.apiId, d);
  // aggregateRow: id, 22 counters, timestamp, org_id, dimension, dimension_value, 21 codes.
  return [r[0] ?? null, a.base.orgId, d.name, d.value, a.apiId, ...r.slice(1, 23), ...r.slice(27), r[23] ?? null];
}
