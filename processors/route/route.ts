/**
 * The `route` processor: sets `AnalyticsRecord.route` (`http.route`) to a low-cardinality template of the
 * request path, e.g. `/orders/v1/items/5527` → `/orders/v1/items/{id}`.
 *
 * Per HTTP record:
 *   1. Path: the `path_source` field (default `path`: the tracked path or URL path, which keeps the
 *      gateway's own `{uuid}`/`{ulid}`/`{id}`/`{var}` normalisation), query string removed.
 *   2. Listen path: the record's `listen_path`, else `apis.<id>.listen_path`. When the path starts with
 *      it (segment-wise; `{var}` segments of a listen path match any segment), the rest is the endpoint.
 *      When it does not, the gateway stripped it (error records of APIs with `strip_listen_path`) or the
 *      path is a tracked endpoint (relative to the listen path): the whole path is the endpoint, and the
 *      listen path is put back in front, so successes and gateway errors share one route. A record whose
 *      `original_path` (pre-rewrite) does start with the listen path uses that instead.
 *   3. Endpoint template, first match wins: the API's and the global `routes` (one router: literal
 *      segments beat `{param}` beats a final `*`), the API's `patterns`, the global `patterns`, then the
 *      built-in per-segment rules (see {@link classifySegment}).
 *   4. Route = `<listen path without trailing slash><endpoint template>` (or just the endpoint template
 *      with `include_listen_path: false`).
 *   5. Cap: an API has at most `max_routes_per_api` distinct non-declared routes in use; a new one beyond
 *      that is reported as `overflow_route` (`{other}`) and counted. Routes unused for `route_idle_timeout`
 *      free their slot. Routes from `routes` lists are finite by construction and never capped.
 *
 * Network (`-1`) and uptime records pass through untouched (route stays ''). Built-in templating is one
 * character scan per path. Where user routes/patterns apply, results for paths without ids are cached
 * per (api, path) in a bounded two-generation map (paths with ids never repeat, so they are not cached).
 */
import type { Counter } from '@opentelemetry/api';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch, TykRecord } from '../../src/model.js';
import { withRoute } from '../../src/model.js';
import { BurstLogger } from '../../src/logger.js';
import type { RouteConfig } from './config.js';

import { ID, ULID, UUID, classifySegment, matchListenPath, templatePath } from './segments.js';
import { TwoGenerationCache, buildRouteTrie, compilePatterns, expandTemplate, matchRouteTrie, segmentsOf, type CacheEntry, type PatternRule, type TrieNode } from './matchers.js';

/** Re-exported for the processor's tests and users of the templating rules. */
export { ID, ULID, UUID, classifySegment, matchListenPath, templatePath };

/** Per-API state: its rules and the routes in use. */
interface ApiState {
  readonly id: string;
  readonly listenPath: string;
  readonly trie: TrieNode | undefined;
  readonly patterns: readonly PatternRule[];
  /** Route → its slot (the one string instance handed out for it, and when it was last used). */
  readonly inUse: Map<string, RouteSlot>;
  /** Declared routes (never capped) by route, for the one string instance handed out for each. */
  readonly declaredRoutes: Map<string, string>;
  nextSweepAt: number;
  /** The last listen path seen for this API and its normalised form (`/orders/` → `/orders`). */
  lp: string;
  prefix: string;
  /** Whether `prefix` has no `{var}` segment (a path under it then starts with exactly `prefix`). */
  literalPrefix: boolean;
  /** Whether any user route or pattern applies to this API (only then is the cache worth its lookup). */
  readonly hasRules: boolean;
}

/**
 * A route in use by an API. `route` is the one string instance of the route handed downstream: every
 * record of the route carries the same string, whose hash V8 computes once, so downstream lookups keyed by
 * it (the `sli` processor's series) skip hashing a fresh string per record.
 */
interface RouteSlot {
  readonly route: string;
  lastUsed: number;
}

/** `/orders/` → `/orders`; '' and `/` → ''; a missing leading slash is added. */
function normaliseListenPath(lp: string): string {
  let p = lp;
  if (p !== '' && p.charCodeAt(0) !== 47) p = `/${p}`;
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 47) end--;
  return end === p.length ? p : p.slice(0, end);
}

/** The route computation, separate from the processor so tests and benchmarks can drive it directly. */
export class RouteTemplater {
  private readonly cache: TwoGenerationCache<CacheEntry>;
  private readonly apis = new Map<string, ApiState>();
  private readonly globalPatterns: readonly PatternRule[];
  private readonly maxPathChars: number;
  private readonly maxSegments: number;
  private readonly maxSegmentLength: number;
  private readonly includeListenPath: boolean;
  /** Records reported as the overflow route since the last `takeOverflow()`. */
  private overflowCount = 0;
  private overflowApi = '';
  // Results of the last `resolve()`, in fields so the per-record path allocates nothing for them.
  private route = '';
  private matched = false;
  private declared = false;

