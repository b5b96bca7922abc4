/**
 * The StatsD / DogStatsD datagram sender shared by the `dogstatsd` and `statsd` exporters: it hands
 * datagrams to hot-shots' transport (UDP, or a Unix datagram socket through `unix-dgram`), counts what it
 * sent and dropped, and applies backpressure. The rest of the wire lives beside it: `endpoint.ts`,
 * `sanitize.ts` (no record can break the line protocol), `packer.ts` (datagrams up to a byte limit, never
 * beyond it) and `cache.ts` (bounded per-tag-set / per-name caches).
 *
 * Lines are built by the exporters themselves rather than through hot-shots' per-metric methods: those
 * re-sanitise every tag on every call (see `test/bench/dogstatsd.bench.ts`), cannot report which lines a
 * failed datagram carried, and send a line longer than the buffer alone. hot-shots keeps what it is good
 * at: socket creation, DNS, and re-opening a Unix socket when the Agent restarts.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import StatsD from 'hot-shots';
import type { Counter } from '@opentelemetry/api';
import type { ComponentContext } from '../../src/component.js';
import { BurstLogger } from '../../src/logger.js';
import { StartError } from '../../src/errors.js';
import { endpointText, type StatsdEndpoint } from './endpoint.js';

/** The part of a hot-shots client the sender uses: its transport. `sendMessage` is what hot-shots' own telemetry sends through. */
interface HotShotsTransport {
  socket: unknown;
  sendMessage(message: string, callback: (err?: (Error & { code?: unknown }) | null) => void): void;
  close(callback: (err?: Error) => void): void;
}

/** Options of a {@link DatagramSender}. */
export interface DatagramSenderOptions {
  readonly endpoint: StatsdEndpoint;
  /** Exporter context: logger, telemetry, health. */
  readonly ctx: ComponentContext;
  /** Datagrams handed to the socket whose completion has not been reported yet, before `relieve()` waits. */
  readonly maxInFlight?: number;
  /** While the Unix socket cannot be opened, how often to try again (datagrams in between are dropped, counted). */
  readonly reconnectIntervalMs?: number;
}

/** Self-telemetry instruments of the StatsD exporters (shared names, `exporter` attribute). */
interface WireInstruments {
  readonly packetsSent: Counter;
  readonly packetsDropped: Counter;
  readonly bytesSent: Counter;
}

const instrumentsByMeter = new WeakMap<object, WireInstruments>();

