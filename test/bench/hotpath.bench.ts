/**
 * `npm run bench -- hotpath`: the per-record cost of the metrics hot path without Redis or decoding —
 * `route` (templating and handing the route on), `sli` (observing, and emitting the per-batch deltas), and the
 * `prometheus` exporter's accumulation — on decoded records in batches of 1000 (the receiver's default
 * chunk), in µs of CPU per record per stage, plus the time V8 spent in GC
 * (in the timed passes) and the delta points emitted per batch.
 *
 * Two data sets, as in the pipeline bench: the gateway fixtures (every generation, ~300 series) and a
 * high-path-diversity set (24 000 distinct raw paths over 8 APIs, 4 000 series per histogram). Each stage
 * is timed on its own: all batches of a pass through `route`, then all through `sli` — given to it by the
 * graph's `PipelineFanOut`, its output to the exporter through an `ExporterFanOut`, as in the agent — whose
 * exporter is the accumulator (timed inside it, and subtracted from `sli`). Each data set runs in its own child process; the best of
 * `BENCH_ROUNDS` (default 3) interleaved rounds is reported (the machine is shared).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { Packr, Unpackr } from 'msgpackr';
import type { BatchContext, ComponentContext, Consumer } from '../../src/component.js';
import type { MetricsBatch, RecordBatch, TykRecord } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { silentLogger } from '../../src/logger.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { routeConfigSchema } from '../../processors/route/config.js';
import { RouteProcessor } from '../../processors/route/route.js';
import { sliConfigSchema } from '../../processors/sli/config.js';
import { SliProcessor } from '../../processors/sli/sli.js';
import { CumulativeAccumulator } from '../../exporters/prometheus/accumulator.js';
import { ExporterFanOut, PipelineFanOut } from '../../src/delivery.js';

const BATCH = 1000;
const N = Number(process.env['BENCH_HOT_N'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const PASSES = 3;
const SETS = ['fixtures', 'diverse'] as const;
type DataSet = (typeof SETS)[number];

/** Wire bytes of the data set (decoded afresh every pass, so the route processor sees unrouted records). */
function wire(set: DataSet): Buffer[] {
  const fixtures = loadFixtures('gateway-msgpack.jsonl');
  if (set === 'fixtures') return fixtures.map((f) => f.bytes);
  const base = fixtures.filter((f) => f.expected['response_code'] !== -1);
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const out: Buffer[] = [];
  for (let i = 0; i < 24_000; i++) {
    const o = unpackr.unpack((base[i % base.length] as { bytes: Buffer }).bytes) as Record<string, unknown>;
    const api = i % 8;
    const path = `/svc${api}/resource${Math.floor(i / 8) % 50}/${100000 + i}`;
    Object.assign(o, {
      APIID: `bench-api-${api}`, APIName: `Bench API ${api}`, OrgID: 'bench-org', APIVersion: 'v1', Path: path, RawPath: path,
      ListenPath: `/svc${api}/`, Method: methods[Math.floor(i / 400) % 5], ResponseCode: Math.floor(i / 2000) % 2 === 0 ? 200 : 503,
      ExpireAt: o['TimeStamp'],
    });
    out.push(packr.pack(o));
  }
  return out;
}

/** As the graph makes it for a pipeline whose receiver feeds it alone (records may be changed in place). */
function context(id: string, self: SelfTelemetry): ComponentContext {
  return {
    exclusiveRecords: true,
    id, logger: silentLogger(), telemetry: self.forComponent('processor', id), health: new HealthRegistry().reporter(id),
    http: new HttpServers(silentLogger()).hostFor(id),
    shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined) }), instanceId: 'bench', configDir: process.cwd(),
  };
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

interface Figures { route: number; sli: number; accumulate: number; gcMs: number; points: number; requests: number }

