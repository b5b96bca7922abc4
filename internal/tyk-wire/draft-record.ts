/**
 * The analytics record a decoder fills in, one copy for the msgpack and the protobuf decoders
 * (`msgpack-record.ts`, `protobuf-record.ts`), which differ only in how they read the wire: a new record
 * with every field at its neutral value (one object literal, so both decoders' records share one shape), the
 * decoder writes each field it reads straight into it, and {@link finishDraft} settles `kind` and the
 * response code. Nothing is allocated besides the record itself; an element that is only checked (no field
 * read) writes into a scratch draft instead and gets the shared placeholder.
 */
import type { AnalyticsRecord, RecordEncoding } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { EMPTY_LATENCY, NO_TAGS } from '../../src/record-reads.js';
import { placeholder, type Projection } from './projection.js';

/** A record being decoded: every field writable. */
export type DraftRecord = { -readonly [K in keyof AnalyticsRecord]: AnalyticsRecord[K] };

/** A new record of `encoding` with every field neutral: what a field absent from the wire, or not read, stays. */
function newDraft(encoding: RecordEncoding): DraftRecord {
  return {
    kind: 'http', encoding,
    method: '', host: '', path: '', rawPath: '', contentLength: 0, userAgent: '', day: 0, month: 0, year: 0, hour: 0,
    responseCode: 0, apiKey: '', timestampMs: null, timestampNs: 0, apiVersion: '', apiName: '', apiId: '', orgId: '',
    oauthId: '', requestTime: 0, rawRequest: '', rawResponse: '', ipAddress: '', geo: EMPTY_GEO, network: EMPTY_NETWORK,
    latency: EMPTY_LATENCY, tags: NO_TAGS, alias: '', trackPath: false, expireAtMs: null, expireAtNs: 0, apiSchema: '',
    originalPath: '', listenPath: '', graphqlStats: EMPTY_GRAPHQL, mcpStats: EMPTY_MCP, timeZone: '',
    route: '',
  };
}

/** Where an element that is only checked writes the response code it reads (never handed out). */
const SCRATCH: Readonly<Record<RecordEncoding, DraftRecord>> = { msgpack: newDraft('msgpack'), protobuf: newDraft('protobuf') };

/** The draft to decode one element into with projection `p`: a new record, or the scratch when no field is read. */
export function draftRecord(encoding: RecordEncoding, p: Projection): DraftRecord {
  if (!p.none) return newDraft(encoding);
  const d = SCRATCH[encoding];
  d.responseCode = 0;
  return d;
}

/**
 * The record of a filled draft as projection `p` delivers it: `kind` from the response code, which itself
 * stays only when read (or -1); with no field read, the shared placeholder.
 */
export function finishDraft(d: DraftRecord, p: Projection): AnalyticsRecord {
  const code = d.responseCode;
  if (p.none) return placeholder(code, d.encoding);
  if (code === -1) d.kind = 'network';
  else if (!p.responseCode) d.responseCode = 0;
  return d;
}
