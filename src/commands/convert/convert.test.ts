/**
 * `convert` on a corpus of realistic pump.conf files (testdata/*.json, in the shapes of Tyk's docs and
 * demos) → golden otel-config.yaml / collector.yaml / report files, each agent config checked exactly as
 * `validate` checks it and each Collector config checked against the named exporters' documented keys.
 * UPDATE_GOLDEN=1 rewrites the golden files.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfigText } from '../../config/load.js';
import { factories } from '../../factories.js';
import { sliConfigSchema } from '../../../processors/sli/config.js';
import type { ConfigProblem } from '../../errors.js';
import { convert } from './convert.js';
import { sliNativeMetrics } from './vocabulary.js';

const DIR = new URL('./testdata/', import.meta.url);
const CORPUS = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

/**
 * Output that work in progress adds to the agent: Tyk's custom_metrics in the sli processor. Until the
 * agent has it, the only problems allowed are about it; once it has it, none is.
 */
const customMetricsSupported = sliConfigSchema.safeParse({ tyk_compatible: { custom_metrics: [] } }).success;
function pending(p: ConfigProblem): boolean {
  return !customMetricsSupported && p.path.includes('custom_metrics');
}

/**
 * The golden files name the sli processor's own metrics (all disabled in a converted prometheus pipeline)
 * by a placeholder, so renaming one of them in the sli processor does not stale every golden file.
 */
const EVERY_SLI_METRIC = sliNativeMetrics().join(', ');
const stable = (text: string | undefined): string | undefined => text?.replaceAll(EVERY_SLI_METRIC, '<every sli metric>');

function golden(file: string, output: string | undefined): void {
  const actual = stable(output);
  const url = new URL(file, DIR);
  if (UPDATE) {
    if (actual !== undefined) writeFileSync(url, actual);
    return;
  }
  if (actual === undefined) {
    assert.equal(existsSync(url), false, `${file} exists but no output was produced`);
    return;
  }
  assert.equal(actual, readFileSync(url, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 rewrites it after review)`);
}

/**
 * Documented keys of each Collector component the converter emits (opentelemetry-collector-contrib:
 * exporter/<type>exporter README and config.go; processor/filterprocessor, transformprocessor,
 * batchprocessor; receiver/otlpreceiver), plus the exporterhelper keys every exporter takes.
 */
const HELPER = ['timeout', 'sending_queue', 'retry_on_failure'];
const COLLECTOR_KEYS: Readonly<Record<string, readonly string[]>> = {
  'exporters/elasticsearch': [...HELPER, 'endpoint', 'endpoints', 'cloudid', 'logs_index', 'logstash_format', 'user', 'password', 'api_key', 'tls', 'discover', 'mapping', 'flush', 'num_workers'],
  'exporters/kafka': [...HELPER, 'brokers', 'protocol_version', 'client_id', 'logs', 'producer', 'tls', 'auth'],
  'exporters/splunk_hec': [...HELPER, 'token', 'endpoint', 'tls', 'max_content_length_logs', 'index', 'source', 'sourcetype'],
  'exporters/influxdb': [...HELPER, 'endpoint', 'org', 'bucket', 'token', 'v1_compatibility', 'log_record_dimensions'],
  'exporters/syslog': [...HELPER, 'endpoint', 'port', 'network', 'protocol', 'tls', 'enable_octet_counting'],
  'exporters/logzio': [...HELPER, 'account_token', 'region', 'endpoint'],
  'processors/filter': ['error_mode', 'logs'],
  'processors/transform': ['error_mode', 'log_statements'],
  'processors/batch': ['timeout', 'send_batch_size', 'send_batch_max_size'],
  'receivers/otlp': ['protocols'],
};

function checkCollector(text: string): string[] {
  const errors: string[] = [];
  const doc = parse(text) as Record<string, Record<string, Record<string, unknown>>>;
  for (const section of ['receivers', 'processors', 'exporters'] as const) {
    for (const [id, cfg] of Object.entries(doc[section] ?? {})) {
      const type = id.split('/')[0] as string;
      const keys = COLLECTOR_KEYS[`${section}/${type}`];
      if (!keys) {
        errors.push(`${section}::${id}: type ${type} is not one the converter should emit`);
        continue;
      }
      for (const k of Object.keys(cfg ?? {})) if (!keys.includes(k)) errors.push(`${section}::${id}: undocumented key ${k}`);
    }
  }
  const pipelines = (doc['service'] as Record<string, Record<string, Record<string, string[]>>> | undefined)?.['pipelines'] ?? {};
  assert.ok(Object.keys(pipelines).length > 0, 'the Collector config has pipelines');
  for (const [pid, p] of Object.entries(pipelines)) {
    if (!pid.startsWith('logs/')) errors.push(`${pid}: not a logs pipeline`);
    for (const [list, section] of [['receivers', 'receivers'], ['processors', 'processors'], ['exporters', 'exporters']] as const) {
      for (const ref of p[list] ?? []) if (!doc[section]?.[ref]) errors.push(`${pid}: ${list} ${ref} is not defined`);
    }
    if ((p['exporters'] ?? []).length === 0) errors.push(`${pid}: no exporter`);
  }
  return errors;
}

describe('convert: corpus of pump.conf files → golden outputs', () => {
  it('has at least eight pump.conf files', () => {
    assert.ok(CORPUS.length >= 8, `only ${CORPUS.length}`);
  });

  for (const name of CORPUS) {
    describe(name, () => {
      const text = readFileSync(new URL(`${name}.json`, DIR), 'utf8');
      const result = convert(text, {}, { source: `${name}.json` });

      it('matches the golden otel-config, collector config and report', () => {
        golden(`${name}.otel.yaml`, result.agentYaml);
        golden(`${name}.collector.yaml`, result.collectorYaml);
        golden(`${name}.report.txt`, result.report.format());
      });

      it('gives an agent config that passes validate', () => {
        const r = loadConfigText(result.agentYaml, `${name}.otel.yaml`, factories, {});
        const unexpected = r.problems.filter((p) => !pending(p));
        assert.deepEqual(unexpected, [], 'only problems about not-yet-merged components are allowed');
        if (r.problems.length === 0) assert.ok(r.config, 'valid');
        assert.deepEqual(r.warnings, [], 'no unused component');
      });

      it('gives a Collector config that uses only documented keys and defined components', () => {
        if (result.collectorYaml === undefined) {
          assert.equal(/otlp_http\/collector/.test(result.agentYaml), false, 'no Collector route without a Collector config');
          return;
        }
        assert.deepEqual(checkCollector(result.collectorYaml), []);
      });

      it('never shows a secret value in the report', () => {
        const secrets = [...text.matchAll(/"(?:password|sentinel_password|sasl_password|auth_basic_password|collector_token|token|connection_string)"\s*:\s*"([^"]+)"/g)].map((m) => m[1] as string);
        const report = result.report.format();
        for (const s of secrets) assert.equal(report.includes(s), false, `the report shows a secret of ${name}`);
      });
    });
  }
});
