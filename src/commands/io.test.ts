/**
 * Every command that reads `otel-config.yaml` loads it through `loadConfig` (`io.ts`): the same problems
 * and warnings, one line each and in the same order, the same exit code for an invalid config, and the same
 * `--config`/`-c` option. A command that loaded the file itself would drift from the others here.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type Io } from '../cli.js';

const dir = mkdtempSync(join(tmpdir(), 'commands-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two problems and two warnings (components defined but used nowhere), a password in a URL. */
const BROKEN = `
receivers:
  tyk_redis: { endpoint: "redis://pump:io-test-pw@127.0.0.1:6379/0", chunk_size: -5 }
processors:
  sli: {}
  route/unused: {}
exporters:
  prometheus: { endpoint: "9464" }
  prometheus/unused: { endpoint: 127.0.0.1:0 }
service:
  pipelines:
    metrics: { receivers: [tyk_redis], processors: [sli], exporters: [prometheus] }
`;

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The commands that read the agent's config, with the arguments they need besides `--config`. */
const COMMANDS: readonly (readonly string[])[] = [['run'], ['validate'], ['graph'], ['slo-rules'], ['dashboards', '--out', join(dir, 'dash')], ['rules', '--agent'], ['demo', '--duration', '1'], ['dead-letters', 'list']];

describe('commands load the config one way', () => {
  it('each prints the problem and warning lines validate prints and exits 1, with --config and -c', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, BROKEN);
    const expected = await run(['validate', '--config', file]);
    assert.equal(expected.code, 1);
    assert.equal(expected.err.filter((l) => l.startsWith('warning: ')).length, 2, expected.err.join('\n'));
    assert.equal(expected.err.filter((l) => !l.startsWith('warning: ')).length, 2, expected.err.join('\n'));
    assert.ok(!expected.err.join('\n').includes('io-test-pw'));
    for (const argv of COMMANDS) {
      for (const flag of ['--config', '-c']) {
        const r = await run([...argv, flag, file]);
        assert.equal(r.code, 1, `${argv.join(' ')} ${flag}`);
        // The same lines first; a command may add one of its own after them (run: "refusing to start").
        assert.deepEqual(r.err.slice(0, expected.err.length), expected.err, `${argv.join(' ')} ${flag}`);
        assert.ok(r.err.length <= expected.err.length + 1 && !r.err.slice(expected.err.length).some((l) => l.includes(file)), r.err.join('\n'));
        assert.deepEqual(r.out, [], `${argv.join(' ')} prints nothing else`);
      }
    }
  });
});
