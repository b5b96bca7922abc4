/**
 * Test support for the `tyk_redis` receiver: a real component context (self-telemetry, health registry,
 * captured logs), unique record bytes derived from the real fixtures, and private `redis-server` processes
 * for tests that stop, restart or reconfigure Redis (never the shared one on 6379).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { ComponentContext, Consumer, Receiver } from '../../src/component.js';
import type { RecordBatch } from '../../src/model.js';
import { HttpServers } from '../../src/http-server.js';
import { HealthRegistry } from '../../src/graph.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';
import { tykRedisReceiverFactory } from '../../receivers/tyk_redis/index.js';
import { captureLogger, type LogLine } from './log-capture.js';
import { loadFixtures } from './fixtures.js';

/** A receiver wired to a real context. */
export interface ReceiverHarness {
  readonly receiver: Receiver;
  readonly ctx: ComponentContext;
  readonly telemetry: SelfTelemetry;
  readonly health: HealthRegistry;
  readonly logs: LogLine[];
  /** Self-telemetry in Prometheus text. */
  scrape(): Promise<string>;
  /** Shuts the receiver down and closes the telemetry. */
  close(): Promise<void>;
}

/** Creates a `tyk_redis` receiver from a (partial) config with a real context. */
export function receiverHarness(config: Record<string, unknown>, next: Consumer<'records'>, opts: { id?: string; instanceId?: string; configDir?: string } = {}): ReceiverHarness {
  const id = opts.id ?? 'tyk_redis';
  const telemetry = new SelfTelemetry('tyk_otel_pump');
  const health = new HealthRegistry();
  const { logger, lines } = captureLogger('debug');
  const ctx: ComponentContext = {
    id,
    logger: logger.child({ component: id }),
    telemetry: telemetry.forComponent('receiver', id),
    health: health.reporter(id),
    http: new HttpServers(logger).hostFor(id),
    shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined) }),
    instanceId: opts.instanceId ?? `test-${process.pid}`,
    configDir: opts.configDir ?? process.cwd(),
  };
  const parsed = tykRedisReceiverFactory.configSchema.parse(config);
  const receiver = tykRedisReceiverFactory.create(ctx, parsed, next);
  return {
    receiver, ctx, telemetry, health, logs: lines,
    scrape: () => telemetry.scrape(),
    async close() {
      await receiver.shutdown();
      await telemetry.shutdown();
    },
  };
}

/** Value of one self-telemetry sample (0 when absent), matching every given label. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A consumer that collects records; optionally blocks until released. */
export class CollectingConsumer implements Consumer<'records'> {
  readonly batches: RecordBatch[] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  /** Number of consume calls that entered (including blocked ones). */
  entered = 0;

  async consume(data: RecordBatch): Promise<void> {
    this.entered++;
    if (this.gate) await this.gate;
    this.batches.push(data);
  }