function instruments(ctx: ComponentContext): WireInstruments {
  const meter = ctx.telemetry.meter;
  let i = instrumentsByMeter.get(meter);
  if (!i) {
    i = {
      packetsSent: meter.createCounter('exporter.statsd.packets_sent', { description: 'Datagrams a StatsD/DogStatsD exporter handed to its socket.', unit: '{packet}' }),
      packetsDropped: meter.createCounter('exporter.statsd.packets_dropped', { description: 'Datagrams a StatsD/DogStatsD exporter could not send, by reason.', unit: '{packet}' }),
      bytesSent: meter.createCounter('exporter.statsd.bytes_sent', { description: 'Bytes of the datagrams a StatsD/DogStatsD exporter sent.', unit: 'By' }),
    };
    instrumentsByMeter.set(meter, i);
  }
  return i;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** A stable snake_case reason for a send error (used as a metric label). */
export function sendErrorReason(err: { code?: unknown; message?: string } | null | undefined): string {
  let code = err?.code;
  if (typeof code === 'number') code = ERRNO_NAMES.get(Math.abs(code)) ?? code;
  switch (code) {
    case 'ECONNREFUSED': case 'ENOTCONN': return 'connection_refused';
    case 'ENOENT': return 'socket_missing';
    case 'EAGAIN': case 'EWOULDBLOCK': case 'ENOBUFS': return 'congestion';
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': return 'dns';
    case 'EMSGSIZE': return 'too_large';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'unreachable';
    default:
      if (err?.message === 'congestion' || err?.message?.includes('congestion') === true) return 'congestion';
      if (err?.message?.includes('Socket not created') === true) return 'socket_missing';
      return 'send_error';
  }
}

/**
 * Sends datagrams through a hot-shots transport and accounts for them: per datagram, `sent`/`dropped`
 * items (= lines) in the standard telemetry, plus packet and byte counters. Errors are logged once per
 * burst; nothing here ever throws at the caller or blocks on a missing Agent: a missing Unix socket is
 * retried once per `reconnectIntervalMs` and datagrams in between are dropped and counted.
 *
 * Backpressure: callers check {@link DatagramSender.congested} after sending and then await
 * {@link DatagramSender.relieve}, which yields to the event loop and waits until fewer than
 * `maxInFlight` datagrams are outstanding.
 */
export class DatagramSender {
  private client: HotShotsTransport | undefined;
  private inFlight = 0;
  private sinceYield = 0;
  private readonly waiters: (() => void)[] = [];
  private lastConnectAttempt = 0;
  private failing = false;
  private readonly burst: BurstLogger;
  private readonly maxInFlight: number;
  private readonly reconnectIntervalMs: number;
  private readonly metrics: WireInstruments;
  private readonly exporterAttr: { exporter: string };
  private closed = false;
  private lastError: string | undefined;

  constructor(private readonly options: DatagramSenderOptions) {
    this.maxInFlight = options.maxInFlight ?? 32;
    this.reconnectIntervalMs = options.reconnectIntervalMs ?? 1000;
    this.burst = new BurstLogger(options.ctx.logger);
    this.metrics = instruments(options.ctx);
    this.exporterAttr = { exporter: options.ctx.id };
  }

  /** Creates the transport. Never throws for an absent Agent (a missing socket is retried on send). */
  open(): void {
    if (this.client || this.closed) return;
    const e = this.options.endpoint;
    const common = {
      maxBufferSize: 0,
      datadog: false,
      includeDataDogTags: false,
      includeDatadogTelemetry: false,
      telegraf: false,
      closingFlushInterval: 50,
      errorHandler: (err: Error) => this.onTransportError(err),
    };
    const opts =
      e.kind === 'uds'
        ? { ...common, protocol: 'uds' as const, path: e.path, udsGracefulErrorHandling: true, udsGracefulRestartRateLimit: this.reconnectIntervalMs }
        : { ...common, protocol: 'udp' as const, host: e.host, port: e.port, udpSocketOptions: udpSocketOptions(e.host) };
    this.lastConnectAttempt = Date.now();
    const client = new StatsD(opts as ConstructorParameters<typeof StatsD>[0]) as unknown as HotShotsTransport;
    if (typeof client.sendMessage !== 'function') {
      throw new StartError(this.options.ctx.id, 'the installed hot-shots has no sendMessage transport method (expected hot-shots 17.1.1)');
    }
    this.client = client;
  }

  /** Hands one datagram (`lines` metric lines, `bytes` bytes) to the socket. */
  send(payload: string, lines: number, bytes: number): void {
    const client = this.client;
    if (!client || this.closed) {
      this.dropped(lines, 'shutdown', undefined);
      return;
    }
    if (client.socket === null || client.socket === undefined) {
      // The Unix socket could not be opened (Agent not running). hot-shots would try to open it again for
      // every datagram; we try once per interval and drop the rest without a syscall.
      const now = Date.now();
      if (now - this.lastConnectAttempt < this.reconnectIntervalMs) {
        this.dropped(lines, 'agent_unavailable', undefined);
        return;
      }
      this.lastConnectAttempt = now;
    }
    this.inFlight++;
    this.sinceYield++;
    client.sendMessage(payload, (err) => {
      this.inFlight--;
      if (err) this.dropped(lines, sendErrorReason(err), err);
      else this.delivered(lines, bytes);
      if (this.waiters.length > 0 && this.inFlight < this.maxInFlight) {
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  /** True when the caller should `await relieve()` before sending more. */
  get congested(): boolean {
    return this.inFlight >= this.maxInFlight || this.sinceYield >= this.maxInFlight;
  }

  /** Yields to the event loop (so readers, timers and scrapes run) and waits for room in flight. */
  async relieve(): Promise<void> {
    this.sinceYield = 0;
    await new Promise<void>((r) => setImmediate(r));
    while (this.inFlight >= this.maxInFlight && !this.closed) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Datagrams whose send has not completed. */
  get pending(): number {
    return this.inFlight;
  }

  /** The last send error (reason), or undefined once sends succeed again. */
  get lastFailure(): string | undefined {
    return this.lastError;
  }

  /** Waits for outstanding sends (bounded by hot-shots' own drain timeout) and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // Let sends in flight finish (a congested Unix socket retries for up to ~0.7 s) before hot-shots
    // closes the socket under them.
    const deadline = Date.now() + 2000;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((resolve) => {
      try {
        client.close(() => resolve());
      } catch {
        resolve();
      }
    });
    if (this.burst.pending > 0) {
      this.options.ctx.logger.warn({ suppressed: this.burst.pending }, 'statsd sends failed (summary at shutdown)');
    }
  }

  private delivered(lines: number, bytes: number): void {
    this.options.ctx.telemetry.sent(lines);
    this.metrics.packetsSent.add(1, this.exporterAttr);
    this.metrics.bytesSent.add(bytes, this.exporterAttr);
    if (this.failing) {
      this.failing = false;
      this.lastError = undefined;
      this.burst.reset();
      this.options.ctx.logger.info({ endpoint: endpointText(this.options.endpoint) }, 'statsd sends recovered');
      this.options.ctx.health.set({ ready: true });
    }
  }

  private dropped(lines: number, reason: string, err: Error | undefined): void {
    const t = this.options.ctx.telemetry;
    t.sendFailed(lines, reason);
    t.dropped(lines, reason);
    this.metrics.packetsDropped.add(1, { exporter: this.options.ctx.id, reason });
    if (reason === 'shutdown') return;
    this.lastError = reason;
    if (!this.failing) {
      this.failing = true;
      // Readiness stays true: a missing Agent must not take the whole agent out of service.
      this.options.ctx.health.set({ ready: true, detail: `sends failing: ${reason}`, facts: { endpoint: endpointText(this.options.endpoint), reason } });
    }
    this.burst.log('warn', { endpoint: endpointText(this.options.endpoint), reason, err: err?.message, lines }, 'statsd datagram dropped');
  }

  private onTransportError(err: Error & { code?: unknown }): void {
    // Socket-level errors (could not open the Unix socket, asynchronous socket errors). Datagram losses are
    // counted where the send callback reports them; this only logs.
    this.burst.log('warn', { endpoint: endpointText(this.options.endpoint), reason: sendErrorReason(err), err: err.message }, 'statsd socket error');
  }
}

/** UDP socket options: the right family for an IP literal, and a cached lookup for host names. */
function udpSocketOptions(host: string): { type: 'udp4' | 'udp6'; lookup?: (...args: unknown[]) => void } {
  const ip = isIP(host);
  if (ip !== 0) return { type: ip === 6 ? 'udp6' : 'udp4' };
  // hot-shots' own DNS cache ignores the socket family (`localhost` may resolve to ::1 for a udp4
  // socket); without a cache every datagram would cost a resolver round trip.
  // Failures are cached briefly too, so an Agent host that does not resolve costs one lookup per second,
  // not one per datagram.
  let cached: { address: string; family: number; at: number } | undefined;
  let failed: { err: Error; at: number } | undefined;
  const lookup = (hostname: unknown, options: unknown, callback: unknown): void => {
    const cb = (typeof options === 'function' ? options : callback) as (err: Error | null, address: string | LookupAddress[], family?: number) => void;
    const name = String(hostname);
    // dgram also resolves its implicit bind address (0.0.0.0) through this function.
    const literal = isIP(name);
    if (literal !== 0) {
      process.nextTick(cb, null, name, literal);
      return;
    }
    if (name !== host) {
      dnsLookup(name, { family: 4 }, cb);
      return;
    }
    const now = Date.now();
    if (cached && now - cached.at < 30_000) {
      cb(null, cached.address, cached.family);
      return;
    }
    if (failed && now - failed.at < 1000) {
      process.nextTick(cb, failed.err, '', 4);
      return;
    }
    dnsLookup(name, { family: 4 }, (err, address, family) => {
      if (err) failed = { err, at: now };
      else {
        cached = { address, family, at: now };
        failed = undefined;
      }
      cb(err, address, family);
    });
  };
  return { type: 'udp4', lookup };
}