  constructor(private readonly config: RouteConfig) {
    this.cache = new TwoGenerationCache(config.cache_size);
    this.globalPatterns = compilePatterns(config.patterns);
    this.maxSegments = config.max_segments;
    this.maxSegmentLength = config.max_segment_length;
    this.includeListenPath = config.include_listen_path;
    // Enough for max_segments segments of max_segment_length characters; longer paths are not cached.
    this.maxPathChars = config.max_segments * (config.max_segment_length + 1) + 1;
  }

  private api(apiId: string): ApiState {
    let s = this.apis.get(apiId);
    if (!s) {
      const rules = Object.hasOwn(this.config.apis, apiId) ? this.config.apis[apiId] : undefined;
      s = {
        id: apiId,
        listenPath: rules?.listen_path ?? '',
        // One trie of the API's routes and the global ones, so router precedence (literal beats
        // {param}) holds across both; on an exact duplicate the API's route wins (inserted first).
        trie: buildRouteTrie([...(rules?.routes ?? []), ...this.config.routes]),
        patterns: compilePatterns(rules?.patterns ?? []),
        inUse: new Map(),
        declaredRoutes: new Map(),
        nextSweepAt: 0,
        lp: '',
        prefix: '',
        literalPrefix: true,
        hasRules: (rules?.routes.length ?? 0) + (rules?.patterns.length ?? 0) + this.config.routes.length + this.config.patterns.length > 0,
      };
      this.apis.set(apiId, s);
    }
    return s;
  }

  private sourcePath(r: AnalyticsRecord): string {
    const src = this.config.path_source;
    const v = src === 'path' ? r.path : src === 'raw_path' ? r.rawPath : r.originalPath;
    if (v !== '') return v;
    return r.path !== '' ? r.path : r.rawPath;
  }

  /** The route of an HTTP record at time `now` (ms), cap applied. */
  routeOf(r: AnalyticsRecord, now: number): string {
    const api = this.api(r.apiId);
    const lp = r.listenPath !== '' ? r.listenPath : api.listenPath;
    if (lp !== api.lp) {
      api.lp = lp;
      api.prefix = normaliseListenPath(lp);
      api.literalPrefix = !api.prefix.includes('{');
    }
    const src = this.sourcePath(r);
    this.resolve(api, src, lp);
    if (!this.matched && !r.trackPath && r.originalPath !== '' && r.originalPath !== src) {
      const route = this.route;
      const declared = this.declared;
      this.resolve(api, r.originalPath, lp);
      if (!this.matched) {
        this.route = route;
        this.declared = declared;
      }
    }
    return this.declared ? this.declaredRoute(api, this.route) : this.admit(api, this.route, now);
  }

  /** The one instance of a declared route (declared routes are finite: no cap, no expiry). */
  private declaredRoute(api: ApiState, route: string): string {
    const known = api.declaredRoutes.get(route);
    if (known !== undefined) return known;
    api.declaredRoutes.set(route, route);
    return route;
  }

  /** Sets route/matched/declared for `path`, from the cache when it can. */
  private resolve(api: ApiState, path: string, lp: string): void {
    // The cache pays only where user routes/patterns run (a trie walk and regexes per path); the
    // built-in rules alone are a single character scan, cheaper than hashing a cache key. Hostile
    // lengths are never cache keys; the work stays bounded because templating stops after max_segments.
    const key = !api.hasRules || path.length > this.maxPathChars ? undefined : `${api.id}\u0000${path}`;
    if (key !== undefined) {
      const hit = this.cache.get(key);
      if (hit !== undefined && hit.lp === lp) {
        this.route = hit.route;
        this.matched = hit.matched;
        this.declared = hit.declared;
        return;
      }
    }
    const substituted = this.compute(api, path);
    // Paths with ids are (nearly) all distinct: caching them would only churn the cache, and the
    // character scan is cheap. Id-free paths and user-rule results repeat, so they are kept.
    if (key !== undefined && !substituted) {
      this.cache.set(key, { lp, route: this.route, matched: this.matched, declared: this.declared });
    }
  }

  /** Computes route/matched/declared; returns whether built-in rules replaced a segment. */
  private compute(api: ApiState, source: string): boolean {
    let p = source;
    const q = p.indexOf('?');
    if (q >= 0) p = p.slice(0, q);
    if (p.charCodeAt(0) !== 47) p = `/${p}`;
    const prefix = api.prefix;
    let endpoint = p;
    this.matched = true;
    let at = 0;
    if (prefix !== '') {
      at = matchListenPath(p, prefix);
      if (at < 0) this.matched = false;
      else if (!api.hasRules && this.includeListenPath && api.literalPrefix) {
        // Built-in rules only, under a literal listen path: `p` starts with exactly `prefix`, so the route
        // is `p` templated from `at` on (`p` itself when nothing changes): no endpoint slice, no
        // concatenation with the prefix, and no new string at all for a path without ids.
        this.declared = false;
        this.route = templatePath(p, this.maxSegments, this.maxSegmentLength, at);
        return this.route !== p;
      } else if (at > 0) endpoint = p.slice(at);
    }
    let template = this.userRule(api, endpoint);
    let substituted = false;
    if (template === undefined) {
      template = templatePath(endpoint, this.maxSegments, this.maxSegmentLength);
      substituted = template !== endpoint;
    }
    if (this.includeListenPath) this.route = prefix === '' ? template : prefix + template;
    else this.route = template === '' ? '/' : template;
    return substituted;
  }

