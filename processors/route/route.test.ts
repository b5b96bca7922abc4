import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentContext } from '../../src/component.js';
import type { AnalyticsRecord, TykRecord } from '../../src/model.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { buildSharedConfig, sharedSectionSchemas } from '../../src/config/shared.js';
import { loadConfigText, parseWithProblems } from '../../src/config/load.js';
import { factories } from '../../src/factories.js';
import { captureLogger } from '../../test/helpers/log-capture.js';
import { httpRecord, networkRecord, uptimeRecord, RecordingConsumer, tracked } from '../../test/helpers/records.js';
import { allFixtures } from '../../test/helpers/fixtures.js';
import { decodeAnalytics, decodeUptime } from '../../internal/tyk-wire/decode.js';
import { routeConfigSchema, type RouteConfig } from './config.js';
import { classifySegment, matchListenPath, RouteTemplater, templatePath } from './route.js';
import { routeProcessorFactory } from './index.js';
import { startAgent } from '../../test/helpers/agent.js';
import { events, exporters as fakeExporters, fakeFactories, receivers } from '../../test/helpers/fake-components.js';

function testContext(id = 'route') {
  const self = new SelfTelemetry('test');
  const { logger, lines } = captureLogger('debug');
  const ctx: ComponentContext = {
    id,
    logger,
    telemetry: self.forComponent('processor', id),
    health: new HealthRegistry().reporter(id),
    http: new HttpServers(logger).hostFor(id),
    shared: buildSharedConfig({ error_definition: sharedSectionSchemas.error_definition.parse(undefined) }),
    instanceId: 'test',
    configDir: process.cwd(),
  };
  return { ctx, lines, scrape: () => self.scrape(), close: () => self.shutdown() };
}

const config = (over: Record<string, unknown> = {}): RouteConfig => routeConfigSchema.parse(over);
const NOW = Date.UTC(2026, 10, 26, 12);

/** Route of one record with a fresh templater. */
function routeOf(over: Partial<AnalyticsRecord>, cfg: Record<string, unknown> = {}): string {
  return new RouteTemplater(config(cfg)).routeOf(httpRecord({ listenPath: '', ...over }), NOW);
}

describe('route: every fixture\'s route_template_hint, from the wire bytes', () => {
  it('decoded msgpack, legacy, pump 1.8 and protobuf records get exactly their hint; TCP records stay without route', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = routeProcessorFactory.create(t.ctx, config(), routeProcessorFactory.signatures[0]!, next as never);
    await p.start();
    const fixtures = allFixtures().filter((f) => f.format !== 'uptime');
    const records = fixtures.map((f) => decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack'));
    await tracked((ctx) => p.consume(records, ctx));
    const out = next.items as AnalyticsRecord[];
    assert.equal(out.length, fixtures.length);
    const formats = new Set<string>();
    let network = 0;
    for (let i = 0; i < fixtures.length; i++) {
      const f = fixtures[i]!;
      const hint = f.expected['route_template_hint'];
      assert.equal(typeof hint, 'string');
      assert.equal(out[i]!.route, hint, `${f.format} ${String(f.expected['path'])} (listen path ${String(f.expected['listen_path'])})`);
      if (out[i]!.kind === 'network') {
        network++;
        assert.equal(out[i], records[i], 'network records pass through untouched');
      }
      formats.add(f.format);
    }
    assert.deepEqual([...formats].sort(), ['legacy', 'msgpack', 'protobuf', 'pump18']);
    assert.ok(network > 0);
    assert.equal(records.every((r) => r.route === ''), true, 'the input records are not mutated');
    await p.shutdown();
    await t.close();
  });

  it('uptime records pass through untouched', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = routeProcessorFactory.create(t.ctx, config(), routeProcessorFactory.signatures[0]!, next as never);
    const uptime = allFixtures().filter((f) => f.format === 'uptime').map((f) => decodeUptime(f.bytes));
    assert.ok(uptime.length > 0);
    await tracked((ctx) => p.consume(uptime, ctx));
    assert.deepEqual(next.items, uptime);
    assert.ok(next.items.every((r, i) => r === uptime[i]));
    await t.close();
  });
});

