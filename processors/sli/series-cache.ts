/**
 * The `sli` processor's lookup cache of HTTP series for the default attribute set: route (or API id when
 * the route is not an attribute) → the nodes of that key, one per (API id, name, org, route), each with its
 * series by status and method as one small integer. The route processor hands out one string instance per
 * route and the decoder one per repeated id or name, so the one Map lookup hits a cached hash and the node
 * checks are pointer compares; a node's few status/method keys are scanned in a small array (a Map only
 * past {@link SMALL_SCAN}). No per-record key string to build and hash. Misses (and overflow) take the
 * string-key path of the series table; expired series are pruned from here after each sweep.
 */
import type { AnalyticsRecord } from '../../src/model.js';

/** A node's status/method keys are scanned linearly up to this many; beyond, they are also in a Map. */
const SMALL_SCAN = 16;

interface Node<S> {
  readonly apiId: string;
  readonly name: string;
  readonly org: string;
  readonly route: string;
  /** Status-and-method keys and their series, index for index. */
  smalls: number[];
  series: S[];
  /** The same, once there are more than {@link SMALL_SCAN}. */
  bySmall: Map<number, S> | undefined;
  /** Another node under the same index key. */
  next: Node<S> | undefined;
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
  private readonly index = new Map<string, Node<S>>();

  constructor(private readonly fields: SeriesCacheFields) {}

  /** The node of `r`'s identifying fields, if any. */
  private node(r: AnalyticsRecord): Node<S> | undefined {
    const f = this.fields;
    const id = f.apiId ? r.apiId : '';
    const name = f.apiName ? r.apiName : '';
    const org = f.org ? r.orgId : '';
    const route = f.route ? r.route : '';
    let node = this.index.get(f.route ? route : id);
    while (node !== undefined && (node.route !== route || node.apiId !== id || node.name !== name || node.org !== org)) node = node.next;
    return node;
  }

  /** The live cached series of `r`, if any. */
  find(r: AnalyticsRecord, small: number): S | undefined {
    const node = this.node(r);
    if (node === undefined) return undefined;
    let s: S | undefined;
    if (node.bySmall !== undefined) s = node.bySmall.get(small);
    else {
      const smalls = node.smalls;
      for (let i = 0; i < smalls.length; i++) {
        if (smalls[i] === small) {
          s = node.series[i];
          break;
        }
      }
    }
    return s !== undefined && s.live ? s : undefined;
  }

  /** Caches `s` as the series of `r` (never an overflow series: it stands for many attribute sets). */
  remember(r: AnalyticsRecord, small: number, s: S): void {
    let node = this.node(r);
    if (node === undefined) {
      const f = this.fields;
      const route = f.route ? r.route : '';
      const id = f.apiId ? r.apiId : '';
      const key = f.route ? route : id;
      node = { apiId: id, name: f.apiName ? r.apiName : '', org: f.org ? r.orgId : '', route, smalls: [], series: [], bySmall: undefined, next: this.index.get(key) };
      this.index.set(key, node);
    }
    const i = node.smalls.indexOf(small);
    if (i >= 0) node.series[i] = s;
    else {
      node.smalls.push(small);
      node.series.push(s);
    }
    if (node.bySmall !== undefined) node.bySmall.set(small, s);
    else if (node.smalls.length > SMALL_SCAN) node.bySmall = new Map(node.smalls.map((k, j) => [k, node.series[j] as S]));
  }

  /** Drops expired series. */
  prune(): void {
    for (const [key, head] of this.index) {
      let kept: Node<S> | undefined;
      for (let node: Node<S> | undefined = head; node !== undefined; node = node.next) {
        const smalls: number[] = [];
        const series: S[] = [];
        node.series.forEach((s, j) => {
          if (!s.live) return;
          smalls.push(node.smalls[j] as number);
          series.push(s);
        });
        if (series.length === 0) continue;
        const bySmall = smalls.length > SMALL_SCAN ? new Map(smalls.map((k, j) => [k, series[j] as S])) : undefined;
        kept = { ...node, smalls, series, bySmall, next: kept };
      }
      if (kept === undefined) this.index.delete(key);
      else this.index.set(key, kept);
    }
  }
}
