import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalyticsRecord, TykRecord } from '../../src/model.js';
import { EMPTY_GEO } from '../../src/model.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { parseWithProblems } from '../../src/config/load.js';
import { analyticsToTykJson, ANALYTICS_JSON_NAMES } from '../../src/tyk-json.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { httpRecord, networkRecord, uptimeRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { allFixtures, loadFixtures } from '../../test/helpers/fixtures.js';
import { componentContext } from '../../test/helpers/context.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { redactConfigSchema, type RedactConfig } from './config.js';
import { compileRedaction, decodeBase64Text, obfuscateApiKey, redactRecord, trimToBytes } from './redact.js';
import { redactProcessorFactory } from './index.js';

function testContext(id = 'redact') {
  const self = new SelfTelemetry('test');
  const { logger, lines } = captureLogger('debug');
  const ctx = componentContext({ id, logger, telemetry: self.forComponent('processor', id) });
  return { ctx, lines, scrape: () => self.scrape(), close: () => self.shutdown() };
}

const config = (over: Partial<Record<keyof RedactConfig, unknown>> = {}): RedactConfig => redactConfigSchema.parse(over);
const redact = (r: AnalyticsRecord, over: Partial<Record<keyof RedactConfig, unknown>>) =>
  redactRecord(r, compileRedaction(config(over)), { decodeFailures: 0 });

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Decoded fixture records that carry a raw request and response (detailed recording on). */
function detailedFixtures(): { record: AnalyticsRecord; rawRequest: string; rawResponse: string }[] {
  return allFixtures()
    .filter((f) => f.format !== 'uptime' && typeof f.expected['raw_request'] === 'string' && f.expected['raw_request'] !== '')
    .map((f) => ({
      record: decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack'),
      rawRequest: f.expected['raw_request'] as string,
      rawResponse: f.expected['raw_response'] as string,
    }));
}

describe('redact: building blocks', () => {
  it('trimToBytes cuts bytes like Tyk\'s trimString (base64 text is ASCII; a cut inside a character leaves U+FFFD)', () => {
    assert.equal(trimToBytes('SGVsbG8gd29ybGQ=', 5), 'SGVsb');
    assert.equal(trimToBytes('SGVsbG8=', 8), 'SGVsbG8=');
    assert.equal(trimToBytes('SGVsbG8=', 100), 'SGVsbG8=');
    assert.equal(trimToBytes('ääääa', 3), 'ä\uFFFD');
    assert.equal(trimToBytes('ääääa', 4), 'ää');
  });

  it('obfuscateApiKey is the Prometheus pump\'s rule: **** + last 4, or -- for 4 bytes or fewer', () => {
    assert.equal(obfuscateApiKey('c9e202ff'), '****02ff');
    assert.equal(obfuscateApiKey('5e9d9544a1dcd60001d0ed20abcdef'), '****cdef');
    assert.equal(obfuscateApiKey('abcde'), '****bcde');
    assert.equal(obfuscateApiKey('abcd'), '--');
    assert.equal(obfuscateApiKey('a'), '--');
    assert.equal(obfuscateApiKey(''), '--');
  });

  it('decodeBase64Text accepts exactly what Go\'s StdEncoding.DecodeString accepts', () => {
    assert.equal(decodeBase64Text('SGVsbG8='), 'Hello');
    assert.equal(decodeBase64Text('SGVsbG8h'), 'Hello!');
    assert.equal(decodeBase64Text(''), '');
    assert.equal(decodeBase64Text('SGVs\r\nbG8='), 'Hello', 'CR/LF are ignored');
    assert.equal(decodeBase64Text(b64('GET /orders/ümlaut HTTP/1.1')), 'GET /orders/ümlaut HTTP/1.1');
    assert.equal(decodeBase64Text('SGVsbG8'), undefined, 'missing padding');
    assert.equal(decodeBase64Text('SGVsbG8=SGVs'), undefined, 'data after padding');
    assert.equal(decodeBase64Text('SGVs bG8='), undefined, 'space');
    assert.equal(decodeBase64Text('SGVsbG8_'), undefined, 'URL alphabet');
    assert.equal(decodeBase64Text('===='), undefined);
    assert.equal(decodeBase64Text('GET / HTTP/1.1'), undefined, 'already text');
    assert.equal(decodeBase64Text(Buffer.from([0x47, 0xff, 0x48]).toString('base64')), 'G\uFFFDH', 'invalid UTF-8 becomes U+FFFD');
  });
});

