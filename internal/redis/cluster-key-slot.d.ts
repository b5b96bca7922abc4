/** Types of `cluster-key-slot` (the slot function ioredis itself routes Cluster commands with). */
declare module 'cluster-key-slot' {
  /** The Cluster slot (0..16383) of a key: CRC16 of its hash tag (`{…}`) or of the whole key, mod 16384. */
  export default function calculateSlot(key: string | Buffer): number;
}
