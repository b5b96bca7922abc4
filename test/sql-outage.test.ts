/**
 * PostgreSQL goes away for ~20 s while the agent drains Redis into `sql` and `sql_aggregate`: meanwhile
 * `/ready` answers 503 and says why, the records wait in Redis (retryable failures, at-least-once), and
 * once the server is back every record is in tyk_analytics exactly once and every aggregate counts it
 * exactly once. A private PostgreSQL server is used so the shared one is never stopped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from './helpers/agent.js';
import { syntheticRecord } from './helpers/synthetic-records.js';
import { startPrivatePostgres, type PrivatePostgres } from './helpers/private-postgres.js';

const WAVE = 1500;

describe('sql exporters: PostgreSQL stopped for 20 s mid-run', () => {
  let server: PrivatePostgres;
  let redis: TestRedis;
  let agent: RunningAgent | undefined;
  before(async () => {
    server = await startPrivatePostgres();
    redis = await testRedis('sqlout');
  });
  after(async () => {
    await agent?.stop();
    await redis.cleanup();
    await server.destroy();
  });

  async function query<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
    const c = new pg.Client({ ...server.config, connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      return (await c.query<T>(sql)).rows;
    } finally {
      await c.end();
    }
  }
  const counts = async () => {
    const [raw] = await query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT path) AS d FROM tyk_analytics');
    const [agg] = await query<{ h: string | null }>(`SELECT sum(counter_hits) AS h FROM tyk_aggregated WHERE dimension = '' AND dimension_value = 'total'`);
    return { raw: Number(raw?.n), distinct: Number(raw?.d), hits: Number(agg?.h ?? 0) };
  };

  it('refuses batches while it is down, /ready says why, and loses or doubles nothing', { timeout: 180_000 }, async () => {
    const key = `${redis.prefix}tyk-system-analytics`;
    const connection = `host: 127.0.0.1\n    port: ${server.port}\n    database: postgres\n    user: postgres\n    connect_timeout: 1s\n    statement_timeout: 10s`;
    agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}
    uptime: false
    delivery: at_least_once
    chunk_size: 200
    poll_interval: 50ms
    at_least_once: { retry_initial_interval: 200ms, retry_max_interval: 2s }
exporters:
  sql:
    ${connection}
  sql_aggregate:
    ${connection}
service:
  telemetry: { metrics: { address: "\${env:TELEMETRY_ADDRESS:-127.0.0.1:0}" } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [sql, sql_aggregate] }
`);
    const ready = async () => {
      const res = await fetch(`${agent?.telemetryUrl}/ready`);
      return { status: res.status, body: (await res.json()) as { components: Record<string, { ready: boolean; detail?: string }> } };
    };
    await waitFor('agent ready', async () => (await ready()).status === 200, 30_000, 100);
    await redis.push(key, Array.from({ length: WAVE }, (_, i) => syntheticRecord(i)));
    await waitFor('first wave written', async () => {
      const c = await counts();
      return c.raw === WAVE && c.hits === WAVE;
    }, 60_000, 200);

    await server.stop();
    await redis.push(key, Array.from({ length: WAVE }, (_, i) => syntheticRecord(WAVE + i)));
    const down = await waitFor('/ready reports postgresql down', async () => {
      const r = await ready();
      return r.status === 503 && /postgresql unavailable/.test(r.body.components['exporters::sql']?.detail ?? r.body.components['sql']?.detail ?? JSON.stringify(r.body)) ? r : undefined;
    }, 30_000, 200);
    assert.match(JSON.stringify(down.body), /postgresql unavailable \(postgres@127\.0\.0\.1:\d+\/postgres\)/);
    await new Promise((r) => setTimeout(r, 20_000));
    assert.ok((await redis.client.llen(key)) + (await redis.client.keys(`*${redis.prefix}*inflight*`)).length > 0, 'records wait in redis meanwhile');

    await server.start();
    await waitFor('second wave written', async () => {
      const c = await counts();
      return c.raw >= 2 * WAVE && c.hits >= 2 * WAVE;
    }, 90_000, 500);
    await waitFor('ready again', async () => (await ready()).status === 200, 30_000, 200);
    await waitFor('redis drained', async () => (await redis.client.llen(key)) === 0, 30_000, 200);
    assert.deepEqual(await counts(), { raw: 2 * WAVE, distinct: 2 * WAVE, hits: 2 * WAVE });
  });
});
