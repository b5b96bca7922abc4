/**
 * pump.conf + TYK_PMP_* environment: Tyk Pump's precedence (env over file; ANALYTICSSTORAGECONFIG, then
 * REDIS, then TEMPORAL_STORAGE; a pump's meta from its meta env prefix), pumps declared only in the
 * environment, and secrets from the environment kept as ${env:…} references. Also the command line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { convert } from './convert.js';
import { main } from '../../cli.js';

const PUMP_CONF = JSON.stringify({
  analytics_storage_config: { type: 'redis', host: 'file-redis', port: 6379, password: 'file-password', database: 1 },
  purge_delay: 10,
  purge_chunk: 100,
  dont_purge_uptime_data: true,
  pumps: {
    prometheus: { type: 'prometheus', filters: { api_ids: ['from-file'] }, meta: { listen_address: ':9090', track_all_paths: false } },
    agg: { type: 'sql_aggregate', meta: { connection_string: 'host=pg dbname=tyk', track_all_paths: false } },
  },
});

type Yaml = Record<string, Record<string, Record<string, unknown>>>;

describe('convert: pump.conf + environment', () => {
  const env = {
    TYK_PMP_PURGEDELAY: '7',
    TYK_PMP_ANALYTICSSTORAGECONFIG_HOST: 'env-redis',
    TYK_PMP_ANALYTICSSTORAGECONFIG_PORT: '6380',
    TYK_PMP_ANALYTICSSTORAGECONFIG_DATABASE: '3',
    TYK_PMP_REDIS_DATABASE: '4',
    TYK_PMP_TEMPORAL_STORAGE_DATABASE: '5',
    TYK_PMP_ANALYTICSSTORAGECONFIG_PASSWORD: 'env-password',
    TYK_PMP_PUMPS_PROMETHEUS_META_ADDR: '127.0.0.1:9191',
    TYK_PMP_PUMPS_PROMETHEUS_FILTERS_APIIDS: 'a1,a2',
    TYK_PMP_PUMPS_PROMETHEUS_META_CUSTOMMETRICS: '[{"name":"tyk_requests","metric_type":"counter","labels":["api_id","code"]}]',
    TYK_PMP_PUMPS_SQLAGGREGATE_META_TRACKALLPATHS: 'true',
    TYK_PMP_PUMPS_CSV_META_CSVDIR: '/var/tyk/csv',
    TYK_PMP_PUMPS_DD_TYPE: 'dogstatsd',
    TYK_PMP_PUMPS_DD_META_ADDRESS: 'datadog:8125',
    TYK_PMP_PUMPS_DD_META_NAMESPACE: 'gw',
    TYK_PMP_PURGECHUNK: 'lots',
    TYK_PMP_PUMPS_NOTAPUMP_META_X: '1',
  };
  const result = convert(PUMP_CONF, env, { source: 'pump.conf' });
  const doc = parse(result.agentYaml) as Yaml;
  const receiver = doc['receivers']?.['tyk_redis'] as Record<string, unknown>;
  const report = result.report.format();

  it('lets the environment override the file, key by key', () => {
    assert.equal(receiver['endpoint'], 'env-redis:6380');
    assert.equal(receiver['poll_interval'], '7s');
    const prom = doc['exporters']?.['prometheus/prometheus'] as Record<string, unknown>;
    assert.equal(prom['endpoint'], '127.0.0.1:9191');
    assert.deepEqual((doc['processors']?.['filter/prometheus'] as Record<string, unknown>)['api_ids'], ['a1', 'a2']);
  });

  it('applies the storage layers in Tyk Pump order: TEMPORAL_STORAGE over REDIS over ANALYTICSSTORAGECONFIG', () => {
    assert.equal(receiver['database'], 5);
    assert.match(report, /analytics_storage_config\.database \(TYK_PMP_TEMPORAL_STORAGE_DATABASE\)/);
  });

  it('refers to a secret from the environment instead of copying it', () => {
    assert.equal(receiver['password'], '${env:TYK_PMP_ANALYTICSSTORAGECONFIG_PASSWORD}');
    assert.equal(result.agentYaml.includes('env-password'), false);
    assert.equal(result.agentYaml.includes('file-password'), false);
  });

  it('reads a pump\'s meta from its default meta prefix (by type) without making it a pump', () => {
    const agg = doc['exporters']?.['sql_aggregate/agg'] as Record<string, unknown>;
    assert.equal(agg['track_all_paths'], true);
    assert.equal(doc['service']?.['pipelines']?.['records/sqlaggregate'], undefined);
  });

  it('parses JSON custom metrics from the environment', () => {
    const sli = doc['processors']?.['sli/prometheus'] as { tyk_compatible: { custom_metrics: unknown[] } };
    assert.deepEqual(sli.tyk_compatible.custom_metrics, [{ name: 'tyk_requests', metric_type: 'counter', labels: ['api_id', 'code'] }]);
  });

  it('adds pumps declared only in the environment: by known type name, or with _TYPE', () => {
    assert.deepEqual(doc['exporters']?.['file/csv'], { path: '/var/tyk/csv/tyk-analytics.csv', format: 'csv' });
    assert.deepEqual(doc['exporters']?.['dogstatsd/dd'], { endpoint: 'datadog:8125', namespace: 'gw', tyk_compatible: true });
    const pipelines = Object.keys(doc['service']?.['pipelines'] ?? {}).sort();
    assert.deepEqual(pipelines, ['metrics/prometheus', 'records/agg', 'records/csv', 'records/dd']);
  });

  it('reports what it could not use, and keeps the file value', () => {
    assert.equal(receiver['chunk_size'], 100);
    assert.match(report, /TYK_PMP_PURGECHUNK: not a valid int/);
    assert.match(report, /TYK_PMP_PUMPS_NOTAPUMP_\*: no TYK_PMP_PUMPS_NOTAPUMP_TYPE/);
  });

  it('follows a meta_env_prefix set in pump.conf, and KV env:// references', () => {
    const conf = JSON.stringify({
      dont_purge_uptime_data: true,
      analytics_storage_config: { host: 'r', port: 6379, password: 'env://REDIS_PASSWORD' },
      pumps: { p: { type: 'prometheus', meta: { meta_env_prefix: 'MY_PROM', listen_address: ':1' } } },
    });
    const out = parse(convert(conf, { MY_PROM_ADDR: ':2', TYK_PMP_PUMPS_PROMETHEUS_META_ADDR: ':3' }).agentYaml) as Yaml;
    assert.equal((out['exporters']?.['prometheus/p'] as Record<string, unknown>)['endpoint'], '0.0.0.0:2');
    assert.equal((out['receivers']?.['tyk_redis'] as Record<string, unknown>)['password'], '${env:REDIS_PASSWORD}');
  });

  it('ignores the file when TYK_PMP_OMITCONFIGFILE is true, as Tyk Pump does', () => {
    const r = convert(PUMP_CONF, { TYK_PMP_OMITCONFIGFILE: 'true', TYK_PMP_PUMPS_STDOUT_META_FORMAT: 'json' });
    const out = parse(r.agentYaml) as Yaml;
    assert.deepEqual(Object.keys(out['service']?.['pipelines'] ?? {}), ['records/stdout']);
    assert.match(r.report.format(), /TYK_PMP_OMITCONFIGFILE is true/);
  });

  it('never shows a secret of the wrong type in the report', () => {
    const r = convert(JSON.stringify({ analytics_storage_config: { host: 'r', port: 1, password: 123456789 }, pumps: { s: { type: 'stdout' } } }), {});
    assert.equal(r.report.format().includes('123456789'), false);
    assert.match(r.report.format(), /analytics_storage_config\.password: expected a string, got a value of another type/);
  });

  it('reads the environment alone when there is no pump.conf', () => {
    const only = parse(convert(undefined, { TYK_PMP_PUMPS_PROMETHEUS_META_ADDR: ':9999', TYK_PMP_DONTPURGEUPTIMEDATA: 'true' }).agentYaml) as Yaml;
    assert.deepEqual(only['exporters']?.['prometheus/prometheus'], { endpoint: '0.0.0.0:9999', without_scope_info: true, without_target_info: true });
    assert.equal((only['receivers']?.['tyk_redis'] as Record<string, unknown>)['uptime'], false);
  });
});

describe('tyk-otel-pump convert (command line)', () => {
  const run = async (args: string[], env?: Record<string, string>) => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const code = env
      ? await (await import('./index.js')).runConvert(args.slice(1), io, env)
      : await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('writes the agent and Collector configs, prints the report, and checks the result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convert-'));
    try {
      const conf = join(dir, 'pump.conf');
      writeFileSync(conf, readFileSync(new URL('./testdata/kafka-elasticsearch.json', import.meta.url)));
      const r = await run(['convert', '--pump-conf', conf, '--out', join(dir, 'otel-config.yaml')]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /^converted 2 pump\(s\) from /);
      assert.match(r.err, /^mapped \(\d+\):$/m);
      assert.match(r.err, /^validate: 2 pipeline\(s\), valid$/m);
      assert.match(readFileSync(join(dir, 'otel-config.yaml'), 'utf8'), /otlp_http\/collector/);
      assert.match(readFileSync(join(dir, 'collector.yaml'), 'utf8'), /kafka\/kafka:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads TYK_PMP_* with --env and writes to stdout with --out -', async () => {
    const r = await run(['convert', '--env', '--out', '-'], { TYK_PMP_PUMPS_STDOUT_META_FORMAT: 'json', TYK_PMP_DONTPURGEUPTIMEDATA: '1' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /file\/stdout:/);
  });

  it('refuses to run without input, and reports a broken pump.conf', async () => {
    assert.equal((await run(['convert'])).code, 2);
    const dir = mkdtempSync(join(tmpdir(), 'convert-'));
    try {
      writeFileSync(join(dir, 'pump.conf'), '{ "pumps": ');
      const r = await run(['convert', '--pump-conf', join(dir, 'pump.conf'), '--out', join(dir, 'o.yaml')]);
      assert.equal(r.code, 1);
      assert.match(r.err, /pump\.conf is not valid JSON/);
      assert.equal(existsSync(join(dir, 'o.yaml')), false);
      assert.equal((await run(['convert', '--pump-conf', join(dir, 'missing.conf')])).code, 1);
      writeFileSync(join(dir, 'ok.conf'), '{ "pumps": { "stdout": { "type": "stdout" } } }');
      const unwritable = await run(['convert', '--pump-conf', join(dir, 'ok.conf'), '--out', join(dir, 'no', 'such', 'dir', 'o.yaml')]);
      assert.equal(unwritable.code, 1);
      assert.match(unwritable.err, /cannot write the converted config \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
