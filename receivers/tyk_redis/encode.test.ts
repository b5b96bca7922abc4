/**
 * The Go-layout encoder (used by `demo`) against real gateway bytes: decoding a fixture and encoding it
 * again reproduces the fixture byte for byte; demo traffic survives encode → decode unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixtures } from '../../test/helpers/fixtures.js';
import { decodeAnalytics, decodeUptime } from '../../internal/tyk-wire/decode.js';
import { encodeAnalytics, encodeUptime } from '../../internal/tyk-wire/encode.js';
import { DemoTraffic, Rng } from '../../src/commands/demo-traffic.js';

describe('encode: the gateway msgpack layout', () => {
  it('re-encoding every current-format msgpack fixture reproduces its exact bytes', () => {
    const fixtures = loadFixtures('gateway-msgpack.jsonl');
    for (const [i, f] of fixtures.entries()) {
      const again = encodeAnalytics(decodeAnalytics(f.bytes, 'msgpack'));
      if (!again.equals(f.bytes)) {
        let at = 0;
        while (again[at] === f.bytes[at]) at++;
        assert.fail(`line ${i + 1}: differs at byte ${at}: wire ${f.bytes.subarray(at, at + 12).toString('hex')} ours ${again.subarray(at, at + 12).toString('hex')}`);
      }
    }
    assert.equal(fixtures.length, 400);
  });

  it('re-encoding every uptime fixture reproduces its exact bytes', () => {
    for (const f of loadFixtures('uptime-msgpack.jsonl')) assert.ok(encodeUptime(decodeUptime(f.bytes)).equals(f.bytes));
  });

  it('uses the forms Go uses: uint64 ExpireAt, zero time, map16 with 35 keys, negative ints', () => {
    const rec = decodeAnalytics(loadFixtures('gateway-msgpack.jsonl')[0]!.bytes, 'msgpack');
    const bytes = encodeAnalytics({ ...rec, responseCode: -1, contentLength: -1, timestampMs: null, timestampNs: 0 });
    assert.deepEqual([...bytes.subarray(0, 3)], [0xde, 0x00, 0x23]);
    const zeroTime = Buffer.from('92d3fffffff1886e0900', 'hex');
    assert.ok(bytes.includes(Buffer.concat([Buffer.from('a954696d655374616d70', 'hex'), zeroTime])), 'TimeStamp = Go zero time');
    assert.ok(bytes.includes(Buffer.from('a8457870697265417492cf', 'hex')), 'ExpireAt seconds as uint64');
    assert.ok(bytes.includes(Buffer.from('ac526573706f6e7365436f6465ff', 'hex')), 'ResponseCode -1 as negative fixint');
  });

  it('demo traffic decodes back to exactly the generated records (HTTP, GraphQL, MCP, network, uptime)', () => {
    const traffic = new DemoTraffic(new Rng(42), 7);
    const now = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const rec = traffic.http(now + i);
      const back = decodeAnalytics(encodeAnalytics(rec), 'msgpack');
      assert.deepEqual(back, rec);
      seen.add(`${rec.graphqlStats.isGraphQL}/${rec.mcpStats.isMCP}/${rec.geo.country.isoCode !== ''}/${rec.rawRequest !== ''}`);
    }
    assert.ok(seen.has('true/false/false/true') && seen.has('false/true/false/false') && seen.has('false/false/true/false'), [...seen].join(' '));
    for (const api of traffic.tcpApis) {
      const net = traffic.network(api, now);
      assert.equal(net.kind, 'network');
      assert.deepEqual(decodeAnalytics(encodeAnalytics(net), 'msgpack'), net);
    }
    assert.equal(traffic.tcpApis.length, 1);
    for (const api of traffic.apis) {
      const up = traffic.uptime(api, now);
      assert.deepEqual(decodeUptime(encodeUptime(up)), up);
    }
  });

  it('demo traffic is realistic: weighted codes incl. 5xx and 429, gateway rejections without upstream, ids in paths', () => {
    const traffic = new DemoTraffic(new Rng(7), 6);
    const codes = new Map<number, number>();
    let rejectedWithUpstream = 0;
    let withIds = 0;
    for (let i = 0; i < 5000; i++) {
      const r = traffic.http(Date.now());
      codes.set(r.responseCode, (codes.get(r.responseCode) ?? 0) + 1);
      if ([401, 403, 429].includes(r.responseCode) && r.latency.upstream !== 0) rejectedWithUpstream++;
      if (/\/\d+(\/|$)|[0-9a-f]{8}-[0-9a-f]{4}-/.test(r.path)) withIds++;
      assert.equal(r.latency.total, r.latency.upstream + r.latency.gateway);
      assert.equal(r.requestTime, r.latency.total);
    }
    const count = (c: number) => codes.get(c) ?? 0;
    assert.ok(count(200) + count(201) > 3500);
    assert.ok(count(429) > 10 && count(500) + count(502) + count(503) + count(504) > 20 && count(404) > 20, JSON.stringify([...codes]));
    assert.equal(rejectedWithUpstream, 0);
    assert.ok(withIds > 2500);
  });
});
