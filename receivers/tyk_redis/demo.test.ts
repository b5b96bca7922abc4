/**
 * The `demo` command (src/commands/demo.ts) through this receiver's demo writer, against the real Redis: it writes where the config's first tyk_redis receiver
 * reads, at the requested rate, bytes that decode with the receiver's decoder; and an agent started with
 * the same config receives every record it pushed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { startAgent, waitFor } from '../../test/helpers/agent.js';
import { main } from '../../src/cli.js';
import { decodeAnalytics, decodeUptime } from '../../internal/tyk-wire/decode.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

function totals(lines: readonly string[]): { http: number; network: number; uptime: number } {
  const done = lines.find((l) => l.startsWith('demo: done:'));
  const m = /done: (\d+) requests, (\d+) network, (\d+) uptime/.exec(done ?? '');
  assert.ok(m, lines.join('\n'));
  return { http: Number(m[1]), network: Number(m[2]), uptime: Number(m[3]) };
}

describe('demo command', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let dir: string;
  let config: string;
  let yaml: string;

  before(async () => {
    redis = await testRedis('demo');
    dir = await mkdtemp(join(tmpdir(), 'demo-'));
    yaml = `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    poll_interval: 100ms
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    records:
      receivers: [tyk_redis]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`;
    config = join(dir, 'config.yaml');
    await writeFile(config, yaml);
  });

  after(async () => {
    await redis?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes gateway-encoded traffic to the receiver\'s lists at the requested rate', async () => {
    const { io, out, err } = capture();
    const code = await main(['demo', '--config', config, '--duration', '1.2', '--rate', '300', '--apis', '7', '--seed', '1', '--summary-interval', '0.5'], io);
    assert.equal(code, 0, err.join('\n'));
    const t = totals(out);
    assert.ok(out.some((l) => /requests \(\d+\/s\)/.test(l)), 'periodic summary lines');
    assert.ok(t.http >= 250 && t.http <= 400, `~360 requests in 1.2 s at 300/s, got ${t.http}`);
    const analytics = await redis.client.lrangeBuffer(`${redis.prefix}analytics-tyk-system-analytics`, 0, -1);
    const uptime = await redis.client.lrangeBuffer(`${redis.prefix}uptime`, 0, -1);
    assert.equal(analytics.length, t.http + t.network);
    assert.equal(uptime.length, t.uptime);
    assert.ok(t.network >= 1 && t.uptime === 7, JSON.stringify(t));
    const records = analytics.map((b) => decodeAnalytics(b, 'msgpack'));
    assert.equal(records.filter((r) => r.kind === 'network').length, t.network);
    assert.ok(new Set(records.map((r) => r.apiId)).size === 7);
    assert.ok(records.every((r) => r.timestampMs !== null && Math.abs(r.timestampMs - Date.now()) < 60_000));
    for (const b of uptime) assert.equal(decodeUptime(b).kind, 'uptime');
    await redis.client.del(`${redis.prefix}analytics-tyk-system-analytics`, `${redis.prefix}uptime`);
  });

  it('--key-prefix and --uptime-key override the config; bad options are usage errors', async () => {
    const { io, out } = capture();
    assert.equal(await main(['demo', '--config', config, '--duration', '0.3', '--rate', '50', '--key-prefix', `${redis.prefix}other-`, '--uptime-key', `${redis.prefix}up2`], io), 0);
    const t = totals(out);
    assert.equal(await redis.client.llen(`${redis.prefix}other-tyk-system-analytics`), t.http + t.network);
    assert.equal(await redis.client.llen(`${redis.prefix}up2`), t.uptime);
    const bad = capture();
    assert.equal(await main(['demo', '--rate=0', '--apis', 'x'], bad.io), 2);
    assert.ok(bad.err.some((l) => l.startsWith('--rate must be')) && bad.err.some((l) => l.startsWith('--apis must be')));
  });

  it('is a CLI command, and an agent with the same config receives every record it pushed', async () => {
    const agent = await startAgent(yaml, { dir });
    try {
      const { io, out, err } = capture();
      assert.equal(await main(['demo', '--config', config, '--duration', '1', '--rate', '200'], io), 0, err.join('\n'));
      const t = totals(out);
      const want = t.http + t.network + t.uptime;
      const file = join(dir, 'out.jsonl');
      const lines = await waitFor('every demo record in the file', async () => {
        // Complete lines only: the exporter may be writing the last one while we read.
        const l = (await readFile(file, 'utf8').catch(() => '')).split('\n').slice(0, -1);
        return l.length >= want ? l : undefined;
      }, 20_000);
      assert.equal(lines.length, want);
      const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(objs.filter((o) => 'url' in o).length, t.uptime);
      assert.equal(objs.filter((o) => o['response_code'] === -1).length, t.network);
    } finally {
      await agent.stop();
    }
  });
});
