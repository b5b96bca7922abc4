/**
 * `npm run bench -- dogstatsd`: the `dogstatsd` exporter (lines built from cached tag strings, packed into
 * 1432-byte datagrams, hot-shots only as the socket) against the naive use of hot-shots (one
 * `distribution()` per latency and one `increment()` per counter per record, hot-shots' own 1432-byte
 * buffering). Both send the same metrics for fixture records (with route templates) to a real UDP
 * receiver in the parent process, which counts the lines that arrive. Each variant runs in its own child
 * process (peak RSS per variant), in interleaved rounds; the best round of each is reported.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import StatsD from 'hot-shots';
import type { AnalyticsRecord } from '../../src/model.js';
import { withRoute } from '../../src/model.js';
import type { BatchContext } from '../../src/component.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { dogstatsdConfigSchema } from '../../exporters/dogstatsd/config.js';
import { DogStatsdExporter } from '../../exporters/dogstatsd/dogstatsd.js';
import { exporterContext, udpServer } from '../helpers/statsd-server.js';

const POOL = 20_000;
const PASSES = 5;
const BATCH = 1000;
const ROUNDS = 3;
const VARIANTS = ['dogstatsd', 'hot-shots-naive'] as const;
type Variant = (typeof VARIANTS)[number];

function workload(): AnalyticsRecord[] {
  const base = loadFixtures('gateway-msgpack.jsonl').map((f) => {
    const r = decodeAnalytics(f.bytes, 'msgpack');
    const hint = f.expected['route_template_hint'];
    return typeof hint === 'string' ? withRoute(r, hint) : r;
  }).filter((r) => r.kind === 'http');
  return Array.from({ length: POOL }, (_, i) => base[i % base.length] as AnalyticsRecord);
}

async function child(variant: Variant, endpoint: string): Promise<void> {
  const records = workload();
  const bctx: BatchContext = { chunkId: undefined, defer: () => () => undefined };
  let run: (batch: readonly AnalyticsRecord[]) => Promise<void>;
  let close: () => Promise<void>;
  if (variant === 'dogstatsd') {
    const t = exporterContext('dogstatsd');
    // 1432 like the naive client (a loopback endpoint would default to 8192-byte datagrams).
    const e = new DogStatsdExporter(t.ctx, dogstatsdConfigSchema.parse({ endpoint, max_packet_bytes: 1432 }));
    await e.start();
    run = (b) => e.consumeRecords(b, bctx);
    close = async () => {
      await e.shutdown();
      await t.close();
    };
  } else {
    const [host, port] = endpoint.split(':');
    const c = new StatsD({ host, port: Number(port), prefix: 'tyk', maxBufferSize: 1432, datadog: false, includeDataDogTags: false, errorHandler: () => undefined });
    run = async (b) => {
      for (const r of b) {
        const tags: Record<string, string> = {
          api_id: r.apiId, api_name: r.apiName, org_id: r.orgId, method: r.method, status_code: String(r.responseCode),
          status_class: `${Math.floor(r.responseCode / 100)}xx`,
        };
        if (r.route !== '') tags['route'] = r.route;
        c.distribution('request.duration.total', r.latency.total / 1000, tags);
        c.distribution('request.duration.upstream', r.latency.upstream / 1000, tags);
        c.distribution('request.duration.gateway', r.latency.gateway / 1000, tags);
        c.increment('requests', 1, tags);
        c.increment(r.responseCode >= 500 ? 'requests.bad' : 'requests.good', 1, tags);
      }
    };
    close = () => new Promise<void>((r) => c.close(() => r()));
  }
  for (let i = 0; i < 5000; i += BATCH) await run(records.slice(i, i + BATCH));
  const t0 = process.hrtime.bigint();
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < records.length; i += BATCH) await run(records.slice(i, i + BATCH));
  }
  await close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ variant, perSec: Math.round((PASSES * records.length) / s), rssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

interface Result { perSec: number; rssMiB: number; lines: number; datagrams: number; distributions: number }

async function runVariant(file: string, v: Variant): Promise<Result> {
  const sink = await udpServer();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', file, `--variant=${v}`, `--endpoint=${sink.endpoint}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${v} exited with ${String(code)}`))));
    });
    await sink.settle(300);
    const got = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { perSec: number; rssMiB: number };
    const lines = sink.lines();
    return { ...got, lines: lines.length, datagrams: sink.datagrams.length, distributions: lines.filter((l) => l.includes('|d')).length };
  } finally {
    await sink.close();
  }
}

async function main(): Promise<void> {
  const variant = process.argv.find((a) => a.startsWith('--variant='));
  const endpoint = process.argv.find((a) => a.startsWith('--endpoint='));
  if (variant && endpoint) {
    await child(variant.slice('--variant='.length) as Variant, endpoint.slice('--endpoint='.length));
    return;
  }
  const file = fileURLToPath(import.meta.url);
  const results: Partial<Record<Variant, Result>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of VARIANTS) {
      const got = await runVariant(file, v);
      const best = results[v];
      if (!best || got.perSec > best.perSec) results[v] = got;
    }
  }
  const sent = (5000 + PASSES * POOL) * 3;
  console.log(`dogstatsd exporter: ${PASSES} passes over ${POOL} fixture records (route templates) in batches of ${BATCH} to a UDP receiver, best of ${ROUNDS} interleaved rounds`);
  for (const v of VARIANTS) {
    const r = results[v] as Result;
    console.log(`  ${v.padEnd(16)} ${String(r.perSec).padStart(8)} records/s   peak RSS ${String(r.rssMiB).padStart(4)} MiB   ${r.datagrams} datagrams, ${r.distributions}/${sent} distribution values received`);
  }
  const ours = results['dogstatsd'] as Result;
  const naive = results['hot-shots-naive'] as Result;
  console.log(`  ratio dogstatsd/hot-shots-naive: ${(ours.perSec / naive.perSec).toFixed(2)}x throughput, ${(naive.datagrams / ours.datagrams).toFixed(2)}x fewer datagrams`);
}

await main();
