/**
 * One shared `Latency` object per (total, upstream, gateway) that repeats: latencies are small integer
 * milliseconds and a few hundred triples cover most traffic, so a small direct-mapped cache hands out an
 * existing object instead of allocating one per record (records are readonly: nothing changes a latency).
 * Fewer young objects that outlive a scavenge with their record, less to copy (BENCHMARKS.md, Decode).
 */
import type { Latency } from '../../src/model.js';

const SLOTS = 1024;
const totals = new Int32Array(SLOTS).fill(-1);
const upstreams = new Int32Array(SLOTS);
const gateways = new Int32Array(SLOTS);
const objects: Latency[] = new Array<Latency>(SLOTS);

/** `{ total, upstream, gateway }`, shared with earlier records that had the same three values. */
export function latencyOf(total: number, upstream: number, gateway: number): Latency {
  // Only non-negative int32 values are cached (they fit the Int32Arrays exactly, and an empty slot's -1
  // matches none); anything else (a gateway clock step, a uint64) is built.
  if ((total | 0) !== total || (upstream | 0) !== upstream || (gateway | 0) !== gateway || total < 0 || upstream < 0 || gateway < 0) {
    return { total, upstream, gateway };
  }
  const slot = (Math.imul(total, 0x9e3779b1) ^ Math.imul(upstream, 0x85ebca6b) ^ Math.imul(gateway, 0xc2b2ae35)) >>> 22;
  if (totals[slot] === total && upstreams[slot] === upstream && gateways[slot] === gateway) return objects[slot] as Latency;
  const l: Latency = { total, upstream, gateway };
  totals[slot] = total;
  upstreams[slot] = upstream;
  gateways[slot] = gateway;
  objects[slot] = l;
  return l;
}
