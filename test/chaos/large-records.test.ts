/**
 * Chaos: a burst of large records (150 valid records with a 5 MB raw response each — a gateway with detailed
 * recording allows that — among 150 normal ones, ~790 MB in one list) through a real agent in its own
 * process into the `file` exporter, in both delivery modes. Before, one claim pulled the whole burst:
 * the file exporter failed with "Invalid string length", at-most-once dropped every record, at-least-once
 * treated the local failure as permanent and deleted them from Redis, and the heap stayed above 1 GB.
 * Now a claim is bounded by `max_chunk_bytes`, the file exporter writes a batch line by line, every record
 * reaches the file exactly once, nothing is dropped or lost, and memory returns near its baseline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { AnalyticsRecord } from '../../src/model.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { encodeAnalytics } from '../../internal/tyk-wire/encode.js';
import { waitFor } from '../helpers/agent.js';
import { sample, smallTemplate, startPrivateRedis, uniqueMsgpack, type PrivateRedis } from '../helpers/tyk-redis.js';

const BIG = 150;
const SMALL = 150;
const RAW_BYTES = 5_000_000;
const MiB = 1024 * 1024;

interface Child {
  readonly proc: ChildProcess;
  readonly telemetryUrl: Promise<string>;
  mem(): Promise<{ rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

function startChild(yaml: string): Child {
  const proc = fork(fileURLToPath(new URL('./agent-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'], env: { ...process.env, AGENT_YAML: yaml }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const telemetryUrl = new Promise<string>((resolve, reject) => {
    proc.on('message', (m: { type: string; telemetryUrl?: string }) => {
      if (m.type === 'ready') resolve(m.telemetryUrl as string);
    });
    proc.once('exit', (code) => reject(new Error(`agent exited (${code})`)));
  });
  return {
    proc,
    telemetryUrl,
    mem: () => new Promise((resolve) => {
      const on = (m: { type: string; rss: number; heapUsed: number }) => {
        if (m.type !== 'mem') return;
        proc.off('message', on);
        resolve(m);
      };
      proc.on('message', on);
      proc.send('mem');
    }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.send('stop');
      await exited;
    },
  };
}

/**
 * Complete lines of the output file, and how many carry a 5 MB raw response. The agent may be writing
 * while this reads (a 5 MB line goes out in 1 MiB segments), so a last line without its newline is not
 * a record yet: it is left for the next read instead of being parsed half-written.
 */
async function readOutput(path: string): Promise<{ lines: number; big: number; ids: Set<string> }> {
  let lines = 0;
  let big = 0;
  const ids = new Set<string>();
  const take = (line: Buffer): void => {
    lines++;
    const r = JSON.parse(line.toString('utf8')) as { raw_response: string; timestamp: string };
    if (r.raw_response.length === RAW_BYTES) big++;
    ids.add(r.timestamp);
  };
  try {
    let pending: Buffer[] = [];
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, nl));
        take(Buffer.concat(pending));
        pending = [];
        from = nl + 1;
      }
      if (from < chunk.length) pending.push(chunk.subarray(from));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { lines, big, ids };
}

describe('chaos: a burst of 5 MB records', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const dir = mkdtempSync(join(tmpdir(), 'chaos-large-'));
  const children: Child[] = [];
  before(async () => {
    redis = await startPrivateRedis();
    admin = await redis.client();
  });
  after(async () => {
    for (const c of children) await c.stop();
    admin.disconnect();
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const delivery of ['at_least_once', 'at_most_once'] as const) {
    it(`${delivery}: every record reaches the file once, claims stay bounded, memory returns near its baseline`, async () => {
      const prefix = `large-${delivery}-`;
      const key = `${prefix}tyk-system-analytics`;
      const out = join(dir, `${delivery}.jsonl`);
      const child = startChild(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${prefix}
    uptime: false
    poll_interval: 50ms
    delivery: ${delivery}
    at_least_once: { retry_initial_interval: 50ms, retry_max_interval: 500ms }
exporters:
  file:
    path: ${out}
service:
  pipelines:
    records: { receivers: [tyk_redis], exporters: [file] }
  telemetry:
    metrics: { address: "\${env:TELEMETRY_ADDRESS}" }
`);
      children.push(child);
      const url = await child.telemetryUrl;
      const baseline = await child.mem();
      // The burst: big and normal records interleaved, each with a timestamp of its own.
      const small = smallTemplate();
      const big = encodeAnalytics({ ...(decodeAnalytics(small, 'msgpack') as AnalyticsRecord), rawResponse: 'A'.repeat(RAW_BYTES) });
      for (let i = 0; i < BIG + SMALL; i += 10) {
        await admin.rpush(key, ...Array.from({ length: 10 }, (_, j) => uniqueMsgpack((i + j) % 2 === 0 ? big : small, i + j)));
      }
      let got = await readOutput(out);
      await waitFor('every record in the file', async () => {
        got = await readOutput(out);
        return got.lines >= BIG + SMALL && (await admin.llen(key)) === 0;
      }, 120_000, 500);
      await waitFor('nothing in flight', async () => (await admin.keys(`{${prefix}*`)).length === 0, 10_000);
      got = await readOutput(out);
      assert.equal(got.lines, BIG + SMALL, 'each record once');
      assert.equal(got.ids.size, BIG + SMALL);
      assert.equal(got.big, BIG);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.equal(sample(metrics, 'tyk_otel_pump_receiver_dropped_items_total'), 0);
      assert.equal(sample(metrics, 'tyk_otel_pump_receiver_lost_items_total'), 0);
      assert.equal(sample(metrics, 'tyk_otel_pump_receiver_dead_lettered_items_total'), 0);
      // Memory after the burst (idle, after a full GC) is back near where it started. Generous bounds:
      // before, the heap stayed above 1.3 GB.
      await new Promise((r) => setTimeout(r, 500));
      const afterBurst = await child.mem();
      const heapGrowth = (afterBurst.heapUsed - baseline.heapUsed) / MiB;
      const rssGrowth = (afterBurst.rss - baseline.rss) / MiB;
      assert.ok(heapGrowth < 64, `heap grew by ${heapGrowth.toFixed(0)} MiB (baseline ${(baseline.heapUsed / MiB).toFixed(0)} MiB)`);
      assert.ok(rssGrowth < 400, `RSS grew by ${rssGrowth.toFixed(0)} MiB (baseline ${(baseline.rss / MiB).toFixed(0)} MiB)`);
      await child.stop();
    });
  }
});
