/**
 * Config validation, table-driven over src/config/testdata/*.yaml: each file's exact output lines
 * (problems, then warnings prefixed `warning: `) must equal its `.out` sibling. A `# env: K=V …` header
 * line sets environment variables for that file. The components are the small fakes of
 * test/helpers/fake-components.ts, so these tests pin the loader's behaviour, not a component's schema.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from './load.js';
import { formatProblem } from '../errors.js';
import { fakeFactories } from '../../test/helpers/fake-components.js';

const dir = fileURLToPath(new URL('./testdata/', import.meta.url));

function envOf(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  const m = /^# env: (.*)$/m.exec(text);
  for (const pair of m?.[1]?.split(' ') ?? []) {
    const i = pair.indexOf('=');
    if (i > 0) env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return env;
}

function outputOf(file: string): { lines: string[]; result: ReturnType<typeof loadConfigText> } {
  const text = readFileSync(`${dir}${file}`, 'utf8');
  const result = loadConfigText(text, file, fakeFactories, envOf(text));
  const lines = [
    ...result.problems.map((p) => formatProblem(file, p)),
    ...result.warnings.map((w) => `warning: ${formatProblem(file, w)}`),
  ];
  return { lines, result };
}

describe('config testdata (exact lines)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    it(file, () => {
      const { lines } = outputOf(file);
      const outFile = `${dir}${file.replace(/\.yaml$/, '.out')}`;
      if (process.env['UPDATE_TESTDATA'] === '1' || !existsSync(outFile)) {
        writeFileSync(outFile, lines.length > 0 ? `${lines.join('\n')}\n` : '');
      }
      const expected = readFileSync(outFile, 'utf8').split('\n').filter((l) => l !== '');
      assert.deepEqual(lines, expected);
    });
  }
});

describe('config semantics', () => {
  it('five distinct mistakes give five path-prefixed lines', () => {
    const { lines, result } = outputOf('five-mistakes.yaml');
    assert.equal(result.config, undefined);
    assert.equal(result.problems.length, 5);
    for (const l of lines) assert.match(l, /^five-mistakes\.yaml: [a-z_]+::\S+: /);
  });

  it('applies defaults and expands ${env:…}, defaults and $$', () => {
    const { result } = outputOf('valid.yaml');
    assert.ok(result.config);
    const second = result.config.components.get('fake_receiver/second');
    assert.deepEqual(second?.config, { endpoint: 'redis://127.0.0.1:6379/0', password: '', poll_interval: 250, not_ready: false });
    assert.equal(result.config.service.shutdown_timeout, 30_000);
    assert.equal(result.config.service.telemetry.metrics.address, '0.0.0.0:9464');

    const text = readFileSync(`${dir}env.yaml`, 'utf8').replace(/^\s+poll_interval: \$\{file.*$/m, '');
    const r = loadConfigText(text, 'env.yaml', fakeFactories, envOf(text));
    assert.deepEqual(r.problems, []);
    const a = r.config?.components.get('fake_receiver')?.config as Record<string, unknown>;
    const b = r.config?.components.get('fake_receiver/b')?.config as Record<string, unknown>;
    assert.equal(a['endpoint'], 'redis://10.0.0.1:6380/2');
    assert.equal(a['poll_interval'], 250);
    assert.equal(a['password'], '');
    assert.equal(b['endpoint'], 'redis://127.0.0.1:6379/${not_a_ref}');
    assert.deepEqual(r.warnings.map((w) => w.message), ['environment variable UNSET_PASSWORD is not set; using an empty value']);
  });

  it('a whole-value reference takes the YAML type of its value', () => {
    const r = loadConfigText('receivers: { fake_receiver: { password: "${env:PIN}" } }\nprocessors: { tag: { level: "${env:LEVEL}" } }\nexporters: { memory: { block: "${env:BLOCK}" } }\nservice: { pipelines: { records: { receivers: [fake_receiver], processors: [tag], exporters: [memory] } } }', 'x.yaml', fakeFactories, { PIN: '1234', LEVEL: '3', BLOCK: 'true' });
    assert.deepEqual(r.problems, []);
    assert.equal((r.config?.components.get('tag')?.config as { level: number }).level, 3);
    assert.equal((r.config?.components.get('memory')?.config as { block: boolean }).block, true);
    assert.equal((r.config?.components.get('fake_receiver')?.config as { password: string }).password, '1234');
  });

  it('never prints a secret value', () => {
    const text = readFileSync(`${dir}secrets.yaml`, 'utf8');
    const { lines } = outputOf('secrets.yaml');
    assert.ok(lines.length >= 2, lines.join('\n'));
    const all = lines.join('\n');
    assert.doesNotMatch(all, /hunter2|s3cr3t/);
    assert.match(text, /s3cr3t/);
  });

  it('plans processors per pipeline with the signal between every stage', () => {
    const { result } = outputOf('valid.yaml');
    const metrics = result.config?.pipelines.find((p) => p.id === 'metrics/slis');
    assert.deepEqual(metrics?.processors.map((p) => `${p.id}:${p.signature.input}->${p.signature.output}`), ['tag/a:records->records', 'count:records->metrics']);
    assert.equal(metrics?.signal, 'metrics');
  });
});
