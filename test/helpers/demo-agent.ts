/**
 * A real agent fed by `demo` traffic, for the dashboard and status-page tests: every component whose
 * telemetry the dashboards show is in the config (route, sli with the Tyk Pump families, slo, a filter
 * that drops, a file exporter that sends, an OTLP exporter whose endpoint refuses connections and one
 * whose endpoint answers 400), and a
 * feeder adds what healthy demo traffic lacks: undecodable elements every second (refused, dead-lettered,
 * and one too large for the dead-letter list: dropped) and requests of an API whose name is markup (`<script>alert(1)</script>`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../src/commands/demo.js';
import { DemoTraffic, Rng } from '../../src/commands/demo-traffic.js';
import { encodeAnalytics } from '../../internal/tyk-wire/encode.js';
import { startAgent, type RunningAgent } from './agent.js';
import { freePort } from './prometheus.js';
import { testRedis, type TestRedis } from './redis.js';

/** The API name of the hostile records. */
export const HOSTILE_API_NAME = '<script>alert(1)</script>';

/** The SLOs of the demo agent. */
export const DEMO_SLOS = `
slos:
  - { name: orders-availability, objective: 99, selector: { api_names: [Orders API] }, sli: { type: availability } }
  - { name: payments-latency, objective: 95, selector: { api_names: [Payments API] }, sli: { type: latency, threshold_seconds: 0.25 } }
  - { name: all-availability, objective: 99.9, sli: { type: availability } }
`;

/** A running demo agent. */
export interface DemoAgent {
  readonly agent: RunningAgent;
  readonly redis: TestRedis;
  /** The config file (also what `demo` read). */
  readonly configFile: string;
  readonly yaml: string;
  stop(): Promise<void>;
}

/** Starts the agent, `demo` at `rate` requests/s, and the feeder. `extra` is appended to `exporters:` (e.g. a status exporter) with `pipelineExporters` added to the metrics pipelines. */
export async function startDemoAgent(opts: { rate?: number; extraExporters?: string; pipelineExporters?: readonly string[] } = {}): Promise<DemoAgent> {
  const redis = await testRedis('h-see-demo');
  const dir = await mkdtemp(join(tmpdir(), 'demo-agent-'));
  const deadPort = await freePort();
  // An OTLP endpoint that refuses every request as malformed: the exporter drops (permanent_error).
  const rejecting = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request'));
  });
  await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
  const rejectingPort = (rejecting.address() as { port: number }).port;
  const extraExporters = [...(opts.pipelineExporters ?? [])];
  const metricsExporters = ['prometheus', ...extraExporters].join(', ');
  const yaml = `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    poll_interval: 100ms
    delivery: at_most_once
    dead_letter: { max_bytes: 4096 }
processors:
  route: {}
  sli: { tyk_compatible: { enabled: true } }
  slo: { endpoint: "${redis.url}", key_prefix: "${redis.prefix}", evaluation_interval: 1s }
  filter: { skip_response_codes: [404] }
  audit_log: {}
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
  file: { path: ${join(dir, 'records.jsonl')} }
  otlp_http:
    endpoint: http://127.0.0.1:${deadPort}
    timeout: 1s
    retry_on_failure: { enabled: false }
  otlp_http/rejecting:
    endpoint: http://127.0.0.1:${rejectingPort}
    timeout: 1s
${opts.extraExporters ?? ''}
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [${metricsExporters}] }
    metrics/slo: { receivers: [tyk_redis], processors: [route, slo], exporters: [${metricsExporters}] }
    records: { receivers: [tyk_redis], processors: [filter], exporters: [file] }
    logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http, otlp_http/rejecting] }
  telemetry: { metrics: { address: 127.0.0.1:0 } }
${DEMO_SLOS}`;
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, yaml);
  const agent = await startAgent(yaml, { dir });

  const stop = new AbortController();
  const quiet = { out: () => undefined, err: () => undefined };
  const demo = runDemo(['--config', configFile, '--rate', String(opts.rate ?? 150), '--apis', '7', '--seed', '42'], quiet, stop.signal);
  const traffic = new DemoTraffic(new Rng(7), 7);
  const key = `${redis.prefix}analytics-tyk-system-analytics`;
  const feeder = (async () => {
    while (!stop.signal.aborted) {
      const now = Date.now();
      // One route only: the hostile API should not multiply the series (and the scrape) by every demo route.
      const hostile = Array.from({ length: 5 }, () => encodeAnalytics({ ...traffic.http(now), apiName: HOSTILE_API_NAME, apiId: 'hostile-api', method: 'GET', path: '/x', rawPath: '/x', originalPath: '/x' }));
      // Undecodable elements: a small one (refused, dead-lettered) and one too large to dead-letter (dropped).
      await redis.client.rpush(key, Buffer.from('not msgpack at all'), Buffer.alloc(8192, 'x'), ...hostile).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    agent,
    redis,
    configFile,
    yaml,
    async stop() {
      stop.abort();
      await Promise.all([demo, feeder]);
      await agent.stop().catch(() => undefined);
      await redis.cleanup();
      rejecting.closeAllConnections();
      await new Promise((r) => rejecting.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
