/**
 * Which analytics record fields the pipelines read, so a receiver decodes only those (issue 12, "decode
 * only what the pipelines use"). A component factory declares what it reads (`reads` in
 * `src/component.ts`); the graph takes, per receiver, the union over every pipeline that lists it
 * (`receiverReads` in `src/graph-plan.ts`); the receiver's decoder skips every other field by length,
 * without building a string or an object for it, and leaves it at its {@link NEUTRAL_FIELDS} value.
 *
 * The neutral values, in this one place: a field nobody declared decodes as the value the gateway's own
 * record has when the field is absent from the wire: `''`, `0`, `false`, `null` (times), `[]` (tags), the
 * shared all-zero `geo`/`network`/`latency`/`graphqlStats`/`mcpStats`. `responseCode` is the one
 * exception: it is always read (it decides `kind`), and when undeclared it is `-1` on a network-stats
 * record and `0` on an HTTP record. `kind` and `encoding` are always exact; `route` is set by the `route`
 * processor, never decoded. A component that reads a field it did not declare therefore sees an obvious
 * empty value, and `test/record-reads.test.ts` runs every declaring component on fixtures decoded with its
 * declared fields and on fully decoded ones, and requires the same output.
 */
import type { AnalyticsRecord, Latency } from './model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from './model.js';

/** A field of {@link AnalyticsRecord} a component can declare it reads (all but `kind`, `encoding`, `route`). */
export type AnalyticsField = Exclude<keyof AnalyticsRecord, 'kind' | 'encoding' | 'route'>;

/**
 * What a component reads of the records reaching it: `'all'` (the safe default: full decoding) or the
 * list of fields (possibly empty).
 */
export type RecordReads = 'all' | readonly AnalyticsField[];

/** All-zero latencies, shared (records are readonly). */
export const EMPTY_LATENCY: Latency = Object.freeze({ total: 0, upstream: 0, gateway: 0 });

/** Shared empty tag list. */
export const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * The value of every field a record carries when no pipeline of its receiver declared the field (and
 * when the wire leaves it out). `responseCode`: see the file comment (-1 on network-stats records).
 */
export const NEUTRAL_FIELDS: { readonly [K in AnalyticsField]: AnalyticsRecord[K] } = Object.freeze({
  method: '', host: '', path: '', rawPath: '', contentLength: 0, userAgent: '', day: 0, month: 0, year: 0, hour: 0,
  responseCode: 0, apiKey: '', timestampMs: null, timestampNs: 0, apiVersion: '', apiName: '', apiId: '', orgId: '',
  oauthId: '', requestTime: 0, rawRequest: '', rawResponse: '', ipAddress: '', geo: EMPTY_GEO, network: EMPTY_NETWORK,
  latency: EMPTY_LATENCY, tags: NO_TAGS, alias: '', trackPath: false, expireAtMs: null, expireAtNs: 0, apiSchema: '',
  originalPath: '', listenPath: '', graphqlStats: EMPTY_GRAPHQL, mcpStats: EMPTY_MCP, timeZone: '',
});

/** Every {@link AnalyticsField}, in the order of the model. */
export const ANALYTICS_FIELDS: readonly AnalyticsField[] = Object.freeze(Object.keys(NEUTRAL_FIELDS) as AnalyticsField[]);

/**
 * Fields that travel together on the wire (one wire field each): declaring one decodes both, so a
 * projection always holds both or neither.
 */
const WIRE_PAIRS: readonly (readonly [AnalyticsField, AnalyticsField])[] = [
  ['timestampMs', 'timestampNs'],
  ['expireAtMs', 'expireAtNs'],
];

/** Union of two declarations ('all' absorbs everything). */
export function unionReads(a: RecordReads, b: RecordReads): RecordReads {
  if (a === 'all' || b === 'all') return 'all';
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...new Set([...a, ...b])];
}

/**
 * The set of fields a projection decodes for a declaration: the declared fields plus their wire pairs,
 * in model order; `'all'` when that is every field.
 */
export function decodedFields(reads: RecordReads): 'all' | ReadonlySet<AnalyticsField> {
  if (reads === 'all') return 'all';
  const set = new Set<AnalyticsField>(reads);
  for (const [a, b] of WIRE_PAIRS) {
    if (set.has(a) || set.has(b)) {
      set.add(a);
      set.add(b);
    }
  }
  if (set.size === ANALYTICS_FIELDS.length) return 'all';
  return new Set(ANALYTICS_FIELDS.filter((f) => set.has(f)));
}

/** A one-line description of a declaration, for logs and `graph`: `all fields` or `12 of 37 fields: …`. */
export function describeReads(reads: RecordReads): string {
  const d = decodedFields(reads);
  if (d === 'all') return 'all fields';
  if (d.size === 0) return 'no fields (format check only)';
  return `${d.size} of ${ANALYTICS_FIELDS.length} fields: ${[...d].join(', ')}`;
}

/**
 * `r` as a receiver decoding only `reads` delivers it: every other field at its neutral value. The
 * decoder builds this directly from the bytes; this function is its specification (tests) and the
 * tolerant path's projection.
 */
export function projectRecord(r: AnalyticsRecord, reads: RecordReads): AnalyticsRecord {
  const d = decodedFields(reads);
  if (d === 'all') return r;
  const out: Record<string, unknown> = { kind: r.kind, encoding: r.encoding };
  for (const f of ANALYTICS_FIELDS) out[f] = d.has(f) ? r[f] : NEUTRAL_FIELDS[f];
  if (!d.has('responseCode')) out['responseCode'] = r.kind === 'network' ? -1 : 0;
  out['route'] = r.route;
  return out as unknown as AnalyticsRecord;
}
