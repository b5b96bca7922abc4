import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatsdEndpoint } from './endpoint.js';
import { LinePacker } from './packer.js';
import { dogGlobalTag, dogTag, dogTagKey, formatValue, metricName, statsdNameSafe, statsdSegment, telegrafTagValue, truncateChars } from './sanitize.js';
import { sendErrorReason } from './sender.js';
import { parseDogStatsdLine, parseStatsdLine } from '../../test/helpers/statsd-server.js';

const NASTY = ['a|b', 'a,b', 'a#b', 'a@b', 'a\nb', 'a\r\nb', 'a:b', 'a b', 'a/b.c', 'a\u0000b', 'Ünïcödé 名前', '🚀', '', '..', '\\', 'a=b'];

describe('statsd wire', () => {
  it('parses endpoints: host:port, udp://, unix:// (only where allowed)', () => {
    assert.deepEqual(parseStatsdEndpoint('localhost:8125', true), { kind: 'udp', host: 'localhost', port: 8125 });
    assert.deepEqual(parseStatsdEndpoint('udp://10.0.0.1:8125', false), { kind: 'udp', host: '10.0.0.1', port: 8125 });
    assert.deepEqual(parseStatsdEndpoint('[::1]:8125', false), { kind: 'udp', host: '::1', port: 8125 });
    assert.deepEqual(parseStatsdEndpoint('unix:///var/run/datadog/dsd.socket', true), { kind: 'uds', path: '/var/run/datadog/dsd.socket' });
    for (const bad of ['unix:///x', 'localhost', ':8125', 'host:0', 'host:70000', 'unix://rel', 'tcp://h:1']) {
      assert.equal(parseStatsdEndpoint(bad, bad === 'unix:///x' ? false : true), undefined, bad);
    }
  });

  it('DogStatsD tags never contain | , # @ or control characters, keep :, and are at most 200 characters', () => {
    for (const v of NASTY) {
      const t = dogTag('k', v);
      assert.doesNotMatch(t, /[|,#@\u0000-\u001f]/);
      parseDogStatsdLine(`m:1|c|#${t}`);
    }
    assert.equal(dogTag('url', 'http://h:80/x'), 'url:http://h:80/x');
    assert.equal(dogTag('k', 'x'.repeat(500)).length, 200);
    assert.equal(dogTag('k', '🚀'.repeat(150)), `k:${'🚀'.repeat(99)}`);
    assert.equal(dogTagKey('tyk.slo.name'), 'tyk.slo.name');
    assert.equal(dogTagKey('9 lives:x'), 't_9_lives_x');
    assert.equal(dogGlobalTag('env:prod'), 'env:prod');
    assert.equal(dogGlobalTag('tyk-pump'), 'tyk-pump');
  });

  it('metric names are ASCII letters, digits, _ and .', () => {
    assert.equal(metricName('tyk.slo.burn_rate'), 'tyk.slo.burn_rate');
    assert.equal(metricName('http.server.request.duration'), 'http.server.request.duration');
    assert.equal(metricName('9x..y:z|w'), 'm_9x.y_z_w');
    for (const v of NASTY) parseDogStatsdLine(`${metricName(`x${v}`)}:1|c`);
  });

  it('plain StatsD segments keep only [A-Za-z0-9_-], never empty, at most 100 characters', () => {
    assert.equal(statsdSegment('/orders/{id}'), 'orders_id');
    assert.equal(statsdSegment('Orders API'), 'Orders_API');
    assert.equal(statsdSegment('GET'), 'GET');
    assert.equal(statsdSegment(''), 'unknown');
    assert.equal(statsdSegment('ÜÖ'), 'unknown');
    assert.equal(statsdSegment('x'.repeat(300)).length, 100);
    for (const v of NASTY) parseStatsdLine(`tyk.${statsdSegment(v)}.requests:1|c`);
  });

  it('Telegraf tag values and Tyk-compatible names cannot break a line', () => {
    for (const v of NASTY) {
      parseStatsdLine(`tyk.requests,k=${telegrafTagValue(v)}:1|c`, { telegraf: true });
      parseStatsdLine(`request_time.${statsdNameSafe(v.replace(/\s/g, ''))}:1|ms`, { namePattern: /^[^:|@,\s]+$/ });
    }
  });

  it('formats finite values only; truncation keeps surrogate pairs whole', () => {
    assert.equal(formatValue(0.025), '0.025');
    assert.equal(formatValue(Number.NaN), undefined);
    assert.equal(formatValue(Number.POSITIVE_INFINITY), undefined);
    assert.equal(truncateChars('a🚀', 2), 'a');
  });

  it('packs lines up to the byte limit and refuses a longer line', () => {
    const packets: [string, number, number][] = [];
    const p = new LinePacker(20, (payload, lines, bytes) => packets.push([payload, lines, bytes]));
    assert.equal(p.add('aaaaaaaaa', 9), true);
    assert.equal(p.add('bbbbbbbbbb', 10), true); // 9 + 1 + 10 = 20: fits exactly
    assert.equal(p.add('c', 1), true); // would be 22: the first datagram leaves
    assert.equal(p.add('x'.repeat(21), 21), false);
    p.flush();
    p.flush();
    assert.deepEqual(packets, [['aaaaaaaaa\nbbbbbbbbbb', 2, 20], ['c', 1, 1]]);
    for (const [payload, , bytes] of packets) assert.equal(Buffer.byteLength(payload), bytes);
  });

  it('maps send errors to stable reasons', () => {
    assert.equal(sendErrorReason({ code: -111 }), 'connection_refused');
    assert.equal(sendErrorReason({ code: 'ENOTFOUND' }), 'dns');
    assert.equal(sendErrorReason({ code: -2 }), 'socket_missing');
    assert.equal(sendErrorReason({ message: 'congestion' }), 'congestion');
    assert.equal(sendErrorReason({ code: 'EWHATEVER' }), 'send_error');
  });
});
