/**
 * Synthetic gateway traffic for `tyk-otel-pump demo`: several APIs of one or two orgs (REST with
 * versions, a GraphQL API, an MCP API, a TCP API), paths carrying numeric ids and UUIDs (work for route
 * templating), weighted status codes with 4xx/5xx and 429s (gateway-side rejections have `upstream = 0`),
 * log-normal latencies per endpoint, some detailed recording (base64 raw request/response), GeoIP on part
 * of the traffic, network-stats records (`ResponseCode -1`) for TCP APIs as the gateway's proxy muxer
 * emits them, and host-checker uptime records. Records are the model's; the receiver's demo writer
 * encodes them in its wire format.
 */
import type { AnalyticsRecord, GeoData, GraphQLStats, MCPStats, UptimeRecord } from '../model.js';
import { EMPTY_GEO, EMPTY_GRAPHQL, EMPTY_MCP, EMPTY_NETWORK } from '../model.js';

/** A small seeded PRNG (xorshift32), so `--seed` reproduces the same traffic. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight from `[value, weight]` pairs. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let x = this.next() * total;
    for (const [v, w] of items) {
      x -= w;
      if (x < 0) return v;
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Log-normal with the given median (ms) and shape. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(this.next() * 16)];
    return s;
  }
}

type Kind = 'rest' | 'graphql' | 'mcp' | 'tcp';

interface Endpoint {
  readonly method: string;
  /** `{id}` and `{uuid}` are filled per request. */
  readonly path: string;
  readonly weight: number;
  /** Median upstream latency, ms. */
  readonly medianMs: number;
}

interface DemoApi {
  readonly id: string;
  readonly name: string;
  readonly orgId: string;
  readonly kind: Kind;
  readonly listenPath: string;
  readonly versions: readonly string[];
  readonly endpoints: readonly Endpoint[];
  /** Extra 5xx weight (a flaky upstream). */
  readonly flaky: number;
  readonly tags: readonly string[];
}

const ORGS = ['5e9d9544a1dcd60001d0ed20', '6f0e0a55b2ede70002e1fe31'];

const TEMPLATES: readonly Omit<DemoApi, 'id' | 'orgId'>[] = [
  {
    name: 'Orders API', kind: 'rest', listenPath: '/orders/', versions: ['v1', 'v2'], flaky: 1, tags: ['team-commerce'],
    endpoints: [
      { method: 'GET', path: '/orders/{id}', weight: 40, medianMs: 22 },
      { method: 'GET', path: '/orders', weight: 15, medianMs: 45 },
      { method: 'POST', path: '/orders', weight: 10, medianMs: 80 },
      { method: 'GET', path: '/orders/{id}/items/{id}', weight: 10, medianMs: 30 },
      { method: 'DELETE', path: '/orders/{id}', weight: 2, medianMs: 35 },
    ],
  },
  {
    name: 'Payments API', kind: 'rest', listenPath: '/payments/', versions: ['v2'], flaky: 3, tags: ['pci'],
    endpoints: [
      { method: 'POST', path: '/payments/v2/charges', weight: 20, medianMs: 180 },
      { method: 'GET', path: '/payments/v2/charges/{uuid}', weight: 25, medianMs: 40 },
      { method: 'POST', path: '/payments/v2/charges/{uuid}/refund', weight: 3, medianMs: 220 },
    ],
  },
  {
    name: 'Users API', kind: 'rest', listenPath: '/users/', versions: ['Non Versioned'], flaky: 0.5, tags: [],
    endpoints: [
      { method: 'GET', path: '/users/{id}', weight: 30, medianMs: 12 },
      { method: 'PUT', path: '/users/{id}', weight: 5, medianMs: 25 },
      { method: 'GET', path: '/users/{id}/sessions/{uuid}', weight: 5, medianMs: 15 },
      { method: 'GET', path: '/users/health', weight: 3, medianMs: 2 },
    ],
  },
  {
    name: 'Catalog GraphQL', kind: 'graphql', listenPath: '/graphql/', versions: ['Non Versioned'], flaky: 1, tags: [],
    endpoints: [{ method: 'POST', path: '/graphql', weight: 1, medianMs: 60 }],
  },
  {
    name: 'Assistant MCP', kind: 'mcp', listenPath: '/mcp/', versions: ['Non Versioned'], flaky: 2, tags: ['ai'],
    endpoints: [{ method: 'POST', path: '/mcp', weight: 1, medianMs: 300 }],
  },
  {
    name: 'TCP echo', kind: 'tcp', listenPath: '/', versions: ['Non Versioned'], flaky: 0, tags: [],
    endpoints: [],
  },
  {
    name: 'Inventory API', kind: 'rest', listenPath: '/inventory/', versions: ['v1'], flaky: 1, tags: [],
    endpoints: [
      { method: 'GET', path: '/inventory/items/{id}', weight: 20, medianMs: 18 },
      { method: 'PATCH', path: '/inventory/items/{id}', weight: 4, medianMs: 40 },
      { method: 'GET', path: '/inventory/warehouses/{uuid}/stock', weight: 6, medianMs: 90 },
    ],
  },
];

