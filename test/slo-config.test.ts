/**
 * The top-level `slos:` section through the real config loader and registry (every problem in one run,
 * path-prefixed; cross-section checks against the sli processor), and the `slo-rules` command in-process
 * (Prometheus and Datadog output, exit codes).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../src/config/load.js';
import { factories } from '../src/factories.js';
import { formatProblem } from '../src/errors.js';
import { main, type Io } from '../src/cli.js';
import { compileErrorDefinition } from '../src/error-definition.js';
import { resolveSlos, slosSchema } from '../src/slo/definition.js';
import { badStatusFilter, datadogSlos, datadogTagValue, dogStatsdView, type DatadogSlo } from '../src/slo/datadog.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS } from '../processors/sli/config.js';
import { dogstatsdConfigSchema } from '../exporters/dogstatsd/config.js';

const PIPELINE = `
receivers:
  tyk_redis: {}
processors:
  route: {}
  sli: {}
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [route, sli], exporters: [prometheus] }
`;

function problems(yaml: string): string[] {
  const r = loadConfigText(yaml, 'c.yaml', factories, {});
  return r.problems.map((p) => formatProblem('c.yaml', p));
}

function io(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t) };
}

describe('slos section: validation', () => {
  it('reports every problem in one run, each path-prefixed with the value', () => {
    const yaml = `${PIPELINE}    metrics/slo: { receivers: [tyk_redis], processors: [route, slo], exporters: [prometheus] }
processors:
  route: {}
  sli: {}
  slo: { slos: [payments-availability, nope] }
slos:
  - name: payments-availability
    objective: 99.9
    selector: { api_ids: [3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b] }
    sli: { type: availability }
  - name: payments-latency
    objective: 100
    window: 31d
    selector: { api_ids: [3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b], colour: blue }
    sli: { type: latency, threshold_seconds: 0.3 }
  - name: payments-availability
    objective: 99
    sli: { type: availability, threshold_seconds: 1 }
  - name: "bad name!"
    objective: 99
    sli: { type: latency }
    labels: { sloth_id: x, "team-name": y }
    alerting: { name: "Bad-Alert" }
  - name: fast
    objective: 99
    sli: { type: latency, threshold_seconds: 0.25 }
`.replace(/\nprocessors:\n  route: \{\}\n  sli: \{\}\nexporters:/, '\nexporters:');
    assert.deepEqual(problems(yaml), [
      'c.yaml: slos[1]::objective: must be between 0 and 100 (exclusive) (got 100)',
      'c.yaml: slos[1]::window: must be one of 7d, 28d, 30d, 90d (got "31d")',
      'c.yaml: slos[1]::selector::colour: unknown key (known keys: api_ids, api_names, org_ids, routes, methods)',
      'c.yaml: slos[2]::sli::threshold_seconds: only applies to a latency SLI (remove it or set type: latency) (got 1)',
      'c.yaml: slos[3]::name: must contain only letters, digits, _, - and . and start with a letter or digit (got "bad name!")',
      'c.yaml: slos[3]::sli: must set threshold_seconds for a latency SLI (got {"type":"latency"})',
      'c.yaml: slos[3]::labels::sloth_id: is set by the generated rules and cannot be overridden (got "sloth_id")',
      'c.yaml: slos[3]::labels::team-name: must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __) (got "team-name")',
      'c.yaml: slos[3]::alerting::name: must be a Prometheus alert name ([a-zA-Z_:][a-zA-Z0-9_:]*) (got "Bad-Alert")',
      'c.yaml: slos[2]::name: must be unique (slos[0] has the same name) (got "payments-availability")',
      'c.yaml: processors::slo::slos[1]: must name an SLO defined under slos (known: payments-availability, payments-latency, bad name!, fast) (got "nope")',
    ]);
  });

  it('a latency threshold must be a bucket boundary of the sli processor (its own buckets, else the defaults), and the message lists them', () => {
    const slo = (t: number) => `\nslos:\n  - { name: l, objective: 99, sli: { type: latency, threshold_seconds: ${t} } }\n`;
    assert.deepEqual(problems(PIPELINE + slo(0.3)), [
      'c.yaml: slos[0]::sli::threshold_seconds: must be a histogram bucket boundary of processors::sli::buckets: one of 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10 (got 0.3)',
    ]);
    const custom = PIPELINE.replace('  sli: {}', '  sli: { buckets: [0.1, 0.3, 1] }');
    assert.deepEqual(problems(custom + slo(0.3)), []);
    assert.deepEqual(problems(custom + slo(0.25)), [
      'c.yaml: slos[0]::sli::threshold_seconds: must be a histogram bucket boundary of processors::sli::buckets: one of 0.1, 0.3, 1 (got 0.25)',
    ]);
    const noSli = `receivers: { tyk_redis: {} }\nprocessors: { slo: {} }\nexporters: { prometheus: { endpoint: 127.0.0.1:0 } }\nservice: { pipelines: { metrics: { receivers: [tyk_redis], processors: [slo], exporters: [prometheus] } } }\n`;
    assert.deepEqual(problems(noSli + slo(0.3)), [
      'c.yaml: slos[0]::sli::threshold_seconds: must be a histogram bucket boundary of the default histogram buckets (no sli processor is configured): one of 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10 (got 0.3)',
    ]);
    // Those defaults are the sli processor's own (read from its schema, not copied).
    assert.ok(problems(noSli + slo(0.3))[0]?.includes(`one of ${DEFAULT_DURATION_BUCKETS_SECONDS.join(', ')} (got`));
  });

  it('a selector must filter on attributes the metrics carry, and the SLI metric must not be disabled', () => {
    const yaml = PIPELINE.replace('  sli: {}', '  sli: { attributes: [http.request.method, error.type, tyk.api.id], disabled_metrics: [tyk.api.requests] }') +
      '\nslos:\n  - { name: a, objective: 99, selector: { api_names: [Orders], routes: [/x] }, sli: { type: availability } }\n';
    assert.deepEqual(problems(yaml), [
      'c.yaml: slos[0]::selector::api_names: needs the tyk.api.name attribute on the metrics, but processors::sli::attributes does not include it',
      'c.yaml: slos[0]::selector::routes: needs the http.route attribute on the metrics, but processors::sli::attributes does not include it',
      'c.yaml: slos[0]::sli::type: an availability SLI is computed from tyk.api.requests, but processors::sli::disabled_metrics disables it',
    ]);
  });

  it('a valid section is resolved for the components (ctx.shared.slos)', () => {
    const yaml = `${PIPELINE}
error_definition: { status_classes: [5xx], status_codes: [429] }
slos:
  - { name: a, objective: 99.9, window: 28d, sli: { type: availability } }
  - { name: b, objective: 99.5, sli: { type: availability, error_definition: { status_classes: [5xx] } } }
`;
    const r = loadConfigText(yaml, 'c.yaml', factories, {});
    assert.deepEqual(r.problems, []);
    const slos = r.config?.shared.slos ?? [];
    assert.deepEqual(slos.map((s) => [s.id, s.objectiveRatio, s.budget, s.periodWindow.label, s.periodDays]), [
      ['tyk-a', 0.999, 0.001, '4w', 28],
      ['tyk-b', 0.995, 0.005, '30d', 30],
    ]);
    const [a, b] = slos;
    assert.equal(a?.sli.type === 'availability' && a.sli.errorDefinition.isBad(429), true, 'the top-level definition applies');
    assert.equal(b?.sli.type === 'availability' && b.sli.errorDefinition.isBad(429), false, 'the SLO\'s own definition applies');
  });
});

describe('slo-rules command', () => {
  let dir: string;
  const config = (extra = '') => `${PIPELINE}${extra}
slos:
  - name: payments-availability
    objective: 99.9
    selector: { api_ids: [3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b] }
    sli: { type: availability }
  - name: payments-latency
    objective: 99
    window: 28d
    selector: { api_ids: [3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b], routes: ["/pay/{id}"] }
    sli: { type: latency, threshold_seconds: 0.25 }
`;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slo-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a rule file promtool accepts, using the prometheus exporter\'s namespace', async () => {
    const file = join(dir, 'ns.yaml');
    writeFileSync(file, config().replace('prometheus: { endpoint: 127.0.0.1:0 }', 'prometheus: { endpoint: 127.0.0.1:0, namespace: acme }'));
    const out = join(dir, 'rules.yml');
    const o = io();
    assert.equal(await main(['slo-rules', '--config', file, '--out', out], o), 0, o.stderr.join('\n'));
    assert.match(o.stderr.join('\n'), /wrote 34 recording and 4 alerting rule\(s\) for 2 SLO\(s\)/);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /acme_tyk_api_requests_total\{tyk_api_id="3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b",error_type!=""\}\[5m\]/);
    assert.match(text, /acme_http_server_request_duration_seconds_bucket\{tyk_api_id="3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b",http_route="\/pay\/\{id\}",le="0.25"\}/);
    assert.match(text, /slo:sli_error:ratio_rate4w/);
    const check = spawnSync('/usr/bin/promtool', ['check', 'rules', out], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('prints to stdout, selects SLOs with --slo, and fails clearly (exit 1/2) on bad input', async () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config());
    const o = io();
    assert.equal(await main(['slo-rules', '-c', file, '--slo', 'payments-latency'], o), 0);
    assert.match(o.stdout.join(''), /sloth_slo: payments-latency/);
    assert.doesNotMatch(o.stdout.join(''), /payments-availability/);

    const unknown = io();
    assert.equal(await main(['slo-rules', '-c', file, '--slo', 'nope'], unknown), 2);
    assert.match(unknown.stderr.join('\n'), /--slo: no SLO named "nope" \(known: payments-availability, payments-latency\)/);
    const format = io();
    assert.equal(await main(['slo-rules', '-c', file, '--format', 'sloth'], format), 2);

    const none = join(dir, 'none.yaml');
    writeFileSync(none, PIPELINE);
    const empty = io();
    assert.equal(await main(['slo-rules', '-c', none], empty), 1);
    assert.match(empty.stderr.join('\n'), /no SLOs to generate rules for/);

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, config().replace('objective: 99.9', 'objective: 100'));
    const bad = io();
    assert.equal(await main(['slo-rules', '-c', invalid], bad), 1);
    assert.match(bad.stderr.join('\n'), /slos\[0\]::objective: must be between 0 and 100 \(exclusive\) \(got 100\)/);
    assert.deepEqual(bad.stdout, []);
  });

  it('--format datadog prints metric SLO definitions over the dogstatsd exporter\'s metrics', async () => {
    const file = join(dir, 'dd.yaml');
    writeFileSync(file, config(`    metrics/dd: { receivers: [tyk_redis], processors: [route, sli], exporters: [dogstatsd] }
exporters:
  prometheus: { endpoint: 127.0.0.1:0 }
  dogstatsd: { namespace: acme.gw, duration_unit: milliseconds }`).replace(/\nexporters:\n  prometheus: \{ endpoint: 127.0.0.1:0 \}\nservice:/, '\nservice:'));
    const o = io();
    assert.equal(await main(['slo-rules', '-c', file, '--format', 'datadog'], o), 0, o.stderr.join('\n'));
    const slos = JSON.parse(o.stdout.join('')) as DatadogSlo[];
    assert.deepEqual(slos, [
      {
        type: 'metric',
        name: 'payments-availability',
        description: '',
        query: {
          numerator: 'sum:acme.gw.requests.good{api_id:3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b}.as_count()',
          denominator: 'sum:acme.gw.requests{api_id:3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b}.as_count()',
        },
        thresholds: [{ timeframe: '30d', target: 99.9 }],
        tags: ['service:tyk', 'slo:payments-availability'],
      },
      {
        type: 'metric',
        name: 'payments-latency',
        description: '',
        query: {
          numerator: 'count(v: v<=250):acme.gw.request.duration.total{api_id:3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b AND route:/pay/_id_}.as_count()',
          denominator: 'count:acme.gw.request.duration.total{api_id:3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b AND route:/pay/_id_}.as_count()',
        },
        thresholds: [{ timeframe: '30d', target: 99 }],
        tags: ['service:tyk', 'slo:payments-latency'],
      },
    ]);
    assert.match(o.stderr.join('\n'), /28d window is sent as 30d/);
  });
});

describe('Datadog SLO queries', () => {
  const global = compileErrorDefinition();
  const resolve = (slos: unknown[]) => resolveSlos(slosSchema.parse(slos), global);

  it('an SLO with its own error definition subtracts its bad codes from the total', () => {
    const slos = resolve([{ name: 'x', objective: 99, selector: { api_ids: ['a', 'b'], methods: ['GET'] }, sli: { type: 'availability', error_definition: { status_classes: ['5xx'], status_codes: [429], exclude_status_codes: [501] } } }]);
    const r = datadogSlos(slos, dogStatsdView(dogstatsdConfigSchema.parse({}), global));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.slos[0]?.query, {
      numerator: 'sum:tyk.requests{(api_id:a OR api_id:b) AND method:get}.as_count() - sum:tyk.requests{(api_id:a OR api_id:b) AND method:get AND ((status_class:5xx AND NOT status_code IN (501)) OR status_code:429)}.as_count()',
      denominator: 'sum:tyk.requests{(api_id:a OR api_id:b) AND method:get}.as_count()',
    });
  });

  it('reports an SLO it cannot express instead of emitting a wrong query', () => {
    const slos = resolve([{ name: 'x', objective: 99, selector: { api_names: ['Orders API'] }, sli: { type: 'availability' } }]);
    const r = datadogSlos(slos, { ...dogStatsdView(dogstatsdConfigSchema.parse({}), global), tagSet: ['api_id'] });
    assert.deepEqual(r.slos, []);
    assert.deepEqual(r.problems, ['x: the selector uses api_names, but the dogstatsd exporter does not send the api_name tag (add it to tag_set)']);
  });

  it('normalises tag values as Datadog intake does, and compresses status filters', () => {
    assert.equal(datadogTagValue('Orders API "v2"'), 'orders_api__v2_');
    assert.equal(datadogTagValue('/orders/{id}'), '/orders/_id_');
    assert.equal(badStatusFilter(compileErrorDefinition({ status_classes: ['4xx', '5xx'], status_codes: [], exclude_status_codes: [] })), '(status_class:4xx OR status_class:5xx)');
    assert.equal(badStatusFilter(compileErrorDefinition({ status_classes: [], status_codes: [], exclude_status_codes: [] })), undefined);
  });
});
