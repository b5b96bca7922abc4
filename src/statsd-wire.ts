/**
 * The StatsD / DogStatsD wire, shared by the `dogstatsd` and `statsd` exporters: endpoint parsing, the
 * sanitisers that keep any record value from breaking the line protocol, a packer that fills datagrams up
 * to a byte limit (never beyond it), a sender that hands datagrams to hot-shots' transport (UDP, or a
 * Unix datagram socket through `unix-dgram`), counts what it sent and dropped, and applies backpressure,
 * and the bounded caches in which both keep their per-tag-set / per-name line parts and counters.
 *
 * Lines are built by the exporters themselves rather than through hot-shots' per-metric methods: those
 * re-sanitise every tag on every call (figures: BENCHMARKS.md, DogStatsD exporter),
 * cannot report which lines a failed datagram carried, and send a line longer than the buffer alone.
 * hot-shots keeps what it is good at: socket creation, DNS, and re-opening a Unix socket when the Agent
 * restarts.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import StatsD from 'hot-shots';
import type { Counter } from '@opentelemetry/api';
import type { ComponentContext } from './component.js';
import { BurstLogger } from './logger.js';
import { StartError } from './errors.js';
import { parseHostPort } from './config/schema.js';
import type { AnalyticsRecord } from './model.js';
import { recordFieldKey, type RecordField } from './record-fields.js';

/** Where datagrams go: UDP `host:port` or a Unix datagram socket path. */
export type StatsdEndpoint =
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'uds'; readonly path: string };

/**
 * Parses `host:port`, `udp://host:port` or (when `allowUnix`) `unix:///absolute/path`. Undefined when
 * malformed. An empty host or port 0 is refused: a sender needs a destination.
 */
export function parseStatsdEndpoint(text: string, allowUnix: boolean): StatsdEndpoint | undefined {
  const s = text.trim();
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!allowUnix || !path.startsWith('/') || path.length < 2 || /[\0\n]/.test(path)) return undefined;
    return { kind: 'uds', path };
  }
  const hp = parseHostPort(s.startsWith('udp://') ? s.slice('udp://'.length) : s);
  if (!hp || hp.host === '' || hp.port === 0) return undefined;
  return { kind: 'udp', host: hp.host, port: hp.port };
}

