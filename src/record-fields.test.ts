import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTP_METHODS, HTTP_METHOD_VALUES, LATENCY_KINDS, RECORD_FIELDS, httpMethodIndex, latencyAt, latencyIndex, requestTimeMs, recordFieldKey, recordFieldValue, redactUrl, statusClass,
} from './record-fields.js';
import { httpRecord } from '../test/helpers/records.js';

describe('record fields', () => {
  it('status class: 1xx–5xx, unknown outside 100–599', () => {
    assert.deepEqual([100, 200, 299, 301, 404, 503, 599].map(statusClass), ['1xx', '2xx', '2xx', '3xx', '4xx', '5xx', '5xx']);
    for (const c of [-1, 0, 99, 600, 999]) assert.equal(statusClass(c), 'unknown', String(c));
  });

  it('field values are the record’s own strings; keys are equal exactly when values are', () => {
    const r = httpRecord({ apiId: 'a', apiName: 'n', orgId: 'o', method: 'GET', responseCode: 503, route: '/x/{id}', apiVersion: 'v2', oauthId: 'c', alias: 'k' });
    assert.deepEqual(Object.fromEntries(RECORD_FIELDS.map((f) => [f, recordFieldValue(r, f)])), {
      api_id: 'a', api_name: 'n', org_id: 'o', method: 'GET', status_code: '503', status_class: '5xx', route: '/x/{id}', api_version: 'v2', oauth_id: 'c', key_alias: 'k',
    });
    assert.equal(recordFieldValue(r, 'api_name'), r.apiName);
    assert.equal(recordFieldKey(r, 'status_code'), 503);
    assert.equal(recordFieldKey(r, 'status_class'), 503);
    const other = httpRecord({ ...r, responseCode: 500 });
    for (const f of RECORD_FIELDS) {
      const sameKey = recordFieldKey(r, f) === recordFieldKey(other, f);
      const sameValue = recordFieldValue(r, f) === recordFieldValue(other, f);
      // A key may differ where the value does not (status class), never the other way round.
      assert.ok(!sameKey || sameValue, f);
    }
  });

  it('request time: negatives count as 0', () => {
    assert.deepEqual([250, 0, -3].map((requestTime) => requestTimeMs(httpRecord({ requestTime }))), [250, 0, 0]);
  });

  it('latencies by kind index', () => {
    const r = httpRecord({ latency: { total: 30, upstream: 21, gateway: 9 } });
    assert.deepEqual(LATENCY_KINDS.map((k) => latencyAt(r, latencyIndex(k))), [30, 21, 9]);
  });

  it('HTTP methods: the known ones (case-sensitive) keep their name, the rest are _OTHER', () => {
    for (const m of HTTP_METHODS) assert.equal(HTTP_METHOD_VALUES[httpMethodIndex(m)], m);
    for (const m of ['get', 'PURGE', 'BREW', '', 'GET ']) assert.equal(HTTP_METHOD_VALUES[httpMethodIndex(m)], '_OTHER', m);
    assert.ok(HTTP_METHOD_VALUES.length <= 16, 'fits in 4 bits of a numeric series key');
  });

  it('redacts user:password in URLs, leaves everything else alone', () => {
    assert.equal(redactUrl('https://user:pa55@api.internal/health'), 'https://REDACTED:REDACTED@api.internal/health');
    assert.equal(redactUrl('http://user@host:8080'), 'http://REDACTED:REDACTED@host:8080');
    assert.equal(redactUrl('http://upstream.internal:8080/health'), 'http://upstream.internal:8080/health');
    assert.equal(redactUrl('http://host/path?email=a@b.c'), 'http://host/path?email=a@b.c');
    assert.equal(redactUrl('user:pass@host/x'), 'user:pass@host/x');
  });
});