/** The APIs of a demo run: the first `n` templates, then numbered copies of the REST ones. */
export function demoApis(n: number, rng: Rng): DemoApi[] {
  const out: DemoApi[] = [];
  const rest = TEMPLATES.filter((t) => t.kind === 'rest');
  for (let i = 0; i < n; i++) {
    const t = i < TEMPLATES.length ? (TEMPLATES[i] as (typeof TEMPLATES)[number]) : (rest[i % rest.length] as (typeof TEMPLATES)[number]);
    const suffix = i < TEMPLATES.length ? '' : ` ${Math.floor(i / TEMPLATES.length) + 1}`;
    out.push({ ...t, name: `${t.name}${suffix}`, id: rng.hex(32), orgId: ORGS[i % 3 === 2 ? 1 : 0] as string });
  }
  return out;
}

const USER_AGENTS: readonly (readonly [string, number])[] = [
  ['okhttp/4.12.0', 5], ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', 4], ['curl/8.4.0', 2],
  ['python-requests/2.31.0', 3], ['Go-http-client/1.1', 2], ['', 1],
];
const COUNTRIES: readonly (readonly [string, string, number, number, string])[] = [
  ['US', 'New York', 40.71, -74.01, 'America/New_York'], ['DE', 'Berlin', 52.52, 13.4, 'Europe/Berlin'],
  ['GB', 'London', 51.51, -0.13, 'Europe/London'], ['BR', 'São Paulo', -23.55, -46.63, 'America/Sao_Paulo'],
  ['JP', 'Tokyo', 35.68, 139.69, 'Asia/Tokyo'],
];
const HUNDRED_YEARS_MS = 365 * 100 * 86_400_000;

/** Status code weights per request: mostly success, some client errors, 429s, upstream failures. */
function statusFor(rng: Rng, method: string, flaky: number): number {
  const ok = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200;
  return rng.weighted<number>([
    [ok, 880], [304, method === 'GET' ? 15 : 0], [400, 15], [401, 12], [403, 6], [404, 25], [429, 12],
    [500, 6 * flaky], [502, 3 * flaky], [503, 4 * flaky], [504, 2 * flaky],
  ]);
}

