/**
 * `tyk-otel-pump demo`: pushes realistic synthetic gateway traffic (`demo-traffic.ts`) into the source of
 * the config's first receiver that can take it (a factory with a `demo` hook; today `tyk_redis`, which
 * writes byte for byte what a Tyk gateway writes) — so `demo` feeds the agent started with the same
 * config. Without a config file, the first such receiver type's defaults are used.
 *
 * Options: `--rate` requests/s (default 100), `--duration` seconds (0 = until Ctrl-C, the default),
 * `--apis` (default 6), `--key-prefix`/`--uptime-key` to override the config's lists, `--seed` for
 * reproducible traffic, `--summary-interval` seconds between summary lines (default 5).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import type { AnalyticsRecord, UptimeRecord } from '../model.js';
import type { DemoOptions, DemoWriter, ReceiverFactory } from '../component.js';
import { factories } from '../factories.js';
import { DemoTraffic, Rng } from './demo-traffic.js';
import { CONFIG_OPTION, loadConfig, type Command, type Io } from './io.js';

const USAGE = 'demo [--config FILE] [--rate N] [--duration S] [--apis N] [--key-prefix P] [--uptime-key K] [--seed N]';

type DemoFactory = ReceiverFactory & Required<Pick<ReceiverFactory, 'demo'>>;

function hasDemo(f: (typeof factories)[number]): f is DemoFactory {
  return f.kind === 'receiver' && f.demo !== undefined;
}

/** Opens the writer of the config's first receiver with a demo hook (that type's defaults without a config file). */
async function openWriter(file: string, options: DemoOptions, io: Io): Promise<DemoWriter | undefined> {
  const fallback = factories.find(hasDemo);
  if (!fallback) {
    io.err('demo: no receiver type of this build can take demo traffic');
    return undefined;
  }
  let factory: DemoFactory = fallback;
  let config: unknown;
  let dir = process.cwd();
  if (!existsSync(file)) {
    io.err(`demo: ${file} not found; using the ${fallback.type} receiver's defaults`);
  } else {
    const resolved = await loadConfig(file, io);
    if (!resolved) return undefined;
    dir = resolved.dir;
    const entry = [...resolved.components.values()].find((c) => hasDemo(c.factory));
    if (entry && hasDemo(entry.factory)) {
      factory = entry.factory;
      config = entry.config;
    } else {
      io.err(`demo: ${file} has no receiver that takes demo traffic; using the ${fallback.type} receiver's defaults`);
    }
  }
  config ??= factory.configSchema.parse({});
  try {
    return await factory.demo(config, dir, options);
  } catch (err) {
    io.err(`demo: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Runs the demo command. Resolves with the exit code after `--duration`, SIGINT/SIGTERM, or `signal`
 * (given by an in-process caller, which then owns stopping it).
 */
export async function runDemo(args: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...CONFIG_OPTION,
      rate: { type: 'string', default: '100' },
      duration: { type: 'string', default: '0' },
      apis: { type: 'string', default: '6' },
      'key-prefix': { type: 'string' },
      'uptime-key': { type: 'string' },
      seed: { type: 'string' },
      'summary-interval': { type: 'string', default: '5' },
    },
  });
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  const apis = Number(values.apis);
  const every = Number(values['summary-interval']);
  const bad = [
    !(Number.isFinite(rate) && rate > 0 && rate <= 1_000_000) && `--rate must be a number of records per second in (0, 1000000] (got ${values.rate})`,
    !(Number.isFinite(duration) && duration >= 0) && `--duration must be seconds, 0 = until Ctrl-C (got ${values.duration})`,
    !(Number.isInteger(apis) && apis >= 1 && apis <= 1000) && `--apis must be an integer from 1 to 1000 (got ${values.apis})`,
    !(Number.isFinite(every) && every > 0) && `--summary-interval must be seconds > 0 (got ${values['summary-interval']})`,
  ].filter((x): x is string => typeof x === 'string');
  if (bad.length > 0) {
    for (const b of bad) io.err(b);
    io.err(`usage: tyk-otel-pump ${USAGE}`);
    return 2;
  }
  const writer = await openWriter(values.config, { keyPrefix: values['key-prefix'], uptimeKey: values['uptime-key'] }, io);
  if (!writer) return 1;

  const seed = values.seed === undefined ? (Date.now() ^ process.pid) >>> 0 : Number(values.seed);
  const traffic = new DemoTraffic(new Rng(seed), apis);
  io.out(`demo: ${rate} requests/s over ${apis} APIs → ${writer.describe}; ${duration === 0 ? 'Ctrl-C to stop' : `${duration} s`}`);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (signal) signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const TICK_MS = 100;
  const started = Date.now();
  const totals = { http: 0, network: 0, uptime: 0, bytes: 0 };
  let sinceSummary = { http: 0, at: started };
  let lastNetworkSec = Math.floor(started / 1000);
  let lastUptimeAt = started - 10_000;
  let code = 0;
  try {
    while (!stop.signal.aborted) {
      const now = Date.now();
      if (duration > 0 && now - started >= duration * 1000) break;
      const analytics: AnalyticsRecord[] = [];
      const uptime: UptimeRecord[] = [];
      // Pace to the wall clock, so a slow round trip does not lower the rate.
      const n = Math.floor(Math.min(rate * ((now - started) / 1000) - totals.http, rate * 2));
      for (let i = 0; i < n; i++) analytics.push(traffic.http(now));
      totals.http += n;
      const sec = Math.floor(now / 1000);
      if (sec > lastNetworkSec) {
        lastNetworkSec = sec;
        for (const api of traffic.tcpApis) {
          analytics.push(traffic.network(api, now));
          totals.network++;
        }
      }
      if (now - lastUptimeAt >= 10_000) {
        lastUptimeAt = now;
        for (const api of traffic.apis) {
          uptime.push(traffic.uptime(api, now));
          totals.uptime++;
        }
      }
      if (analytics.length > 0 || uptime.length > 0) totals.bytes += await writer.write(analytics, uptime);
      if (now - sinceSummary.at >= every * 1000) {
        const perSec = ((totals.http - sinceSummary.http) * 1000) / (now - sinceSummary.at);
        io.out(`demo: ${totals.http} requests (${perSec.toFixed(0)}/s), ${totals.network} network, ${totals.uptime} uptime records pushed, ${(totals.bytes / 1e6).toFixed(1)} MB`);
        sinceSummary = { http: totals.http, at: now };
      }
      await sleep(Math.max(0, TICK_MS - (Date.now() - now)), stop.signal);
    }
  } catch (err) {
    io.err(`demo: write failed: ${(err as Error).message}`);
    code = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signal?.removeEventListener('abort', onSignal);
    writer.close();
  }
  io.out(`demo: done: ${totals.http} requests, ${totals.network} network, ${totals.uptime} uptime records in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return code;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The `demo` command. */
export const demoCommand: Command = {
  summary: 'push realistic synthetic gateway traffic (exact gateway msgpack) into the Redis of the first tyk_redis receiver',
  usage: USAGE,
  run: (args, io) => runDemo(args, io),
};
