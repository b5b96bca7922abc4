/**
 * The agent half of the Collector route, end to end: a pump.conf with a Kafka and an Elasticsearch pump
 * (each with its own filters) → `convert` → an agent started from the converted config, with the gateway
 * fixtures in a real Redis → an OTLP/HTTP receiver standing in for the Collector. Each pump's logs arrive
 * tagged with the pump's name, filtered by that pump's own filters, and the tag is exactly what the
 * generated Collector config's per-pump filter keeps. (The Collector itself is not run here.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadFixtures } from '../../../test/helpers/fixtures.js';
import { testRedis, TEST_REDIS_URL, type TestRedis } from '../../../test/helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from '../../../test/helpers/agent.js';
import { startOtlpSink, type OtlpSink } from '../../../test/helpers/otlp-sink.js';
import { freePort } from '../../../test/helpers/tyk-redis.js';
import { convert } from './convert.js';
import { COLLECTOR_OTLP_PORT, PUMP_ATTRIBUTE } from './collector.js';

const ANALYTICS = [...loadFixtures('gateway-msgpack.jsonl'), ...loadFixtures('gateway-pump18.jsonl')];
const HTTP = ANALYTICS.filter((f) => f.expected['response_code'] !== -1);
const API = String(HTTP[0]?.expected['api_id']);

describe('convert → agent → OTLP logs per pump (the Collector route, agent side)', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let sink: OtlpSink;
  let agent: RunningAgent;
  let collector: Record<string, Record<string, Record<string, unknown>>>;

  before(async () => {
    redis = await testRedis('convert-collector');
    sink = await startOtlpSink();
    await pushAll();
    const url = new URL(TEST_REDIS_URL);
    const pumpConf = {
      analytics_storage_config: { host: url.hostname, port: Number(url.port || 6379), database: Number(url.pathname.slice(1) || 0), key_prefix: `${redis.prefix}analytics-` },
      purge_delay: 1,
      dont_purge_uptime_data: true,
      health_check_endpoint_port: await freePort(),
      pumps: {
        kafka: { type: 'kafka', filters: { skip_response_codes: [500, 503] }, meta: { broker: ['kafka:9092'], topic: 'tyk' } },
        es: { type: 'elasticsearch', filters: { api_ids: [API] }, omit_detailed_recording: true, meta: { elasticsearch_url: 'http://es:9200', extended_stats: true } },
      },
    };
    const result = convert(JSON.stringify(pumpConf), {});
    assert.ok(result.collectorYaml);
    collector = parse(result.collectorYaml) as typeof collector;
    const yaml = result.agentYaml
      .replace(`http://127.0.0.1:${COLLECTOR_OTLP_PORT}`, sink.url)
      .replace(/address: 0\.0\.0\.0:(\d+)/, 'address: 127.0.0.1:$1');
    agent = await startAgent(yaml);
  });

  async function pushAll(): Promise<void> {
    const byKey = new Map<string, Buffer[]>();
    for (const f of ANALYTICS) byKey.set(f.redisKey, [...(byKey.get(f.redisKey) ?? []), f.bytes]);
    for (const [key, values] of byKey) await redis.push(`${redis.prefix}${key}`, values);
  }

  after(async () => {
    await agent?.stop();
    await sink?.close();
    await redis?.cleanup();
  });

  it("delivers each pump's logs through its own filters, tagged as the Collector config expects", async () => {
    const wantKafka = HTTP.filter((f) => ![500, 503].includes(f.expected['response_code'] as number));
    const wantEs = HTTP.filter((f) => f.expected['api_id'] === API);
    const of = (pump: string) => sink.logs().filter((l) => l.resource[PUMP_ATTRIBUTE] === pump);
    await waitFor('both pumps\' logs', () => of('kafka').length >= wantKafka.length && of('es').length >= wantEs.length, 30_000, 100);
    assert.equal(of('kafka').length, wantKafka.length);
    assert.equal(of('es').length, wantEs.length);
    assert.ok(of('es').every((l) => l.attributes['tyk.api.id'] === API));
    assert.ok(of('kafka').every((l) => ![500, 503].includes(l.attributes['http.response.status_code'] as number)));
    assert.equal(sink.logs().length, wantKafka.length + wantEs.length, 'nothing else');

    // Kafka messages carried the raw request in Tyk; ES with omit_detailed_recording did not.
    const withRaw = wantKafka.filter((f) => f.expected['raw_request'] !== '').length;
    assert.ok(withRaw > 0);
    assert.equal(of('kafka').filter((l) => l.attributes['tyk.raw_request'] !== undefined).length, withRaw);
    assert.equal(of('es').filter((l) => l.attributes['tyk.raw_request'] !== undefined).length, 0);

    // The Collector keeps, per pipeline, the logs whose tag is its pump's name.
    for (const pump of ['kafka', 'es']) {
      const filter = collector['processors']?.[`filter/${pump}`] as { logs: { log_record: string[] } };
      assert.deepEqual(filter.logs.log_record, [`resource.attributes["${PUMP_ATTRIBUTE}"] != ${JSON.stringify(pump)}`]);
      const pipeline = (collector['service']?.['pipelines'] as Record<string, { processors: string[] }>)[`logs/${pump}`];
      assert.equal(pipeline?.processors[0], `filter/${pump}`);
    }
  });
});