describe('route: built-in segment rules', () => {
  const cases: [string, string | undefined][] = [
    ['123', '{id}'], ['0', '{id}'], ['70605', '{id}'],
    ['41c527f6-5dfa-29d0-fd3f-70e585a6e0e6', '{uuid}'], ['0143E274-5B7F-0EB2-C249-F2E1632403C8', '{uuid}'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAV', '{ulid}'], ['01hqz3ndektsv4rrffq69g5fav', '{ulid}'],
    ['507f1f77bcf86cd799439011', '{id}'], ['e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0', '{id}'], ['3f2a1b9', '{id}'],
    ['da39a3ee5e6b4b0d3255bfef95601890afd80709', '{id}'],
    ['2024-01-15', '{id}'], ['ORD-000123', '{id}'], ['user12345', '{id}'], ['+14155550123', '{id}'],
    ['cus_J4k2LmN0pQrStU', '{id}'], ['V1StGXR8_Z5jdHi6B-myT', '{id}'], ['dGhpcyBpcyBhIHRva2VuMTIz', '{id}'],
    ['x'.repeat(65), '{id}'],
    // Kept: words, versions, names, already-templated segments, non-ASCII, encodings, punctuation.
    ['orders', undefined], ['v1', undefined], ['v2', undefined], ['2.0', undefined], ['Default', undefined],
    ['Non Versioned', undefined], ['health', undefined], ['graphql', undefined], ['ümlaut', undefined], ['ä b', undefined],
    ['{id}', undefined], ['{uuid}', undefined], ['{ulid}', undefined], ['{var}', undefined], ['{order_id}', undefined],
    ['eyJpZCI6NzkxOTAsInRzIjoxNzAwMDAwMDEwfQ==', '{id}'], ['KzxMSLdNzXGGG0jEg', '{id}'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl', '{id}'],
    ['getUserIdByEmailAddress', undefined], ['getURLForHTTPRequest', undefined], ['XMLHttpRequestHandler', undefined],
    ['organizationsHTML5', undefined], ['ipv6CidrBlockAssociation', undefined], ['customer_balance_transactions', undefined], ['oauth2callback', undefined], ['x86_64', undefined], ['sha256', undefined],
    ['jquery-3.6.0.min.js', undefined], ['index.html', undefined], ['my-blog-post-2023-edition', undefined],
    ['deadbeef', undefined], ['facade', undefined], ['%E2%82%AC', undefined], ['a|b:c#d,e@f', undefined], ['line\nbreak', undefined],
    ['x'.repeat(64), undefined], ['', undefined],
  ];
  for (const [seg, want] of cases) {
    it(`${JSON.stringify(seg.length > 40 ? `${seg.slice(0, 20)}…(${seg.length})` : seg)} → ${want ?? 'kept'}`, () => {
      assert.equal(classifySegment(seg, 64), want);
    });
  }

  it('random tokens are recognised (≥ 95 %), identifiers are not (0 of a sample of real-world names)', () => {
    let seed = 12345;
    const byte = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
    let hits = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const len = 16 + (i % 25);
      const raw = Buffer.from(Array.from({ length: len }, byte));
      const token = (i % 2 === 0 ? raw.toString('base64url') : raw.toString('base64').replace(/[+/=]/g, '')).slice(0, len);
      if (classifySegment(token, 64) === '{id}') hits++;
    }
    assert.ok(hits / n >= 0.95, `${hits} of ${n}`);
    const names = [
      'getUserIdByEmailAddress', 'getURLForHTTPRequest', 'paymentMethods', 'subscription-items', 'customer_balance_transactions',
      'application-fees', 'oauth2-authorization', 'openid-configuration', 'authorizationServers', 'checkoutSessions',
      'XMLHttpRequestHandler', 'listAllPullRequests', 'repositoryInvitations', 'accountAuthenticators', 'k8sClusterConfigs',
      's3BucketPolicies', 'ec2InstanceTypes', 'ipv6CidrBlockAssociation', 'x509Certificates', 'sha256Checksums', 'utf8Conversions',
      'Win32Application', 'html5VideoPlayer', 'bootstrap.bundle.min.js', 'GetProductsByCategoryV2', 'ListObjectsV2',
      'DescribeDBInstances', 'CreateHTTPSListener', 'strengthsAndWeaknesses', 'rhythmsOfTheNight', 'transactionHistoryExport',
      'AWS4-HMAC-SHA256', 'application.properties', 'OAuth2AuthorizationCode', 'PKCS12KeystoreLoader', 'FHIR-R4-Observation',
      'ISO8601DateParser', 'createMultipartUpload', 'BatchGetItemRequest', 'listNetworkInterfaces', 'CNAMERecordValidation',
      '.well-known', 'openapi.json', 'swagger-ui-bundle.js', 'favicon.ico', 'robots.txt', 'graphql', 'v1beta1', 'v2alpha3',
    ];
    assert.deepEqual(names.filter((w) => classifySegment(w, 64) !== undefined), []);
  });

  it('templatePath keeps slashes, empty segments and trailing slashes, and bounds the segment count', () => {
    assert.equal(templatePath('/orders/123/items/456/', 32, 64), '/orders/{id}/items/{id}/');
    assert.equal(templatePath('//orders//123', 32, 64), '//orders//{id}');
    assert.equal(templatePath('/', 32, 64), '/');
    assert.equal(templatePath('', 32, 64), '');
    assert.equal(templatePath('/a/b/c/d/e', 3, 64), '/a/b/c/*');
    assert.equal(templatePath('/a/b/c', 3, 64), '/a/b/c');
    const same = '/orders/search';
    assert.equal(templatePath(same, 32, 64), same);
  });
});

describe('route: listen path', () => {
  it('the route includes the listen path (as the fixtures\' hints do), or only the endpoint with include_listen_path: false', () => {
    assert.equal(routeOf({ path: '/orders/v1/items/5527', listenPath: '/orders/' }), '/orders/v1/items/{id}');
    assert.equal(routeOf({ path: '/orders/v1/items/5527', listenPath: '/orders/' }, { include_listen_path: false }), '/v1/items/{id}');
    assert.equal(routeOf({ path: '/orders/', listenPath: '/orders/' }, { include_listen_path: false }), '/');
    assert.equal(routeOf({ path: '/orders', listenPath: '/orders/' }, { include_listen_path: false }), '/');
    assert.equal(routeOf({ path: '/orders', listenPath: '/orders/' }), '/orders');
    assert.equal(routeOf({ path: '/mcp/', listenPath: '/mcp/' }), '/mcp/');
  });

  it('under a literal listen path the route (templated in place) is the listen path + the endpoint\'s template', () => {
    // The reference composition, done the long way: strip the listen path, template the endpoint, put it back.
    const lps = ['/orders/', '/orders', '/a/b/', '/x', '/api/2024-01-15/'];
    const rests = ['', '/', '/5527', '/v1/items/5527', '/v1/items/5527/', '//9//8', '/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x', '/a/b/c/d/e/f/g/h/i/j', '/ok?id=42'];
    for (const listenPath of lps) {
      const prefix = listenPath.replace(/\/+$/, '');
      for (const rest of rests) {
        const path = prefix + rest;
        for (const maxSegments of [32, 3]) {
          const endpoint = path.split('?')[0]!.slice(prefix.length);
          const want = prefix + templatePath(endpoint, maxSegments, 64);
          assert.equal(routeOf({ path, listenPath }, { max_segments: maxSegments }), want, `${listenPath} ${path} max ${maxSegments}`);
        }
      }
    }
  });

  it('listen path segments are never templated, and {var} listen paths match any segment', () => {
    assert.equal(routeOf({ path: '/2024/items/7', listenPath: '/2024/' }), '/2024/items/{id}');
    assert.equal(routeOf({ path: '/acme-42/api/orders/123', listenPath: '/{tenant}/api/' }), '/{tenant}/api/orders/{id}');
    assert.equal(matchListenPath('/acme/api/x', '/{tenant}/api'), 9);
    assert.equal(matchListenPath('/acme/apix', '/{tenant}/api'), -1);
    assert.equal(matchListenPath('/ordersx/1', '/orders'), -1);
    assert.equal(matchListenPath('/orders', '/orders'), 7);
  });

  it('a path the gateway stripped of its listen path (error records) gets the listen path back', () => {
    assert.equal(routeOf({ path: '/v1/items/5527', listenPath: '/orders/', responseCode: 401 }), '/orders/v1/items/{id}');
  });

  it('a tracked endpoint path (relative to the listen path) is prefixed, its {params} kept', () => {
    assert.equal(routeOf({ path: '/items/{id}', trackPath: true, listenPath: '/orders/', originalPath: '/orders/items/9' }), '/orders/items/{id}');
  });

  it('a rewritten path outside the listen path falls back to original_path', () => {
    assert.equal(
      routeOf({ path: '/internal/v9/order-lookup/123', rawPath: '/internal/v9/order-lookup/123', originalPath: '/orders/123', listenPath: '/orders/' }),
      '/orders/{id}',
    );
  });

  it('apis.<id>.listen_path serves records without one (older gateways)', () => {
    const cfg = { apis: { legacy: { listen_path: '/soap/', routes: ['/Default/items/{item}'] } } };
    assert.equal(routeOf({ apiId: 'legacy', path: '/soap/Default/items/14897' }, cfg), '/soap/Default/items/{item}');
    assert.equal(routeOf({ apiId: 'legacy', path: '/soap/Default/items/14897', listenPath: '/soap/' }, cfg), '/soap/Default/items/{item}');
    assert.equal(routeOf({ apiId: 'other', path: '/soap/Default/items/14897' }, cfg), '/soap/Default/items/{id}');
  });

  it('path_source picks the field; an empty one falls back to path', () => {
    const rec = { path: '/orders/{id}', rawPath: '/orders/123', originalPath: '/orders/old/123', listenPath: '/orders/' };
    assert.equal(routeOf(rec), '/orders/{id}');
    assert.equal(routeOf(rec, { path_source: 'raw_path' }), '/orders/{id}');
    assert.equal(routeOf(rec, { path_source: 'original_path' }), '/orders/old/{id}');
    assert.equal(routeOf({ ...rec, originalPath: '' }, { path_source: 'original_path' }), '/orders/{id}');
  });
});

describe('route: user routes and patterns', () => {
  const cfg = {
    apis: {
      orders: {
        routes: ['/{id}', '/search', '/{id}/items/{item_id}', '/files/*'],
        patterns: [{ regex: '^/legacy/(v\\d+)/', template: '/legacy/$1/*' }],
      },
    },
    routes: ['/health'],
    patterns: [{ regex: '^/users/(?<user>[^/]+)@[^/]+$', template: '/users/{email}' }],
  };
  const r = (path: string, apiId = 'orders') => routeOf({ apiId, path: `/orders${path}`, listenPath: '/orders/' }, cfg);

  it('routes are relative to the listen path; literal segments beat {param} whatever the order or list', () => {
    assert.equal(r('/123'), '/orders/{id}');
    assert.equal(r('/search'), '/orders/search');
    assert.equal(r('/search/'), '/orders/search', 'a trailing slash does not matter for matching');
    assert.equal(r('/abc/items/x-1'), '/orders/{id}/items/{item_id}');
    assert.equal(r('/files/a/b/c.txt'), '/orders/files/*');
    assert.equal(r('/files'), '/orders/files/*');
  });

  it('API patterns come before global ones, regex patterns after routes, built-ins last', () => {
    assert.equal(r('/health'), '/orders/health', 'the global literal route beats the API\'s /{id}');
    assert.equal(r('/health', 'payments'), '/orders/health');
    assert.equal(r('/legacy/v3/anything/here'), '/orders/legacy/v3/*');
    assert.equal(r('/legacy/v3/anything', 'payments'), '/orders/legacy/v3/anything', 'an API\'s patterns apply to that API only');
    assert.equal(r('/users/jane@example.com', 'payments'), '/orders/users/{email}');
    assert.equal(r('/a/b/77', 'payments'), '/orders/a/b/{id}');
    assert.equal(r('/a/b/77'), '/orders/a/b/{id}', 'no route matches: built-ins');
  });

  it('config errors for malformed routes and regexes, in our wording', () => {
    const res = parseWithProblems(
      routeConfigSchema,
      { routes: ['orders/{id}', '/a/*/b', '/a/x{id}'], patterns: [{ regex: '(', template: '/x' }, { regex: '.*', template: 'x' }], max_routes_per_api: 0 },
      ['processors', 'route'],
    );
    const lines = res.problems.map((p) => `${p.path}: ${p.message}`);
    assert.ok(lines.some((l) => l.startsWith('processors::route::routes[0]: must start with /: must be a route such as /orders/{id}')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::route::routes[1]: may use * only as its last segment')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::route::routes[2]: must use {param} only as a whole segment')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('processors::route::patterns[0]::regex: must be a valid regular expression (')), lines.join('\n'));
    assert.ok(lines.includes('processors::route::patterns[1]::template: must start with / (e.g. /legacy/{path})'), lines.join('\n'));
    assert.ok(lines.includes('processors::route::max_routes_per_api: must be greater than 0'), lines.join('\n'));
    const unknown = parseWithProblems(routeConfigSchema, { apis: { a: { route: [] } } }, ['processors', 'route']);
    assert.equal(unknown.problems[0]?.path, 'processors::route::apis::a::route');
  });
});

