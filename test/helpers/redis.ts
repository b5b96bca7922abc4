/**
 * Real Redis for tests (127.0.0.1:6379, or TEST_REDIS_URL). Each test gets a unique key prefix so tests
 * never see each other's data, and `cleanup()` deletes everything under it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Base URL of the test Redis. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

/** A Redis client plus a private key prefix. */
export interface TestRedis {
  readonly client: Redis;
  /** Unique prefix, e.g. `t-3fa9c2-`; use it as the receiver's `key_prefix` and for any other key. */
  readonly prefix: string;
  /** The endpoint URL for component configs. */
  readonly url: string;
  /** RPUSH raw bytes to a key. */
  push(key: string, values: readonly Buffer[]): Promise<void>;
  /** Deletes every key under the prefix and closes the client. */
  cleanup(): Promise<void>;
}

/** Connects to the test Redis with a fresh prefix. */
export async function testRedis(label = 't'): Promise<TestRedis> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  const prefix = `${label}-${randomBytes(4).toString('hex')}-`;
  return {
    client,
    prefix,
    url: TEST_REDIS_URL,
    async push(key, values) {
      for (let i = 0; i < values.length; i += 1000) {
        await client.rpush(key, ...values.slice(i, i + 1000));
      }
    },
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
      client.disconnect();
    },
  };
}
