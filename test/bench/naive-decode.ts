/**
 * The naive msgpack baseline shared by the decode and receiver benchmarks: `msgpackr` unpacks the whole
 * record into a generic object, which is then mapped to the typed `AnalyticsRecord` — what a
 * straightforward reader would write. Our decoder is measured against it.
 */
import { Unpackr } from 'msgpackr';
import type { AnalyticsRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
/** A generic decoded object. */
export type Obj = Record<string, unknown>;
const ZERO_SEC = -62135596800;
/** Go's `[sec, nsec]` time → `[epoch ms | null, ns remainder]` (zero time → null). */
export function time(v: unknown): [number | null, number] {
  if (!Array.isArray(v)) return [null, 0];
  const sec = Number(v[0]);
  const nsec = Number(v[1]);
  if (sec === ZERO_SEC && nsec === 0) return [null, 0];
  const sub = Math.floor(nsec / 1e6);
  return [sec * 1000 + sub, nsec - sub * 1e6];
}
/** Decodes one gateway msgpack record the naive way. */
export function naiveDecode(bytes: Buffer): AnalyticsRecord {
  const o = unpackr.unpack(bytes) as Obj;
  const lat = (o['Latency'] ?? {}) as Obj;
  const net = (o['Network'] ?? {}) as Obj;
  const geo = (o['Geo'] ?? {}) as Obj;
  const country = (geo['Country'] ?? {}) as Obj;
  const city = (geo['City'] ?? {}) as Obj;
  const loc = (geo['Location'] ?? {}) as Obj;
  const gq = o['GraphQLStats'] as Obj | undefined;
  const mcp = o['MCPStats'] as Obj | undefined;
  const [timestampMs, timestampNs] = time(o['TimeStamp']);
  const [expireAtMs, expireAtNs] = time(o['ExpireAt']);
  const total = Number(lat['Total'] ?? 0);
  const upstream = Number(lat['Upstream'] ?? 0);
  const responseCode = Number(o['ResponseCode'] ?? 0);
  const s = (k: string) => String(o[k] ?? '');
  const n = (k: string) => Number(o[k] ?? 0);
  return {
    kind: responseCode === -1 ? 'network' : 'http', encoding: 'msgpack',
    method: s('Method'), host: s('Host'), path: s('Path'), rawPath: s('RawPath'), contentLength: n('ContentLength'),
    userAgent: s('UserAgent'), day: n('Day'), month: n('Month'), year: n('Year'), hour: n('Hour'), responseCode,
    apiKey: s('APIKey'), timestampMs, timestampNs, apiVersion: s('APIVersion'), apiName: s('APIName'), apiId: s('APIID'),
    orgId: s('OrgID'), oauthId: s('OauthID'), requestTime: n('RequestTime'), rawRequest: s('RawRequest'),
    rawResponse: s('RawResponse'), ipAddress: s('IPAddress'),
    geo: country['ISOCode'] ? {
      country: { isoCode: String(country['ISOCode'] ?? '') },
      city: { geoNameId: Number(city['GeoNameID'] ?? 0), names: (city['Names'] ?? null) as Record<string, string> | null },
      location: { latitude: Number(loc['Latitude'] ?? 0), longitude: Number(loc['Longitude'] ?? 0), timeZone: String(loc['TimeZone'] ?? '') },
    } : EMPTY_GEO,
    network: net['BytesIn'] || net['BytesOut'] || net['OpenConnections'] || net['ClosedConnection'] ? {
      openConnections: Number(net['OpenConnections'] ?? 0), closedConnections: Number(net['ClosedConnection'] ?? 0),
      bytesIn: Number(net['BytesIn'] ?? 0), bytesOut: Number(net['BytesOut'] ?? 0),
    } : EMPTY_NETWORK,
    latency: { total, upstream, gateway: lat['Gateway'] === undefined ? total - upstream : Number(lat['Gateway']) },
    tags: (o['Tags'] as string[] | null) ?? [], alias: s('Alias'), trackPath: o['TrackPath'] === true, expireAtMs, expireAtNs,
    apiSchema: String(o['ApiSchema'] ?? o['APISchema'] ?? ''), originalPath: s('OriginalPath'), listenPath: s('ListenPath'),
    graphqlStats: gq && gq['IsGraphQL'] ? {
      isGraphQL: true, hasErrors: gq['HasErrors'] === true, operationType: Number(gq['OperationType'] ?? 0),
      variables: String(gq['Variables'] ?? ''), rootFields: (gq['RootFields'] ?? null) as string[] | null,
      types: (gq['Types'] ?? null) as Record<string, string[]> | null,
      errors: ((gq['Errors'] ?? null) as Obj[] | null)?.map((e) => ({ message: String(e['Message'] ?? ''), path: (e['Path'] ?? null) as string[] | null })) ?? null,
    } : EMPTY_GRAPHQL,
    mcpStats: mcp && mcp['IsMCP'] ? {
      isMCP: true, jsonRpcMethod: String(mcp['JSONRPCMethod'] ?? ''), primitiveType: String(mcp['PrimitiveType'] ?? ''),
      primitiveName: String(mcp['PrimitiveName'] ?? ''),
    } : EMPTY_MCP,
    timeZone: '', route: '',
  };
}
