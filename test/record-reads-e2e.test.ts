/**
 * Decoding only what the pipelines read, end to end with a real Redis and a real agent, from the gateway
 * fixtures' bytes (every generation, msgpack and protobuf, plus uptime):
 * - receiver A feeds a metrics pipeline (route → sli → prometheus) and a file pipeline: it decodes every
 *   field, and the file holds every record exactly as the fixtures expect it;
 * - receiver B gets the same records for a metrics pipeline alone: it decodes only what route and sli read,
 *   and its /metrics equals A's, with exact totals computed from the fixtures;
 * - receiver D is a drainer (→ redis_stream): it reads no field, so it only checks each element; the
 *   stream gets every good element's original bytes and the broken ones go to the dead-letter list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { loadFixtures, type Fixture } from './helpers/fixtures.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { freePort } from './helpers/tyk-redis.js';

const ANALYTICS = [
  ...loadFixtures('gateway-msgpack.jsonl'),
  ...loadFixtures('gateway-legacy-v4.jsonl'),
  ...loadFixtures('gateway-pump18.jsonl'),
  ...loadFixtures('gateway-protobuf.jsonl'),
];
const UPTIME = loadFixtures('uptime-msgpack.jsonl');
const HTTP = ANALYTICS.filter((f) => f.expected['response_code'] !== -1);

/** JSON with keys sorted at every level, so two objects compare by content. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** The fixture's expected values without the hint (a route hint, not a field). */
function expectedOf(f: Fixture): Record<string, unknown> {
  const { route_template_hint: _hint, ...want } = f.expected;
  return want;
}

/** A file line as comparable with a fixture: graphql_stats cut to the keys the fixture lists, no route. */
function comparableLine(line: Record<string, unknown>, f: Fixture): string {
  const { route: _route, ...rest } = line;
  const want = f.expected['graphql_stats'] as Record<string, unknown> | undefined;
  if (want !== undefined && rest['graphql_stats'] !== null && typeof rest['graphql_stats'] === 'object') {
    const got = rest['graphql_stats'] as Record<string, unknown>;
    rest['graphql_stats'] = Object.fromEntries(Object.keys(want).map((k) => [k, got[k]]));
  }
  return canonical(rest);
}

/** `name{labels} value` lines of a family, with the per-pipeline scope label left out. */
function samples(text: string, family: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(family)).map((l) => l.replace(/,?otel_scope_name="[^"]*"/, '').replace('{,', '{')).sort();
}

