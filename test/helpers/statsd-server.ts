/**
 * Real StatsD/DogStatsD receivers for tests (a UDP socket on 127.0.0.1, or a Unix datagram socket via
 * `unix-dgram`, which Node's `dgram` cannot do), and strict parsers of the DogStatsD and StatsD line
 * formats: any line that a strict server would reject makes the parser throw.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentContext } from '../../src/component.js';
import type { SharedConfig } from '../../src/config/shared.js';
import { HttpServers } from '../../src/http-server.js';
import { HealthRegistry } from '../../src/graph.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { silentLogger } from '../../src/logger.js';
import { captureLogger, type LogLine } from './log-capture.js';
import type { Cleanups } from './cleanups.js';
import { componentContext } from './context.js';

/** One metric line, parsed. */
export interface ParsedLine {
  readonly name: string;
  readonly value: number;
  /** `c`, `g`, `ms`, `h`, `d`, `s`. */
  readonly type: string;
  /** 1 unless `|@rate` was given. */
  readonly rate: number;
  readonly rateText: string | undefined;
  /** DogStatsD tags in order (`key:value` or bare), or Telegraf tags as `key:value`. */
  readonly tags: readonly string[];
  readonly raw: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const VALUE = /^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$/;
const RATE = /^(0?\.\d*[1-9]\d*|1(\.0+)?)$/;
const DOG_TYPES = new Set(['c', 'g', 'ms', 'h', 'd', 's']);
const DOG_TAG_KEY = /^\p{L}[\p{L}\p{N}_\-./]*$/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

function fail(line: string, why: string): never {
  throw new Error(`malformed line (${why}): ${JSON.stringify(line)}`);
}

/**
 * Parses one DogStatsD metric line strictly: `name:value|type[|@rate][|#tag,tag…]`. The name is ASCII
 * letters, digits, `_` and `.` (≤ 200 chars), tags contain no `| , #` or control characters, each tag is
 * at most 200 characters and its key (before the first `:`) starts with a letter.
 */
export function parseDogStatsdLine(line: string): ParsedLine {
  if (line === '') fail(line, 'empty');
  if (CONTROL.test(line)) fail(line, 'control character');
  const fields = line.split('|');
  const head = fields[0] ?? '';
  const colon = head.indexOf(':');
  if (colon < 0) fail(line, 'no value');
  const name = head.slice(0, colon);
  const valueText = head.slice(colon + 1);
  if (!NAME.test(name) || name.length > 200) fail(line, `bad name ${name}`);
  if (!VALUE.test(valueText)) fail(line, `bad value ${valueText}`);
  const type = fields[1];
  if (type === undefined || !DOG_TYPES.has(type)) fail(line, `bad type ${String(type)}`);
  let rate = 1;
  let rateText: string | undefined;
  let tags: string[] = [];
  const seen = new Set<string>();
  for (const f of fields.slice(2)) {
    const kind = f[0] ?? '';
    if (seen.has(kind)) fail(line, `repeated field ${kind}`);
    seen.add(kind);
    if (kind === '@') {
      rateText = f.slice(1);
      if (!RATE.test(rateText)) fail(line, `bad sample rate ${rateText}`);
      rate = Number(rateText);
    } else if (kind === '#') {
      tags = f.slice(1).split(',');
      for (const t of tags) {
        if (t === '') fail(line, 'empty tag');
        if (t.includes('#')) fail(line, `# inside tag ${t}`);
        if ([...t].length > 200) fail(line, `tag longer than 200 characters: ${t.slice(0, 40)}…`);
        const k = t.includes(':') ? t.slice(0, t.indexOf(':')) : t;
        if (!DOG_TAG_KEY.test(k)) fail(line, `bad tag key ${k}`);
      }
    } else {
      fail(line, `unknown field ${f}`);
    }
  }
  return { name, value: Number(valueText), type, rate, rateText, tags, raw: line };
}

const STATSD_TYPES = new Set(['c', 'g', 'ms', 's']);
const TELEGRAF_PART = /^[^,=:|\s\\]+$/;

/**
 * Parses one plain StatsD line strictly: `name:value|type[|@rate]`, no tags. With `telegraf`, the name
 * may carry `,key=value` tags (no `, = : |`, whitespace or backslash inside). `namePattern` constrains
 * the bare name further (defaults to dot-separated ASCII segments of letters, digits, `_` and `-`).
 */
export function parseStatsdLine(line: string, opts: { telegraf?: boolean; namePattern?: RegExp } = {}): ParsedLine {
  if (line === '') fail(line, 'empty');
  if (CONTROL.test(line)) fail(line, 'control character');
  const fields = line.split('|');
  if (fields.length < 2 || fields.length > 3) fail(line, 'wrong number of | fields');
  const head = fields[0] ?? '';
  const colon = head.lastIndexOf(':');
  if (colon < 0 || head.indexOf(':') !== colon) fail(line, 'needs exactly one :');
  let name = head.slice(0, colon);
  const valueText = head.slice(colon + 1);
  const tags: string[] = [];
  if (opts.telegraf) {
    const parts = name.split(',');
    name = parts[0] ?? '';
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq <= 0 || p.indexOf('=', eq + 1) >= 0) fail(line, `bad telegraf tag ${p}`);
      const k = p.slice(0, eq);
      const v = p.slice(eq + 1);
      if (!TELEGRAF_PART.test(k) || !TELEGRAF_PART.test(v)) fail(line, `bad telegraf tag ${p}`);
      tags.push(`${k}:${v}`);
    }
  }
  const pattern = opts.namePattern ?? /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
  if (!pattern.test(name) || /[:|@,\s]/.test(name)) fail(line, `bad name ${name}`);
  if (!VALUE.test(valueText)) fail(line, `bad value ${valueText}`);
  const type = fields[1] ?? '';
  if (!STATSD_TYPES.has(type)) fail(line, `bad type ${type}`);
  let rate = 1;
  let rateText: string | undefined;
  if (fields[2] !== undefined) {
    if (!fields[2].startsWith('@')) fail(line, `unknown field ${fields[2]}`);
    rateText = fields[2].slice(1);
    if (!RATE.test(rateText)) fail(line, `bad sample rate ${rateText}`);
    rate = Number(rateText);
  }
  return { name, value: Number(valueText), type, rate, rateText, tags, raw: line };
}

