/**
 * The spool's promise after a crash: finished files are replayed, a `.tmp` (a write a kill cut short) is
 * neither replayed nor left behind, and a finished append leaves no `.tmp`.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { Spool } from './spool.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'spool-'));
  dirs.push(d);
  return d;
}

describe('otlp_http spool after a crash', () => {
  it('open() replays finished files only and removes writes in progress', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '000000000003-5.pb.gz'), Buffer.from('finished'));
    writeFileSync(join(dir, '000000000004-9.pb.gz.tmp'), Buffer.from('half'));
    writeFileSync(join(dir, 'LOCK'), '999999999');
    const spool = new Spool(dir, 1 << 20, silentLogger());
    await spool.open();
    assert.equal(spool.items, 5);
    assert.equal(spool.waiting, 1);
    assert.deepEqual(readdirSync(dir).sort(), ['000000000003-5.pb.gz', 'LOCK']);
    const entry = spool.take();
    assert.equal(entry?.file, '000000000003-5.pb.gz');
    assert.equal(spool.take(), undefined);
    // New writes continue after the highest sequence seen, finished ones included.
    assert.equal(await spool.append({ signal: 'logs', body: Buffer.from('next'), format: 'proto', gzip: true, items: 2 }), true);
    assert.deepEqual(readdirSync(dir).sort(), ['000000000003-5.pb.gz', '000000000004-2.pb.gz', 'LOCK']);
    await spool.close();
    assert.deepEqual(readdirSync(dir).sort(), ['000000000003-5.pb.gz', '000000000004-2.pb.gz']);
  });
});
