/**
 * `rules --agent`: the generated file passes `promtool check rules`, and `promtool test rules` proves each
 * alert both ways — it fires on the series of a real failure and stays silent on healthy (or merely
 * noisy) series. The expected annotations are the generated templates expanded with the alert's labels.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { main } from '../src/cli.js';
import type { AlertingRule, RuleFile } from '../src/slo/rules.js';

const PROMTOOL = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const INSTANCE = { instance: 'agent-1:9464', job: 'tyk-otel-pump' };

function series(name: string, labels: Record<string, string>, values: string): { series: string; values: string } {
  const all = { ...INSTANCE, ...labels };
  return { series: `${name}{${Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`, values };
}

function without(labels: Record<string, string>, drop: string): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k !== drop));
}

interface Case {
  readonly alert: string;
  readonly name: string;
  readonly input: { series: string; values: string }[];
  readonly evalTime: string;
  /** Labels of each expected alert (the alert's own labels are added); [] = silent. */
  readonly fires: Record<string, string>[];
}

describe('rules --agent', () => {
  let dir: string;
  let rules: RuleFile;
  let file: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-rules-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, `
receivers: { tyk_redis: {} }
exporters: { otlp_http: { sending_queue: { queue_size: 5000 } } }
processors: { audit_log: {} }
service: { pipelines: { logs: { receivers: [tyk_redis], processors: [audit_log], exporters: [otlp_http] } } }
`);
    file = join(dir, 'agent.yml');
    const err: string[] = [];
    const code = await main(['rules', '--agent', '--config', config, '--out', file, '--runbook-url', 'https://example.com/runbook'], { out: () => undefined, err: (t) => err.push(t) });
    assert.equal(code, 0, err.join('\n'));
    rules = parse(await readFile(file, 'utf8')) as RuleFile;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to run without --agent, and rejects bad thresholds', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t) };
    assert.equal(await main(['rules'], io), 2);
    assert.match(err.join('\n'), /--agent/);
    assert.equal(await main(['rules', '--agent', '--backlog-for', '10s'], io), 2);
    assert.match(err.join('\n'), /--backlog-for must be a duration of at least 1m/);
  });

  it('passes promtool check rules', () => {
    const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 10 rules found/);
  });

  it('every alert fires on a failure and stays silent otherwise (promtool test rules)', async () => {
    const backlog = 'tyk_otel_pump_receiver_backlog_records';
    const key = { receiver: 'tyk_redis', key: 'analytics-tyk-system-analytics' };
    const counterCases = (alert: string, metric: string, labels: Record<string, string>): Case[] => [
      // The alerts aggregate away `signal` and `job`.
      { alert, name: 'increasing', input: [series(metric, labels, '0 0 0 5 10x10')], evalTime: '5m', fires: [{ ...without(labels, 'signal'), instance: INSTANCE.instance }] },
      { alert, name: 'flat (old refusals only)', input: [series(metric, labels, '10x30')], evalTime: '25m', fires: [] },
    ];
    const cases: Case[] = [
      { alert: 'TykOtelPumpDown', name: 'scrape failing', input: [series('up', {}, '0x10')], evalTime: '5m', fires: [INSTANCE] },
      { alert: 'TykOtelPumpDown', name: 'one failed scrape', input: [series('up', {}, '1 0 1x10')], evalTime: '5m', fires: [] },
      { alert: 'TykOtelPumpNotReady', name: 'not ready for 10m', input: [series('tyk_otel_pump_ready', {}, '0x10')], evalTime: '10m', fires: [INSTANCE] },
      { alert: 'TykOtelPumpNotReady', name: 'not ready at start-up only', input: [series('tyk_otel_pump_ready', {}, '0 0 1x10')], evalTime: '10m', fires: [] },
      { alert: 'TykOtelPumpBacklogGrowing', name: 'growing above the floor', input: [series(backlog, key, '2000+100x40')], evalTime: '30m', fires: [{ ...key, ...INSTANCE }] },
      { alert: 'TykOtelPumpBacklogGrowing', name: 'shrinking', input: [series(backlog, key, '9000-100x40')], evalTime: '30m', fires: [] },
      { alert: 'TykOtelPumpBacklogGrowing', name: 'growing below the floor', input: [series(backlog, key, '0+10x40')], evalTime: '30m', fires: [] },
      {
        alert: 'TykOtelPumpDrainLagHigh', name: 'oldest record 10 min old',
        input: [series('tyk_otel_pump_receiver_drain_lag_seconds', { ...key, record: 'oldest' }, '600x20')], evalTime: '15m', fires: [{ receiver: key.receiver, key: key.key, instance: INSTANCE.instance }],
      },
      {
        alert: 'TykOtelPumpDrainLagHigh', name: 'lag below the threshold; newest lag ignored',
        input: [series('tyk_otel_pump_receiver_drain_lag_seconds', { ...key, record: 'oldest' }, '100x20'), series('tyk_otel_pump_receiver_drain_lag_seconds', { ...key, record: 'newest' }, '900x20')],
        evalTime: '15m', fires: [],
      },
      ...counterCases('TykOtelPumpRecordsRefused', 'tyk_otel_pump_receiver_refused_items_total', { receiver: 'tyk_redis', reason: 'msgpack_decode', signal: 'records' }),
      ...counterCases('TykOtelPumpRecordsDeadLettered', 'tyk_otel_pump_receiver_dead_lettered_items_total', { receiver: 'tyk_redis', reason: 'msgpack_decode' }),
      ...counterCases('TykOtelPumpRecordsUndeliverable', 'tyk_otel_pump_receiver_dropped_items_total', { receiver: 'tyk_redis', reason: 'delivery_failed_permanently', signal: 'records' }),
      ...counterCases('TykOtelPumpExporterDropping', 'tyk_otel_pump_exporter_dropped_items_total', { exporter: 'otlp_http', reason: 'queue_full', signal: 'logs' }),
      {
        alert: 'TykOtelPumpExporterFailing', name: 'half the attempts fail',
        input: [
          series('tyk_otel_pump_exporter_send_failed_items_total', { exporter: 'otlp_http', signal: 'logs', reason: 'connection_refused' }, '0+60x30'),
          series('tyk_otel_pump_exporter_sent_items_total', { exporter: 'otlp_http', signal: 'logs' }, '0+60x30'),
        ],
        evalTime: '25m', fires: [{ exporter: 'otlp_http', instance: INSTANCE.instance }],
      },
      {
        alert: 'TykOtelPumpExporterFailing', name: 'every attempt fails (nothing ever sent)',
        input: [series('tyk_otel_pump_exporter_send_failed_items_total', { exporter: 'otlp_http', signal: 'logs', reason: 'connection_refused' }, '0+60x30')],
        evalTime: '25m', fires: [{ exporter: 'otlp_http', instance: INSTANCE.instance }],
      },
      {
        alert: 'TykOtelPumpExporterFailing', name: '1 % of the attempts fail',
        input: [
          series('tyk_otel_pump_exporter_send_failed_items_total', { exporter: 'otlp_http', signal: 'logs', reason: 'timeout' }, '0+1x30'),
          series('tyk_otel_pump_exporter_sent_items_total', { exporter: 'otlp_http', signal: 'logs' }, '0+100x30'),
        ],
        evalTime: '25m', fires: [],
      },
      { alert: 'TykOtelPumpExporterQueueNearlyFull', name: '92 % full', input: [series('tyk_otel_pump_exporter_queue_size', { exporter: 'otlp_http' }, '4600x10')], evalTime: '10m', fires: [{ exporter: 'otlp_http', ...INSTANCE }] },
      { alert: 'TykOtelPumpExporterQueueNearlyFull', name: '80 % full', input: [series('tyk_otel_pump_exporter_queue_size', { exporter: 'otlp_http' }, '4000x10')], evalTime: '10m', fires: [] },
    ];
    const byName = new Map<string, AlertingRule>();
    for (const r of rules.groups[0]?.rules ?? []) if ('alert' in r) byName.set(r.alert, r);
    // Every generated alert has at least one firing and one silent case.
    for (const name of byName.keys()) {
      assert.ok(cases.some((c) => c.alert === name && c.fires.length > 0), `${name}: no firing case`);
      assert.ok(cases.some((c) => c.alert === name && c.fires.length === 0), `${name}: no silent case`);
    }
    const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.([a-zA-Z_]+) \}\}/g, (_, l: string) => labels[l] ?? '');
    const tests = cases.map((c) => {
      const rule = byName.get(c.alert);
      assert.ok(rule, c.alert);
      return {
        name: `${c.alert}: ${c.name}`,
        interval: '1m',
        input_series: c.input,
        alert_rule_test: [{
          eval_time: c.evalTime,
          alertname: c.alert,
          exp_alerts: c.fires.map((labels) => {
            const all = { ...labels, ...rule.labels };
            return { exp_labels: all, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expand(v, all)])) };
          }),
        }],
      };
    });
    const testFile = join(dir, 'agent.test.yml');
    await writeFile(testFile, stringify({ rule_files: [file], evaluation_interval: '1m', tests }, { lineWidth: 0 }));
    const r = spawnSync(PROMTOOL, ['test', 'rules', testFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });
});