describe('redact: Tyk order of operations (omit/trim → ignore_fields → obfuscate → decode)', () => {
  const raw = httpRecord({ rawRequest: b64('Hello world'), rawResponse: b64('HTTP/1.1 200 OK\r\n\r\n{}'), apiKey: 'c9e202ff' });

  it('omit_detailed_recording blanks both raw fields, and wins over max_record_size', () => {
    const r = redact(raw, { omit_detailed_recording: true, max_record_size: 4 });
    assert.equal(r.rawRequest, '');
    assert.equal(r.rawResponse, '');
    assert.equal(r.apiKey, 'c9e202ff');
  });

  it('max_record_size truncates the base64 text, not the decoded bytes', () => {
    const r = redact(raw, { max_record_size: 6 });
    assert.equal(r.rawRequest, raw.rawRequest.slice(0, 6));
    assert.equal(r.rawResponse, raw.rawResponse.slice(0, 6));
    // Trim happens before decoding: 8 base64 characters are 6 bytes of text ("Hello "), not 8 ("Hello wo").
    assert.equal(redact(raw, { max_record_size: 8, raw_request_decoded: true }).rawRequest, 'Hello ');
  });

  it('a cut inside a base64 quantum decodes up to the last whole quantum (documented departure from Tyk)', () => {
    assert.equal(redact(raw, { max_record_size: 10, raw_request_decoded: true }).rawRequest, 'Hello ');
    assert.equal(redact(raw, { max_record_size: 10 }).rawRequest, raw.rawRequest.slice(0, 10));
  });

  it('ignore_fields resets fields to zero values; raw fields ignored stay empty even when decoding', () => {
    const r = redact(httpRecord({ ...raw, geo: { ...EMPTY_GEO, country: { isoCode: 'GB' } }, tags: ['key-c9e202ff', 'org-1'] }), {
      ignore_fields: ['api_key', 'raw_request', 'geo', 'timestamp', 'response_code', 'tags'],
      raw_request_decoded: true,
      raw_response_decoded: true,
      obfuscate_api_keys: true,
    });
    assert.equal(r.apiKey, '', 'an ignored key is not turned into "--"');
    assert.equal(r.rawRequest, '');
    assert.equal(r.rawResponse, 'HTTP/1.1 200 OK\r\n\r\n{}');
    assert.equal(r.geo, EMPTY_GEO);
    assert.equal(r.timestampMs, null);
    assert.equal(r.timestampNs, 0);
    assert.equal(r.responseCode, 0);
    assert.deepEqual(r.tags, []);
    assert.equal(analyticsToTykJson(r)['timestamp'], null);
  });

  it('obfuscate_api_keys covers api_key and key-<key> tags; drop_key_tags removes those tags', () => {
    const rec = httpRecord({ apiKey: 'c9e202ff', tags: ['pol-1', 'key-c9e202ff', 'org-1', 'key-ab'] });
    const o = redact(rec, { obfuscate_api_keys: true });
    assert.equal(o.apiKey, '****02ff');
    assert.deepEqual(o.tags, ['pol-1', 'key-****02ff', 'org-1', 'key---']);
    const d = redact(rec, { drop_key_tags: true });
    assert.equal(d.apiKey, 'c9e202ff');
    assert.deepEqual(d.tags, ['pol-1', 'org-1']);
    assert.deepEqual(redact(rec, { drop_key_tags: true, obfuscate_api_keys: true }).tags, ['pol-1', 'org-1']);
    assert.equal(redact(httpRecord({ apiKey: '' }), { obfuscate_api_keys: true }).apiKey, '--', 'as Tyk: 4 bytes or fewer → --');
    assert.deepEqual(rec.tags, ['pol-1', 'key-c9e202ff', 'org-1', 'key-ab'], 'the input is not mutated');
  });

  it('a record nothing applies to is passed on as the same object; a changed one is a new object', () => {
    const plain = httpRecord({ apiKey: '', rawRequest: '', tags: ['org-1'] });
    assert.equal(redact(plain, { max_record_size: 10, drop_key_tags: true }), plain);
    const changed = redact(raw, { max_record_size: 4 });
    assert.notEqual(changed, raw);
    assert.equal(raw.rawRequest, b64('Hello world'));
  });

  it('network records are redacted too (they are analytics records)', () => {
    const r = redact(networkRecord({ apiKey: 'abcdefgh', tags: ['key-abcdefgh'] }), { obfuscate_api_keys: true });
    assert.equal(r.apiKey, '****efgh');
    assert.deepEqual(r.tags, ['key-****efgh']);
  });
});

