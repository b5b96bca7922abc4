/**
 * The command line, in-process (exit codes and output). Spawned-process tests of `run` (signals) and of
 * `validate`/`graph` on the shipped config live in test/cli.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { main, type Io } from './cli.js';
import { VERSION } from './version.js';

function io(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t) };
}

describe('cli', () => {
  it('--version prints the package version', async () => {
    const o = io();
    assert.equal(await main(['--version'], o), 0);
    assert.deepEqual(o.stdout, [VERSION]);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
  });

  it('--help lists the commands and options', async () => {
    const o = io();
    assert.equal(await main(['--help'], o), 0);
    const text = o.stdout.join('\n');
    for (const word of ['run', 'validate', 'graph', '--config', '--version']) assert.ok(text.includes(word), word);
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    const a = io();
    assert.equal(await main(['frobnicate'], a), 2);
    assert.match(a.stderr.join('\n'), /unknown command "frobnicate"/);
    const b = io();
    assert.equal(await main(['validate', '--no-such-flag'], b), 2);
    assert.match(b.stderr.join('\n'), /usage: tyk-otel-pump validate/);
  });

  it('a missing config file is a clear error (exit 1), for validate and for run', async () => {
    for (const cmd of ['validate', 'run']) {
      const o = io();
      assert.equal(await main([cmd, '--config', '/nonexistent/otel-config.yaml'], o), 1);
      assert.match(o.stderr.join('\n'), /^\/nonexistent\/otel-config\.yaml: cannot read the config file \(ENOENT\)$/m);
    }
  });

  it('`<command> --help` prints that command\'s usage', async () => {
    const o = io();
    assert.equal(await main(['graph', '--help'], o), 0);
    assert.match(o.stdout.join('\n'), /usage: tyk-otel-pump graph \[--config FILE\] \[--mermaid\]/);
  });
});
