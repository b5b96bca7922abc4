/**
 * `npm run bench -- pipeline`: the whole first-use path on a big backlog — records in Redis → `tyk_redis`
 * → `route` → `sli` → `prometheus` — with **the agent as a user runs it**: the compiled CLI (`npm run
 * build` first, then `bin/tyk-otel-pump.js run --config FILE` in a child process, default settings,
 * default `chunk_size`), timed from the first record claimed to the last one visible in `/metrics` and
 * watched from outside (see `pipeline-agent.ts`): records/s, CPU per record (`/proc/<pid>/stat`), peak RSS
 * (`VmHWM`), the RSS at each tenth of the backlog, the idle RSS after the drain, a scrape's time and size.
 * A second agent variant adds an `audit_log → otlp_http` logs pipeline beside the metrics one, sending to
 * a local OTLP sink process that counts the log records it receives.
 *
 * References measured in the same run, on the same private redis-server, records and chunk:
 * - two **claim floors**: the receiver's own claim ({@link claimInflight}) and Tyk Pump's `MULTI LRANGE/
 *   LTRIM`, elements read as Buffers and dropped; the ratio of the agent to them is printed first;
 * - the **naive** path computing the same output: the same chunked claims, `msgpackr.unpack` of each whole
 *   record, and direct OTel SDK calls per record (`http.server.request.duration`, upstream and gateway
 *   histograms with the semconv buckets, the request counter; the agent's 6 attributes (`http.route` by a
 *   regex) + `error.type`) on a MeterProvider with a Prometheus reader attached.
 * Those run in-process in a tsx child each ({@link VARIANTS}).
 *
 * Input: the msgpack fixtures of every gateway generation (real gateway bytes, network-stats records
 * included), cycled, each made unique by its `TimeStamp` nanoseconds, generated inside a private
 * redis-server; and a high-path-diversity set (see {@link diverseRecords}). Variants run in interleaved
 * rounds; the best round of each is reported. Every variant's totals are checked against the expected counts.
 *
 * `BENCH_N` records per run (default 1 000 000), `BENCH_REPEATS` rounds (default 2), `BENCH_SETS`
 * (`fixtures,diverse`), `BENCH_VARIANTS` (comma-separated substrings of variant names; default all but
 * the DogStatsD one), `BENCH_BUILD=0` (use dist/ as it is), `BENCH_AGENT_RECEIVER` / `BENCH_AGENT_SLI` (extra keys of
 * the receiver's / the sli processor's config, YAML flow-map entries), `BENCH_AGENT_NODE_OPTIONS` (the agent's NODE_OPTIONS), `BENCH_AGENT_NODE_ARGS` (flags on the agent's node
 * command line, e.g. `--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS refuses), `BENCH_OTLP_GZIP_LEVEL`
 * (the logs variant's gzip level, `compression_params.level`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Packr, Unpackr } from 'msgpackr';
import { Redis } from 'ioredis';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Attributes } from '@opentelemetry/api';
import { compileErrorDefinition } from '../../src/error-definition.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { freePort, startPrivateRedis } from '../helpers/tyk-redis.js';
import { claimInflight, defineScripts } from '../../receivers/tyk_redis/scripts.js';
import type { RedisClient } from '../../internal/redis/connection.js';
import { runCompiledAgent, startLogsSink, type AgentRun } from './pipeline-agent.js';
import { childArgs, gatewayBacklog, measureProcess, replyAsChild, runChild } from './harness.js';

const PREFIX = 'bench-pipe-';
const KEY = `${PREFIX}tyk-system-analytics`;
/** The receiver's default `chunk_size`: the floors and the naive path claim as many per step as the agent. */
const CHUNK = 1000;
/** The receiver's default `max_chunk_bytes` is far above 1000 records of these sizes; the floor uses it too. */
const FLOOR_MAX_BYTES = 64 * 1024 * 1024;
const SEMCONV_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** What a variant's run reports. */
interface Result {
  variant: string;
  /** HTTP records the variant counted (must equal the expected count). */
  requests: number;
  seconds: number;
  perSecond: number;
  cpuUsPerRecord: number;
  peakRssMiB: number;
  /** RSS before the run: a child's once its modules are loaded (tsx alone ~40 MiB); the agent's at its first claim. */
  startRssMiB: number;
  /** Peak RSS including the variant's check after the run (the agent: one real scrape of /metrics). */
  peakWithCheckMiB: number;
  /** The compiled agent's extra figures. */
  agent?: AgentRun;
  /** Extra facts a variant reports (printed under its line). */
  note?: string;
}