describe('route: per-API cap', () => {
  it('beyond max_routes_per_api new routes are {other}; known ones keep working; declared routes are never capped', () => {
    const t = new RouteTemplater(config({ max_routes_per_api: 3, apis: { a: { routes: ['/declared/{x}'] } } }));
    const rec = (path: string, apiId = 'a') => httpRecord({ apiId, path, listenPath: '' });
    assert.equal(t.routeOf(rec('/one'), NOW), '/one');
    assert.equal(t.routeOf(rec('/two/1'), NOW), '/two/{id}');
    assert.equal(t.routeOf(rec('/three'), NOW), '/three');
    assert.equal(t.routeOf(rec('/four'), NOW), '{other}');
    assert.equal(t.routeOf(rec('/two/2'), NOW), '/two/{id}');
    assert.equal(t.routeOf(rec('/declared/9'), NOW), '/declared/{x}');
    assert.equal(t.routeOf(rec('/four', 'b'), NOW), '/four', 'the cap is per API');
    assert.equal(t.routesInUse('a'), 3);
    assert.deepEqual(t.takeOverflow(), { count: 1, apiId: 'a' });
    assert.deepEqual(t.takeOverflow(), { count: 0, apiId: 'a' });
  });

  it('a route unused for route_idle_timeout frees its slot', () => {
    const t = new RouteTemplater(config({ max_routes_per_api: 2, route_idle_timeout: '10m' }));
    const rec = (path: string) => httpRecord({ apiId: 'a', path, listenPath: '' });
    t.routeOf(rec('/junk-a'), NOW);
    t.routeOf(rec('/keep'), NOW);
    assert.equal(t.routeOf(rec('/new'), NOW + 60_000), '{other}');
    t.routeOf(rec('/keep'), NOW + 9 * 60_000);
    assert.equal(t.routeOf(rec('/new'), NOW + 11 * 60_000), '/new', '/junk-a was idle for 11 minutes');
    assert.equal(t.routeOf(rec('/keep'), NOW + 11 * 60_000), '/keep');
    assert.equal(t.routeOf(rec('/junk-a'), NOW + 11 * 60_000), '{other}');
  });

  it('overflow_route is configurable; overflows are counted and logged once per burst', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = routeProcessorFactory.create(t.ctx, config({ max_routes_per_api: 2, overflow_route: '/other' }), routeProcessorFactory.signatures[0]!, next as never);
    const batch = ['/a', '/b', '/c', '/d', '/e'].map((path) => httpRecord({ apiId: 'api-1', path, listenPath: '' }));
    await tracked((ctx) => p.consume(batch, ctx));
    await tracked((ctx) => p.consume(batch, ctx));
    assert.deepEqual(next.items.map((r) => (r as AnalyticsRecord).route), ['/a', '/b', '/other', '/other', '/other', '/a', '/b', '/other', '/other', '/other']);
    assert.match(await t.scrape(), /test_processor_route_overflow_records_total\{processor="route"\} 6/);
    const warns = t.lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1);
    assert.equal(warns[0]!['api_id'], 'api-1');
    await t.close();
  });
});

