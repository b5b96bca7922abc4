/**
 * What the Redis benches share (`pipeline`, `receiver`, `workers`; `sql` reads `/proc` too):
 *
 * - the **backlog**: the msgpack fixtures of every gateway generation (real gateway bytes, network-stats
 *   records included), cycled, each record made unique by its `TimeStamp` nanoseconds, generated inside
 *   the private redis-server by one Lua script ({@link GENERATE_LUA}) so no bytes cross the network;
 * - **a variant in a child process** of its own (its peak RSS is its own): {@link runChild} starts this
 *   file again with `--child` and reads the JSON it prints, {@link replyAsChild} is the child's side;
 * - **measuring a process from inside** ({@link measureProcess}: wall clock, CPU of every thread, RSS
 *   sampled every 20 ms) or **from outside** by its pid ({@link procCpuTicks}, {@link procStatusKiB}:
 *   `/proc/<pid>/stat` and `/proc/<pid>/status`, so the watching costs the watched process nothing).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { loadFixtures, type Fixture } from '../helpers/fixtures.js';
import { splitAtNanos } from '../helpers/tyk-redis.js';

// --- the backlog -----------------------------------------------------------------------------------------

/** The fixture files of every gateway generation's msgpack records. */
const BACKLOG_FIXTURES = ['gateway-msgpack.jsonl', 'gateway-legacy-v4.jsonl', 'gateway-pump18.jsonl'] as const;

/** RPUSHes `n` records cycling through the templates, each with a unique TimeStamp nanoseconds value. */
const GENERATE_LUA = `
local t = (#ARGV - 2) / 2
local first, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch = {}
for i = first, first + n - 1 do
  local j = (i % t) * 2 + 3
  batch[#batch + 1] = ARGV[j] .. '\\206' .. struct.pack('>I', i) .. ARGV[j + 1]
  if #batch == 1000 then redis.call('RPUSH', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
return n`;

/** The records a backlog cycles through, and how to put `n` of them in a list. */
export interface Backlog {
  /** The fixtures, in the order they are cycled. */
  readonly fixtures: readonly Fixture[];
  /** Their average size (bytes). */
  readonly avgBytes: number;
  /** How many of the first `n` records of the cycle are HTTP records (the others are network-stats ones). */
  httpRecords(n: number): number;
  /** Replaces `key` with `n` records of the cycle (record `i` is fixture `i % fixtures.length`, made unique by `i`). */
  fill(client: Redis, key: string, n: number): Promise<void>;
}

/** The msgpack fixtures of every gateway generation as a backlog. */
export function gatewayBacklog(): Backlog {
  const fixtures = BACKLOG_FIXTURES.flatMap((f) => loadFixtures(f));
  const bytes = fixtures.map((f) => f.bytes);
  const isHttp = fixtures.map((f) => f.expected['response_code'] !== -1);
  const parts = bytes.flatMap((b) => splitAtNanos(b));
  return {
    fixtures,
    avgBytes: Math.round(bytes.reduce((a, b) => a + b.length, 0) / bytes.length),
    httpRecords(n) {
      let http = 0;
      for (let i = 0; i < n; i++) if (isHttp[i % isHttp.length]) http++;
      return http;
    },
    async fill(client, key, n) {
      await client.del(key);
      for (let done = 0; done < n; done += 50_000) await client.eval(GENERATE_LUA, 1, key, done, Math.min(50_000, n - done), ...parts);
    },
  };
}

// --- a variant in a child process ----------------------------------------------------------------------

/**
 * Runs `script` again as a child (`node --expose-gc --import tsx <script> --child …args`), optionally
 * pinned to a CPU set with `taskset -c cpus`, and returns the JSON it printed; throws with its stderr
 * when it failed.
 */
export function runChild<T>(script: string, args: readonly string[], opts: { readonly cpus?: string; readonly what?: string } = {}): T {
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', script, '--child', ...args];
  const [cmd, ...argv] = opts.cpus === undefined ? node : ['taskset', '-c', opts.cpus, ...node];
  const r = spawnSync(cmd as string, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${opts.what ?? args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The `--child` arguments this process was started with by {@link runChild}, or undefined in the parent. */
export function childArgs(): string[] | undefined {
  const args = process.argv.slice(2);
  return args[0] === '--child' ? args.slice(1) : undefined;
}

/** The child's side of {@link runChild}: prints `result` as JSON and exits. */
export async function replyAsChild(result: Promise<unknown>): Promise<never> {
  process.stdout.write(JSON.stringify(await result));
  process.exit(0);
}

// --- measuring a process ------------------------------------------------------------------------------

/** A measurement of this process started by {@link measureProcess}. */
export interface ProcessMeasure {
  /** RSS when the measurement started (MiB). */
  readonly startRssMiB: number;
  /** Wall seconds and CPU µs (user + system, every thread) from the start; the first call fixes them. */
  stop(): { readonly seconds: number; readonly cpuUs: number };
  /**
   * The highest RSS sampled so far, now included (MiB); with `lifetime`, also the process's peak since it
   * began (`getrusage` maxRSS: start-up included).
   */
  peakRssMiB(lifetime: boolean): number;
  /** Stops the sampling. */
  close(): void;
}

/** Starts the clock, the CPU count and an RSS sample every 20 ms. */
export function measureProcess(): ProcessMeasure {
  let peak = process.memoryUsage.rss();
  const startRssMiB = peak / 1048576;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let stopped: { seconds: number; cpuUs: number } | undefined;
  return {
    startRssMiB,
    stop() {
      if (!stopped) {
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(c0);
        stopped = { seconds, cpuUs: cpu.user + cpu.system };
      }
      return stopped;
    },
    peakRssMiB(lifetime) {
      peak = Math.max(peak, lifetime ? process.resourceUsage().maxRSS * 1024 : process.memoryUsage.rss());
      return peak / 1048576;
    },
    close: () => clearInterval(sampler),
  };
}

/** Linux clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on every Linux we run). */
export const CLK_TCK = 100;

/** A process's parent pid and its CPU time so far (user + system, in {@link CLK_TCK} ticks), from `/proc/<pid>/stat`. */
export function procStat(pid: number | string): { readonly ppid: number; readonly cpuTicks: number; readonly userTicks: number; readonly sysTicks: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields start after its last ')'.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(f[11]);
  const sysTicks = Number(f[12]);
  return { ppid: Number(f[1]), cpuTicks: userTicks + sysTicks, userTicks, sysTicks };
}

/** A process's CPU time so far (user + system, ticks). */
export function procCpuTicks(pid: number): number {
  return procStat(pid).cpuTicks;
}

/** `VmRSS` (now) or `VmHWM` (peak) of a process, in KiB, from `/proc/<pid>/status` (0 when absent). */
export function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