function fillPath(template: string, rng: Rng): string {
  return template
    .replace(/\{id\}/g, () => String(rng.int(1, 99_999)))
    .replace(/\{uuid\}/g, () => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`);
}

function rawHttp(method: string, path: string, host: string, code: number): [string, string] {
  const req = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: demo\r\nAccept: application/json\r\n\r\n`;
  const body = code < 400 ? '{"ok":true}' : `{"error":"status ${code}"}`;
  const res = `HTTP/1.1 ${code} Demo\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return [Buffer.from(req).toString('base64'), Buffer.from(res).toString('base64')];
}

const GRAPHQL_SCHEMA = Buffer.from('type Query { products(first: Int): [Product] product(id: ID!): Product }\ntype Product { id: ID! name: String price: Float }').toString('base64');

/** Generates records for a set of APIs. Time is passed in, so tests can pin it. */
export class DemoTraffic {
  readonly apis: readonly DemoApi[];
  private readonly httpApis: readonly (readonly [DemoApi, number])[];
  private readonly keys: readonly string[];

  constructor(private readonly rng: Rng, apis: number) {
    this.apis = demoApis(apis, rng);
    // REST APIs get the bulk of the traffic; the GraphQL and MCP APIs a share each.
    this.httpApis = this.apis.filter((a) => a.kind !== 'tcp').map((a) => [a, a.kind === 'rest' ? 10 : 3] as const);
    this.keys = Array.from({ length: 50 }, () => rng.hex(8));
  }

  /** The TCP APIs (one network-stats record per second each). */
  get tcpApis(): readonly DemoApi[] {
    return this.apis.filter((a) => a.kind === 'tcp');
  }

  private base(api: DemoApi, nowMs: number): Omit<AnalyticsRecord, 'method' | 'path' | 'rawPath' | 'responseCode' | 'latency' | 'requestTime'> {
    const rng = this.rng;
    const d = new Date(nowMs);
    const ns = rng.int(0, 999_999);
    return {
      kind: 'http', encoding: 'msgpack', host: 'upstream.internal:8080', contentLength: 0, userAgent: '',
      day: d.getDate(), month: d.getMonth() + 1, year: d.getFullYear(), hour: d.getHours(), apiKey: '',
      timestampMs: nowMs, timestampNs: ns, apiVersion: rng.pick(api.versions), apiName: api.name, apiId: api.id,
      orgId: api.orgId, oauthId: '', rawRequest: '', rawResponse: '', ipAddress: `203.0.113.${rng.int(1, 254)}`,
      geo: EMPTY_GEO, network: EMPTY_NETWORK, tags: [], alias: '', trackPath: false,
      expireAtMs: nowMs + HUNDRED_YEARS_MS, expireAtNs: ns, apiSchema: '', originalPath: '', listenPath: api.listenPath,
      graphqlStats: EMPTY_GRAPHQL, mcpStats: EMPTY_MCP, timeZone: '', route: '',
    };
  }

  /** One HTTP request record. */
  http(nowMs: number): AnalyticsRecord {
    const rng = this.rng;
    const api = rng.weighted(this.httpApis);
    const ep = rng.weighted(api.endpoints.map((e) => [e, e.weight] as const));
    const code = statusFor(rng, ep.method, api.flaky);
    const path = fillPath(ep.path, rng);
    // 401/403/429 are decided by the gateway: no upstream call. Upstream failures take longer.
    const rejected = code === 401 || code === 403 || code === 429;
    const slow = code === 504 ? 30 : code >= 500 ? 3 : 1;
    const upstream = rejected ? 0 : Math.max(1, Math.round(rng.logNormal(ep.medianMs * slow, 0.6)));
    const gateway = Math.max(0, Math.round(rng.logNormal(1.5, 0.7)) - 1);
    const total = upstream + gateway;
    const authed = rng.next() < 0.8;
    const key = authed ? rng.pick(this.keys) : '';
    const tags: string[] = [];
    if (authed) tags.push('pol-5f2b3c4d5e6f7a8b9c0d1e2f', `key-${key}`);
    tags.push(...api.tags);
    if (api.kind === 'graphql') tags.push('tyk-graph-analytics');
    tags.push(`org-${api.orgId}`, `api-${api.id}`);
    const detailed = api.kind === 'graphql' || rng.next() < 0.05;
    const [rawRequest, rawResponse] = detailed ? rawHttp(ep.method, path, 'api.example.com', code) : ['', ''];
    let geo: GeoData = EMPTY_GEO;
    if (rng.next() < 0.3) {
      const [iso, city, lat, lon, tz] = rng.pick(COUNTRIES);
      geo = { country: { isoCode: iso }, city: { geoNameId: rng.int(1_000_000, 6_000_000), names: { en: city } }, location: { latitude: lat, longitude: lon, timeZone: tz } };
    }
    let graphqlStats: GraphQLStats = EMPTY_GRAPHQL;
    if (api.kind === 'graphql') {
      const op = rng.weighted<number>([[1, 9], [2, 1]]);
      const hasErrors = code >= 400 || rng.next() < 0.03;
      graphqlStats = {
        isGraphQL: true, hasErrors, operationType: op, variables: op === 1 ? `{"first":${rng.int(1, 50)}}` : '{"id":"p-1"}',
        rootFields: [op === 1 ? 'products' : 'updateProduct'], types: { Product: ['id', 'name', 'price'] },
        errors: hasErrors ? [{ message: 'field not found', path: ['products', rng.int(0, 9), 'price'] }] : null,
      };
    }
    let mcpStats: MCPStats = EMPTY_MCP;
    if (api.kind === 'mcp') {
      const [method, type, name] = rng.pick([['tools/call', 'tool', 'search_docs'], ['tools/call', 'tool', 'create_ticket'], ['resources/read', 'resource', 'kb://faq'], ['tools/list', '', '']] as const);
      mcpStats = { isMCP: true, jsonRpcMethod: method, primitiveType: type, primitiveName: name };
    }
    return {
      ...this.base(api, nowMs),
      method: ep.method, path, rawPath: path, originalPath: path, responseCode: code, requestTime: total,
      latency: { total, upstream, gateway }, apiKey: key, alias: authed && rng.next() < 0.3 ? `portal-dev-${rng.int(1, 9)}` : '',
      oauthId: authed && rng.next() < 0.1 ? `client-${rng.int(1, 20)}` : '', userAgent: rng.weighted(USER_AGENTS),
      contentLength: ep.method === 'GET' || ep.method === 'DELETE' ? 0 : rng.int(20, 4000), tags, rawRequest, rawResponse,
      geo, graphqlStats, mcpStats, trackPath: rng.next() < 0.2,
      apiSchema: api.kind === 'graphql' ? GRAPHQL_SCHEMA : '',
    };
  }

  /** One network-stats record of a TCP API (the gateway flushes one per second per TCP/TLS API). */
  network(api: DemoApi, nowMs: number): AnalyticsRecord {
    const rng = this.rng;
    const open = rng.int(0, 12);
    return {
      ...this.base(api, nowMs),
      kind: 'network', method: '', path: '', rawPath: '', responseCode: -1, requestTime: 0,
      latency: { total: 0, upstream: 0, gateway: 0 },
      network: { openConnections: open, closedConnections: rng.int(0, open), bytesIn: rng.int(1000, 900_000), bytesOut: rng.int(1000, 900_000) },
      tags: [`org-${api.orgId}`, `api-${api.id}`],
    };
  }

  /** One host-checker record for an API's health URL. */
  uptime(api: DemoApi, nowMs: number): UptimeRecord {
    const rng = this.rng;
    const d = new Date(nowMs);
    const code = rng.weighted<number>([[200, 95], [503, 3], [521, 2]]);
    const ns = rng.int(0, 999_999);
    return {
      kind: 'uptime', url: `http://upstream.internal:8080${api.listenPath}health`, requestTime: code === 521 ? 0 : rng.int(2, 80),
      responseCode: code, tcpError: code === 521, serverError: code > 200, day: d.getDate(), month: d.getMonth() + 1,
      year: d.getFullYear(), hour: d.getHours(), minute: d.getMinutes(), timestampMs: nowMs, timestampNs: ns,
      expireAtMs: nowMs + HUNDRED_YEARS_MS, expireAtNs: ns, apiId: api.id, orgId: api.orgId,
    };
  }
}