/** What an in-process variant's run gives back: the requests it counted, and a check to run after the clock stopped. */
interface Outcome {
  readonly requests: number;
  readonly check?: () => Promise<void>;
}

/** Everything a variant gets: the Redis port, the backlog size, and how many HTTP records it holds. */
interface Job {
  readonly port: number;
  readonly n: number;
  readonly httpRecords: number;
  /** The high-path-diversity data set (the agent: a larger sli cardinality_limit). */
  readonly diverse: boolean;
}

// --- the compiled agent (run from the parent, see pipeline-agent.ts) --------------------------------------

/** BENCH_OTLP_GZIP_LEVEL: the logs variant's `otlp_http` `compression_params.level` (default: the exporter's). */
const GZIP_LEVEL = process.env['BENCH_OTLP_GZIP_LEVEL'];

/** The agent's config: defaults everywhere but the endpoints (and, on the diverse set, room for its series). */
function agentYaml(job: Job, ports: { prom: number; telemetry: number }, extra: { logsEndpoint?: string; dogstatsd?: number } = {}): string {
  // BENCH_AGENT_RECEIVER / BENCH_AGENT_SLI: extra keys of the receiver's / the sli processor's config, as
  // YAML flow-map entries (`max_unacked_chunks: 16` / `emit_max_chunks: 10, emit_interval: 100ms`), for A/B runs of one dist/.
  const receiverExtra = process.env['BENCH_AGENT_RECEIVER'] ?? '';
  const sli = [job.diverse ? 'cardinality_limit: 8000' : '', process.env['BENCH_AGENT_SLI'] ?? ''].filter((s) => s !== '').join(', ');
  return `
receivers:
  tyk_redis: {endpoint: "redis://127.0.0.1:${job.port}/0", key_prefix: ${PREFIX}${receiverExtra === '' ? '' : `, ${receiverExtra}`}}
processors:
  route: {}
  sli: {${sli}}${extra.logsEndpoint === undefined ? '' : '\n  audit_log: {}'}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${ports.prom}${extra.logsEndpoint === undefined ? '' : `\n  otlp_http:\n    endpoint: ${extra.logsEndpoint}${GZIP_LEVEL === undefined ? '' : `\n    compression_params: { level: ${GZIP_LEVEL} }`}`}${extra.dogstatsd === undefined ? '' : `\n  dogstatsd:\n    endpoint: 127.0.0.1:${extra.dogstatsd}`}
service:
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [route, sli]
      exporters: [prometheus]${extra.logsEndpoint === undefined ? '' : `
    logs:
      receivers: [tyk_redis]
      processors: [audit_log]
      exporters: [otlp_http]`}${extra.dogstatsd === undefined ? '' : `
    records/datadog:
      receivers: [tyk_redis]
      processors: [route]
      exporters: [dogstatsd]`}
  telemetry:
    metrics:
      address: 127.0.0.1:${ports.telemetry}
`;
}

function agentResult(variant: string, job: Job, a: AgentRun, note?: string): Result {
  return {
    variant, requests: a.requests, seconds: a.seconds, perSecond: job.n / a.seconds, cpuUsPerRecord: a.cpuUsPerRecord,
    peakRssMiB: a.peakRssMiB, startRssMiB: a.startRssMiB, peakWithCheckMiB: a.peakWithScrapeMiB, agent: a, note,
  };
}

/** The agent, metrics only: `tyk_redis → route → sli → prometheus`. One scrape mid-drain (its stall). */
async function agentMetrics(variant: string, job: Job, client: Redis): Promise<Result> {
  const ports = { prom: await freePort(), telemetry: await freePort() };
  const a = await runCompiledAgent({
    yaml: agentYaml(job, ports), redis: client, key: KEY, n: job.n, httpRecords: job.httpRecords,
    promPort: ports.prom, telemetryPort: ports.telemetry, midScrape: true,
  });
  return agentResult(variant, job, a);
}