/** Human form of an endpoint for logs. */
export function endpointText(e: StatsdEndpoint): string {
  return e.kind === 'uds' ? `unix://${e.path}` : `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

// ---------------------------------------------------------------------------------------------------
// Sanitisers. Each has a regex test as fast path: record values are almost always clean.

/** Datadog truncates tags longer than this many characters (`key:value` together). */
export const DOGSTATSD_MAX_TAG_CHARS = 200;
/** Datadog's limit on metric name length. */
export const DOGSTATSD_MAX_NAME_CHARS = 200;

// `|` separates fields, `,` tags, `#`/`@` start the tag and sample-rate fields, CR/LF end a line; other
// control characters have no business in a tag and some servers split on them.
const DOG_TAG_BAD = /[|,#@\u0000-\u001f\u007f\u2028\u2029]/;
const DOG_TAG_BAD_G = /[|,#@\u0000-\u001f\u007f\u2028\u2029]/g;

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncateChars(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * A DogStatsD tag `key:value` with the value made safe: `| , # @`, CR, LF and other control characters
 * become `_`; a `:` inside the value is kept (Datadog splits a tag at its first colon only); the whole
 * tag is cut to 200 characters, Datadog's limit. `key` must already be a valid tag key.
 */
export function dogTag(key: string, value: string): string {
  const v = DOG_TAG_BAD.test(value) ? value.replace(DOG_TAG_BAD_G, '_') : value;
  return truncateChars(`${key}:${v}`, DOGSTATSD_MAX_TAG_CHARS);
}

const DOG_KEY_BAD_G = /[^\p{L}\p{N}_\-./]/gu;

/** A DogStatsD tag key from an arbitrary attribute name: letters, digits, `_ - . /` kept, the rest `_`. */
export function dogTagKey(key: string): string {
  let k = key.replace(DOG_KEY_BAD_G, '_');
  if (!/^\p{L}/u.test(k)) k = `t_${k}`;
  return truncateChars(k, DOGSTATSD_MAX_TAG_CHARS - 1);
}

/**
 * A global tag as configured (`env:prod`, `team:payments`, or a bare `tyk-pump`): key sanitised like
 * {@link dogTagKey}, value like {@link dogTag}.
 */
export function dogGlobalTag(tag: string): string {
  const i = tag.indexOf(':');
  return i < 0 ? dogTagKey(tag) : dogTag(dogTagKey(tag.slice(0, i)), tag.slice(i + 1));
}

const METRIC_NAME_BAD_G = /[^A-Za-z0-9_.]/g;

/**
 * A metric name safe for DogStatsD and StatsD: ASCII letters, digits, `_` and `.`; anything else becomes
 * `_`; a name not starting with a letter gets an `m_` prefix; empty segments (`a..b`) collapse.
 */
export function metricName(name: string): string {
  let n = name.replace(METRIC_NAME_BAD_G, '_').replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '');
  if (!/^[A-Za-z]/.test(n)) n = `m_${n}`;
  return truncateChars(n, DOGSTATSD_MAX_NAME_CHARS);
}

/** Longest name segment a template value may produce (Graphite stores one file or folder per segment). */
export const STATSD_MAX_SEGMENT_CHARS = 100;
/** What an empty template value becomes, so a name keeps its shape. */
export const STATSD_EMPTY_SEGMENT = 'unknown';
const SEGMENT_OK = /^[A-Za-z0-9_-]+$/;
const SEGMENT_BAD_G = /[^A-Za-z0-9_-]+/g;

/**
 * One dot-separated segment of a plain StatsD name from a record value: ASCII letters, digits, `_` and
 * `-` are kept; every other run (`.`, `/`, `:`, `|`, `@`, spaces, newlines, non-ASCII…) becomes one `_`;
 * leading/trailing `_` are trimmed; an empty result is `unknown`; at most 100 characters.
 */
export function statsdSegment(value: string): string {
  if (value.length <= STATSD_MAX_SEGMENT_CHARS && SEGMENT_OK.test(value) && value[0] !== '_' && value[value.length - 1] !== '_') return value;
  const s = value.replace(SEGMENT_BAD_G, '_').replace(/^_+|_+$/g, '');
  if (s === '') return STATSD_EMPTY_SEGMENT;
  return s.length > STATSD_MAX_SEGMENT_CHARS ? s.slice(0, STATSD_MAX_SEGMENT_CHARS).replace(/_+$/, '') : s;
}

// Telegraf's StatsD input splits a line at `:` and `|`, the name at `,` and each tag at `=`; spaces and
// backslashes would be escaped inconsistently on the way to InfluxDB.
const TELEGRAF_BAD = /[,=:|\s\\\u0000-\u001f\u007f]/;
const TELEGRAF_BAD_G = /[,=:|\s\\\u0000-\u001f\u007f]/g;

/** A Telegraf tag value: `, = : |`, whitespace, backslash and control characters become `_`; ≤ 200 chars; '' → `unknown`. */
export function telegrafTagValue(value: string): string {
  const v = TELEGRAF_BAD.test(value) ? value.replace(TELEGRAF_BAD_G, '_') : value;
  return v === '' ? STATSD_EMPTY_SEGMENT : truncateChars(v, DOGSTATSD_MAX_TAG_CHARS);
}

// What breaks a plain StatsD line inside a name: `:` (value separator), `|` (type), `@` (sample rate),
// `,` (Telegraf tags), line ends and control characters.
const STATSD_NAME_BAD = /[:|@,\u0000-\u001f\u007f\u2028\u2029]/;
const STATSD_NAME_BAD_G = /[:|@,\u0000-\u001f\u007f\u2028\u2029]/g;

/** Replaces only the characters that would break a StatsD line inside a name (used by Tyk-compatible names). */
export function statsdNameSafe(value: string): string {
  return STATSD_NAME_BAD.test(value) ? value.replace(STATSD_NAME_BAD_G, '_') : value;
}

/** A finite number as StatsD text; undefined for NaN/±Infinity (no StatsD server accepts them). */
export function formatValue(v: number): string | undefined {
  return Number.isFinite(v) ? String(v) : undefined;
}

/** Whether a string is pure ASCII (then its UTF-8 byte length is its length). */
export function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(s);
}

// ---------------------------------------------------------------------------------------------------

// A trie level: record field value → next level; the entry sits under TRIE_LEAF at the end of a walk.
type TrieNode = Map<unknown, unknown>;

const TRIE_LEAF: unique symbol = Symbol('leaf');

function trieChild(node: TrieNode, key: unknown): TrieNode {
  let child = node.get(key) as TrieNode | undefined;
  if (child === undefined) {
    child = new Map();
    node.set(key, child);
  }
  return child;
}

/** What a {@link RecordFieldTrie} is built from. */
export interface RecordFieldTrieOptions<E> {
  /** The fields whose values identify an entry, one trie level each. */
  readonly fields: readonly RecordField[];
  /** Entries held at most. */
  readonly limit: number;
  /** Builds the entry of a record seen first. */
  readonly make: (r: AnalyticsRecord) => E;
  /** Called before a full trie is emptied: send what the entries hold (their counters), log it. */
  readonly beforeClear: () => void;
}

/**
 * Cached entries (tag sets, names) found by a record's field values: one trie level per field, walked
 * with the record's own strings (already hashed by V8 when the decoder interned them) instead of building
 * and hashing a key string per record. When a new entry would exceed the limit, the trie is emptied (after
 * `beforeClear`) and starts over.
 */
export class RecordFieldTrie<E> {
  private root: TrieNode = new Map();
  private count = 0;

  constructor(private readonly options: RecordFieldTrieOptions<E>) {}

  /** The entry of `r`'s field values: the cached one, else a new one. */
  get(r: AnalyticsRecord): E {
    const fields = this.options.fields;
    let node = this.root;
    for (let i = 0; i < fields.length; i++) node = trieChild(node, recordFieldKey(r, fields[i] as RecordField));
    let e = node.get(TRIE_LEAF) as E | undefined;
    if (e === undefined) {
      if (this.count >= this.options.limit) {
        this.options.beforeClear();
        this.root = new Map();
        this.count = 0;
        return this.get(r);
      }
      e = this.options.make(r);
      node.set(TRIE_LEAF, e);
      this.count++;
    }
    return e;
  }
}

/**
 * The counters an exporter sums per cached tag set or name between flushes (which counter means what is
 * the exporter's business), and whether the entry is on its cache's list of changed entries.
 */
export interface CounterEntry {
  dirty: boolean;
  c0: number;
  c1: number;
  c2: number;
  c3: number;
}

/**
 * Counter entries by string key, bounded (`full` at `limit` entries; the caller empties `map` after
 * sending what the entries hold), plus the list of entries changed since the last {@link CounterCache.drain}
 * — entries reached another way (a {@link RecordFieldTrie}) can be put on that list too.
 */
export class CounterCache<E extends CounterEntry> {
  /** Entries by key. */
  readonly map = new Map<string, E>();
  private readonly changed: E[] = [];

  constructor(private readonly limit: number) {}

  /** Whether `map` holds `limit` entries. */
  get full(): boolean {
    return this.map.size >= this.limit;
  }

  /** Puts `e` on the list of changed entries (once until the next drain). */
  touch(e: E): void {
    if (!e.dirty) {
      e.dirty = true;
      this.changed.push(e);
    }
  }

  /** Hands every entry changed since the last drain to `emit`, then zeroes its counters. */
  drain(emit: (e: E) => void): void {
    const list = this.changed;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as E;
      emit(e);
      e.c0 = e.c1 = e.c2 = e.c3 = 0;
      e.dirty = false;
    }
    list.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------------

/**
 * Packs lines into datagrams of at most `maxBytes` bytes (lines joined by `\n`). A full datagram is
 * handed to `emit` at once; the last partial one on `flush()`. A line longer than `maxBytes` is refused
 * (`add` returns false) so that no datagram ever exceeds the limit.
 */
export class LinePacker {
  private payload = '';
  private bytes = 0;
  private lines = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly emit: (payload: string, lines: number, bytes: number) => void,
  ) {}

  /** Adds a line of `lineBytes` UTF-8 bytes. False (nothing added) when the line alone exceeds the limit. */
  add(line: string, lineBytes: number): boolean {
    if (lineBytes > this.maxBytes) return false;
    if (this.lines === 0) {
      this.payload = line;
      this.bytes = lineBytes;
      this.lines = 1;
      return true;
    }
    if (this.bytes + 1 + lineBytes > this.maxBytes) {
      this.emit(this.payload, this.lines, this.bytes);
      this.payload = line;
      this.bytes = lineBytes;
      this.lines = 1;
      return true;
    }
    this.payload += '\n' + line;
    this.bytes += 1 + lineBytes;
    this.lines++;
    return true;
  }

  /** Emits the partial datagram, if any. */
  flush(): void {
    if (this.lines === 0) return;
    const { payload, lines, bytes } = this;
    this.payload = '';
    this.bytes = 0;
    this.lines = 0;
    this.emit(payload, lines, bytes);
  }

  /** Lines waiting in the partial datagram. */
  get pendingLines(): number {
    return this.lines;
  }
}

// ---------------------------------------------------------------------------------------------------

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
      packetsSent: meter.createCounter('tyk_otel_pump.exporter.statsd.packets_sent', { description: 'Datagrams a StatsD/DogStatsD exporter handed to its socket.', unit: '{packet}' }),
      packetsDropped: meter.createCounter('tyk_otel_pump.exporter.statsd.packets_dropped', { description: 'Datagrams a StatsD/DogStatsD exporter could not send, by reason.', unit: '{packet}' }),
      bytesSent: meter.createCounter('tyk_otel_pump.exporter.statsd.bytes_sent', { description: 'Bytes of the datagrams a StatsD/DogStatsD exporter sent.', unit: 'By' }),
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