describe('route: adversarial paths', () => {
  const lp = { listenPath: '/orders/' };
  it('empty, /, // and query strings', () => {
    assert.equal(routeOf({ path: '', rawPath: '', ...lp }), '/orders/');
    assert.equal(routeOf({ path: '', rawPath: '' }), '/');
    assert.equal(routeOf({ path: '/' }), '/');
    assert.equal(routeOf({ path: '//' }), '//');
    assert.equal(routeOf({ path: '/orders/123?token=abc&x=1', ...lp }), '/orders/{id}');
    assert.equal(routeOf({ path: '/orders/search?q=1', ...lp }), '/orders/search');
  });

  it('non-ASCII, percent-encoding, dots and |:#,@\\n are left as they are', () => {
    assert.equal(routeOf({ path: '/orders/ümlaut/ä b', ...lp }), '/orders/ümlaut/ä b');
    assert.equal(routeOf({ path: '/orders/caf%C3%A9/123', ...lp }), '/orders/caf%C3%A9/{id}');
    assert.equal(routeOf({ path: '/orders/v1.2/file.json', ...lp }), '/orders/v1.2/file.json');
    assert.equal(routeOf({ path: '/orders/a|b:c#d,e@f\ng/42', ...lp }), '/orders/a|b:c#d,e@f\ng/{id}');
  });

  it('very long paths are bounded: long segments become {id}, extra segments a final /*', () => {
    const huge = `/orders/${'a'.repeat(100_000)}/x`;
    assert.equal(routeOf({ path: huge, ...lp }), '/orders/{id}/x');
    const deep = `/orders${'/seg'.repeat(5000)}`;
    const r = routeOf({ path: deep, ...lp }, { max_segments: 8 });
    assert.equal(r, `/orders${'/seg'.repeat(8)}/*`);
    const wide = routeOf({ path: `/${'b'.repeat(3000)}`.repeat(50) });
    assert.equal(wide, `${'/{id}'.repeat(32)}/*`);
    const templater = new RouteTemplater(config());
    for (let i = 0; i < 50; i++) templater.routeOf(httpRecord({ path: `/${String(i).repeat(5000)}/x`, listenPath: '' }), NOW);
    assert.equal(templater.cacheSize, 0, 'paths longer than max_segments × max_segment_length are not cached');
  });

  it('100k random paths give a bounded set of routes and a bounded cache', (t) => {
    const templater = new RouteTemplater(config({ cache_size: 2000 }));
    const routes = new Set<string>();
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const word = () => Array.from({ length: 3 + (rnd() % 8) }, () => String.fromCharCode(97 + (rnd() % 26))).join('');
    const shapes = [
      () => `/orders/${rnd()}`,
      () => `/orders/v1/items/${rnd().toString(16)}${rnd().toString(16)}/history`,
      () => `/orders/${crypto.randomUUID()}`,
      () => `/orders/tok/${Buffer.from(String(rnd()) + String(rnd())).toString('base64url')}`,
      () => `/orders/${word()}/${word()}`, // junk words: only the cap bounds these
    ];
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const path = (shapes[i % shapes.length] as () => string)();
      routes.add(templater.routeOf(httpRecord({ apiId: i % 2 === 0 ? 'a' : 'b', path, listenPath: '/orders/' }), NOW));
    }
    const ms = performance.now() - t0;
    t.diagnostic(`100k distinct random paths: ${routes.size} routes, ${Math.round(n / (ms / 1000))} records/s (all paths distinct, incl. building the records)`);
    assert.ok(routes.has('/orders/{id}'));
    assert.ok(routes.has('/orders/v1/items/{id}/history'));
    assert.ok(routes.has('/orders/{uuid}'));
    assert.ok(routes.has('/orders/tok/{id}'));
    assert.ok(routes.has('{other}'));
    assert.ok(routes.size <= 2 * 100 + 1, `${routes.size} routes`);
    assert.ok(templater.cacheSize <= 2000, `${templater.cacheSize} cache entries`);
    // With a user pattern in play the cache is used; junk word paths fill it only up to its bound.
    const ruled = new RouteTemplater(config({ cache_size: 500, patterns: [{ regex: '^/never$', template: '/x' }] }));
    for (let i = 0; i < 20_000; i++) ruled.routeOf(httpRecord({ apiId: 'a', path: `/orders/${word()}/${word()}`, listenPath: '/orders/' }), NOW);
    assert.ok(ruled.cacheSize > 0 && ruled.cacheSize <= 500, `${ruled.cacheSize} cache entries`);
  });
});

