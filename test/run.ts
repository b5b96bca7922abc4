/**
 * `npm test` after the type-check: finds every `*.test.ts` under src/, internal/, receivers/, processors/,
 * exporters/ and test/ (Node 20's `--test` does not expand globs itself) and runs them with node:test
 * through tsx, one file at a time (the end-to-end tests start real servers and would only compete for
 * the two cores). Extra arguments filter files by substring: `npm test -- otlp route`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs = ['src', 'internal', 'receivers', 'processors', 'exporters', 'test'];

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
}

const files: string[] = [];
for (const d of dirs) walk(join(root, d), files);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = files
  .map((f) => relative(root, f))
  .filter((f) => !f.startsWith('test/bench/'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (selected.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...selected], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
