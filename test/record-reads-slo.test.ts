/**
 * The `slo` processor's declared reads (`processors/slo/index.ts`), the way test/record-reads.test.ts
 * checks the others but with the real Redis it counts into: two instances with their own key prefixes, the
 * same SLOs (every selector kind, availability and latency) and the same clock, one fed the gateway
 * fixtures decoded in full, the other decoded with exactly the declared fields; their evaluated SLO states
 * must be equal, and not empty.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordReadsDeclaration } from '../src/component.js';
import type { RecordBatch, TykRecord } from '../src/model.js';
import type { RecordReads } from '../src/record-reads.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { decodeAnalytics, decodeUptime } from '../internal/tyk-wire/decode.js';
import { projection, type Projection } from '../internal/tyk-wire/projection.js';
import { sloProcessorFactory } from '../processors/slo/index.js';
import { sloConfigSchema } from '../processors/slo/config.js';
import { SloProcessor, type SloState } from '../processors/slo/slo.js';
import { allFixtures } from './helpers/fixtures.js';
import { componentContext, testSharedConfig } from './helpers/context.js';
import { RecordingConsumer, tracked } from './helpers/records.js';
import { testRedis, type TestRedis } from './helpers/redis.js';

const fixtures = allFixtures();

function decodeAll(p: Projection): TykRecord[] {
  return fixtures.map((f) =>
    f.format === 'uptime' ? decodeUptime(f.bytes, { projection: p }) : decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack', { projection: p }));
}

/** Every selector kind the processor matches on, availability and latency. */
const SLOS = [
  { name: 'all-availability', objective: 99, selector: {}, sli: { type: 'availability' } },
  { name: 'orders-latency', objective: 95, selector: { api_names: ['Orders API'], methods: ['GET', 'POST'] }, sli: { type: 'latency', threshold_seconds: 0.1 } },
  { name: 'org-availability', objective: 99.5, selector: { org_ids: ['5e9d9544a1dcd60001d0ed20'] }, sli: { type: 'availability' } },
  { name: 'api-latency', objective: 90, selector: { api_ids: ['3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b', 'legacy--soap'] }, sli: { type: 'latency', threshold_seconds: 0.05 } },
];

function plain(states: readonly SloState[]) {
  return states.map((s) => ({ name: s.slo.name, windows: s.windows.map((w) => [w.window.label, w.total, w.bad]), budget: s.budgetRemaining, alerts: s.alerts }));
}

describe('slo: declared reads equal the full decode (real Redis)', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await testRedis('reads-slo');
  });
  after(async () => {
    await redis.cleanup();
  });

  it('the same SLO states from records decoded with the declaration as from full records', async () => {
    const times = decodeAll(projection('all')).map((r) => r.timestampMs ?? 0);
    const now = Math.max(...times) + 60_000;
    const run = async (prefix: string, records: TykRecord[]) => {
      const self = new SelfTelemetry('reads_slo');
      const id = `slo@${prefix}`;
      const ctx = componentContext({ id, telemetry: self.forComponent('processor', id), shared: testSharedConfig({ slos: SLOS }), instanceId: id });
      const proc = new SloProcessor(ctx, sloConfigSchema.parse({ endpoint: redis.url, key_prefix: `${redis.prefix}${prefix}` }), new RecordingConsumer<'metrics'>(), { now: () => now });
      try {
        for (let i = 0; i < records.length; i += 50) assert.equal(await tracked((c) => proc.consume(records.slice(i, i + 50) as RecordBatch, c)), undefined);
        return plain(await proc.evaluate());
      } finally {
        await proc.shutdown();
        await self.shutdown();
      }
    };
    const declared = (sloProcessorFactory.reads as (c: unknown) => RecordReadsDeclaration)(sloConfigSchema.parse({}));
    assert.ok(Array.isArray(declared));
    const full = await run('full-', decodeAll(projection('all')));
    const projected = await run('proj-', decodeAll(projection(declared as RecordReads)));
    assert.ok(full.every((s) => s.windows.some((w) => (w[1] as number) > 0)), 'every SLO counted records');
    assert.ok(full.some((s) => s.windows.some((w) => (w[2] as number) > 0)), 'some records were bad');
    assert.deepEqual(projected, full);
  });
});
