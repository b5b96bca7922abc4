/**
 * The series of one metric stream: found by attribute set (by the producer's attributes object first —
 * the `sli` processor reuses one frozen object per series, so most points skip building and hashing a key —
 * then by {@link attributesKey}) or by a key of the caller's own; overflow series beside the regular ones;
 * idle expiry. How values fold, and when a series counts as idle, is the caller's business.
 */
import type { Attributes } from '@opentelemetry/api';
import { attributesKey } from './identity.js';

/** What every tracked series carries. */
export interface TrackedSeries {
  /** False once expired (a lookup cache still holding it must not use it). */
  live: boolean;
  /** Agent clock (ms) of the last update, for expiry. */
  lastSeen: number;
}

/** Series of one stream, bounded by the caller (see {@link SeriesMap.regularSize}). */
export class SeriesMap<S extends TrackedSeries> {
  private readonly map = new Map<string, S>();
  private readonly byObject = new WeakMap<Attributes, { s: S; ns: string }>();
  private readonly overflows: (S | undefined)[] = [];

  /** The series of attribute set `attributes` within namespace `ns` (e.g. an instrumentation scope). */
  lookup(attributes: Attributes, ns = ''): S | undefined {
    const hit = this.byObject.get(attributes);
    if (hit !== undefined && hit.s.live && hit.ns === ns) return hit.s;
    const s = this.map.get(ns === '' ? attributesKey(attributes) : `${ns}\u0003${attributesKey(attributes)}`);
    if (s !== undefined) this.byObject.set(attributes, { s, ns });
    return s;
  }

  /** Adds the series of `attributes` (after a {@link lookup} miss). */
  insert(attributes: Attributes, s: S, ns = ''): S {
    this.map.set(ns === '' ? attributesKey(attributes) : `${ns}\u0003${attributesKey(attributes)}`, s);
    this.byObject.set(attributes, { s, ns });
    return s;
  }

  /** The series under a key of the caller's own (e.g. the joined values of a record's fields). */
  get(key: string): S | undefined {
    return this.map.get(key);
  }

  /** Adds a series under a key of the caller's own. */
  set(key: string, s: S): S {
    this.map.set(key, s);
    return s;
  }

  /** Overflow series number `slot` (created with `make` on first use); not counted in {@link regularSize}. */
  overflow(slot: number, make: () => S): S {
    let o = this.overflows[slot];
    if (o === undefined) {
      o = make();
      this.overflows[slot] = o;
    }
    return o;
  }

  /**
   * Removes the series (overflow ones included) last seen before `cutoff` (agent ms), except those `keep`
   * holds on to (e.g. touched by a batch still open, or holding an unexported delta). Returns how many.
   */
  expire(cutoff: number, keep?: (s: S) => boolean): number {
    let n = 0;
    for (const [key, s] of this.map) {
      if (s.lastSeen < cutoff && !(keep?.(s) ?? false)) {
        s.live = false;
        this.map.delete(key);
        n++;
      }
    }
    for (let i = 0; i < this.overflows.length; i++) {
      const o = this.overflows[i];
      if (o !== undefined && o.lastSeen < cutoff && !(keep?.(o) ?? false)) {
        o.live = false;
        this.overflows[i] = undefined;
        n++;
      }
    }
    return n;
  }

  /** Series found by attribute set or key (the limit counts these). */
  get regularSize(): number {
    return this.map.size;
  }

  /** All series, overflow ones included. */
  get size(): number {
    let n = this.map.size;
    for (const o of this.overflows) if (o !== undefined) n++;
    return n;
  }

  /** Every series: regular ones in insertion order, then the overflow ones. */
  *values(): IterableIterator<S> {
    yield* this.map.values();
    for (const o of this.overflows) if (o !== undefined) yield o;
  }
}
