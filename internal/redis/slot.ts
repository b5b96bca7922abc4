/**
 * Which Redis Cluster slot a key lives in, computed by `cluster-key-slot` — the library ioredis routes its
 * own Cluster commands with, so a script given keys of one slot here is routed the same way there.
 */
import calculateSlot from 'cluster-key-slot';

/** The Cluster slot (0..16383) of `key`, honouring a `{hash tag}`. */
export function clusterSlot(key: string): number {
  return calculateSlot(key);
}
