import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfTelemetry } from './telemetry.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runtime sources of components and of `internal/` (tests and test data may name the default prefix). */
function componentSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'testdata' || name === 'node_modules') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
    }
  };
  for (const d of ['internal', 'receivers', 'processors', 'exporters']) walk(join(root, d));
  return out;
}

describe('self-telemetry prefix', () => {
  it('no component or internal source spells the default prefix: names come from the telemetry handle', () => {
    const files = componentSources();
    assert.ok(files.length > 20, `found only ${files.length} sources`);
    const offenders: string[] = [];
    for (const f of files) {
      const lines = readFileSync(f, 'utf8').split('\n');
      lines.forEach((line, i) => {
        // An instrument or span name in a string: `'tyk_otel_pump.<kind>.<what>'` (a table named
        // `tyk_otel_pump_batches` is not telemetry).
        if (/['"`]tyk_otel_pump\./.test(line)) offenders.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('a component instrument and a span name follow service.telemetry.metrics.prefix', async () => {
    const self = new SelfTelemetry('acme_pump');
    try {
      const t = self.forComponent('processor', 'sli@metrics');
      t.meter.createCounter('processor.sli.overflow_records', { description: 'x', unit: '{record}' }).add(3, { processor: 'sli@metrics' });
      t.meter.createObservableGauge('receiver.backlog_records', { description: 'y', unit: '{record}' }).addCallback((r) => r.observe(7));
      assert.equal(t.name('export'), 'acme_pump.export');
      const text = await self.scrape();
      assert.match(text, /^acme_pump_processor_sli_overflow_records_total\{processor="sli@metrics"\} 3$/m);
      assert.match(text, /^acme_pump_receiver_backlog_records 7$/m);
      assert.doesNotMatch(text, /tyk_otel_pump/);
    } finally {
      await self.shutdown();
    }
  });
});
