/**
 * The `sli` processor's lookup cache of HTTP series for the default attribute set: API id → (name, org)
 * → route → status and method as one small integer. The decoder hands out the same string object for a
 * repeated id or name and the route processor has hashed each route string already, so every level is a
 * Map hit on a cached hash: no per-record key string to build and hash. Misses (and overflow) take the
 * string-key path of the series table; expired series are pruned from here after each sweep.
 */
import type { AnalyticsRecord } from '../../src/model.js';

interface ApiNode<S> {
  readonly name: string;
  readonly org: string;
  readonly routes: Map<string, Map<number, S>>;
  /** Another node with the same API id but a different name or org. */
  next: ApiNode<S> | undefined;
}

/** Which record fields identify a series (the others are left out of the lookup). */
export interface SeriesCacheFields {
  readonly apiId: boolean;
  readonly apiName: boolean;
  readonly org: boolean;
  readonly route: boolean;
}

/** HTTP series by record fields; `small` is the status-and-method integer the caller computed. */
export class HttpSeriesCache<S extends { live: boolean }> {
  private readonly index = new Map<string, ApiNode<S>>();

  constructor(private readonly fields: SeriesCacheFields) {}

  /** The live cached series of `r`, if any. */
  find(r: AnalyticsRecord, small: number): S | undefined {
    const f = this.fields;
    const name = f.apiName ? r.apiName : '';
    const org = f.org ? r.orgId : '';
    let node = this.index.get(f.apiId ? r.apiId : '');
    while (node !== undefined && (node.name !== name || node.org !== org)) node = node.next;
    const s = node?.routes.get(f.route ? r.route : '')?.get(small);
    return s !== undefined && s.live ? s : undefined;
  }

  /** Caches `s` as the series of `r` (never an overflow series: it stands for many attribute sets). */
  remember(r: AnalyticsRecord, small: number, s: S): void {
    const f = this.fields;
    const id = f.apiId ? r.apiId : '';
    const name = f.apiName ? r.apiName : '';
    const org = f.org ? r.orgId : '';
    const head = this.index.get(id);
    let node = head;
    while (node !== undefined && (node.name !== name || node.org !== org)) node = node.next;
    if (node === undefined) {
      node = { name, org, routes: new Map(), next: head };
      this.index.set(id, node);
    }
    const route = f.route ? r.route : '';
    let byKey = node.routes.get(route);
    if (byKey === undefined) {
      byKey = new Map();
      node.routes.set(route, byKey);
    }
    byKey.set(small, s);
  }

  /** Drops expired series. */
  prune(): void {
    for (const [id, head] of this.index) {
      let kept: ApiNode<S> | undefined;
      for (let node: ApiNode<S> | undefined = head; node !== undefined; node = node.next) {
        for (const [route, byKey] of node.routes) {
          for (const [k, s] of byKey) if (!s.live) byKey.delete(k);
          if (byKey.size === 0) node.routes.delete(route);
        }
        if (node.routes.size > 0) kept = { ...node, next: kept };
      }
      if (kept === undefined) this.index.delete(id);
      else this.index.set(id, kept);
    }
  }
}