describe('route processor', () => {
  it('records shared with another pipeline (the default outside the graph): a new batch with new records; network and uptime records are passed as they are', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = routeProcessorFactory.create(t.ctx, config(), routeProcessorFactory.signatures[0]!, next as never);
    const http = httpRecord({ path: '/orders/123' });
    const net = networkRecord();
    const up = uptimeRecord();
    const batch: readonly TykRecord[] = Object.freeze([http, net, up]);
    await tracked((ctx) => p.consume(batch, ctx));
    const out = next.batches[0]!;
    assert.notEqual(out, batch);
    assert.notEqual(out[0], http);
    assert.equal((out[0] as AnalyticsRecord).route, '/orders/{id}');
    assert.equal(http.route, '');
    assert.equal(out[1], net);
    assert.equal((out[1] as AnalyticsRecord).route, '');
    assert.equal(out[2], up);
    await p.shutdown();
    await p.shutdown();
    await t.close();
  });

  it('with exclusiveRecords (the pipeline owns its records) sets the route in place and hands on the same batch', async () => {
    const t = testContext();
    const next = new RecordingConsumer<'records'>();
    const p = routeProcessorFactory.create({ ...t.ctx, exclusiveRecords: true }, config(), routeProcessorFactory.signatures[0]!, next as never);
    const http = httpRecord({ path: '/orders/123' });
    const again = httpRecord({ path: '/orders/456' });
    const net = networkRecord();
    const batch: readonly TykRecord[] = [http, net, again];
    await tracked((ctx) => p.consume(batch, ctx));
    const out = next.batches[0]!;
    assert.equal(out, batch, 'no new batch');
    assert.equal(out[0], http, 'no copy of the record');
    assert.equal(http.route, '/orders/{id}');
    assert.equal(again.route, http.route);
    assert.equal(net.route, '', 'network records untouched');
    await t.close();
  });

  it('a record shared by two pipelines keeps its own route per pipeline; a pipeline that owns its records gets them routed in place', async () => {
    events.length = 0;
    const running = await startAgent(`
receivers:
  fake_receiver: {}
  fake_receiver/solo: {}
processors:
  route/full: {}
  route/endpoint: { include_listen_path: false }
exporters:
  memory/full: {}
  memory/endpoint: {}
  memory/solo: {}
service:
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    records/full:
      receivers: [fake_receiver]
      processors: [route/full]
      exporters: [memory/full]
    records/endpoint:
      receivers: [fake_receiver]
      processors: [route/endpoint]
      exporters: [memory/endpoint]
    records/solo:
      receivers: [fake_receiver/solo]
      processors: [route/endpoint]
      exporters: [memory/solo]
`, { factories: [...fakeFactories, routeProcessorFactory] });
    try {
      const shared = httpRecord({ path: '/orders/123', listenPath: '/orders/' });
      await receivers.get('fake_receiver')?.push([shared]);
      const full = fakeExporters.get('memory/full')?.records[0]?.[0] as AnalyticsRecord;
      const endpoint = fakeExporters.get('memory/endpoint')?.records[0]?.[0] as AnalyticsRecord;
      assert.equal(full.route, '/orders/{id}');
      assert.equal(endpoint.route, '/{id}', 'its own route, not the other pipeline\'s');
      assert.equal(shared.route, '', 'the shared record itself is never changed');
      assert.notEqual(full, shared);
      assert.notEqual(endpoint, shared);
      const solo = httpRecord({ path: '/orders/456', listenPath: '/orders/' });
      await receivers.get('fake_receiver/solo')?.push([solo]);
      const got = fakeExporters.get('memory/solo')?.records[0]?.[0] as AnalyticsRecord;
      assert.equal(got, solo, 'routed in place: the pipeline owns the record');
      assert.equal(solo.route, '/{id}');
    } finally {
      await running.stop();
    }
  });

  it('hot path: with user rules, id-free paths are cached and id paths are not; without rules nothing is cached', (t) => {
    const records = allFixtures()
      .filter((f) => f.format === 'msgpack')
      .map((f) => decodeAnalytics(f.bytes, 'msgpack'))
      .filter((r) => r.kind === 'http');
    const idFree = new Set(records.filter((r) => templatePath(r.path, 32, 64) === r.path).map((r) => `${r.apiId} ${r.path}`));
    assert.ok(idFree.size > 5 && idFree.size < records.length / 2);
    const plain = new RouteTemplater(config());
    const ruled = new RouteTemplater(config({ patterns: [{ regex: '^/never-matches$', template: '/x' }] }));
    for (const templater of [plain, ruled]) {
      const rounds = 250;
      const t0 = performance.now();
      let sink = 0;
      for (let k = 0; k < rounds; k++) for (const r of records) sink += templater.routeOf(r, NOW).length;
      const ms = performance.now() - t0;
      t.diagnostic(`routeOf on fixture records (${templater === plain ? 'built-ins' : 'with a pattern'}): ${Math.round((rounds * records.length) / (ms / 1000))} records/s (shared machine: indicative only)`);
      assert.ok(sink > 0);
    }
    assert.equal(plain.cacheSize, 0);
    assert.equal(ruled.cacheSize, idFree.size);
    for (const r of records) assert.equal(ruled.routeOf(r, NOW), plain.routeOf(r, NOW));
  });
});