/** The agent with an `audit_log → otlp_http` logs pipeline beside the metrics one; done when the sink has every log record too. */
async function agentLogs(variant: string, job: Job, client: Redis): Promise<Result> {
  const ports = { prom: await freePort(), telemetry: await freePort() };
  const sink = await startLogsSink();
  try {
    const a = await runCompiledAgent({
      yaml: agentYaml(job, ports, { logsEndpoint: `http://127.0.0.1:${sink.port}` }), redis: client, key: KEY, n: job.n,
      httpRecords: job.httpRecords, promPort: ports.prom, telemetryPort: ports.telemetry,
      done: async () => (await sink.count()).records >= job.httpRecords,
    });
    const got = await sink.count();
    if (got.records !== job.httpRecords) throw new Error(`the OTLP sink counted ${got.records} log records of ${job.httpRecords}`);
    return agentResult(variant, job, a, `otlp sink: ${got.records} log records in ${got.requests} requests, ${(got.bytes / 1048576).toFixed(1)} MB gzipped`);
  } finally {
    sink.stop();
  }
}

/** The agent with a DogStatsD records pipeline next to the Prometheus one; the sink's `tyk.requests` total must match. */
async function agentDogstatsd(variant: string, job: Job, client: Redis): Promise<Result> {
  const sink = spawn(process.execPath, ['-e', DOGSTATSD_SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  sink.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
    return lines.shift() as string;
  };
  const sinkPort = Number(await nextLine());
  const ports = { prom: await freePort(), telemetry: await freePort() };
  const a = await runCompiledAgent({
    yaml: agentYaml(job, ports, { dogstatsd: sinkPort }), redis: client, key: KEY, n: job.n, httpRecords: job.httpRecords,
    promPort: ports.prom, telemetryPort: ports.telemetry,
  });
  sink.stdin.write('report\n');
  const got = JSON.parse(await nextLine()) as { datagrams: number; distributions: number; requests: number };
  if (got.requests !== a.requests) throw new Error(`the DogStatsD receiver counted ${got.requests} requests, Prometheus ${a.requests}`);
  return agentResult(variant, job, a, `dogstatsd: ${got.distributions}/${job.httpRecords * 3} distribution values in ${got.datagrams} datagrams received`);
}

// --- references (each in its own tsx child process) -------------------------------------------------------

/** Naive: chunked LRANGE/LTRIM, `msgpackr.unpack` per record, SDK instrument calls per record. */
async function naive(job: Job): Promise<Outcome> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('naive');
  const advice = { explicitBucketBoundaries: SEMCONV_BUCKETS };
  const duration = meter.createHistogram('http.server.request.duration', { unit: 's', advice });
  const upstream = meter.createHistogram('tyk.upstream.request.duration', { unit: 's', advice });
  const gateway = meter.createHistogram('tyk.gateway.request.duration', { unit: 's', advice });
  const requests = meter.createCounter('tyk.api.requests', { unit: '{request}' });
  const errors = compileErrorDefinition();
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  const client = new Redis({ port: job.port, lazyConnect: true });
  await client.connect();
  for (;;) {
    const res = await client.multi().lrangeBuffer(KEY, 0, CHUNK - 1).ltrim(KEY, CHUNK, -1).exec();
    const items = (res?.[0]?.[1] ?? []) as Buffer[];
    if (items.length === 0) break;
    for (const bytes of items) {
      const o = unpackr.unpack(bytes) as Record<string, unknown>;
      const code = Number(o['ResponseCode']);
      if (code === -1) continue;
      const lat = o['Latency'] as Record<string, number>;
      // The route as the route processor's built-in rules give it: listen path + path, numeric segments as {id}.
      const route = String(o['ListenPath'] ?? '').replace(/\/$/, '') + String(o['Path']).replace(/\/\d+(?=\/|$)/g, '/{id}');
      const attrs: Attributes = {
        'http.route': route,
        'http.request.method': String(o['Method']), 'http.response.status_code': code,
        'tyk.api.id': String(o['APIID']), 'tyk.api.name': String(o['APIName']), 'tyk.org.id': String(o['OrgID']),
      };
      const errorType = errors.errorType(code);
      if (errorType !== undefined) attrs['error.type'] = errorType;
      const total = Number(o['RequestTime']);
      const up = Number(lat['Upstream'] ?? 0);
      duration.record(total / 1000, attrs);
      upstream.record(up / 1000, attrs);
      gateway.record((lat['Gateway'] ?? total - up) / 1000, attrs);
      requests.add(1, attrs);
    }
  }
  client.disconnect();
  const { resourceMetrics } = await reader.collect();
  let total = 0;
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) if (m.descriptor.name === 'tyk.api.requests') for (const dp of m.dataPoints) total += dp.value as number;
  }
  return { requests: total, check: () => provider.shutdown() };
}

