/**
 * The agent's HTTP server(s). Components register routes on a `host:port` address; every address gets
 * one listener, shared by all who use it (the default `0.0.0.0:9464` serves self-telemetry `/metrics`,
 * `/health`, `/ready`, and the Prometheus exporter's `/metrics` when it uses the same address).
 * Several metrics sources registered on the same address and path are served as one concatenated scrape.
 *
 * Under a scrape storm the probes must keep answering: concurrent scrapes of one path share one rendering
 * (single flight) and its gzip; sources render in slices that yield to the event loop (see
 * `MetricsSource`); connections are capped (the oldest idle one makes room, never one mid-request) and
 * idle or stalled ones time out. See {@link HttpLimits}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { StartError } from './errors.js';
import { parseHostPort } from './config/schema.js';
import { BodyWriter, Rendering, type ChunkList } from './http-body.js';

/** Handles one request; may be async. Errors become a 500 with a short message. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * What a metrics source produces for one scrape: text, or its UTF-8 bytes, whole or as chunks. Chunks are
 * streamed to the scrapers (and through gzip) as they come, so a source that renders much should produce
 * them slice by slice with a turn of the event loop between slices (`await setImmediate`): probes and the
 * drain keep running, and no scrape-sized string or buffer is ever built.
 */
export type MetricsBody = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Produces Prometheus text exposition for a scrape; concurrent scrapes of one path call it once. */
export type MetricsSource = (req: IncomingMessage) => Promise<MetricsBody> | MetricsBody;

/** Connection and timing bounds of every listener. */
export interface HttpLimits {
  /** Open connections per listener; beyond it the oldest idle connection is closed (or the new one refused). */
  readonly maxConnections: number;
  /** A kept-alive connection with no request for this long is closed. */
  readonly keepAliveTimeoutMs: number;
  /** A connection silent (no bytes either way) for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A client must send its request headers within this long. */
  readonly headersTimeoutMs: number;
  /** A client must send its whole request within this long. */
  readonly requestTimeoutMs: number;
}

/** Defaults: a few Prometheus servers, probes and humans need far fewer connections; none may hold one for long. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 512,
  keepAliveTimeoutMs: 65_000,
  idleTimeoutMs: 120_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
});

/** Whether `Accept-Encoding` admits gzip (`gzip`, `x-gzip` or `*`, with q > 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

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
  /** The rendering in progress per metrics path. */
  readonly renderings: Map<string, Rendering>;
  /** Open connections, oldest first, and how many requests each is serving. */
  readonly sockets: Map<Socket, number>;
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
  private readonly limits: HttpLimits;
  private readonly writer = new BodyWriter();
  private refused = 0;

  constructor(logger: Logger, limits: Partial<HttpLimits> = {}) {
    this.logger = logger;
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...limits };
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
      const lim = this.limits;
      const server = createServer({ headersTimeout: lim.headersTimeoutMs, requestTimeout: lim.requestTimeoutMs, keepAliveTimeout: lim.keepAliveTimeoutMs });
      // No 'timeout' listener: Node then destroys a socket idle for `timeout` ms.
      server.timeout = lim.idleTimeoutMs;
      const listener: Listener = { address: key, server, routes: new Map(), sources: new Map(), renderings: new Map(), sockets: new Map(), listening: undefined };
      server.on('connection', (socket: Socket) => this.admit(listener, socket));
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const socket = req.socket;
        listener.sockets.set(socket, (listener.sockets.get(socket) ?? 0) + 1);
        res.once('close', () => {
          const n = listener.sockets.get(socket);
          if (n !== undefined) listener.sockets.set(socket, Math.max(0, n - 1));
        });
        void this.handle(listener, req, res);
      });
      l = listener;
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

  /**
   * Counts a new connection in; at the cap, closes the oldest connection serving no request to make room,
   * or refuses the new one when every connection is busy.
   */
  private admit(l: Listener, socket: Socket): void {
    if (l.sockets.size >= this.limits.maxConnections) {
      let victim: Socket | undefined;
      for (const [s, busy] of l.sockets) {
        if (busy === 0) {
          victim = s;
          break;
        }
      }
      if (victim === undefined) {
        this.refused++;
        if ((this.refused & (this.refused - 1)) === 0) {
          this.logger.warn({ address: l.address, maxConnections: this.limits.maxConnections, refused: this.refused }, 'HTTP connection cap reached; refusing connections');
        }
        socket.destroy();
        return;
      }
      l.sockets.delete(victim);
      victim.destroy();
    }
    l.sockets.set(socket, 0);
    socket.once('close', () => l.sockets.delete(socket));
  }

  /** Open connections of the listener on `address` (tests, diagnostics). */
  connections(address: string): number {
    return this.listeners.get(normalise(address))?.sockets.size ?? 0;
  }

  /**
   * Renders every source of `path` into a new {@link Rendering}, one after the other (each ends with a line
   * break); concurrent scrapes of `path` join it until it ends.
   */
  private render(l: Listener, path: string, list: readonly { source: MetricsSource }[], req: IncomingMessage): Rendering {
    const r = new Rendering();
    l.renderings.set(path, r);
    void (async () => {
      try {
        for (const { source } of list) {
          const body = await source(req);
          let last = -1;
          const add = (c: Uint8Array): void => {
            if (c.length === 0) return;
            const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
            r.add(b);
            last = b[b.length - 1] as number;
          };
          if (typeof body === 'string') add(Buffer.from(body));
          else if (body instanceof Uint8Array) add(body);
          else for await (const c of body) add(c);
          if (last !== -1 && last !== 10) r.add(Buffer.from('\n'));
        }
        r.end();
      } catch (err) {
        r.fail(err instanceof Error ? err : new Error(String(err)));
      } finally {
        if (l.renderings.get(path) === r) l.renderings.delete(path);
      }
    })();
    return r;
  }

  private async handle(l: Listener, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { routes, sources } = l;
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
        const zip = acceptsGzip(req.headers['accept-encoding']);
        // No Content-Length: the body is streamed as it is rendered (chunked transfer encoding).
        const head = { 'content-type': PROMETHEUS_CONTENT_TYPE, vary: 'Accept-Encoding', ...(zip ? { 'content-encoding': 'gzip' } : {}) };
        if (req.method === 'HEAD') {
          res.writeHead(200, head).end();
          return;
        }
        const current = l.renderings.get(path);
        let body = current === undefined ? undefined : zip ? current.joinGzip() : current.joinPlain();
        if (body === undefined) {
          // None running, or one that already dropped the plain chunks it gzipped: a new one, which later
          // scrapes join (so at most two run at once, however many scrapers ask).
          const r = this.render(l, path, list, req);
          body = zip ? r.joinGzip() : (r.joinPlain() as ChunkList);
        }
        const err = await this.writer.write(res, body, head);
        if (err === undefined) return;
        if (res.headersSent) {
          // Mid-body: the client must not take a truncated scrape for a whole one.
          this.logger.error({ err, path }, 'metrics rendering failed mid-scrape; connection closed');
          res.destroy();
          return;
        }
        throw err;
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
