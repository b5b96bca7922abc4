#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, built by `npm ci` through the prepare script), or the
// TypeScript sources through tsx when no build exists (a development checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/src/cli.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(dist)) && process.env.TYK_OTEL_PUMP_FROM_SOURCE !== '1') {
  cli = await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // One-shot commands exit now; `run` keeps the event loop alive until it resolves.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
