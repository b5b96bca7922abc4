/**
 * Our protobuf logs encoder against its oracle: `ProtobufLogsSerializer.serializeRequest` of
 * `@opentelemetry/otlp-transformer` 0.223.0 on the `ReadableLogRecord`s the exporter built before it had
 * an encoder of its own (resource from `resourceFromAttributes`, scope `{ name, version }`, the trace id
 * when it is 32 lower-case hex digits). Bytes must be identical: every LogEntry shape `audit_log` makes
 * from the real gateway fixtures, every AnyValue kind, the varint boundaries, UTF-8 edge cases.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { AnyValue } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { LogEntry, LogsBatch, ResourceAttributes, TykRecord, UptimeRecord } from '../../src/model.js';
import { VERSION } from '../../src/version.js';
import { compileErrorDefinition } from '../../src/error-definition.js';
import { msToHrTime } from '../../internal/metrics/identity.js';
import { decodedFixturesHalfRouted } from '../../test/helpers/decoded-fixtures.js';
import { httpLog, networkLog, uptimeLog, type AuditOptions } from '../../processors/audit_log/audit_log.js';
import { LogsProtoEncoder } from './logs-proto.js';
import { encodeLogs, ResourceCache, toReadable } from './encode.js';

const NOW = Date.UTC(2026, 11, 3, 13, 0, 0, 123);
const SCOPE = 'tyk-otel-pump/audit_log';

/** The library's bytes for `logs` under one resource and scope (what encode.ts sent before). */
function oracle(logs: readonly LogEntry[], resource: ResourceAttributes, scope = SCOPE, version = VERSION, now = NOW): Buffer {
  const res = resourceFromAttributes(resource as Record<string, string>);
  const sc = { name: scope, version };
  const observed = msToHrTime(now);
  const records = logs.map((e) => toReadable(e, res, sc, observed));
  const raw = ProtobufLogsSerializer.serializeRequest(records) ?? new Uint8Array(0);
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

function ours(enc: LogsProtoEncoder, logs: readonly LogEntry[], resource: ResourceAttributes, scope = SCOPE, version = VERSION, now = NOW): Buffer {
  return Buffer.from(enc.encode({ resource, scopeName: scope, scopeVersion: version }, logs, 0, logs.length, now));
}

/** Asserts identity, naming the first differing byte and the record it falls in. */
function same(got: Buffer, want: Buffer, what: string): void {
  if (got.equals(want)) return;
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  assert.fail(`${what}: ${got.length} vs ${want.length} bytes, first difference at byte ${i}: ours ${got.subarray(i, i + 16).toString('hex')} library ${want.subarray(i, i + 16).toString('hex')}`);
}

function auditLogs(records: readonly TykRecord[], o: AuditOptions): LogEntry[] {
  return records.map((r) => (r.kind === 'http' ? httpLog(r, o) : r.kind === 'network' ? networkLog(r, o) : uptimeLog(r as UptimeRecord, o)));
}

/** The fixtures, every third HTTP record with a gateway trace tag (the fixtures carry none; audit_log turns it into the trace id). */
function withTraceTags(records: readonly TykRecord[]): TykRecord[] {
  let i = 0;
  return records.map((r) => (r.kind === 'http' && i++ % 3 === 0 ? { ...r, tags: [...r.tags, `trace-id-${(i * 7919).toString(16).padStart(32, '0')}`] } : r));
}

function entry(over: Partial<LogEntry> = {}): LogEntry {
  return {
    timestampMs: Date.UTC(2026, 10, 26, 12, 0, 0, 7), timestampNs: 123_456, severityNumber: 9 as LogEntry['severityNumber'],
    severityText: 'INFO', body: 'GET /orders/{id} 200 12ms', attributes: { 'http.request.method': 'GET' }, ...over,
  };
}

const RESOURCE: ResourceAttributes = Object.freeze({ 'service.name': 'tyk-gateway' });

describe('OTLP protobuf logs encoder (byte-identical to ProtobufLogsSerializer)', () => {
  const records = withTraceTags(decodedFixturesHalfRouted());

  for (const includeRaw of [false, true]) {
    for (const includeTags of [true, false]) {
      it(`every fixture through audit_log (http, network, uptime; include_raw ${includeRaw}, include_tags ${includeTags})`, () => {
        const logs = auditLogs(records, { errorDefinition: compileErrorDefinition(), includeRaw, includeTags });
        assert.ok(logs.some((l) => l.traceId !== undefined), 'some fixture carries a trace id');
        const enc = new LogsProtoEncoder();
        same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'whole batch');
        // Again with the keys (and repeated values) cached, and one record per request.
        same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'second batch');
        logs.forEach((l, i) => same(ours(enc, [l], RESOURCE), oracle([l], RESOURCE), `record ${i}`));
      });
    }
  }

  it('splits at max_batch_items exactly as the library slices (encodeLogs, uncompressed and gzipped)', async () => {
    const logs = auditLogs(records, { errorDefinition: compileErrorDefinition(), includeRaw: true, includeTags: true });
    const batch: LogsBatch = { resource: RESOURCE, scope: SCOPE, logs };
    const cache = new ResourceCache({ 'deployment.environment.name': 'prod', 'service.name': 'payments' });
    const merged = cache.merged(RESOURCE);
    const enc = new LogsProtoEncoder();
    for (const gzip of [false, true]) {
      const reqs = await encodeLogs(batch, cache, 'proto', { gzip, level: 1 }, 97, enc, NOW);
      assert.equal(reqs.length, Math.ceil(logs.length / 97));
      reqs.forEach((r, i) => {
        assert.equal(r.items, Math.min(97, logs.length - i * 97));
        same(gzip ? gunzipSync(r.body) : r.body, oracle(logs.slice(i * 97, (i + 1) * 97), merged), `request ${i} (gzip ${gzip})`);
      });
    }
    assert.deepEqual(await encodeLogs({ resource: RESOURCE, scope: SCOPE, logs: [] }, cache, 'proto', { gzip: true, level: 1 }, 97, enc, NOW), []);
  });

  it('an empty batch is an empty body, as the library gives', () => {
    const enc = new LogsProtoEncoder();
    assert.equal(enc.encode({ resource: RESOURCE, scopeName: SCOPE, scopeVersion: VERSION }, [], 0, 0, NOW).length, 0);
    assert.equal(oracle([], RESOURCE).length, 0);
  });

  it('strings: empty, non-ASCII, 4-byte UTF-8, lone surrogates, lengths across every varint boundary', () => {
    const strings = [
      '', 'a', 'GET', 'ümlaut', 'ä b', '日本語のパス', '😀', 'emoji 😀 in the middle', '\u{10FFFF}', 'x'.repeat(12), 'é'.repeat(13),
      '\uD800', '\uDC00', 'a\uD800b', 'a\uDFFFb', 'tail\uD83D', '\uDE00head', '\uD83D\uD83D\uDE00', 'nul\u0000byte', '\u007f\u0080\u07ff\u0800\uffff',
    ];
    // Lengths whose frames cross the 1→2 and 2→3 byte length varints (at 127/128 and 16383/16384),
    // in ASCII and in 2-byte characters (the UTF-16 length guesses one size, the UTF-8 length needs the next).
    for (const n of [100, 108, 110, 115, 120, 124, 125, 126, 127, 128, 129, 140, 16_360, 16_370, 16_380, 16_383, 16_384, 16_390]) {
      strings.push('a'.repeat(n), 'é'.repeat(Math.ceil(n / 2)), `${'a'.repeat(n - 2)}😀`);
    }
    const logs = strings.flatMap((s, i) => [
      entry({ body: s, attributes: { [`k${i}`]: s } }),
      entry({ severityText: s, body: s, attributes: { s, ['ключ-' + s.slice(0, 20)]: s, n: s.length } }),
      entry({ body: { nested: s }, attributes: { arr: [s, s, i] } }),
    ]);
    const enc = new LogsProtoEncoder();
    same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'all strings');
    logs.forEach((l, i) => same(ours(enc, [l], RESOURCE), oracle([l], RESOURCE), `record ${i}`));
  });

  it('records from a few bytes to several MB (record lengths of 1, 2, 3 and 4 byte varints)', () => {
    const logs: LogEntry[] = [];
    for (const n of [0, 10, 60, 90, 100, 110, 120, 16_250, 16_300, 16_350, 16_400, 100_000, 2_200_000]) {
      logs.push(entry({ body: 'b'.repeat(n), attributes: {} }));
      logs.push(entry({ severityText: '', body: undefined, attributes: { raw: 'r'.repeat(n) } }));
    }
    const enc = new LogsProtoEncoder();
    same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'sizes');
    logs.forEach((l, i) => same(ours(enc, [l], RESOURCE), oracle([l], RESOURCE), `record ${i}`));
  });

  it('every AnyValue kind as attribute and body: int64 range, doubles, bools, arrays, maps, bytes, null, undefined', () => {
    const values: AnyValue[] = [
      0, 1, -1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 62, 2 ** 63, -(2 ** 63), -(2 ** 63) - 4096,
      -(2 ** 31), -(2 ** 32), -123_456_789_012, 0.5, -0.25, 1e300, -1e-300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1.5e19,
      true, false, null, undefined, [], [1, 'two', true, null, [3, [4]], { five: 5 }], { a: 1, b: { c: ['d'] }, 2: 'two', 1: 'one' }, {},
      new Uint8Array([0, 1, 2, 255]), new Uint8Array(0), Buffer.from('buffer bytes'), new Uint8Array(300).fill(7),
      ['x'.repeat(200), 'é'.repeat(70)], [...Array(5)],
    ];
    const logs = values.map((v, i) => entry({ body: v, attributes: { v, [`i${i}`]: i, after: 'x' } }));
    logs.push(entry({ attributes: Object.fromEntries(values.map((v, i) => [`a${i}`, v])) }));
    const enc = new LogsProtoEncoder();
    same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'values');
    logs.forEach((l, i) => same(ours(enc, [l], RESOURCE), oracle([l], RESOURCE), `record ${i}`));
  });

  it('times, severities and trace ids: zero and pre-epoch times, no severity, invalid trace ids', () => {
    const logs = [
      entry({ timestampMs: 0, timestampNs: 0 }),
      entry({ timestampMs: -1, timestampNs: 0 }),
      entry({ timestampMs: -86_400_000 * 365, timestampNs: 999_999 }),
      entry({ timestampMs: 253_402_300_799_999, timestampNs: 999_999 }), // 9999-12-31
      entry({ timestampMs: 1_795_694_400_037.5, timestampNs: 1 }),
      entry({ severityNumber: 0 as LogEntry['severityNumber'], severityText: '' }),
      entry({ severityNumber: undefined as unknown as LogEntry['severityNumber'] }),
      entry({ severityNumber: 24 as LogEntry['severityNumber'], severityText: 'FATAL4' }),
      entry({ traceId: '0af7651916cd43dd8448eb211c80319c' }),
      entry({ traceId: '0AF7651916CD43DD8448EB211C80319C' }),
      entry({ traceId: '0af7651916cd43dd' }),
      entry({ traceId: '' }),
      entry({ traceId: 'zzf7651916cd43dd8448eb211c80319c' }),
    ];
    const enc = new LogsProtoEncoder();
    for (const now of [NOW, 0, NOW + 0.5]) {
      same(ours(enc, logs, RESOURCE, SCOPE, VERSION, now), oracle(logs, RESOURCE, SCOPE, VERSION, now), `now ${now}`);
    }
  });

  it('resource and scope: merged attributes, every value type, null values dropped, integer-like keys, empty version', () => {
    const logs = [entry(), entry({ attributes: { 'http.request.method': 'POST' } })];
    const resources: ResourceAttributes[] = [
      {},
      { 'service.name': 'tyk-gateway', 'service.namespace': 'payments', 'deployment.environment.name': 'prod' },
      { 'service.name': 'ü', n: 3, f: 0.5, b: false, list: ['a', 'b'], nums: [1, 2.5], 2: 'two', 1: 'one', gone: null, none: undefined } as unknown as ResourceAttributes,
      { ['k'.repeat(200)]: 'v'.repeat(300) },
    ];
    const enc = new LogsProtoEncoder();
    for (const r of resources) {
      for (const [scope, version] of [[SCOPE, VERSION], ['', ''], ['s'.repeat(150), 'v']] as const) {
        same(ours(enc, logs, r, scope, version), oracle(logs, r, scope, version), `resource ${JSON.stringify(r).slice(0, 60)}, scope ${scope.slice(0, 10)}`);
      }
    }
  });

  it('the value cache stays exact across reviews, drops and retries (repeating and unique values, 70 000 records)', () => {
    const logs: LogEntry[] = [];
    for (let i = 0; i < 70_000; i++) {
      logs.push(entry({
        attributes: {
          'tyk.api.id': `api-${i % 7}`,
          'url.path': `/orders/${i}`,
          // Repeats for a while, then turns unique, then repeats again: the key is dropped and retried.
          phase: i < 20_000 || i > 50_000 ? `p${i % 3}` : `u${i}`,
          'http.request.method': ['GET', 'POST', 'é', '😀'][i % 4] as string,
        },
      }));
    }
    const enc = new LogsProtoEncoder();
    for (let i = 0; i < logs.length; i += 5000) {
      const slice = logs.slice(i, i + 5000);
      same(Buffer.from(enc.encode({ resource: RESOURCE, scopeName: SCOPE, scopeVersion: VERSION }, logs, i, i + slice.length, NOW)), oracle(slice, RESOURCE), `records ${i}…`);
    }
  });

  it('beyond 4 096 attribute names (not kept) and 64 cached keys: still exact', () => {
    const logs = Array.from({ length: 600 }, (_, i) => entry({
      attributes: Object.fromEntries(Array.from({ length: 12 }, (_, j) => [`name.${(i * 12 + j) % 5000}`, j % 2 === 0 ? `value-${j}` : i])),
    }));
    const enc = new LogsProtoEncoder();
    for (let round = 0; round < 3; round++) same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), `round ${round}`);
  });

  it('a body is the caller\'s until recycled; a recycled buffer is reused without touching bodies kept', () => {
    const logs = auditLogs(records, { errorDefinition: compileErrorDefinition(), includeRaw: false, includeTags: true });
    const want = oracle(logs, RESOURCE);
    const enc = new LogsProtoEncoder();
    const head = { resource: RESOURCE, scopeName: SCOPE, scopeVersion: VERSION };
    const kept = enc.encode(head, logs, 0, logs.length, NOW);
    const second = enc.encode(head, logs, 0, logs.length, NOW);
    same(kept, want, 'first body after a second encode');
    enc.recycle(second);
    const third = enc.encode(head, logs.slice(0, 10), 0, 10, NOW);
    assert.equal(third.buffer, second.buffer, 'the recycled memory is reused');
    same(kept, want, 'first body after reuse');
    same(third, oracle(logs.slice(0, 10), RESOURCE), 'body written into recycled memory');
  });

  it('random records (fuzz against the library)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const chars = ['a', 'Z', '/', ' ', 'é', 'ß', '日', '😀', '\uD800', '\uDFFF', '\u0000', '\u007f', '\u0080'];
    const str = () => Array.from({ length: rand(3) === 0 ? rand(300) : rand(20) }, () => chars[rand(chars.length)]).join('');
    const value = (depth: number): AnyValue => {
      switch (rand(depth > 2 ? 5 : 8)) {
        case 0: return str();
        case 1: return rand(2) === 0 ? rand(1_000_000) : -rand(1_000_000) * 1_000_003;
        case 2: return rand(1000) / 7;
        case 3: return rand(2) === 0;
        case 4: return rand(10) === 0 ? null : str();
        case 5: return Array.from({ length: rand(4) }, () => value(depth + 1));
        case 6: return Object.fromEntries(Array.from({ length: rand(4) }, () => [str(), value(depth + 1)]));
        default: return new Uint8Array(rand(40)).fill(rand(256));
      }
    };
    const logs = Array.from({ length: 2000 }, () => entry({
      timestampMs: rand(2_000_000_000) * 1000 + rand(1000), timestampNs: rand(1_000_000),
      severityNumber: rand(25) as LogEntry['severityNumber'], severityText: rand(4) === 0 ? '' : str(),
      body: rand(5) === 0 ? value(0) : str(),
      attributes: Object.fromEntries(Array.from({ length: rand(25) }, () => [rand(3) === 0 ? str() : `key.${rand(30)}`, value(0)])),
      ...(rand(3) === 0 ? { traceId: Array.from({ length: 32 }, () => '0123456789abcdef'[rand(16)]).join('') } : {}),
    }));
    const enc = new LogsProtoEncoder();
    same(ours(enc, logs, RESOURCE), oracle(logs, RESOURCE), 'fuzz batch');
    logs.forEach((l, i) => same(ours(enc, [l], RESOURCE), oracle([l], RESOURCE), `fuzz record ${i}`));
  });
});