/** A receiving socket that keeps every datagram. */
export interface DatagramServer {
  /** `host:port` or `unix:///path`, for exporter configs. */
  readonly endpoint: string;
  readonly datagrams: Buffer[];
  /** Every line of every datagram, in arrival order. */
  lines(): string[];
  /** Waits until `pred(lines)` holds (polling), or throws after `timeoutMs`. */
  waitFor(what: string, pred: (lines: string[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Waits until no datagram arrived for `quietMs`. */
  settle(quietMs?: number): Promise<void>;
  close(): Promise<void>;
}

function linesOf(datagrams: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const d of datagrams) for (const l of d.toString('utf8').split('\n')) out.push(l);
  return out;
}

function serverApi(endpoint: string, datagrams: Buffer[], lastAt: () => number, close: () => Promise<void>): DatagramServer {
  return {
    endpoint,
    datagrams,
    lines: () => linesOf(datagrams),
    async waitFor(what, pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(linesOf(datagrams))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${datagrams.length} datagrams received)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async settle(quietMs = 150) {
      for (;;) {
        const wait = lastAt() + quietMs - Date.now();
        if (wait <= 0) return;
        await new Promise((r) => setTimeout(r, wait));
      }
    },
    close,
  };
}

/** A UDP receiver on 127.0.0.1 with a large receive buffer (bursts must not overflow it in tests). */
export async function udpServer(): Promise<DatagramServer> {
  const socket = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  let last = Date.now();
  socket.on('message', (m) => {
    datagrams.push(m);
    last = Date.now();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // The kernel caps it at net.core.rmem_max; a smaller buffer only makes bursts riskier.
  }
  const { port } = socket.address();
  let closed = false;
  return serverApi(`127.0.0.1:${port}`, datagrams, () => last, async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((r) => socket.close(() => r()));
  });
}

interface UnixDgramSocket {
  on(event: 'message', fn: (buf: Buffer) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  bind(path: string): void;
  close(): void;
}

const require = createRequire(import.meta.url);

/** A Unix datagram receiver bound to a fresh socket path in a temp dir (like the Agent's dsd.socket). */
export async function udsServer(path?: string): Promise<DatagramServer & { readonly path: string }> {
  const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram', fn?: (buf: Buffer) => void): UnixDgramSocket };
  const dir = path === undefined ? mkdtempSync(join(tmpdir(), 'dsd-')) : undefined;
  const socketPath = path ?? join(dir as string, 'dsd.socket');
  const datagrams: Buffer[] = [];
  let last = Date.now();
  const socket = unixDgram.createSocket('unix_dgram', (m) => {
    datagrams.push(Buffer.from(m));
    last = Date.now();
  });
  let bindError: Error | undefined;
  socket.on('error', (err) => {
    bindError ??= err;
  });
  socket.bind(socketPath);
  if (bindError) {
    socket.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot bind a Unix datagram socket at ${socketPath}: ${bindError.message}`);
  }
  let closed = false;
  const api = serverApi(`unix://${socketPath}`, datagrams, () => last, async () => {
    if (closed) return;
    closed = true;
    socket.close();
    rmSync(socketPath, { force: true });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return { ...api, path: socketPath };
}

// ---------------------------------------------------------------------------------------------------
// A component context with real self-telemetry, for exporter unit tests.

/** A context plus handles to read what the component reported. */
export interface TestExporterContext {
  readonly ctx: ComponentContext;
  readonly logs: LogLine[];
  readonly health: HealthRegistry;
  /** Sum of a self-telemetry counter (Prometheus name) over series whose labels include `labels`. */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Builds an exporter context with captured logs and real self-telemetry (prefix `test`). */
export function exporterContext(id: string, shared?: SharedConfig): TestExporterContext {
  const telemetry = new SelfTelemetry('test');
  const http = new HttpServers(silentLogger());
  const health = new HealthRegistry();
  const { logger, lines } = captureLogger('debug');
  const ctx = componentContext({
    id,
    logger: logger.child({ component: id }),
    telemetry: telemetry.forComponent('exporter', id),
    health,
    http,
    ...(shared ? { shared } : {}),
    instanceId: `test-${process.pid}`,
  });
  return {
    ctx,
    logs: lines,
    health,
    async counter(name, labels = {}) {
      const text = await telemetry.scrape();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith('#')) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got: Record<string, string> = {};
        for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1] as string] = l[2] as string;
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
    async close() {
      await http.close();
      await telemetry.shutdown();
    },
  };
}

// ---------------------------------------------------------------------------------------------------

/** An exporter under test, sending to a real receiving socket. */
export interface DatagramHarness<E> {
  readonly server: DatagramServer;
  readonly t: TestExporterContext;
  readonly exporter: E;
  /** Shuts the exporter down, waits for the datagrams, and parses every line (a strict parser throws on a malformed one). */
  finish(parse?: (line: string) => ParsedLine): Promise<ParsedLine[]>;
}

/** What {@link datagramHarness} needs. */
export interface DatagramHarnessOptions<E> {
  /** Exporter id (and `exporter` label of its self-telemetry). */
  readonly id: string;
  /** Builds the exporter for the server's endpoint. */
  readonly make: (ctx: ComponentContext, endpoint: string) => E;
  /** The parser `finish()` uses when given none. */
  readonly parse: (line: string) => ParsedLine;
  /** Where the server, context and exporter are registered for closing. */
  readonly cleanups: Cleanups;
  /** Send here instead of a new UDP server. */
  readonly server?: DatagramServer;
}

/** Starts an exporter with a real context, sending to `server` (default: a new UDP server). */
export async function datagramHarness<E extends { start(): Promise<void>; shutdown(): Promise<void> }>(
  opts: DatagramHarnessOptions<E>,
): Promise<DatagramHarness<E>> {
  const server = opts.server ?? (await udpServer());
  const t = exporterContext(opts.id);
  const exporter = opts.make(t.ctx, server.endpoint);
  opts.cleanups.push(() => server.close(), () => t.close(), () => exporter.shutdown());
  await exporter.start();
  return {
    server,
    t,
    exporter,
    async finish(parse = opts.parse) {
      await exporter.shutdown();
      await server.settle();
      return server.lines().map((l) => parse(l));
    },
  };
}
