/**
 * A real Prometheus server for end-to-end tests: `/usr/bin/prometheus` on 127.0.0.1 and a free port, its
 * storage in a temp dir, scraping the given targets every `scrapeInterval` and evaluating the given rule
 * files every `evaluationInterval`. `query()` runs an instant query through the HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from './agent.js';

/** The Prometheus binary (Debian's package; override with PROMETHEUS_BIN). */
export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

/** One sample of an instant-query result. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** Base URL, e.g. `http://127.0.0.1:39123`. */
  readonly url: string;
  /** Its temp dir (config, rules, storage). */
  readonly dir: string;
  /** Instant query; rejects when Prometheus answers with an error. */
  query(expr: string): Promise<PromSample[]>;
  /** Resolves once every target was scraped successfully (`up == 1`). */
  waitForTargets(timeoutMs?: number): Promise<void>;
  /** Everything Prometheus wrote to stderr (for failure messages). */
  logs(): string;
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** `host:port` scrape targets (path `/metrics`). */
  readonly targets: readonly string[];
  /** Rule files: name → YAML text, written into the temp dir and loaded. */
  readonly rules?: Readonly<Record<string, string>>;
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus and waits until it is ready. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const ruleFiles = Object.keys(opts.rules ?? {});
  for (const [name, text] of Object.entries(opts.rules ?? {})) writeFileSync(join(dir, name), text);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: opts.scrapeInterval ?? '1s', evaluation_interval: opts.evaluationInterval ?? '1s' },
      rule_files: ruleFiles.map((f) => join(dir, f)),
      scrape_configs: [{ job_name: 'agent', static_configs: [{ targets: [...opts.targets] }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`prometheus ready on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
      const r = await fetch(`${url}/-/ready`);
      return r.ok;
    }, 20_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }

  const query = async (expr: string): Promise<PromSample[]> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? r.status}`);
    if (body.data?.resultType === 'scalar') return [{ metric: {}, value: Number((body.data.result as unknown as [number, string])[1]) }];
    return (body.data?.result ?? []).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
  };

  return {
    url,
    dir,
    query,
    async waitForTargets(timeoutMs = 15_000) {
      await waitFor('every target up', async () => {
        const up = await query('up');
        return up.length === opts.targets.length && up.every((s) => s.value === 1);
      }, timeoutMs, 200);
    },
    logs: () => stderr,
    stop,
  };
}
