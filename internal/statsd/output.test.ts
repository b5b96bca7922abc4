import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatsdEndpoint } from './endpoint.js';
import { StatsdOutput, type StatsdOutputOptions } from './output.js';
import type { AnalyticsRecord, UptimeRecord } from '../../src/model.js';
import { Cleanups } from '../../test/helpers/cleanups.js';
import { httpRecord, networkRecord, uptimeRecord } from '../../test/helpers/records.js';
import { exporterContext, udpServer, type DatagramServer, type TestExporterContext } from '../../test/helpers/statsd-server.js';

const cleanups = new Cleanups();

/** An output to a real UDP server; its counters are a plain tally turned into one line per flush. */
async function output(over: Partial<StatsdOutputOptions> = {}): Promise<{ out: StatsdOutput; t: TestExporterContext; server: DatagramServer; tally: { n: number } }> {
  const server = await udpServer();
  const t = exporterContext('statsd/lifecycle');
  const tally = { n: 0 };
  const endpoint = parseStatsdEndpoint(server.endpoint, false);
  assert.ok(endpoint);
  const out: StatsdOutput = new StatsdOutput({
    ctx: t.ctx,
    endpoint,
    maxPacketBytes: 512,
    flushIntervalMs: 60_000,
    label: 'lifecycle',
    tooLongAdvice: 'shorten it',
    cacheEmptiedMessage: 'lifecycle: cache emptied',
    cacheLimit: 7,
    flushCounters: () => {
      if (tally.n > 0) out.add(`tally:${tally.n}|c`, `tally:${tally.n}|c`.length);
      tally.n = 0;
    },
    ...over,
  });
  cleanups.push(() => server.close(), () => t.close(), () => out.shutdown());
  return { out, t, server, tally };
}

describe('statsd output lifecycle', () => {
  after(() => cleanups.run());

  it('refuses records before start and after shutdown; start and shutdown are idempotent, shutdown without start is safe', async () => {
    const { out } = await output();
    await assert.rejects(out.consumeRecords([httpRecord()], { http: () => undefined, network: undefined, uptime: undefined }), { code: 'ERR_SHUTTING_DOWN' });
    assert.equal(out.start(), true);
    assert.equal(out.start(), false, 'a second start does nothing');
    await out.shutdown();
    await out.shutdown();
    assert.equal(out.isStopping, true);
    assert.equal(out.start(), false, 'no start after shutdown');
    await assert.rejects(out.consumeRecords([httpRecord()], { http: () => undefined, network: undefined, uptime: undefined }), { code: 'ERR_SHUTTING_DOWN' });

    const never = await output();
    await never.out.shutdown();
    assert.equal(never.out.start(), false);
  });

  it('hands each record to the handler of its kind, skips kinds without one, and counts the batch as accepted', async () => {
    const { out, t } = await output();
    out.start();
    const seen: string[] = [];
    const batch = [httpRecord(), networkRecord(), uptimeRecord(), httpRecord()];
    await out.consumeRecords(batch, {
      http: (r: AnalyticsRecord) => seen.push(`http:${r.apiId}`),
      network: undefined,
      uptime: (r: UptimeRecord) => seen.push(`uptime:${r.apiId}`),
    });
    assert.deepEqual(seen, [`http:${batch[0]?.apiId}`, `uptime:${batch[2]?.apiId}`, `http:${batch[3]?.apiId}`]);
    assert.equal(await t.counter('test_exporter_accepted_items_total'), 4);
  });

  it('shutdown sends the summed counters and the partial datagram; a line longer than a datagram is dropped, counted and logged once', async () => {
    const { out, t, server, tally } = await output();
    out.start();
    out.add('a:1|c', 5);
    tally.n = 3;
    out.add(`long:${'x'.repeat(600)}|c`, 607);
    out.add(`long:${'y'.repeat(600)}|c`, 607);
    await out.shutdown();
    await server.waitFor('the last datagram', (lines) => lines.includes('tally:3|c'));
    assert.deepEqual(server.lines(), ['a:1|c', 'tally:3|c'], 'counters join the partial datagram in one flush');
    assert.equal(await t.counter('test_exporter_dropped_items_total', { reason: 'line_too_long' }), 2);
    const warned = t.logs.filter((l) => String(l['msg']).startsWith('lifecycle line longer than max_packet_bytes dropped (shorten it)'));
    assert.equal(warned.length, 1, 'one warning per burst');
    assert.ok(t.logs.some((l) => l['msg'] === 'lifecycle: lines dropped (summary at shutdown)' && l['suppressed'] === 1));
  });

  it('a full cache sends its counters before it is emptied, and says so once per burst', async () => {
    const { out, t, server, tally } = await output();
    out.start();
    tally.n = 5;
    out.cacheFull();
    out.cacheFull();
    assert.equal(tally.n, 0, 'the counters were taken');
    out.flush();
    await server.waitFor('the flushed counters', (lines) => lines.includes('tally:5|c'));
    assert.deepEqual(server.lines(), ['tally:5|c']);
    assert.equal(t.logs.filter((l) => l['msg'] === 'lifecycle: cache emptied' && l['limit'] === 7).length, 1);
  });

  it('runs the exporter teardown after the socket closed, once', async () => {
    const { out } = await output();
    out.start();
    let ran = 0;
    await Promise.all([out.shutdown(async () => { ran++; }), out.shutdown(async () => { ran += 10; })]);
    assert.equal(ran, 1);
  });
});