function total(text: string, family: string): number {
  return samples(text, `${family}{`).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('decode only what the pipelines read (real Redis, real agent)', { timeout: 90_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent;
  let portA: number;
  let portB: number;
  const dir = mkdtempSync(join(tmpdir(), 'record-reads-'));
  const file = join(dir, 'records.jsonl');
  const broken = [Buffer.from([0xc1, 0x00]), pack([1, 2, 3]), pack({ NotARecordField: 1 }), Buffer.from([0x8f, 0xa6])];

  before(async () => {
    redis = await testRedis('reads-e2e');
    for (const [p, list] of [['a-', ANALYTICS], ['b-', ANALYTICS], ['d-', ANALYTICS]] as const) {
      for (const key of new Set(list.map((f) => f.redisKey))) {
        await redis.push(`${redis.prefix}${p}${key}`, list.filter((f) => f.redisKey === key).map((f) => f.bytes));
      }
    }
    await redis.push(`${redis.prefix}a-uptime`, UPTIME.map((f) => f.bytes));
    await redis.push(`${redis.prefix}b-uptime`, UPTIME.map((f) => f.bytes));
    await redis.push(`${redis.prefix}d-analytics-tyk-system-analytics`, broken);
    portA = await freePort();
    portB = await freePort();
    agent = await startAgent(`
receivers:
  tyk_redis/a: { endpoint: ${redis.url}, key_prefix: ${redis.prefix}a-analytics-, uptime_key: ${redis.prefix}a-uptime, poll_interval: 100ms }
  tyk_redis/b: { endpoint: ${redis.url}, key_prefix: ${redis.prefix}b-analytics-, uptime_key: ${redis.prefix}b-uptime, poll_interval: 100ms }
  tyk_redis/d: { endpoint: ${redis.url}, key_prefix: ${redis.prefix}d-analytics-, uptime_key: ${redis.prefix}d-uptime, poll_interval: 100ms }
processors:
  route: {}
  sli: {}
exporters:
  prometheus/a: { endpoint: 127.0.0.1:${portA}, without_target_info: true }
  prometheus/b: { endpoint: 127.0.0.1:${portB}, without_target_info: true }
  file: { path: ${file} }
  redis_stream: { endpoint: ${redis.url}, stream: ${redis.prefix}stream }
service:
  pipelines:
    metrics/a:
      receivers: [tyk_redis/a]
      processors: [route, sli]
      exporters: [prometheus/a]
    records/a:
      receivers: [tyk_redis/a]
      exporters: [file]
    metrics/b:
      receivers: [tyk_redis/b]
      processors: [route, sli]
      exporters: [prometheus/b]
    records/d:
      receivers: [tyk_redis/d]
      exporters: [redis_stream]
  telemetry: { metrics: { address: 127.0.0.1:0 } }
`);
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  it('each receiver decodes what its pipelines read: A every field, B a projection, D none (logged at start)', () => {
    const decode = new Map(agent.logs.filter((l) => l['msg'] === 'receiver decodes the record fields its pipelines read').map((l) => [l['component'], String(l['decode'])]));
    assert.equal(decode.get('tyk_redis/a'), 'all fields');
    assert.match(decode.get('tyk_redis/b') ?? '', /^\d+ of 37 fields: /);
    assert.doesNotMatch(decode.get('tyk_redis/b') ?? '', /userAgent|rawRequest|geo|tags/);
    assert.equal(decode.get('tyk_redis/d'), 'no fields (format check only)');
  });

  it('the file pipeline gets every record in full, next to the metrics pipeline on the same receiver', async () => {
    const want = ANALYTICS.length + UPTIME.length;
    const lines = await waitFor('every record in the file', () => {
      if (!existsSync(file)) return undefined;
      const l = readFileSync(file, 'utf8').split('\n').filter((x) => x !== '');
      return l.length >= want ? l : undefined;
    }, 30_000, 100);
    assert.equal(lines.length, want);
    const got = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Every fixture has exactly one line holding all its expected values (every field, not a projection).
    const unmatched = [...got];
    for (const f of [...ANALYTICS, ...UPTIME]) {
      const want = canonical(expectedOf(f));
      const i = unmatched.findIndex((g) => comparableLine(g, f) === want);
      assert.ok(i >= 0, `no file line equals ${want.slice(0, 300)}`);
      unmatched.splice(i, 1);
    }
    assert.deepEqual(unmatched, []);
    assert.ok(got.some((g) => typeof g['raw_request'] === 'string' && g['raw_request'] !== ''), 'raw requests are there');
    assert.ok(got.some((g) => typeof g['user_agent'] === 'string' && g['user_agent'] !== ''), 'user agents are there');
  });

  it('the projected metrics pipeline (B) equals the fully decoded one (A), and both are exact', async () => {
    const [a, b] = await waitFor('both exporters to count every request', async () => {
      const ta = await scrape(portA);
      const tb = await scrape(portB);
      return total(ta, 'tyk_api_requests_total') === HTTP.length && total(tb, 'tyk_api_requests_total') === HTTP.length ? [ta, tb] : undefined;
    }, 30_000, 200);
    for (const family of ['tyk_api_requests_total', 'http_server_request_duration_seconds', 'tyk_upstream_request_duration_seconds', 'tyk_gateway_request_duration_seconds', 'tyk_network_', 'tyk_uptime_']) {
      const sa = samples(a, family);
      assert.ok(sa.length > 0, family);
      assert.deepEqual(samples(b, family), sa, family);
    }
    // Per API, from the fixtures alone.
    const perApi = new Map<string, number>();
    for (const f of HTTP) perApi.set(String(f.expected['api_id']), (perApi.get(String(f.expected['api_id'])) ?? 0) + 1);
    for (const [api, n] of perApi) {
      const lines = samples(b, 'tyk_api_requests_total{').filter((l) => l.includes(`tyk_api_id=${JSON.stringify(api)}`));
      assert.equal(lines.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0), n, api);
    }
    const durSum = HTTP.reduce((s, f) => s + Math.max(0, Number(f.expected['request_time'])) / 1000, 0);
    assert.ok(Math.abs(total(b, 'http_server_request_duration_seconds_sum') - durSum) < 1e-6);
  });

  it('the drainer (D) checks only the format: good elements reach the stream byte for byte, broken ones are dead-lettered', async () => {
    const entries = await waitFor('every good element in the stream', async () => {
      const e = await redis.client.xrangeBuffer(`${redis.prefix}stream`, '-', '+');
      return e.length >= ANALYTICS.length ? e : undefined;
    }, 30_000, 100);
    assert.equal(entries.length, ANALYTICS.length);
    const fields = entries.map(([, f]) => {
      const m = new Map<string, Buffer>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set((f[i] as Buffer).toString(), f[i + 1] as Buffer);
      return m;
    });
    const key = (b: Buffer) => b.toString('base64');
    assert.deepEqual(fields.map((m) => key(m.get('data') as Buffer)).sort(), ANALYTICS.map((f) => key(f.bytes)).sort());
    for (const m of fields) {
      const f = ANALYTICS.find((x) => x.bytes.equals(m.get('data') as Buffer)) as Fixture;
      assert.equal(m.get('format')?.toString(), f.format === 'protobuf' ? 'protobuf' : 'msgpack');
    }
    const dead = await waitFor('the broken elements dead-lettered', async () => {
      const l = await redis.client.lrange(`${redis.prefix}d-analytics-tyk-otel-pump-dead-letter`, 0, -1);
      return l.length >= broken.length ? l : undefined;
    }, 30_000, 100);
    const envelopes = dead.map((d) => JSON.parse(d) as { reason: string; bytes_b64: string });
    assert.deepEqual(envelopes.map((e) => e.bytes_b64).sort(), broken.map((b) => b.toString('base64')).sort());
    assert.deepEqual(new Set(envelopes.map((e) => e.reason)), new Set(['not_msgpack', 'not_a_record', 'truncated']));
  });
});