/** Checks a floor drained the whole backlog; a floor decodes nothing, so it reports the expected requests. */
function drained(job: Job, count: number): Outcome {
  if (count !== job.n) throw new Error(`the floor claimed ${count} of ${job.n} records`);
  return { requests: job.httpRecords };
}

/**
 * Claim floor, the receiver's own claim: its Lua script (the chunk copied into an in-flight list) plus the `LRANGE`
 * read-back (one round trip, {@link claimInflight}), then the acknowledgement (`DEL` of the in-flight
 * list, sent without waiting: one connection runs commands in order). Elements arrive as Buffers and are dropped.
 */
async function floorLua(job: Job): Promise<Outcome> {
  const client = defineScripts(new Redis({ port: job.port, lazyConnect: true }) as RedisClient);
  await client.connect();
  const inflight = `${KEY}:inflight:bench`;
  let count = 0;
  for (let i = 0; ; i++) {
    const { items } = await claimInflight(client, KEY, inflight, CHUNK, FLOOR_MAX_BYTES, `bench:${i}`);
    if (items.length === 0) break;
    count += items.length;
    void client.del(inflight);
  }
  await client.del(inflight);
  client.disconnect();
  return drained(job, count);
}

/** Claim floor, Tyk Pump's claim: `MULTI LRANGE 0 CHUNK-1 / LTRIM CHUNK -1 EXEC`, elements as Buffers, dropped. */
async function floorMulti(job: Job): Promise<Outcome> {
  const client = new Redis({ port: job.port, lazyConnect: true });
  await client.connect();
  let count = 0;
  for (;;) {
    const res = await client.multi().lrangeBuffer(KEY, 0, CHUNK - 1).ltrim(KEY, CHUNK, -1).exec();
    const items = (res?.[0]?.[1] ?? []) as Buffer[];
    if (items.length === 0) break;
    count += items.length;
  }
  client.disconnect();
  return drained(job, count);
}

/**
 * A UDP receiver standing in for the Datadog Agent, in its own process (receiving costs the variant
 * nothing): counts datagrams, distribution values and the `tyk.requests` counter total it received.
 */
const DOGSTATSD_SINK = `
const s = require('node:dgram').createSocket('udp4');
const r = { datagrams: 0, distributions: 0, requests: 0 };
s.on('message', (m) => {
  r.datagrams++;
  for (const l of m.toString().split('\\n')) {
    if (l.includes('|d')) r.distributions++;
    else if (l.startsWith('tyk.requests:')) r.requests += Number(l.slice(13, l.indexOf('|')));
  }
});
s.bind(0, '127.0.0.1', () => { s.setRecvBufferSize(4 << 20); console.log(s.address().port); });
process.stdin.on('data', () => setTimeout(() => { console.log(JSON.stringify(r)); process.exit(0); }, 300));
`;

/** The in-process variants: floors and the naive baseline, each run in its own tsx child. */
const VARIANTS: Readonly<Record<string, (job: Job) => Promise<Outcome>>> = {
  'floor: receiver claim (script + LRANGE)': floorLua,
  'floor: MULTI LRANGE/LTRIM': floorMulti,
  'naive: msgpackr.unpack + SDK record()': naive,
};
/** The compiled-agent variants, run from the parent. */
const AGENT_VARIANTS: Readonly<Record<string, (variant: string, job: Job, client: Redis) => Promise<Result>>> = {
  'agent: tyk_redis → route → sli → prometheus': agentMetrics,
  'agent: + audit_log → otlp_http logs': agentLogs,
  'agent: + dogstatsd (per-record |d)': agentDogstatsd,
};
const OURS = 'agent: tyk_redis → route → sli → prometheus';
const OURS_LOGS = 'agent: + audit_log → otlp_http logs';
const FLOOR = 'floor: receiver claim (script + LRANGE)';
const FLOOR_MULTI = 'floor: MULTI LRANGE/LTRIM';
const BASELINE = 'naive: msgpackr.unpack + SDK record()';
/** The order of a round. */
const ORDER = [OURS, FLOOR, FLOOR_MULTI, OURS_LOGS, 'agent: + dogstatsd (per-record |d)', BASELINE];
/** Run unless BENCH_VARIANTS names others. */
const DEFAULT_VARIANTS = [OURS, FLOOR, FLOOR_MULTI, OURS_LOGS, BASELINE];