describe('redact: from fixture bytes', () => {
  const fixtures = detailedFixtures();

  it('the fixtures have detailed recording on some records', () => {
    assert.ok(fixtures.length >= 50, String(fixtures.length));
  });

  it('raw_request_decoded / raw_response_decoded give the wire-format HTTP text, non-ASCII intact', () => {
    let umlaut = 0;
    for (const { record, rawRequest, rawResponse } of fixtures) {
      assert.equal(record.rawRequest, rawRequest, 'the decoder yields the base64 text');
      const r = redact(record, { raw_request_decoded: true, raw_response_decoded: true });
      const req = Buffer.from(rawRequest, 'base64').toString('utf8');
      assert.equal(r.rawRequest, req);
      assert.equal(r.rawResponse, Buffer.from(rawResponse, 'base64').toString('utf8'));
      assert.match(r.rawRequest, /^[A-Z]+ .* HTTP\/1\.1\r\n/);
      assert.match(r.rawResponse, /^HTTP\/1\.1 \d{3} /);
      if (r.rawRequest.includes('ümlaut/ä b')) umlaut++;
    }
    assert.ok(umlaut > 0, 'some fixture requests carry a non-ASCII path');
  });

  it('omit, trim and ignore on decoded fixtures, every field compared in Tyk JSON form', () => {
    for (const { record } of fixtures.slice(0, 20)) {
      const before = analyticsToTykJson(record);
      const r = redact(record, { max_record_size: 16, ignore_fields: ['ip_address', 'user_agent'], obfuscate_api_keys: true });
      const after = analyticsToTykJson(r);
      const want = { ...before };
      want['raw_request'] = record.rawRequest.slice(0, 16);
      want['raw_response'] = record.rawResponse.slice(0, 16);
      want['ip_address'] = '';
      want['user_agent'] = '';
      want['api_key'] = obfuscateApiKey(record.apiKey);
      want['tags'] = record.tags.map((t) => (t.startsWith('key-') ? `key-${obfuscateApiKey(t.slice(4))}` : t));
      assert.deepEqual(after, want);
    }
  });

  it('every fixture through the processor with the full config: no raw data, no key, nothing else changed', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = redactProcessorFactory.create(t.ctx, config({ omit_detailed_recording: true, obfuscate_api_keys: true, drop_key_tags: true }), redactProcessorFactory.signatures[0]!, next as never);
    const records = loadFixtures('gateway-msgpack.jsonl').map((f) => decodeAnalytics(f.bytes, 'msgpack'));
    await tracked((ctx) => p.consume(records, ctx));
    assert.equal(next.items.length, records.length);
    for (let i = 0; i < records.length; i++) {
      const a = records[i] as AnalyticsRecord;
      const b = next.items[i] as AnalyticsRecord;
      assert.equal(b.rawRequest, '');
      assert.equal(b.rawResponse, '');
      assert.ok(b.apiKey === '--' || b.apiKey.startsWith('****'));
      assert.ok(!b.tags.some((tag) => tag.startsWith('key-')));
      assert.deepEqual({ ...b, rawRequest: a.rawRequest, rawResponse: a.rawResponse, apiKey: a.apiKey, tags: a.tags }, a);
    }
    await t.close();
  });
});

describe('redact: config', () => {
  it('an unknown ignore_fields name is a config error listing the valid names', () => {
    const r = parseWithProblems(redactConfigSchema, { ignore_fields: ['api_key', 'APIKey'] }, ['processors', 'redact']);
    assert.equal(r.problems.length, 1);
    const p = r.problems[0]!;
    assert.equal(p.path, 'processors::redact::ignore_fields[1]');
    assert.equal(p.got, '"APIKey"');
    assert.ok(p.message.startsWith('must be a Tyk JSON field name of an analytics record (one of: method, host, path,'), p.message);
    for (const name of ANALYTICS_JSON_NAMES) assert.ok(p.message.includes(name), name);
  });

  it('max_record_size must be a whole number of bytes ≥ 0', () => {
    const r = parseWithProblems(redactConfigSchema, { max_record_size: -1 }, ['processors', 'redact']);
    assert.deepEqual(r.problems.map((p) => `${p.path}: ${p.message}`), ['processors::redact::max_record_size: must be 0 (no limit) or a positive number of bytes']);
    const s = parseWithProblems(redactConfigSchema, { max_record_size: '1kb' }, ['processors', 'redact']);
    assert.deepEqual(s.problems.map((p) => p.message), ['must be a number of bytes']);
  });
});

describe('redact processor', () => {
  it('forwards a new batch, uptime records unchanged, and counts invalid base64 (logged once per burst)', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = redactProcessorFactory.create(t.ctx, config({ raw_request_decoded: true }), redactProcessorFactory.signatures[0]!, next as never);
    await p.start();
    const up = uptimeRecord();
    const bad = httpRecord({ rawRequest: 'not base64!' });
    const good = httpRecord({ rawRequest: b64('GET / HTTP/1.1\r\n\r\n') });
    const batch: TykRecord[] = [up, bad, good];
    await tracked((ctx) => p.consume(batch, ctx));
    await tracked((ctx) => p.consume([bad], ctx));
    const out = next.batches[0]!;
    assert.notEqual(out, batch);
    assert.equal(out[0], up);
    assert.equal((out[1] as AnalyticsRecord).rawRequest, 'not base64!');
    assert.equal((out[2] as AnalyticsRecord).rawRequest, 'GET / HTTP/1.1\r\n\r\n');
    assert.equal((batch[2] as AnalyticsRecord).rawRequest, b64('GET / HTTP/1.1\r\n\r\n'));
    assert.match(await t.scrape(), /test_processor_redact_decode_failures_total\{processor="redact"\} 2/);
    assert.equal(t.lines.filter((l) => l.level === 'warn').length, 1);
    await p.shutdown();
    await p.shutdown();
    await t.close();
  });

  it('an inactive config forwards a copy of the batch with the same records', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = redactProcessorFactory.create(t.ctx, config(), redactProcessorFactory.signatures[0]!, next as never);
    const batch = [httpRecord({ apiKey: 'secret-key' })];
    await tracked((ctx) => p.consume(batch, ctx));
    assert.notEqual(next.batches[0], batch);
    assert.equal(next.items[0], batch[0]);
    await t.close();
  });
});
