/**
 * Exactly once across a crash: the agent (a real process, real Redis, `delivery: at_least_once`) is
 * SIGKILLed after PostgreSQL committed a chunk's rows, upserts and markers but before the agent could
 * acknowledge the chunk in Redis. After a restart the chunk is re-delivered with the same chunk id, finds
 * its markers and is acknowledged without writing: the raw row count equals the records and every
 * aggregate equals a single delivery of the same records.
 *
 * Making "between commit and acknowledgement" deterministic: a deferred constraint trigger on the marker
 * table takes a shared advisory lock at COMMIT, which the test holds exclusively. With both exporters'
 * commits waiting on it, the test freezes the agent (SIGSTOP), releases the lock so PostgreSQL finishes
 * the commits (their replies sit unread in the frozen agent's sockets), checks the markers are committed,
 * then SIGKILLs the agent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { postgresYaml, testPostgres, type TestPostgres } from './helpers/postgres.js';
import { waitFor } from './helpers/agent.js';
import { killAgents, spawnAgent as runAgent, type AgentProcess } from './helpers/agent-process.js';
import { syntheticRecord } from './helpers/synthetic-records.js';
import { decodeAnalytics } from '../internal/tyk-wire/decode.js';
import { componentContext } from './helpers/context.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { SqlAggregateExporter } from '../exporters/sql_aggregate/sql_aggregate.js';
import { sqlAggregateConfigSchema } from '../exporters/sql_aggregate/config.js';

const N = 1000;
const CHUNK = 100;
const LOCK = 740_117;
const AGG_COLS = `id, counter_hits, counter_success, counter_error, counter_total_request_time::text, counter_total_latency, counter_total_upstream_latency,
  counter_max_latency, counter_min_latency, counter_max_upstream_latency, counter_min_upstream_latency, counter_request_time::float8 AS rt,
  counter_latency::float8 AS lat, counter_upstream_latency::float8 AS ulat, code_200, code_201, code_4x, code_404, code_503, code_5x, "timestamp", org_id, dimension, dimension_value`;

describe('sql exporters: kill -9 between commit and acknowledgement', () => {
  let db: TestPostgres;
  let single: TestPostgres;
  let redis: TestRedis;
  let dir: string;
  const children: AgentProcess[] = [];
  before(async () => {
    db = await testPostgres('sqlcrash');
    single = await testPostgres('sqlcrash_once');
    redis = await testRedis('sqlcrash');
    dir = mkdtempSync(join(tmpdir(), 'sql-crash-'));
  });
  after(async () => {
    killAgents(children);
    await redis.cleanup();
    await db.cleanup();
    await single.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-delivery after the crash writes nothing twice', { timeout: 180_000 }, async () => {
    const key = `${redis.prefix}tyk-system-analytics`;
    const records = Array.from({ length: N }, (_, i) => syntheticRecord(i));
    const pgKeys = postgresYaml(db, '    ');
    const configFile = join(dir, 'otel-config.yaml');
    writeFileSync(configFile, `
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}
    uptime: false
    delivery: at_least_once
    chunk_size: ${CHUNK}
    poll_interval: 50ms
    at_least_once: { instance_id: sqlcrash-${redis.prefix}, retry_initial_interval: 200ms }
exporters:
  sql:
    ${pgKeys}
  sql_aggregate:
    ${pgKeys}
    omit_index_creation: true
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    records: { receivers: [tyk_redis], exporters: [sql, sql_aggregate] }
`);
    const first = runAgent(configFile);
    children.push(first);
    await waitFor('marker table created by both exporters', async () => (await db.rows(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('tyk_otel_pump_batches', 'tyk_aggregated', 'tyk_analytics')`, [db.schema])).length === 3, 60_000, 100);

    // Commits of marker rows wait on the test's advisory lock.
    const locker = new pg.Client({ ...db.config });
    await locker.connect();
    await locker.query('SELECT pg_advisory_lock($1)', [LOCK]);
    await db.client.query(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(${LOCK}); RETURN NULL; END $$`);
    await db.client.query('CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON tyk_otel_pump_batches DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()');
    await redis.push(key, records);
    const waiting = () => db.rows<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [LOCK]);
    await waitFor('both exporters waiting in COMMIT', async () => Number((await waiting())[0]?.n) === 2, 60_000, 50);

    first.proc.kill('SIGSTOP');
    await locker.query('SELECT pg_advisory_unlock($1)', [LOCK]);
    await waitFor('both commits done', async () => Number((await waiting())[0]?.n) === 0 && (await db.rows('SELECT 1 FROM tyk_otel_pump_batches')).length === 2, 30_000, 50);
    const [committed] = await db.rows<{ n: string }>('SELECT count(*) AS n FROM tyk_analytics');
    assert.equal(committed?.n, String(CHUNK), 'the first chunk is committed');
    first.proc.kill('SIGKILL');
    first.proc.kill('SIGCONT');
    await first.exited;
    await locker.end();
    await db.client.query('DROP TRIGGER hold_commit ON tyk_otel_pump_batches');
    const inflightLists = async () => (await redis.client.keys(`*${redis.prefix}*}:tyk-otel-pump-inflight:*`));
    let held = 0;
    for (const k of await inflightLists()) held += await redis.client.llen(k);
    assert.ok(held >= CHUNK, `the committed chunk is still unacknowledged in redis (${held} records in flight)`);

    const second = runAgent(configFile);
    children.push(second);
    try {
      await waitFor('redis drained', async () => (await redis.client.llen(key)) === 0 && (await inflightLists()).length === 0, 90_000, 100);
    } catch (err) {
      throw new Error(`${String(err)}\nkeys: ${(await redis.client.keys(`*${redis.prefix}*`)).join(' ')}\nagent stderr:\n${second.stderr.join('').slice(-3000)}`);
    }
    second.proc.kill('SIGTERM');
    await second.exited;

    const [raw] = await db.rows<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT path) AS d FROM tyk_analytics');
    assert.deepEqual(raw, { n: String(N), d: String(N) }, 'every record once in tyk_analytics');
    const [markers] = await db.rows<{ n: string; s: string }>('SELECT count(*) AS n, sum(records) AS s FROM tyk_otel_pump_batches');
    assert.equal(markers?.s, String(2 * N), 'each exporter marked every record once');

    // The same records delivered once, in the same chunks, straight into the exporter.
    const decoded = records.map((b) => decodeAnalytics(b, 'msgpack'));
    const exp = new SqlAggregateExporter(componentContext({ id: 'sql_aggregate', telemetry: new SelfTelemetry('sqlcrash').forComponent('exporter', 'sql_aggregate') }), sqlAggregateConfigSchema.parse({ ...single.config, omit_index_creation: true }));
    await exp.start();
    for (let i = 0; i < N; i += CHUNK) await exp.consumeRecords(decoded.slice(i, i + CHUNK), { chunkId: `once-${i}`, defer: () => () => undefined });
    await exp.shutdown();
    const crashed = await db.rows<Record<string, unknown>>(`SELECT ${AGG_COLS} FROM tyk_aggregated ORDER BY id`);
    const once = await single.rows<Record<string, unknown>>(`SELECT ${AGG_COLS} FROM tyk_aggregated ORDER BY id`);
    assert.equal(crashed.length, once.length);
    assert.ok(crashed.length >= 3);
    for (const [i, row] of crashed.entries()) {
      const ref = once[i] as Record<string, unknown>;
      for (const [k, v] of Object.entries(ref)) {
        if (k === 'rt' || k === 'lat' || k === 'ulat') assert.ok(Math.abs(Number(row[k]) - Number(v)) < 1e-9, `${String(ref['id'])} ${k}`);
        else assert.equal(row[k], v, `${String(ref['dimension'])}/${String(ref['dimension_value'])} ${k}`);
      }
    }
    assert.equal(crashed.find((r) => r['dimension'] === '')?.['counter_hits'], String(N));
  });
});
