import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentTelemetry } from '../../src/component.js';
import type { TykRecord } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { httpRecord, networkRecord, uptimeRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { allFixtures } from '../../test/helpers/fixtures.js';
import { componentContext } from '../../test/helpers/context.js';
import { decodeFixture } from '../../test/helpers/decoded-fixtures.js';
import { filterConfigSchema, type FilterConfig } from './config.js';
import { compileFilter } from './filter.js';
import { filterProcessorFactory } from './index.js';

/** A processor context whose telemetry also records the calls it gets. */
function testContext(id = 'filter') {
  const self = new SelfTelemetry('test');
  const base = self.forComponent('processor', id);
  const dropped = new Map<string, number>();
  let accepted = 0;
  const telemetry: ComponentTelemetry = {
    ...base,
    accepted: (n, s) => {
      accepted += n;
      base.accepted(n, s);
    },
    dropped: (n, reason, s) => {
      dropped.set(reason, (dropped.get(reason) ?? 0) + n);
      base.dropped(n, reason, s);
    },
  };
  const ctx = componentContext({ id, telemetry });
  return { ctx, dropped, accepted: () => accepted, scrape: () => self.scrape(), close: () => self.shutdown() };
}

const config = (over: Partial<Record<keyof FilterConfig, unknown>> = {}): FilterConfig => filterConfigSchema.parse(over);

/**
 * The oracle: Tyk Pump's `AnalyticsFilters.ShouldFilter` switch, case for case (analytics/analytics_filters.go),
 * with our `kinds` rule in front.
 */
function tykShouldDrop(c: FilterConfig, r: TykRecord): boolean {
  if (!c.kinds.includes(r.kind)) return true;
  switch (true) {
    case c.skip_api_ids.length > 0 && c.skip_api_ids.includes(r.apiId):
      return true;
    case c.skip_org_ids.length > 0 && c.skip_org_ids.includes(r.orgId):
      return true;
    case c.skip_response_codes.length > 0 && c.skip_response_codes.includes(r.responseCode):
      return true;
    case c.api_ids.length > 0 && !c.api_ids.includes(r.apiId):
      return true;
    case c.org_ids.length > 0 && !c.org_ids.includes(r.orgId):
      return true;
    case c.response_codes.length > 0 && !c.response_codes.includes(r.responseCode):
      return true;
  }
  return false;
}

describe('filter: Tyk rule truth table', () => {
  // Every record shape: api a|b × org x|y × code 200|500.
  const records: TykRecord[] = [];
  for (const apiId of ['a', 'b']) for (const orgId of ['x', 'y']) for (const responseCode of [200, 500]) records.push(httpRecord({ apiId, orgId, responseCode }));

  it('every combination of the six lists (empty or one value) agrees with Tyk\'s ShouldFilter', () => {
    let checked = 0;
    let dropped = 0;
    for (let mask = 0; mask < 64; mask++) {
      const c = config({
        api_ids: mask & 1 ? ['a'] : [],
        org_ids: mask & 2 ? ['x'] : [],
        response_codes: mask & 4 ? [200] : [],
        skip_api_ids: mask & 8 ? ['a'] : [],
        skip_org_ids: mask & 16 ? ['y'] : [],
        skip_response_codes: mask & 32 ? [500] : [],
      });
      const f = compileFilter(c);
      for (const r of records) {
        const want = !tykShouldDrop(c, r);
        assert.equal(f.keep(r), want, `config ${JSON.stringify(c)} record ${r.apiId}/${(r as { orgId: string }).orgId}/${r.responseCode}`);
        checked++;
        if (!want) dropped++;
      }
    }
    assert.equal(checked, 512);
    assert.ok(dropped > 100 && dropped < 512, 'the table exercises both outcomes');
  });

  it('empty lists keep everything (and the processor then passes batches through)', () => {
    const f = compileFilter(config());
    assert.equal(f.active, false);
    for (const r of [...records, networkRecord(), uptimeRecord()]) assert.equal(f.keep(r), true);
  });

  it('each list alone', () => {
    const keepCodes = (c: FilterConfig) => records.filter((r) => compileFilter(c).keep(r)).map((r) => `${r.apiId}${(r as { orgId: string }).orgId}${r.responseCode}`);
    assert.deepEqual(keepCodes(config({ api_ids: ['a'] })), ['ax200', 'ax500', 'ay200', 'ay500']);
    assert.deepEqual(keepCodes(config({ org_ids: ['y'] })), ['ay200', 'ay500', 'by200', 'by500']);
    assert.deepEqual(keepCodes(config({ response_codes: [500] })), ['ax500', 'ay500', 'bx500', 'by500']);
    assert.deepEqual(keepCodes(config({ skip_api_ids: ['a'] })), ['bx200', 'bx500', 'by200', 'by500']);
    assert.deepEqual(keepCodes(config({ skip_org_ids: ['y'] })), ['ax200', 'ax500', 'bx200', 'bx500']);
    assert.deepEqual(keepCodes(config({ skip_response_codes: [500] })), ['ax200', 'ay200', 'bx200', 'by200']);
  });

  it('block beats allow: a record on both lists is dropped', () => {
    const r = httpRecord({ apiId: 'a', orgId: 'x', responseCode: 200 });
    assert.equal(compileFilter(config({ api_ids: ['a'], skip_api_ids: ['a'] })).keep(r), false);
    assert.equal(compileFilter(config({ org_ids: ['x'], skip_org_ids: ['x'] })).keep(r), false);
    assert.equal(compileFilter(config({ response_codes: [200], skip_response_codes: [200] })).keep(r), false);
    // A block list on one field drops even when every allow list admits the record.
    assert.equal(compileFilter(config({ api_ids: ['a'], org_ids: ['x'], response_codes: [200], skip_org_ids: ['x'] })).keep(r), false);
  });

  it('combined allow lists must all admit the record', () => {
    const c = compileFilter(config({ api_ids: ['a', 'b'], org_ids: ['x'], response_codes: [200, 201] }));
    assert.equal(c.keep(httpRecord({ apiId: 'b', orgId: 'x', responseCode: 201 })), true);
    assert.equal(c.keep(httpRecord({ apiId: 'b', orgId: 'y', responseCode: 201 })), false);
    assert.equal(c.keep(httpRecord({ apiId: 'c', orgId: 'x', responseCode: 201 })), false);
    assert.equal(c.keep(httpRecord({ apiId: 'a', orgId: 'x', responseCode: 404 })), false);
  });

  it('network records have response_code -1: an allow list of HTTP codes drops them, skip_response_codes [-1] removes them', () => {
    assert.equal(compileFilter(config({ response_codes: [200] })).keep(networkRecord()), false);
    assert.equal(compileFilter(config({ skip_response_codes: [-1] })).keep(networkRecord()), false);
    assert.equal(compileFilter(config({ skip_response_codes: [-1] })).keep(httpRecord()), true);
  });
});

describe('filter: kinds and uptime records', () => {
  const http = httpRecord({ apiId: 'a', orgId: 'x' });
  const net = networkRecord({ apiId: 'a', orgId: 'x' });
  const up = uptimeRecord({ apiId: 'a', orgId: 'x', responseCode: 200 });

  it('kinds keeps only the listed kinds', () => {
    const keep = (kinds: string[]) => [http, net, up].filter((r) => compileFilter(config({ kinds })).keep(r)).map((r) => r.kind);
    assert.deepEqual(keep(['http']), ['http']);
    assert.deepEqual(keep(['network']), ['network']);
    assert.deepEqual(keep(['uptime']), ['uptime']);
    assert.deepEqual(keep(['http', 'uptime']), ['http', 'uptime']);
    assert.deepEqual(keep(['http', 'network', 'uptime']), ['http', 'network', 'uptime']);
  });

  it('the id and code lists apply to uptime records too (they carry api_id, org_id and response_code)', () => {
    assert.equal(compileFilter(config({ api_ids: ['b'] })).keep(up), false);
    assert.equal(compileFilter(config({ skip_org_ids: ['x'] })).keep(up), false);
    assert.equal(compileFilter(config({ response_codes: [521] })).keep(up), false);
    assert.equal(compileFilter(config({ response_codes: [521] })).keep(uptimeRecord({ responseCode: 521, tcpError: true })), true);
    assert.equal(compileFilter(config({ api_ids: ['a'], org_ids: ['x'] })).keep(up), true);
  });

  it('kinds is checked before the lists', () => {
    assert.equal(compileFilter(config({ kinds: ['http'], api_ids: ['a'] })).keep(up), false);
  });
});

describe('filter: config', () => {
  it('rejects an empty kinds list, unknown kinds and non-integer codes, with our wording', () => {
    const r = parseWithProblems(filterConfigSchema, { kinds: [], response_codes: [200.5, 'x', 1000], skip_api_ids: [1] }, ['processors', 'filter']);
    const lines = r.problems.map((p) => `${p.path}: ${p.message}`);
    assert.ok(lines.includes('processors::filter::kinds: must list at least one record kind (http, network, uptime)'), lines.join('\n'));
    assert.ok(lines.includes('processors::filter::response_codes[0]: must be an integer'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::filter::response_codes[1]: must be a')), lines.join('\n'));
    assert.ok(lines.includes('processors::filter::response_codes[2]: must be a status code between -1 and 999'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::filter::skip_api_ids[0]: must be')), lines.join('\n'));
    const k = parseWithProblems(filterConfigSchema, { kinds: ['tcp'] }, ['processors', 'filter']);
    assert.deepEqual(k.problems.map((p) => p.message), ['must be one of "http", "network", "uptime"']);
  });
});

describe('filter processor', () => {
  it('hands a new batch downstream, counts filtered records as dropped, never touches the input', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = filterProcessorFactory.create(t.ctx, config({ skip_api_ids: ['noisy'], kinds: ['http', 'network'] }), filterProcessorFactory.signatures[0]!, next as never);
    await p.start();
    const batch = Object.freeze([httpRecord({ apiId: 'noisy' }), httpRecord({ apiId: 'good' }), uptimeRecord(), networkRecord()]);
    const err = await tracked((ctx) => p.consume(batch, ctx));
    assert.equal(err, undefined);
    assert.equal(next.batches.length, 1);
    assert.notEqual(next.batches[0], batch);
    assert.deepEqual(next.items.map((r) => `${r.kind}:${r.apiId}`), ['http:good', 'network:tcp-echo-api']);
    assert.equal(next.items[0], batch[1], 'kept records are passed on as they are');
    assert.equal(batch.length, 4);
    assert.equal(t.accepted(), 4);
    assert.deepEqual([...t.dropped], [['filtered', 2]]);
    const text = await t.scrape();
    assert.match(text, /test_processor_dropped_items_total\{processor="filter",signal="records",reason="filtered"\} 2/);
    await p.shutdown();
    await p.shutdown();
    await t.close();
  });

  it('a fully filtered batch is not forwarded; a pass-through config forwards a copy', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const drop = filterProcessorFactory.create(t.ctx, config({ api_ids: ['only'] }), filterProcessorFactory.signatures[0]!, next as never);
    await tracked((ctx) => drop.consume([httpRecord(), httpRecord()], ctx));
    assert.equal(next.batches.length, 0);
    assert.equal(t.dropped.get('filtered'), 2);
    const pass = filterProcessorFactory.create(t.ctx, config(), filterProcessorFactory.signatures[0]!, next as never);
    const batch = [httpRecord(), uptimeRecord()];
    await tracked((ctx) => pass.consume(batch, ctx));
    assert.notEqual(next.batches[0], batch);
    assert.deepEqual(next.batches[0], batch);
    await t.close();
  });

  it('a downstream failure reaches the caller', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    next.fail = new Error('exporter down');
    const p = filterProcessorFactory.create(t.ctx, config({ response_codes: [200] }), filterProcessorFactory.signatures[0]!, next as never);
    await assert.rejects(p.consume([httpRecord()], { chunkId: undefined, defer: () => () => undefined }), /exporter down/);
    await t.close();
  });

  it('filters decoded fixture records: only the Orders API, no TCP stats, no uptime', async () => {
    const records: TykRecord[] = allFixtures().map(decodeFixture);
    const orders = 'e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0';
    const want = allFixtures().filter((f) => f.format !== 'uptime' && f.expected['api_id'] === orders && f.expected['response_code'] !== -1).length;
    assert.ok(want > 20);
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = filterProcessorFactory.create(t.ctx, config({ api_ids: [orders], kinds: ['http'] }), filterProcessorFactory.signatures[0]!, next as never);
    await tracked((ctx) => p.consume(records, ctx));
    assert.equal(next.items.length, want);
    assert.ok(next.items.every((r) => r.kind === 'http' && r.apiId === orders));
    assert.equal(t.dropped.get('filtered'), records.length - want);
    await t.close();
  });
});
