/**
 * The agent's HTTP server(s). Components register routes on a `host:port` address; every address gets
 * one listener, shared by all who use it (the default `0.0.0.0:9464` serves self-telemetry `/metrics`,
 * `/health`, `/ready`, and the Prometheus exporter's `/metrics` when it uses the same address).
 * Several metrics sources registered on the same address and path are served as one concatenated scrape.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { StartError } from './errors.js';
import { parseHostPort } from './config/schema.js';

/** Handles one request; may be async. Errors become a 500 with a short message. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Produces Prometheus text exposition for a scrape. */
export type MetricsSource = (req: IncomingMessage) => Promise<string>;

/** The Prometheus text format content type we serve (classic 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What components see of the HTTP server. */
export interface HttpHost {
  /** Registers `GET path` on `address`; two handlers on one address+path is an error. */
  route(address: string, path: string, handler: RouteHandler): void;
  /** Adds a Prometheus text source on `address`+`path` (concatenated with other sources there). */
  metrics(address: string, path: string, source: MetricsSource): void;
  /** Starts listening on `address` (idempotent) and resolves to the bound host and port. */
  listen(address: string): Promise<{ host: string; port: number }>;
  /** Removes what `owner` registered (called when a component shuts down). */
  release(owner: string): void;
}

interface Listener {
  readonly address: string;
  readonly server: Server;
  readonly routes: Map<string, { owner: string; handler: RouteHandler }>;
  readonly sources: Map<string, { owner: string; source: MetricsSource }[]>;
  listening: Promise<{ host: string; port: number }> | undefined;
}

function normalise(address: string): string {
  const hp = parseHostPort(address);
  if (!hp) throw new StartError('http', `invalid address "${address}" (must be host:port)`);
  return `${hp.host === '' ? '0.0.0.0' : hp.host}:${hp.port}`;
}

/** All listeners of one agent. Create one per agent; `close()` on shutdown. */
export class HttpServers {
  private readonly listeners = new Map<string, Listener>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** An `HttpHost` view that tags registrations with `owner` (a component id). */
  hostFor(owner: string): HttpHost {
    return {
      route: (address, path, handler) => this.route(owner, address, path, handler),
      metrics: (address, path, source) => this.addMetrics(owner, address, path, source),
      listen: (address) => this.listen(address),
      release: (o) => this.release(o),
    };
  }

  private listener(address: string): Listener {
    const key = normalise(address);
    let l = this.listeners.get(key);
    if (!l) {
      const routes = new Map<string, { owner: string; handler: RouteHandler }>();
      const sources = new Map<string, { owner: string; source: MetricsSource }[]>();
      const server = createServer((req, res) => void this.handle(routes, sources, req, res));
      server.keepAliveTimeout = 65_000;
      l = { address: key, server, routes, sources, listening: undefined };
      this.listeners.set(key, l);
    }
    return l;
  }

  route(owner: string, address: string, path: string, handler: RouteHandler): void {
    const l = this.listener(address);
    const existing = l.routes.get(path);
    if (existing && existing.owner !== owner) {
      throw new StartError(owner, `${l.address}${path} is already served by ${existing.owner}`);
    }
    l.routes.set(path, { owner, handler });
  }

  addMetrics(owner: string, address: string, path: string, source: MetricsSource): void {
    const l = this.listener(address);
    if (l.routes.has(path)) throw new StartError(owner, `${l.address}${path} is already served by ${l.routes.get(path)?.owner ?? '?'}`);
    const list = l.sources.get(path) ?? [];
    list.push({ owner, source });
    l.sources.set(path, list);
  }

  listen(address: string): Promise<{ host: string; port: number }> {
    const l = this.listener(address);
    if (!l.listening) {
      const hp = parseHostPort(l.address);
      if (!hp) return Promise.reject(new StartError('http', `invalid address "${address}"`));
      l.listening = new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          reject(new StartError('http', `cannot listen on ${l.address}: ${err.code ?? err.message}`, { cause: err }));
        };
        l.server.once('error', onError);
        l.server.listen(hp.port, hp.host, () => {
          l.server.off('error', onError);
          l.server.on('error', (err) => this.logger.error({ err, address: l.address }, 'HTTP server error'));
          const a = l.server.address();
          const bound = typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: hp.host, port: hp.port };
          this.logger.info({ address: `${bound.host}:${bound.port}` }, 'HTTP server listening');
          resolve(bound);
        });
      });
      l.listening.catch(() => undefined);
    }
    return l.listening;
  }

  release(owner: string): void {
    for (const l of this.listeners.values()) {
      for (const [path, r] of l.routes) if (r.owner === owner) l.routes.delete(path);
      for (const [path, list] of l.sources) {
        const kept = list.filter((s) => s.owner !== owner);
        if (kept.length === 0) l.sources.delete(path);
        else l.sources.set(path, kept);
      }
    }
  }

  /** Bound address of a listener (after `listen`). */
  async bound(address: string): Promise<{ host: string; port: number } | undefined> {
    const l = this.listeners.get(normalise(address));
    return l?.listening;
  }

  private async handle(
    routes: Map<string, { owner: string; handler: RouteHandler }>,
    sources: Map<string, { owner: string; source: MetricsSource }[]>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
        return;
      }
      const route = routes.get(path);
      if (route) {
        await route.handler(req, res);
        return;
      }
      const list = sources.get(path);
      if (list && list.length > 0) {
        const parts = await Promise.all(list.map((s) => s.source(req)));
        const body = parts.filter((p) => p.length > 0).map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    } catch (err) {
      this.logger.error({ err, path }, 'HTTP handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  }

  /** Closes every listener. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.listeners.values()].map(
        (l) =>
          new Promise<void>((resolve) => {
            if (!l.server.listening) return resolve();
            l.server.close(() => resolve());
            l.server.closeAllConnections();
          }),
      ),
    );
    this.listeners.clear();
  }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}
