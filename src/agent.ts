/**
 * One running agent: self-telemetry, the shared HTTP server(s), and the pipeline graph of one resolved
 * config. `run` in the CLI wraps it with signal handling; tests use it in-process.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ResolvedConfig } from './config/load.js';
import { Graph, HealthRegistry, describePipelines } from './graph.js';
import { HttpServers, sendJson } from './http-server.js';
import { SelfTelemetry, type TelemetryPushReader } from './telemetry.js';
import { VERSION } from './version.js';

/** Options for an in-process agent. */
export interface AgentOptions {
  readonly logger: Logger;
  /** Overrides the generated instance id (tests). */
  readonly instanceId?: string;
}

/** A process-unique id: host, pid and random bytes. */
export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A configured agent; `start()` then `shutdown()`. */
export class Agent {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly telemetry: SelfTelemetry;
  readonly http: HttpServers;
  readonly health = new HealthRegistry();
  private readonly graph: Graph;
  private shuttingDown = false;
  private stopped: Promise<void> | undefined;

  constructor(config: ResolvedConfig, options: AgentOptions) {
    this.config = config;
    this.logger = options.logger;
    this.instanceId = options.instanceId ?? newInstanceId();
    this.telemetry = new SelfTelemetry(
      config.service.telemetry.metrics.prefix,
      telemetryResource(config.service.telemetry.resource, this.instanceId),
      config.service.telemetry.metrics.readers.map(pushReader),
    );
    this.http = new HttpServers(this.logger.child({ component: 'http' }));
    // What /ready answers, as metrics, so an alert rule can watch it without probing the endpoint.
    const prefix = config.service.telemetry.metrics.prefix;
    this.telemetry.meter
      .createObservableGauge(`${prefix}.ready`, { description: '1 when /ready answers 200 (every component ready), else 0.', unit: '1' })
      .addCallback((r) => r.observe(this.health.snapshot().ready && !this.shuttingDown ? 1 : 0));
    this.telemetry.meter
      .createObservableGauge(`${prefix}.component.ready`, { description: '1 when the component reports ready on /ready, else 0.', unit: '1' })
      .addCallback((r) => {
        for (const [component, state] of Object.entries(this.health.snapshot().components)) r.observe(state.ready ? 1 : 0, { component });
      });
    this.graph = Graph.build(config, {
      logger: this.logger,
      telemetry: this.telemetry,
      http: this.http,
      health: this.health,
      instanceId: this.instanceId,
    });
  }

  /** Address of the telemetry listener (`/health`, `/ready`, self `/metrics`). */
  get telemetryAddress(): string {
    return this.config.service.telemetry.metrics.address;
  }

  /** Starts the telemetry server, then the graph. Throws (after cleaning up) if anything fails to start. */
  async start(): Promise<void> {
    const address = this.telemetryAddress;
    const host = this.http.hostFor('service');
    host.route(address, '/health', (_req, res) => sendJson(res, 200, { status: 'ok', version: VERSION, instance: this.instanceId }));
    host.route(address, '/ready', (_req, res) => {
      const snap = this.health.snapshot();
      const ready = snap.ready && !this.shuttingDown;
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : this.shuttingDown ? 'shutting_down' : 'not_ready', components: snap.components });
    });
    host.metrics(address, '/metrics', () => this.telemetry.scrape());
    try {
      await host.listen(address);
      this.logger.info({ version: VERSION, instance: this.instanceId, pipelines: describePipelines(this.config).split('\n') }, 'starting pipelines');
      await this.graph.start(this.health);
    } catch (err) {
      await this.http.close();
      await this.telemetry.shutdown();
      throw err;
    }
    this.logger.info({ order: this.graph.startOrder }, 'agent started');
  }

  /**
   * Graceful stop: receivers stop claiming and finish what is in flight, processors flush, exporters flush.
   * Rejects with a TimeoutError when `service.shutdown_timeout` passes first.
   */
  shutdown(timeoutMs = this.config.service.shutdown_timeout): Promise<void> {
    this.stopped ??= (async () => {
      this.shuttingDown = true;
      this.logger.info({ timeoutMs }, 'shutting down');
      try {
        await this.graph.shutdown(timeoutMs, this.health);
        this.logger.info('agent stopped');
      } finally {
        await this.http.close();
        await this.telemetry.shutdown();
      }
    })();
    return this.stopped;
  }

  /** Bound host/port of an address this agent listens on (useful with port 0). */
  bound(address: string): Promise<{ host: string; port: number } | undefined> {
    return this.http.bound(address);
  }
}

/** Self-telemetry's resource: our defaults, then `service.telemetry.resource` (null removes a default). */
function telemetryResource(configured: Readonly<Record<string, string | null>>, instanceId: string): Record<string, string> {
  const out: Record<string, string> = { 'service.name': 'tyk-otel-pump', 'service.version': VERSION, 'service.instance.id': instanceId };
  for (const [k, v] of Object.entries(configured)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** A configured push reader as the telemetry registry takes it. */
function pushReader(r: ResolvedConfig['service']['telemetry']['metrics']['readers'][number]): TelemetryPushReader {
  const otlp = r.periodic.exporter.otlp;
  const url = new URL(otlp.endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/metrics';
  const headers = Array.isArray(otlp.headers) ? Object.fromEntries(otlp.headers.map((h) => [h.name, h.value])) : otlp.headers;
  return { protocol: otlp.protocol, url: url.toString(), headers, intervalMs: r.periodic.interval, timeoutMs: otlp.timeout };
}
