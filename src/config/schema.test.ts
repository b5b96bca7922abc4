/** Building blocks of config parsing: durations, host:port, secrets, ${env:…} expansion. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, isSecretPath, parseDuration, parseHostPort, redactSecrets, maskCredentials, REDACTED, uniqueEnumList } from './schema.js';
import { parseWithProblems } from './load.js';
import { expandEnv } from './env.js';

describe('durations', () => {
  it('parses Go-style durations to milliseconds', () => {
    const cases: [string, number | undefined][] = [
      ['500ms', 500], ['1s', 1000], ['1.5s', 1500], ['5m', 300_000], ['1h30m', 5_400_000], ['30d', 2_592_000_000],
      ['250us', 0.25], ['0', 0], ['0s', 0], ['', undefined], ['5', undefined], ['1x', undefined], ['s', undefined],
      ['-1s', undefined], ['1s ', undefined], ['1 s', undefined],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  it('formats milliseconds as the shortest exact duration', () => {
    assert.deepEqual([1500, 60_000, 90_000, 86_400_000, 7].map(formatDuration), ['1500ms', '1m', '90s', '1d', '7ms']);
  });
});

describe('host:port', () => {
  it('accepts host:port, :port and [v6]:port; refuses the rest', () => {
    assert.deepEqual(parseHostPort('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parseHostPort(':9464'), { host: '', port: 9464 });
    assert.deepEqual(parseHostPort('[::1]:8125'), { host: '::1', port: 8125 });
    assert.deepEqual(parseHostPort('localhost:0'), { host: 'localhost', port: 0 });
    for (const bad of ['9464', 'localhost', 'host:99999', 'http://x:1', 'a:b', '::1:80']) assert.equal(parseHostPort(bad), undefined, bad);
  });
});

describe('secrets', () => {
  it('recognises secret keys and header values', () => {
    for (const p of [['password'], ['receivers', 'x', 'sentinel_password'], ['e', 'api_key'], ['e', 'apikey'], ['x', 'token'], ['e', 'headers', 'Authorization'], ['e', 'auth_token']]) {
      assert.equal(isSecretPath(p), true, p.join('.'));
    }
    for (const p of [['endpoint'], ['headers'], ['e', 'token_bucket_size'], ['e', 'tokens'], ['passwords_file_hint']]) {
      assert.equal(isSecretPath(p), false, p.join('.'));
    }
  });

  it('redacts every secret in a printed config, keeping empty values visible', () => {
    const out = redactSecrets({ r: { password: 'p', username: 'u', empty_password: '' }, e: { headers: { 'x-key': 'k', other: 'v' } } });
    assert.deepEqual(out, { r: { password: REDACTED, username: 'u', empty_password: '' }, e: { headers: { 'x-key': REDACTED, other: REDACTED } } });
  });

  it('masks the userinfo of every URL, and connection strings whole', () => {
    const out = redactSecrets({
      r: { endpoint: 'redis://:hunter2@redis:6379/0', sentinels: ['rediss://u:p%40ss@s1:26379', 'plain:26379'] },
      d: { connection_string: 'host=db user=pump password=hunter2', dsn: 'postgres://x@db/y', url: 'https://h/p?q=a@b' },
    });
    assert.deepEqual(out, {
      r: { endpoint: `redis://${REDACTED}@redis:6379/0`, sentinels: [`rediss://${REDACTED}@s1:26379`, 'plain:26379'] },
      d: { connection_string: REDACTED, dsn: REDACTED, url: 'https://h/p?q=a@b' },
    });
    assert.equal(maskCredentials('see http://a:b@h:1/x and redis://:p@w@d@h2 (got "https://t@h3")'), `see http://${REDACTED}@h:1/x and redis://${REDACTED}@h2 (got "https://${REDACTED}@h3")`);
    assert.equal(maskCredentials('user@example.com has no scheme'), 'user@example.com has no scheme');
  });
});

describe('${env:…} expansion', () => {
  const env = { HOST: 'redis.internal', PORT: '6380', FLAG: 'true', EMPTY: '', WITH_COLON: 'a:b' };
  const expand = (v: unknown) => expandEnv(v, env);

  it('expands inside strings, with defaults and the $$ escape', () => {
    assert.deepEqual(expand('redis://${env:HOST}:${env:PORT}/0').value, 'redis://redis.internal:6380/0');
    assert.deepEqual(expand('${env:NOPE:-fallback}').value, 'fallback');
    assert.deepEqual(expand('${env:EMPTY:-used-when-empty}').value, 'used-when-empty');
    assert.deepEqual(expand('${env:NOPE:-a:-b}').value, 'a:-b');
    assert.deepEqual(expand('price: $$5 ${env:WITH_COLON}').value, 'price: $5 a:b');
    assert.deepEqual(expand('$$${env:HOST}').value, '$redis.internal');
    assert.deepEqual(expand('no refs, just $ signs $').value, 'no refs, just $ signs $');
  });

  it('types a whole-value reference like a YAML scalar', () => {
    assert.equal(expand('${env:PORT}').value, 6380);
    assert.equal(expand('${env:FLAG}').value, true);
    assert.equal(expand('${env:HOST}').value, 'redis.internal');
    assert.equal(expand('x${env:PORT}').value, 'x6380');
  });

  it('walks maps and lists and reports problems with their path', () => {
    const r = expand({ a: [{ b: '${env:UNSET_ONE}' }, '${vault:secret}'], c: '${env:bad name}' });
    assert.deepEqual(r.value, { a: [{ b: '' }, '${vault:secret}'], c: '${env:bad name}' });
    assert.deepEqual(r.issues.map((i) => [i.path.join('.'), i.warning]), [['a.0.b', true], ['a.1', false], ['c', false]]);
  });
});

describe('unique enum lists', () => {
  it('accept listed values once each, in any order; name every bad item and a repeat', () => {
    const schema = uniqueEnumList(['a', 'b', 'c'], 'letters');
    assert.deepEqual(schema.parse(['c', 'a']), ['c', 'a']);
    const messages = (v: unknown) => parseWithProblems(schema, v, ['x']).problems.map((p) => `${p.path}: ${p.message}`);
    assert.deepEqual(messages(['a', 'd']), ['x[1]: must be one of a, b, c']);
    assert.deepEqual(messages(['a', 'b', 'a']), ['x: must not list a value twice']);
    assert.deepEqual(messages('a'), ['x: must be a list of letters']);
  });
});