describe('route: YAML config through the real loader', () => {
  it('filter → redact → route with per-API rules validates; api ids that look like numbers stay strings', () => {
    const yaml = `
receivers:
  tyk_redis: {}
processors:
  filter:
    skip_response_codes: [-1]
  redact:
    obfuscate_api_keys: true
  route:
    max_routes_per_api: 50
    route_idle_timeout: 30m
    apis:
      legacy--soap:
        listen_path: /soap/
        routes:
          - /Default/items/{item}
          - '/Default/{x}/notes'
        patterns: [{ regex: '^/Default/search', template: '/Default/search' }]
      123456:
        patterns:
          - regex: '^/export/(csv|json)/'
            template: /export/$1/*
  sli: {}
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
service:
  pipelines:
    metrics:
      receivers: [tyk_redis]
      processors: [filter, redact, route, sli]
      exporters: [prometheus]
`;
    const r = loadConfigText(yaml, 'test.yaml', factories, {});
    assert.deepEqual(r.problems, []);
    const route = r.config?.components.get('route')?.config as RouteConfig;
    assert.equal(route.route_idle_timeout, 30 * 60_000);
    assert.deepEqual(Object.keys(route.apis).sort(), ['123456', 'legacy--soap']);
    const t = new RouteTemplater(route);
    assert.equal(t.routeOf(httpRecord({ apiId: '123456', path: '/reports/export/csv/2024', listenPath: '/reports/' }), NOW), '/reports/export/csv/*');
    assert.equal(t.routeOf(httpRecord({ apiId: 'legacy--soap', path: '/soap/Default/items/7', listenPath: '' }), NOW), '/soap/Default/items/{item}');
  });
});
