/**
 * Decode throughput: our single-pass decoder (raw on and off; only the fields the metrics pipeline
 * `route → sli` reads; no field at all, the drainer's format check) against the naive path, `msgpackr` unpack of
 * the whole element into a generic object followed by a mapping to the typed record. Same input for every
 * variant: the msgpack fixture records (real gateway bytes, ~20% with detailed recording), cycled. Each
 * variant runs in its own child process, so the peak RSS is its own. Protobuf is measured for reference.
 *
 * `npm run bench -- decode`
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { loadFixtures } from '../helpers/fixtures.js';
import type { AnalyticsRecord } from '../../src/model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../../src/model.js';
import { naiveDecode, time, type Obj } from './naive-decode.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { ANALYTICS_PROTO } from '../../internal/tyk-wire/analytics-proto.js';
import { projection } from '../../internal/tyk-wire/projection.js';
import { unionReads, type AnalyticsField } from '../../src/record-reads.js';
import { routeProcessorFactory } from '../../processors/route/index.js';
import { sliProcessorFactory } from '../../processors/sli/index.js';

/**
 * What the metrics pipeline of issue 12 (`tyk_redis → route → sli → prometheus`, default configs) makes
 * the receiver decode: the union of the two processors' declared reads, as the graph computes it.
 */
function metricsReads(): readonly AnalyticsField[] {
  const reads = (f: { configSchema: { parse(v: unknown): unknown }; reads?(c: unknown): unknown }) => f.reads?.(f.configSchema.parse({})) as readonly AnalyticsField[];
  return unionReads(reads(routeProcessorFactory as never), reads(sliProcessorFactory as never)) as readonly AnalyticsField[];
}

const VARIANTS = [
  'msgpackr+map', 'ours raw=true', 'ours raw=false', 'ours metrics fields', 'ours no field (check)',
  'protobufjs Type.decode+map', 'ours protobuf raw=true', 'ours protobuf raw=false', 'ours protobuf metrics', 'ours protobuf no field',
] as const;
type Variant = (typeof VARIANTS)[number];
const RUN_MS = Number(process.env['BENCH_MS'] ?? 2000);
/** Each variant runs this many times, interleaved with the others; the fastest run counts (least disturbed). */
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);

// --- the naive baseline: generic unpack, then map (test/bench/naive-decode.ts) ---------------------------

const naive = naiveDecode;

// --- the protobuf baseline: protobufjs reflection decode of the .proto, then map -------------------------