  /** The template of the first matching user route or pattern (sets `declared`), or undefined. */
  private userRule(api: ApiState, endpoint: string): string | undefined {
    this.declared = false;
    const subject = endpoint === '' ? '/' : endpoint;
    if (api.trie) {
      const hit = matchRouteTrie(api.trie, segmentsOf(subject));
      if (hit !== undefined) {
        this.declared = true;
        return hit;
      }
    }
    for (let i = 0; i < api.patterns.length; i++) {
      const rule = api.patterns[i] as PatternRule;
      const m = rule.re.exec(subject);
      if (m) return expandTemplate(rule.template, m);
    }
    for (let i = 0; i < this.globalPatterns.length; i++) {
      const rule = this.globalPatterns[i] as PatternRule;
      const m = rule.re.exec(subject);
      if (m) return expandTemplate(rule.template, m);
    }
    return undefined;
  }

  private admit(api: ApiState, route: string, now: number): string {
    const inUse = api.inUse;
    const seen = inUse.get(route);
    if (seen !== undefined) {
      if (now - seen.lastUsed >= 1000) seen.lastUsed = now;
      return seen.route;
    }
    if (inUse.size >= this.config.max_routes_per_api && now >= api.nextSweepAt) {
      api.nextSweepAt = now + 1000;
      const idleBefore = now - this.config.route_idle_timeout;
      for (const [k, slot] of inUse) if (slot.lastUsed < idleBefore) inUse.delete(k);
    }
    if (inUse.size >= this.config.max_routes_per_api) {
      this.overflowCount++;
      this.overflowApi = api.id;
      return this.config.overflow_route;
    }
    inUse.set(route, { route, lastUsed: now });
    return route;
  }

  /** Records reported as the overflow route since the last call, and one API that overflowed. */
  takeOverflow(): { count: number; apiId: string } {
    const r = { count: this.overflowCount, apiId: this.overflowApi };
    this.overflowCount = 0;
    return r;
  }

  /** Distinct routes in use for an API (for tests and diagnostics). */
  routesInUse(apiId: string): number {
    return this.apis.get(apiId)?.inUse.size ?? 0;
  }

  /** Entries in the (api, path) cache. */
  get cacheSize(): number {
    return this.cache.size;
  }
}

/** A record whose `route` this processor may set in place (see `ComponentContext.exclusiveRecords`). */
type Routable = { route: string };

/**
 * records → records: sets `route` on HTTP records. When the pipeline owns its records
 * (`ctx.exclusiveRecords`: its receivers feed no other pipeline) the route is set in place and the batch
 * itself is handed on; otherwise each HTTP record whose route changes is copied into a new batch, so
 * another pipeline sharing the records never sees this one's routes.
 */
export class RouteProcessor implements Processor<'records'> {
  private readonly templater: RouteTemplater;
  private readonly inPlace: boolean;
  private readonly overflow: Counter;
  private readonly burst: BurstLogger;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: RouteConfig,
    private readonly next: Consumer<'records'>,
  ) {
    this.templater = new RouteTemplater(config);
    this.inPlace = ctx.exclusiveRecords === true;
    this.burst = new BurstLogger(ctx.logger);
    this.overflow = ctx.telemetry.meter.createCounter('processor.route.overflow_records', {
      description: 'HTTP records reported with the overflow route because their API reached max_routes_per_api.',
      unit: '{record}',
    });
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    this.ctx.telemetry.accepted(batch.length);
    if (batch.length === 0) return;
    const now = Date.now();
    let out: RecordBatch;
    if (this.inPlace) {
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as TykRecord;
        if (r.kind !== 'http') continue;
        const route = this.templater.routeOf(r, now);
        if (r.route !== route) (r as Routable).route = route;
      }
      out = batch;
    } else {
      const copy = new Array<TykRecord>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as TykRecord;
        if (r.kind !== 'http') {
          copy[i] = r;
          continue;
        }
        const route = this.templater.routeOf(r, now);
        copy[i] = r.route === route ? r : withRoute(r, route);
      }
      out = copy;
    }
    const { count, apiId } = this.templater.takeOverflow();
    if (count > 0) {
      this.overflow.add(count, { processor: this.ctx.id });
      this.burst.log(
        'warn',
        { api_id: apiId, records: count, max_routes_per_api: this.config.max_routes_per_api, overflow_route: this.config.overflow_route },
        'API has more distinct routes than max_routes_per_api; new routes are reported as the overflow route (add routes/patterns for it, or raise the cap)',
      );
    }
    await this.next.consume(out, bctx);
  }
}