/**
 * The high-path-diversity data set: the HTTP fixtures of the current gateway format, re-encoded with
 * `DIVERSE_APIS` APIs × 50 endpoints × 5 methods × 2 status codes (4000 (API, route, method, status)
 * combinations, all in every `4000` records) and a distinct numeric id in each of `distinct` raw paths
 * (the route processor templates it to `{id}`). Returns `distinct` encoded records to cycle.
 */
const DIVERSE_APIS = 8;
function diverseRecords(distinct: number): Buffer[] {
  const base = loadFixtures('gateway-msgpack.jsonl').filter((f) => f.expected['response_code'] !== -1);
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const out: Buffer[] = [];
  for (let i = 0; i < distinct; i++) {
    const o = unpackr.unpack((base[i % base.length] as { bytes: Buffer }).bytes) as Record<string, unknown>;
    const api = i % DIVERSE_APIS;
    const route = Math.floor(i / DIVERSE_APIS) % 50;
    const path = `/svc${api}/resource${route}/${100000 + i}`;
    o['APIID'] = `bench-api-${api}`;
    o['APIName'] = `Bench API ${api}`;
    o['OrgID'] = 'bench-org';
    o['APIVersion'] = 'v1';
    o['Path'] = path;
    o['RawPath'] = path;
    o['ListenPath'] = `/svc${api}/`;
    o['Method'] = methods[Math.floor(i / 400) % 5];
    o['ResponseCode'] = Math.floor(i / 2000) % 2 === 0 ? 200 : 503;
    // msgpackr writes Go's zero time (seconds beyond int32) as a float64, which the decoder's fast path
    // refuses (the gateway writes an integer): every record would take the tolerant slow path.
    o['ExpireAt'] = o['TimeStamp'];
    out.push(packr.pack(o));
  }
  return out;
}

async function child(variant: string, job: Job): Promise<Result> {
  const run = VARIANTS[variant];
  if (!run) throw new Error(`unknown variant ${variant}`);
  const m = measureProcess();
  const { requests, check } = await run(job);
  const { seconds, cpuUs } = m.stop();
  const peakRssMiB = m.peakRssMiB(true);
  await check?.();
  m.close();
  return { variant, requests, seconds, perSecond: job.n / seconds, cpuUsPerRecord: cpuUs / job.n, peakRssMiB, startRssMiB: m.startRssMiB, peakWithCheckMiB: m.peakRssMiB(true) };
}

// --- parent ------------------------------------------------------------------------------------------------