const root = new protobuf.Root();
root.addJSON((protobuf.common as unknown as Record<string, { nested: protobuf.INamespace['nested'] }>)['google/protobuf/timestamp.proto']!.nested!);
protobuf.parse(ANALYTICS_PROTO, root, { keepCase: true });
root.resolveAll();
const ProtoRecord = root.lookupType('normalproto.AnalyticsRecord');
type L = number | { toNumber(): number } | null | undefined;
const num = (v: L) => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
function pbTime(t: Obj | null | undefined): [number | null, number] {
  return t ? time([num(t['seconds'] as L), Number(t['nanos'] ?? 0)]) : [null, 0];
}
function protobufjsMap(bytes: Buffer): AnalyticsRecord {
  const m = ProtoRecord.decode(bytes) as unknown as Obj;
  const s = (k: string) => String(m[k] ?? '');
  const lat = (m['Latency'] ?? {}) as Obj;
  const total = num(lat['Total'] as L);
  const upstream = num(lat['Upstream'] as L);
  const g = m['Geo'] as Obj | null;
  const country = (g?.['Country'] ?? {}) as Obj;
  const city = (g?.['City'] ?? {}) as Obj;
  const loc = (g?.['Location'] ?? {}) as Obj;
  const nw = (m['Network'] ?? {}) as Obj;
  const q = m['GraphQLStats'] as Obj | null;
  const c = m['MCPStats'] as Obj | null;
  const [timestampMs, timestampNs] = pbTime(m['TimeStamp'] as Obj | null);
  const [expireAtMs, expireAtNs] = pbTime(m['ExpireAt'] as Obj | null);
  const responseCode = Number(m['ResponseCode'] ?? 0);
  const names = city['Names'] as Record<string, string> | undefined;
  const types = q?.['Types'] as Record<string, { fields: string[] }> | undefined;
  const tags = m['Tags'] as string[];
  return {
    kind: responseCode === -1 ? 'network' : 'http', encoding: 'protobuf',
    method: s('Method'), host: s('Host'), path: s('Path'), rawPath: s('RawPath'), contentLength: num(m['ContentLength'] as L),
    userAgent: s('UserAgent'), day: Number(m['Day']), month: Number(m['Month']), year: Number(m['Year']), hour: Number(m['Hour']),
    responseCode, apiKey: s('APIKey'), timestampMs, timestampNs, apiVersion: s('APIVersion'), apiName: s('APIName'),
    apiId: s('APIID'), orgId: s('OrgID'), oauthId: s('OauthID'), requestTime: num(m['RequestTime'] as L),
    rawRequest: s('RawRequest'), rawResponse: s('RawResponse'), ipAddress: s('IPAddress'),
    geo: country['ISOCode'] ? {
      country: { isoCode: String(country['ISOCode']) },
      city: { geoNameId: Number(city['GeoNameID'] ?? 0), names: names && Object.keys(names).length > 0 ? { ...names } : null },
      location: { latitude: Number(loc['Latitude'] ?? 0), longitude: Number(loc['Longitude'] ?? 0), timeZone: String(loc['TimeZone'] ?? '') },
    } : EMPTY_GEO,
    network: nw['BytesIn'] || nw['BytesOut'] || nw['OpenConnections'] || nw['ClosedConnections'] ? {
      openConnections: num(nw['OpenConnections'] as L), closedConnections: num(nw['ClosedConnections'] as L),
      bytesIn: num(nw['BytesIn'] as L), bytesOut: num(nw['BytesOut'] as L),
    } : EMPTY_NETWORK,
    latency: { total, upstream, gateway: total - upstream },
    tags: tags.length > 0 ? tags : [], alias: s('Alias'), trackPath: m['TrackPath'] === true, expireAtMs, expireAtNs,
    apiSchema: s('ApiSchema'), originalPath: s('OriginalPath'), listenPath: s('ListenPath'),
    graphqlStats: q && q['IsGraphQL'] ? {
      isGraphQL: true, hasErrors: q['HasError'] === true, operationType: Number(q['OperationType'] ?? 0),
      variables: String(q['Variables'] ?? ''), rootFields: (q['RootFields'] as string[]).length > 0 ? (q['RootFields'] as string[]) : null,
      types: types && Object.keys(types).length > 0 ? Object.fromEntries(Object.entries(types).map(([k, v]) => [k, v.fields])) : null,
      errors: (q['GraphErrors'] as string[]).length > 0 ? (q['GraphErrors'] as string[]).map((message) => ({ message, path: null })) : null,
    } : EMPTY_GRAPHQL,
    mcpStats: c && c['IsMCP'] ? {
      isMCP: true, jsonRpcMethod: String(c['JSONRPCMethod'] ?? ''), primitiveType: String(c['PrimitiveType'] ?? ''),
      primitiveName: String(c['PrimitiveName'] ?? ''),
    } : EMPTY_MCP,
    timeZone: s('TimeZone'), route: '',
  };
}

// --- one variant (child process) -----------------------------------------------------------------------

