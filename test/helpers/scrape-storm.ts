/**
 * A scrape-storm load generator: `node --import tsx test/helpers/scrape-storm.ts '<json StormOptions>'`
 * prints one JSON {@link StormResult} line. With `scrapers` > 0, that many clients fetch `metricsUrl`
 * back to back (every second one asking for gzip, as Prometheus does) for `durationMs`; with `scrapers`
 * 0 it is a prober that fetches each of `probeUrls` in turn every `probeIntervalMs` on a fresh
 * connection. Run scrapers and prober as separate processes: receiving hundreds of MB would otherwise
 * delay the prober's own event loop and be measured as server latency.
 */
import { Agent, request } from 'node:http';

/** What to run. */
export interface StormOptions {
  readonly metricsUrl: string;
  readonly probeUrls: readonly string[];
  readonly scrapers: number;
  readonly durationMs: number;
  readonly probeIntervalMs: number;
}

/** What happened. */
export interface StormResult {
  readonly scrapes: number;
  readonly scrapeErrors: number;
  /** Bytes received (compressed where gzip was asked). */
  readonly bytes: number;
  /** Uncompressed body size of the last plain scrape. */
  readonly plainBytes: number;
  readonly scrapeMs: { readonly p50: number; readonly max: number };
  readonly probes: number;
  readonly probeErrors: number;
  readonly probeMs: { readonly p50: number; readonly p95: number; readonly max: number };
}

function fetch(url: string, agent: Agent | false, gzip: boolean): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Runs a storm (exported for in-process use; the CLI form below is what tests run). */
export async function storm(o: StormOptions): Promise<StormResult> {
  const end = Date.now() + o.durationMs;
  const agent = new Agent({ keepAlive: true, maxSockets: o.scrapers });
  const scrapeMs: number[] = [];
  let scrapeErrors = 0;
  let bytes = 0;
  let plainBytes = 0;
  const scraper = async (i: number): Promise<void> => {
    while (Date.now() < end) {
      const t0 = performance.now();
      try {
        const r = await fetch(o.metricsUrl, agent, i % 2 === 1);
        if (r.status !== 200) scrapeErrors++;
        bytes += r.bytes;
        if (i % 2 === 0) plainBytes = r.bytes;
        scrapeMs.push(performance.now() - t0);
      } catch {
        scrapeErrors++;
      }
    }
  };
  const probeMs: number[] = [];
  let probeErrors = 0;
  const prober = async (): Promise<void> => {
    let n = 0;
    while (Date.now() < end) {
      const url = o.probeUrls[n++ % o.probeUrls.length] as string;
      const t0 = performance.now();
      try {
        const r = await fetch(url, false, false);
        if (r.status >= 500 && !url.endsWith('/ready')) probeErrors++;
        probeMs.push(performance.now() - t0);
      } catch {
        probeErrors++;
      }
      await new Promise((r) => setTimeout(r, o.probeIntervalMs));
    }
  };
  await Promise.all(o.scrapers > 0 ? Array.from({ length: o.scrapers }, (_, i) => scraper(i)) : [prober()]);
  agent.destroy();
  scrapeMs.sort((a, b) => a - b);
  probeMs.sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    scrapes: scrapeMs.length,
    scrapeErrors,
    bytes,
    plainBytes,
    scrapeMs: { p50: round(pct(scrapeMs, 0.5)), max: round(scrapeMs[scrapeMs.length - 1] ?? NaN) },
    probes: probeMs.length,
    probeErrors,
    probeMs: { p50: round(pct(probeMs, 0.5)), p95: round(pct(probeMs, 0.95)), max: round(probeMs[probeMs.length - 1] ?? NaN) },
  };
}

if (process.argv[1]?.endsWith('scrape-storm.ts')) {
  const result = await storm(JSON.parse(process.argv[2] ?? '{}') as StormOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
