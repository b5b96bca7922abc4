#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, built by `npm ci` through the prepare script), or the
// TypeScript sources through tsx when no build exists (a development checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Heap sizing (BENCHMARKS.md, "Pipeline", memory): after each full GC, V8 lets the old generation grow by up
// to 4x the live heap when collecting looks cheap. Draining a backlog, the records and claimed Buffers that
// outlive a scavenge are then freed only once that much has piled up, and the process keeps the pages:
// ~185 MiB peak RSS for an agent that idles at ~90 MiB. Growing by at most 100 % frees them sooner: ~150-165 MiB
// for no measurable CPU. The flag is read at every full GC, so setting it here, before any work, takes effect.
// Node refuses `--heap-growing-percent` in NODE_OPTIONS, so TYK_OTEL_PUMP_HEAP_GROWING_PERCENT sets another value
// (`0` restores V8's default); one given on node's own command line wins over both.
const HGP_ENV = 'TYK_OTEL_PUMP_HEAP_GROWING_PERCENT';
const fromEnv = process.env[HGP_ENV];
if (fromEnv !== undefined && !/^\d{1,4}$/.test(fromEnv.trim())) {
  process.stderr.write(`${HGP_ENV}: must be a whole number of percent, 0 for V8's default (got ${JSON.stringify(fromEnv)})\n`);
  process.exit(2);
}
if (!process.execArgv.some((f) => f.startsWith('--heap-growing-percent') || f.startsWith('--heap_growing_percent'))) {
  setFlagsFromString(`--heap-growing-percent=${fromEnv === undefined ? 100 : Number(fromEnv.trim())}`);
}

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