async function child(set: DataSet): Promise<void> {
  const bytes = wire(set);
  const self = new SelfTelemetry('bench');
  const bctx: BatchContext = { chunkId: undefined, defer: () => () => undefined };
  let routed: RecordBatch[] = [];
  const metrics: MetricsBatch[] = [];
  const routeSink: Consumer<'records'> = { consume: async (b) => void routed.push(b) };
  const acc = new CumulativeAccumulator({ expirationMs: 300_000, namespace: '', constLabels: {}, withoutScopeInfo: false, verbatimNames: false, now: Date.now });
  let accNs = 0;
  const exporter: Consumer<'metrics'> = {
    consume: async (b) => {
      const t0 = cpuNs();
      acc.accumulate(b);
      accNs += cpuNs() - t0;
      metrics.push(b);
    },
  };
  // sli feeds the exporter through the graph's own fan-outs, so its contexts are the graph's (an
  // emission window applies where the processor has one).
  const sliSink = new ExporterFanOut<'metrics'>([{ id: 'prometheus', consumer: exporter }]);
  const route = new RouteProcessor(context('route@metrics', self), routeConfigSchema.parse({}), routeSink);
  const sli = new SliProcessor(context('sli@metrics', self), sliConfigSchema.parse(set === 'diverse' ? { cardinality_limit: 8000 } : {}), sliSink);
  await sli.start();
  const pipelines = new PipelineFanOut([sli]);
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  const t = { route: 0, sli: 0, accumulate: 0 };
  let records = 0;
  let points = 0;
  const opts = { raw: false, maxBytes: 1 << 20 };
  for (let pass = -1; pass < PASSES; pass++) {
    // Decode outside the clock (pass -1 warms up and is not counted).
    const batches: TykRecord[][] = [];
    for (let i = 0; i < N; i += BATCH) {
      const b: TykRecord[] = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) b.push(decodeAnalytics(bytes[j % bytes.length] as Buffer, 'msgpack', opts));
      batches.push(b);
    }
    (globalThis as { gc?: () => void }).gc?.();
    if (pass === 0) obs.observe({ entryTypes: ['gc'] });
    routed = [];
    metrics.length = 0;
    // CPU time (user + system) rather than wall time: the machine is shared.
    let t0 = cpuNs();
    for (const b of batches) await route.consume(b, bctx);
    let t1 = cpuNs();
    if (pass >= 0) t.route += t1 - t0;
    t0 = t1;
    const acc0 = accNs;
    const outcomes: Promise<unknown>[] = [];
    for (const b of routed) {
      const { accepted, outcome } = pipelines.deliver(b, { chunkId: undefined });
      await accepted;
      outcomes.push(outcome);
    }
    await Promise.all(outcomes);
    t1 = cpuNs();
    // Let the GC observer's entries arrive (they are delivered on the event loop).
    await new Promise((r) => setImmediate(r));
    if (pass >= 0) {
      t.accumulate += accNs - acc0;
      t.sli += t1 - t0 - (accNs - acc0);
      records += N;
      for (const m of metrics) for (const md of m.metrics) points += md.dataPoints.length;
    }
  }
  obs.disconnect();
  const us = (ns: number) => Number((ns / 1000 / records).toFixed(3));
  const out: Figures = {
    route: us(t.route), sli: us(t.sli), accumulate: us(t.accumulate), gcMs: Math.round(gcMs),
    points: Math.round(points / (records / BATCH)),
    requests: acc.total('tyk_api_requests_total'),
  };
  console.log(JSON.stringify(out));
  await self.shutdown();
}

async function main(): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith('--set='));
  if (arg) {
    await child(arg.slice('--set='.length) as DataSet);
    return;
  }
  const file = fileURLToPath(import.meta.url);
  const best: Partial<Record<DataSet, Figures>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const set of SETS) {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file, `--set=${set}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${set} failed: ${r.stderr}`);
      const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Figures;
      const total = (f: Figures) => f.route + f.sli + f.accumulate;
      const prev = best[set];
      if (!prev || total(got) < total(prev)) best[set] = got;
    }
  }
  console.log(`metrics hot path: ${PASSES} passes over ${N} decoded records in batches of ${BATCH}, best of ${ROUNDS} interleaved rounds (µs per record)`);
  for (const set of SETS) {
    const f = best[set]!;
    console.log(
      `  ${set.padEnd(9)} route ${f.route.toFixed(3)}  sli ${f.sli.toFixed(3)}  accumulate ${f.accumulate.toFixed(3)}  = ${(f.route + f.sli + f.accumulate).toFixed(3)} µs/rec` +
        `   GC ${f.gcMs} ms   ${f.points} points/batch   requests ${f.requests}`,
    );
  }
}

await main();
