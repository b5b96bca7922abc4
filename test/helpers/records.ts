/**
 * Hand-built records and recording consumers for unit tests of processors and exporters. Decoder and
 * end-to-end tests start from the real fixture bytes instead (test/helpers/fixtures.ts).
 */
import type { BatchContext, Consumer } from '../../src/component.js';
import type { AnalyticsRecord, Signal, SignalPayload, UptimeRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { Delivery } from '../../src/delivery.js';

/** An HTTP record with plausible defaults; override any field. */
export function httpRecord(over: Partial<AnalyticsRecord> = {}): AnalyticsRecord {
  const total = over.latency?.total ?? over.requestTime ?? 25;
  const upstream = over.latency?.upstream ?? 20;
  return {
    kind: 'http', encoding: 'msgpack', method: 'GET', host: 'upstream.internal:8080', path: '/orders/123',
    rawPath: '/orders/123', contentLength: 0, userAgent: 'curl/8.4.0', day: 26, month: 11, year: 2026, hour: 12,
    responseCode: 200, apiKey: '', timestampMs: Date.UTC(2026, 10, 26, 12), timestampNs: 0, apiVersion: 'v1',
    apiName: 'Orders API', apiId: 'orders-api', orgId: 'org-1', oauthId: '', requestTime: total, rawRequest: '',
    rawResponse: '', ipAddress: '203.0.113.7', geo: EMPTY_GEO, network: EMPTY_NETWORK,
    latency: { total, upstream, gateway: total - upstream }, tags: [], alias: '', trackPath: false,
    expireAtMs: null, expireAtNs: 0, apiSchema: '', originalPath: '', listenPath: '/orders/', graphqlStats: EMPTY_GRAPHQL,
    mcpStats: EMPTY_MCP, timeZone: '', route: '',
    ...over,
  };
}

/** A network-stats record (`ResponseCode = -1`). */
export function networkRecord(over: Partial<AnalyticsRecord> = {}): AnalyticsRecord {
  return httpRecord({
    kind: 'network', responseCode: -1, method: '', path: '', rawPath: '', requestTime: 0,
    latency: { total: 0, upstream: 0, gateway: 0 },
    network: { openConnections: 3, closedConnections: 1, bytesIn: 1000, bytesOut: 2000 },
    apiId: 'tcp-echo-api', apiName: 'TCP echo', ...over,
  });
}

/** An uptime record. */
export function uptimeRecord(over: Partial<UptimeRecord> = {}): UptimeRecord {
  return {
    kind: 'uptime', url: 'http://upstream.internal:8080/health', requestTime: 12, responseCode: 200, tcpError: false,
    serverError: false, day: 26, month: 11, year: 2026, hour: 12, minute: 0, timestampMs: Date.UTC(2026, 10, 26, 12),
    timestampNs: 0, expireAtMs: null, expireAtNs: 0, apiId: 'orders-api', orgId: 'org-1', ...over,
  };
}

/** A consumer that keeps every batch it gets (optionally failing or deferring). */
export class RecordingConsumer<S extends Signal> implements Consumer<S> {
  readonly batches: SignalPayload[S][] = [];
  /** When set, `consume` rejects with it. */
  fail: Error | undefined;

  async consume(data: SignalPayload[S], _ctx: BatchContext): Promise<void> {
    if (this.fail) throw this.fail;
    this.batches.push(data);
  }

  /** All items of all record batches, flattened (records signal only). */
  get items(): SignalPayload[S] extends readonly (infer T)[] ? T[] : never {
    return (this.batches as unknown as unknown[][]).flat() as never;
  }
}

/** Runs `fn` with a tracked BatchContext and returns the delivery outcome (undefined = delivered). */
export async function tracked(fn: (ctx: BatchContext) => Promise<void>): Promise<Error | undefined> {
  const d = new Delivery();
  try {
    await fn(d.ctx);
    d.seal();
  } catch (err) {
    d.seal(err as Error);
  }
  return d.done;
}
