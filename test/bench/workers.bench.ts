/**
 * `npm run bench -- workers`: `service.workers` — the same agent (`tyk_redis → route → sli →
 * prometheus`, a real in-process `Agent` from YAML) with its pipelines on the main thread (`workers: 0`,
 * the reference) and in 1, 2, 3 worker threads, each run in its own child process limited to a CPU set
 * with `taskset -c` (`0`: one core; `0,1`: two), so one machine shows how the speed-up depends on the cores
 * the agent gets. The private redis-server is not pinned: it competes with the agent for the same cores,
 * as on a host that runs both.
 *
 * The backlog (the gateway msgpack fixtures cycled, each record unique) is built under another key and
 * RENAMEd into place once the agent has started (its workers too), so start-up is not timed; the clock
 * stops when the main thread's prometheus exporter has every HTTP record. Each child reports records/s,
 * CPU µs per record (all threads), peak RSS, and the RSS of the idle agent after the drain.
 *
 * `BENCH_N` (default 200 000), `BENCH_REPEATS` (default 2, best round reported), `BENCH_CPUS`
 * (default `0;0,1`), `BENCH_WORKERS` (default `0,1,2,3`).
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { ComponentContext, Factory } from '../../src/component.js';
import { loadConfigText } from '../../src/config/load.js';
import { Agent } from '../../src/agent.js';
import { factories } from '../../src/factories.js';
import { silentLogger } from '../../src/logger.js';
import type { PrometheusMetricsExporter } from '../../exporters/prometheus/prometheus.js';
import { startPrivateRedis } from '../helpers/tyk-redis.js';
import { childArgs, gatewayBacklog, measureProcess, replyAsChild, runChild } from './harness.js';

const PREFIX = 'bench-workers-';
const KEY = `${PREFIX}tyk-system-analytics`;
const STAGING = `${PREFIX}staging`;

interface Job {
  readonly port: number;
  readonly workers: number;
  readonly httpRecords: number;
  readonly n: number;
}

interface Result {
  readonly workers: number;
  readonly cpus: string;
  readonly seconds: number;
  readonly perSecond: number;
  readonly cpuUsPerRecord: number;
  readonly peakRssMiB: number;
  readonly idleRssMiB: number;
  readonly startedRssMiB: number;
}

async function child(job: Job): Promise<Result> {
  let exporter: PrometheusMetricsExporter | undefined;
  const capturing: Factory[] = factories.map((f) =>
    f.kind === 'exporter' && f.type === 'prometheus'
      ? { ...f, create: (ctx: ComponentContext, config: unknown) => (exporter = f.create(ctx, config) as PrometheusMetricsExporter) }
      : f,
  );
  const loaded = loadConfigText(`
receivers:
  tyk_redis:
    endpoint: redis://127.0.0.1:${job.port}/0
    key_prefix: ${PREFIX}
    uptime: false
    poll_interval: 10ms
processors:
  route: {}
  sli: {}
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
service:
  workers: ${job.workers}
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [route, sli]
      exporters: [prometheus]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`, 'bench.yaml', capturing);
  if (!loaded.config) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const agent = new Agent(loaded.config, { logger: silentLogger() });
  await agent.start();
  const startedRssMiB = process.memoryUsage.rss() / 1048576;
  const client = new Redis({ port: job.port, lazyConnect: true });
  await client.connect();
  const acc = (exporter as PrometheusMetricsExporter).accumulator;
  const m = measureProcess();
  await client.rename(STAGING, KEY);
  while (acc.total('tyk_api_requests_total') < job.httpRecords) await new Promise((r) => setTimeout(r, 5));
  const { seconds, cpuUs } = m.stop();
  m.close();
  // Sampled from the rename on (not the process's lifetime peak: the agent's start-up is not timed either).
  const peakRssMiB = m.peakRssMiB(false);
  if (acc.total('tyk_api_requests_total') !== job.httpRecords) throw new Error(`counted ${acc.total('tyk_api_requests_total')} of ${job.httpRecords}`);
  await new Promise((r) => setTimeout(r, 1000));
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const idleRssMiB = process.memoryUsage.rss() / 1048576;
  await agent.shutdown();
  client.disconnect();
  return { workers: job.workers, cpus: '', seconds, perSecond: job.n / seconds, cpuUsPerRecord: cpuUs / job.n, peakRssMiB, idleRssMiB, startedRssMiB };
}

const args = childArgs();
if (args) await replyAsChild(child(JSON.parse(args[0] as string) as Job));
else {
  const N = Number(process.env['BENCH_N'] ?? 200_000);
  const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 2);
  const CPUS = (process.env['BENCH_CPUS'] ?? '0;0,1').split(';');
  const WORKERS = (process.env['BENCH_WORKERS'] ?? '0,1,2,3').split(',').map(Number);
  const backlog = gatewayBacklog();
  const httpRecords = backlog.httpRecords(N);
  const redis = await startPrivateRedis(['--maxmemory', '0']);
  const client = await redis.client();
  const self = fileURLToPath(import.meta.url);
  const results = new Map<string, Result[]>();
  try {
    console.log(`workers bench: ${N} records (${httpRecords} HTTP), private redis-server (not pinned: it shares the agent's cores), agent under tsx; best of ${REPEATS} interleaved rounds`);
    for (let round = 0; round < REPEATS; round++) {
      for (const cpus of CPUS) {
        for (const workers of WORKERS) {
          await client.del(KEY);
          await backlog.fill(client, STAGING, N);
          const job: Job = { port: redis.port, workers, httpRecords, n: N };
          const got = { ...runChild<Result>(self, [JSON.stringify(job)], { cpus, what: `workers ${workers} on cpus ${cpus}` }), cpus };
          const left = await client.llen(KEY);
          if (left !== 0) throw new Error(`workers ${workers}: ${left} records left`);
          console.log(`  round ${round + 1}: taskset -c ${cpus}, workers ${workers}: ${Math.round(got.perSecond)} rec/s, ${got.cpuUsPerRecord.toFixed(1)} µs CPU/rec, peak RSS ${got.peakRssMiB.toFixed(0)} MiB`);
          const k = `${cpus}/${workers}`;
          results.set(k, [...(results.get(k) ?? []), got]);
        }
      }
    }
    for (const cpus of CPUS) {
      console.log(`\ntaskset -c ${cpus} (${cpus.split(',').length} core(s) for the agent; redis-server unpinned)`);
      const best = (k: string) => (results.get(k) as Result[]).reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
      const ref = best(`${cpus}/0`);
      for (const workers of WORKERS) {
        const r = best(`${cpus}/${workers}`);
        const name = workers === 0 ? 'workers: 0 (main thread)' : `workers: ${workers}`;
        console.log(`${name.padEnd(26)} ${Math.round(r.perSecond).toString().padStart(7)} rec/s  ${(r.perSecond / ref.perSecond).toFixed(2)}×  ${r.seconds.toFixed(2).padStart(6)} s  ${r.cpuUsPerRecord.toFixed(1).padStart(5)} µs CPU/rec  peak RSS ${r.peakRssMiB.toFixed(0).padStart(4)} MiB  started ${r.startedRssMiB.toFixed(0)} MiB, idle after the drain ${r.idleRssMiB.toFixed(0)} MiB`);
      }
    }
  } finally {
    client.disconnect();
    await redis.destroy();
  }
}