function runVariant(variant: Variant): void {
  const proto = variant.includes('protobuf');
  const inputs = loadFixtures(proto ? 'gateway-protobuf.jsonl' : 'gateway-msgpack.jsonl').map((f) => f.bytes);
  const LEAN = { raw: false } as const;
  const METRICS = { projection: projection(metricsReads()) } as const;
  const NONE = { projection: projection([]) } as const;
  const decoders: Record<Variant, (b: Buffer) => AnalyticsRecord> = {
    'msgpackr+map': naive,
    'ours raw=true': (b) => decodeAnalytics(b, 'msgpack'),
    'ours raw=false': (b) => decodeAnalytics(b, 'msgpack', LEAN),
    'ours metrics fields': (b) => decodeAnalytics(b, 'msgpack', METRICS),
    'ours no field (check)': (b) => decodeAnalytics(b, 'msgpack', NONE),
    'protobufjs Type.decode+map': protobufjsMap,
    'ours protobuf raw=true': (b) => decodeAnalytics(b, 'protobuf'),
    'ours protobuf raw=false': (b) => decodeAnalytics(b, 'protobuf', LEAN),
    'ours protobuf metrics': (b) => decodeAnalytics(b, 'protobuf', METRICS),
    'ours protobuf no field': (b) => decodeAnalytics(b, 'protobuf', NONE),
  };
  const decode = decoders[variant];
  let sink = 0;
  const pass = () => {
    for (let i = 0; i < inputs.length; i++) sink += decode(inputs[i] as Buffer).requestTime;
  };
  for (let i = 0; i < 200; i++) pass(); // warm up (JIT)
  // The machine is shared: measure CPU time (user+sys, so GC threads count) per round and report the
  // median round, which load from other processes disturbs far less than wall time.
  const rounds: number[] = [];
  let records = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < RUN_MS) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 50; i++) pass();
    const c = process.cpuUsage(c0);
    rounds.push((c.user + c.system) / (50 * inputs.length));
    records += 50 * inputs.length;
  }
  rounds.sort((a, b) => a - b);
  // Memory a decoded batch keeps alive: decode 20 000 records into an array and compare heaps.
  const gc = (globalThis as { gc?: () => void }).gc;
  let retainedBytes = NaN;
  if (gc) {
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const keep: AnalyticsRecord[] = [];
    for (let i = 0; i < 20_000; i++) keep.push(decode(inputs[i % inputs.length] as Buffer));
    gc();
    retainedBytes = (process.memoryUsage().heapUsed - h0) / keep.length;
    sink += keep.length;
  }
  const usPerRecord = rounds[Math.floor(rounds.length / 2)] as number;
  const bytes = inputs.reduce((a, b) => a + b.length, 0) / inputs.length;
  process.stdout.write(JSON.stringify({
    variant, records, perSecond: 1e6 / usPerRecord, usPerRecord, bestUs: rounds[0],
    avgBytes: Math.round(bytes), retainedBytes, peakRssMiB: process.resourceUsage().maxRSS / 1024, sink: sink > 0,
  }));
}

// --- parent: one child per variant, then the table ------------------------------------------------------

const only = process.argv[2];
if (only !== undefined) {
  runVariant(only as Variant);
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, { perSecond: number; usPerRecord: number; peakRssMiB: number; avgBytes: number; retainedBytes: number }> = {};
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const v of VARIANTS) {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, v], { encoding: 'utf8' });
      if (r.status !== 0) {
        console.error(`${v} failed:\n${r.stderr}`);
        process.exit(1);
      }
      const got = JSON.parse(r.stdout) as (typeof results)[string];
      const prev = results[v];
      if (!prev || got.perSecond > prev.perSecond) results[v] = { ...got, peakRssMiB: Math.max(got.peakRssMiB, prev?.peakRssMiB ?? 0) };
    }
  }
  console.log(`decode, best of ${REPEATS} interleaved runs of ${RUN_MS} ms per variant; input: the fixture records cycled (msgpack avg ${results['ours raw=true']!.avgBytes} B, protobuf avg ${results['ours protobuf raw=true']!.avgBytes} B)`);
  console.log('variant                          records/s   µs/record (CPU, median round)   heap kept/record   peak RSS   vs baseline');
  for (const v of VARIANTS) {
    const r = results[v]!;
    const base = results[v.includes('protobuf') ? 'protobufjs Type.decode+map' : 'msgpackr+map']!.perSecond;
    console.log(
      `${v.padEnd(32)} ${Math.round(r.perSecond).toString().padStart(9)}   ${r.usPerRecord.toFixed(2).padStart(9)}                       ${Math.round(r.retainedBytes).toString().padStart(9)} B   ${r.peakRssMiB.toFixed(0).padStart(5)} MiB   ${(r.perSecond / base).toFixed(2)}×`,
    );
  }
}