  /** Makes every following consume wait until `release()`. */
  block(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  get count(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
}

const TIMESTAMP_KEY = Buffer.from([0xa9, ...Buffer.from('TimeStamp'), 0x92]);

/**
 * A copy of a msgpack fixture record whose `TimeStamp` nanoseconds are `n` (0 ≤ n < 1e9): a unique,
 * decodable id that survives the decoder (`timestampMs % 1000 * 1e6 + timestampNs`).
 */
export function uniqueMsgpack(template: Buffer, n: number): Buffer {
  const at = template.indexOf(TIMESTAMP_KEY);
  if (at < 0) throw new Error('template has no TimeStamp');
  let pos = at + TIMESTAMP_KEY.length;
  pos += intLength(template, pos); // seconds
  const nsAt = pos;
  const nsLen = intLength(template, pos);
  const ns = Buffer.alloc(5);
  ns[0] = 0xce;
  ns.writeUInt32BE(n, 1);
  return Buffer.concat([template.subarray(0, nsAt), ns, template.subarray(nsAt + nsLen)]);
}

/** The bytes around the `TimeStamp` nanoseconds of a msgpack record: `[before, after]` (the id goes between as `0xce` + u32). */
export function splitAtNanos(template: Buffer): [Buffer, Buffer] {
  const at = template.indexOf(TIMESTAMP_KEY);
  if (at < 0) throw new Error('template has no TimeStamp');
  let pos = at + TIMESTAMP_KEY.length;
  pos += intLength(template, pos);
  return [template.subarray(0, pos), template.subarray(pos + intLength(template, pos))];
}

const GENERATE_LUA = `
local pre, suf = ARGV[1], ARGV[2]
local first, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local batch = {}
for i = first, first + n - 1 do
  batch[#batch + 1] = pre .. '\\206' .. struct.pack('>I', i) .. suf
  if #batch == 1000 then redis.call('RPUSH', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
return n`;

/**
 * RPUSHes `n` copies of a msgpack fixture with ids `first … first+n-1` (see {@link uniqueMsgpack}), built
 * by a Lua script inside Redis so a million records cost no network transfer. Blocks that Redis meanwhile:
 * use it on private servers or for modest counts.
 */
export async function pushUnique(client: Redis, key: string, template: Buffer, first: number, n: number): Promise<void> {
  const [pre, suf] = splitAtNanos(template);
  for (let done = 0; done < n; done += 50_000) {
    await client.eval(GENERATE_LUA, 1, key, pre, suf, first + done, Math.min(50_000, n - done));
  }
}

function intLength(b: Buffer, pos: number): number {
  const c = b[pos] as number;
  if (c <= 0x7f || c >= 0xe0) return 1;
  switch (c) {
    case 0xcc: case 0xd0: return 2;
    case 0xcd: case 0xd1: return 3;
    case 0xce: case 0xd2: return 5;
    case 0xcf: case 0xd3: return 9;
    default: throw new Error(`not an int code 0x${c.toString(16)}`);
  }
}

/** The id `uniqueMsgpack` put into a decoded record. */
export function uniqueId(r: { timestampMs: number | null; timestampNs: number }): number {
  return ((r.timestampMs ?? 0) % 1000) * 1e6 + r.timestampNs;
}

let small: Buffer | undefined;

/** The smallest current-gateway msgpack fixture (a cheap template for volume tests). */
export function smallTemplate(): Buffer {
  small ??= loadFixtures('gateway-msgpack.jsonl').map((f) => f.bytes).reduce((a, b) => (b.length < a.length ? b : a));
  return small;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A private redis-server process. */
export interface PrivateRedis {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  process: ChildProcess;
  /** Connects a client (password/user optional). */
  client(opts?: { username?: string; password?: string; tls?: Record<string, unknown>; port?: number }): Promise<Redis>;
  /** Stops the server (SIGTERM: it writes its append-only file if enabled, then exits). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same arguments and data directory. */
  restart(): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

/** Starts `redis-server` on a free port with `extra` arguments (persistence off unless given). */
export async function startPrivateRedis(extra: string[] = [], opts: { port?: number; ready?: 'ping' | 'none'; pingArgs?: string[] } = {}): Promise<PrivateRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tyk-redis-test-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis.log'), ...extra];
  const launch = async (): Promise<ChildProcess> => {
    const p = spawn('redis-server', args, { stdio: 'ignore' });
    if (opts.ready !== 'none') await waitPing(port, opts.pingArgs ?? []);
    return p;
  };
  const r: PrivateRedis = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}/0`,
    process: await launch(),
    async client(o = {}) {
      const c = new Redis({ host: '127.0.0.1', port: o.port ?? port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, ...o });
      await c.connect();
      return c;
    },
    async stop(signal = 'SIGTERM') {
      const p = r.process;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill(signal);
      });
    },
    async restart() {
      await r.stop();
      r.process = await launch();
    },
    async destroy() {
      await r.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

async function waitPing(port: number, pingArgs: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...pingArgs, 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', () => resolve(out.includes('PONG')));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