const args = childArgs();
if (args) await replyAsChild(child(args[0] as string, JSON.parse(args[1] as string) as Job));
else {
  const N = Number(process.env['BENCH_N'] ?? 1_000_000);
  const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 2);
  const SETS = (process.env['BENCH_SETS'] ?? 'fixtures,diverse').split(',');
  const wanted = process.env['BENCH_VARIANTS']?.split(',');
  const selected = ORDER.filter((v) => (wanted ? wanted.some((w) => v.includes(w)) : DEFAULT_VARIANTS.includes(v)));
  const root = fileURLToPath(new URL('../../', import.meta.url));
  // BENCH_BUILD=0 skips the build (A/B runs of the same dist/).
  const build = process.env['BENCH_BUILD'] === '0' ? { status: 0 } : spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const backlog = gatewayBacklog();
  const httpRecords = backlog.httpRecords(N);
  const redis = await startPrivateRedis(['--maxmemory', '0']);
  const client = await redis.client();
  const self = fileURLToPath(import.meta.url);
  const diverse = diverseRecords(24_000);
  const run = async (variant: string, isDiverse: boolean): Promise<Result> => {
    if (isDiverse) {
      await client.del(KEY);
      for (let done = 0; done < N; done += 1000) {
        const batch: Buffer[] = [];
        for (let i = done; i < Math.min(done + 1000, N); i++) batch.push(diverse[i % diverse.length] as Buffer);
        await client.rpush(KEY, ...batch);
      }
    } else {
      await backlog.fill(client, KEY, N);
    }
    const job: Job = { port: redis.port, n: N, httpRecords: isDiverse ? N : httpRecords, diverse: isDiverse };
    let got: Result;
    const agent = AGENT_VARIANTS[variant];
    if (agent) got = await agent(variant, job, client);
    else got = runChild<Result>(self, [variant, JSON.stringify(job)], { what: variant });
    const left = await client.llen(KEY);
    if (got.requests !== job.httpRecords || left !== 0) throw new Error(`${variant}: counted ${got.requests} of ${job.httpRecords} requests, ${left} records left`);
    return got;
  };
  const fmt = (r: Result) => {
    const lines = [
      `${r.variant.padEnd(46)} ${Math.round(r.perSecond).toString().padStart(8)} rec/s  ${r.seconds.toFixed(2).padStart(6)} s  ${r.cpuUsPerRecord.toFixed(2).padStart(6)} µs CPU/rec  peak RSS ${r.peakRssMiB.toFixed(0).padStart(4)} MiB (${r.startRssMiB.toFixed(0)} at start, ${r.peakWithCheckMiB.toFixed(0)} with the check)`,
    ];
    const a = r.agent;
    if (a) {
      lines.push(`of the CPU per record, system (kernel) time: ${a.sysUsPerRecord.toFixed(2)} µs`);
      lines.push(`RSS at each tenth of the backlog (MiB): ${a.rssByTenth.map((x) => x.toFixed(0)).join(' ')}; idle 3 s after the drain: ${a.idleRssMiB.toFixed(0)} MiB`);
      lines.push(`scrape after the drain: ${a.scrapeMs.toFixed(0)} ms, ${(a.scrapeBytes / 1048576).toFixed(1)} MB, ${a.histogramSeries} histogram series${a.midScrapeMs === undefined ? '' : `; a scrape at half the backlog: ${a.midScrapeMs.toFixed(0)} ms`}`);
      const w = Object.entries(a.windows);
      if (w.length > 0) {
        const total = w.reduce((t, [, x]) => ({ windows: t.windows + x.windows, chunks: t.chunks + x.chunks }), { windows: 0, chunks: 0 });
        lines.push(`sli windows: ${total.windows}, ${(total.chunks / total.windows).toFixed(1)} chunks each on average (by trigger: ${w.map(([t, x]) => `${t} ${x.windows} × ${(x.chunks / x.windows).toFixed(1)}`).join(', ')})`);
      }
    }
    if (r.note) lines.push(r.note);
    return lines.join(`\n${''.padEnd(48)}`);
  };
  const best = (rs: Result[]) => rs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  try {
    const avg = backlog.avgBytes;
    const avgDiverse = Math.round(diverse.reduce((a, b) => a + b.length, 0) / diverse.length);
    const sets: [string, boolean][] = [];
    if (SETS.includes('fixtures')) sets.push([`fixture cycle: ${N} records (${httpRecords} HTTP) from ${backlog.fixtures.length} msgpack fixtures (avg ${avg} B)`, false]);
    if (SETS.includes('diverse')) sets.push([`high path diversity: ${N} HTTP records cycling ${diverse.length} distinct raw paths over ${DIVERSE_APIS} APIs, 4000 (API, route, method, status) series (avg ${avgDiverse} B)`, true]);
    const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
    console.log(`pipeline bench: private redis-server, chunk ${CHUNK} for every variant, the agent compiled (dist/, default settings) in its own process; best of ${REPEATS} interleaved rounds; ${load}`);
    for (const [title, isDiverse] of sets) {
      const results: Record<string, Result[]> = {};
      for (let i = 0; i < REPEATS; i++) {
        for (const v of selected) (results[v] ??= []).push(await run(v, isDiverse));
      }
      console.log(`\n${title}`);
      const f = results[FLOOR] ? best(results[FLOOR]) : undefined;
      const m = results[FLOOR_MULTI] ? best(results[FLOOR_MULTI]) : undefined;
      const ratio = (name: string, target: number) => {
        const o = results[name] ? best(results[name]) : undefined;
        if (!o || !f || !m) return;
        console.log(`RATIO ${name} / claim floor: ${(o.perSecond / f.perSecond).toFixed(2)} of the receiver's claim (${(o.perSecond / m.perSecond).toFixed(2)} of MULTI LRANGE/LTRIM); target >= ${target}`);
      };
      ratio(OURS, 0.5);
      ratio(OURS_LOGS, 0.3);
      for (const v of selected) console.log(fmt(best(results[v] as Result[])));
      const o = results[OURS] ? best(results[OURS]) : undefined;
      const b = results[BASELINE] ? best(results[BASELINE]) : undefined;
      if (o && b) console.log(`ratio agent/naive: ${(o.perSecond / b.perSecond).toFixed(2)}× records/s, ${(b.cpuUsPerRecord / o.cpuUsPerRecord).toFixed(2)}× less CPU per record, peak RSS ${o.peakRssMiB.toFixed(0)} vs ${b.peakRssMiB.toFixed(0)} MiB`);
    }
  } finally {
    client.disconnect();
    await redis.destroy();
  }
}
