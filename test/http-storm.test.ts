/**
 * A scrape storm against a real agent (Redis → sli → prometheus, served on the same listener as
 * `/health` and `/ready`, as with the default config): 50 concurrent scrapers of a multi-MB `/metrics`
 * for a few seconds, run from a separate process, while records keep arriving in Redis.
 *
 * Bounds are relative to a solo scrape measured in the same test, generous for a loaded 2-core machine,
 * yet far below what the storm cost before single-flight rendering and sliced serialization (every probe
 * then queued behind ~50 renders: 50 × the solo scrape).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import type { StormOptions, StormResult } from './helpers/scrape-storm.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const APIS = 20;
const CODES = [200, 201, 404, 503];

/** Record `i`: one of APIS × CODES × 2 methods series (160), each with its own long-ish label values. */
function record(i: number, nowSec: number): Buffer {
  const api = i % APIS;
  const status = CODES[Math.floor(i / APIS) % CODES.length] as number;
  return packr.pack({
    Method: Math.floor(i / (APIS * CODES.length)) % 2 === 0 ? 'GET' : 'POST', Host: 'upstream.internal:8080', Path: `/v1/items`, RawPath: '/v1/items',
    ContentLength: 10 + (i % 500), UserAgent: 'storm/1.0', ResponseCode: status, APIKey: '', TimeStamp: [nowSec, 0],
    APIVersion: 'v1', APIName: `Storm API number ${api} of the scrape storm test`, APIID: `storm-api-${api}-0123456789abcdef`, OrgID: 'org-storm-0123456789',
    OauthID: '', RequestTime: 5 + (i % 900), RawRequest: '', RawResponse: '', IPAddress: '203.0.113.7',
    Latency: { Total: 5 + (i % 900), Upstream: 3 + (i % 800), Gateway: 2 }, Tags: null, Alias: '', TrackPath: false,
  });
}

/** Scrapers and a prober, each in a process of its own; the prober's result carries the probe figures. */
async function runStorm(o: StormOptions): Promise<StormResult> {
  const [scrape, probe] = await Promise.all([runChild(o), runChild({ ...o, scrapers: 0 })]);
  return { ...scrape, probes: probe.probes, probeErrors: probe.probeErrors, probeMs: probe.probeMs };
}

function runChild(o: StormOptions): Promise<StormResult> {
  const script = fileURLToPath(new URL('./helpers/scrape-storm.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as StormResult) : reject(new Error(`scrape-storm exited ${code}`))));
  });
}

describe('HTTP server under a scrape storm', { timeout: 120_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent;
  let key: string;

  before(async () => {
    redis = await testRedis('storm');
    key = `${redis.prefix}analytics-tyk-system-analytics`;
    agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    poll_interval: 20ms
processors:
  sli: {}
exporters:
  prometheus:
    endpoint: \${env:TELEMETRY_ADDRESS}
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [sli], exporters: [prometheus] }
  telemetry:
    metrics:
      address: \${env:TELEMETRY_ADDRESS}
`, { env: { TELEMETRY_ADDRESS: '127.0.0.1:0' } });
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
  });

  it('keeps /health and /ready answering and the drain going while 50 scrapers hammer a multi-MB /metrics', async (t) => {
    const nowSec = Math.floor(Date.now() / 1000);
    const preload = Array.from({ length: APIS * CODES.length * 2 * 4 }, (_, i) => record(i, nowSec));
    await redis.push(key, preload);
    await waitFor('the preload drained', async () => (await redis.client.llen(key)) === 0, 30_000);
    const metricsUrl = `${agent.telemetryUrl}/metrics`;
    const probeUrls = [`${agent.telemetryUrl}/health`, `${agent.telemetryUrl}/ready`];

    const solo = await runStorm({ metricsUrl, probeUrls, scrapers: 1, durationMs: 3000, probeIntervalMs: 50 });
    assert.ok(solo.plainBytes > 2_000_000, `a multi-MB /metrics (${solo.plainBytes} bytes)`);

    // Records keep arriving during the storm; the drain must keep up.
    const during = 20_000;
    let pushed = 0;
    const feeding = (async () => {
      for (let start = preload.length; start < preload.length + during; start += 1000) {
        await redis.push(key, Array.from({ length: 1000 }, (_, j) => record(start + j, nowSec)));
        pushed += 1000;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const stormStarted = Date.now();
    const storm = await runStorm({ metricsUrl, probeUrls, scrapers: 50, durationMs: 6000, probeIntervalMs: 50 });
    const stormMs = Date.now() - stormStarted;
    h.disable();
    t.diagnostic(`event loop delay: max ${h.max / 1e6} ms, p99 ${h.percentile(99) / 1e6} ms`);
    await feeding;
    const backlogAfter = await redis.client.llen(key);
    t.diagnostic(`solo: ${JSON.stringify(solo)}`);
    t.diagnostic(`storm (${stormMs} ms): ${JSON.stringify(storm)}; pushed during it ${pushed}, left in Redis after it ${backlogAfter}`);

    assert.equal(storm.scrapeErrors, 0);
    assert.equal(storm.probeErrors, 0);
    assert.ok(storm.scrapes >= 50, `${storm.scrapes} scrapes`);
    assert.ok(storm.probes >= 10, `${storm.probes} probes answered (one every 50 ms asked)`);
    const soloScrape = Math.max(solo.scrapeMs.p50, 20);
    // Before single flight, sliced rendering and chunked writes a probe waited for about 50 renders and 50
    // whole-body writes: ~50 × the solo scrape (12.8–13.7 s in the issue; 7 s here, 2 probes answered in 6 s).
    // The median is the robust witness (before: ~7 s); the tail only has to stay clear of that, since on a
    // machine shared with other jobs any process can be descheduled for seconds.
    assert.ok(storm.probeMs.p50 < Math.max(500, 5 * soloScrape), `probe p50 ${storm.probeMs.p50} ms (solo scrape ${soloScrape} ms)`);
    assert.ok(storm.probeMs.p95 < Math.max(5000, 30 * soloScrape), `probe p95 ${storm.probeMs.p95} ms (solo scrape ${soloScrape} ms)`);
    // The drain went on: what arrived during the storm is (nearly) all taken by its end, all of it soon after.
    assert.ok(backlogAfter <= 5000, `${backlogAfter} records still waiting right after the storm`);
    await waitFor('everything drained', async () => (await redis.client.llen(key)) === 0, 30_000);
    const text = await (await fetch(metricsUrl)).text();
    let requests = 0;
    for (const m of text.matchAll(/^tyk_api_requests_total\{[^}]*\} (\d+)$/gm)) requests += Number(m[1]);
    assert.equal(requests, preload.length + during, 'every record counted once');
  });
});
