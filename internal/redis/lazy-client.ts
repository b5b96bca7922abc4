/**
 * One Redis connection opened on first use, for short-lived tools (the `dead-letters` command's stores of
 * both Redis receivers): `get()` connects once and waits until the client is ready or `connectTimeoutMs`
 * passed, reporting the last connection error; `close()` quits it if it was opened.
 */
import { createClient, type ConnectionPlan, type RedisClient } from './connection.js';

export interface LazyClient {
  get(): Promise<RedisClient>;
  close(): Promise<void>;
}

export function lazyClient(plan: ConnectionPlan, connectTimeoutMs: number): LazyClient {
  let client: RedisClient | undefined;
  return {
    async get() {
      if (client) return client;
      const c = createClient(plan);
      let lastError: Error | undefined;
      // Errors surface through the awaited commands; the listener only keeps ioredis from reporting them as unhandled.
      c.on('error', (err: Error) => { lastError = err; });
      try {
        await c.connect();
        if (c.status !== 'ready') {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(lastError ?? new Error('not ready in time')), connectTimeoutMs);
            c.once('ready', () => { clearTimeout(timer); resolve(); });
          });
        }
      } catch (err) {
        c.disconnect();
        throw new Error(`cannot connect to ${plan.describe}: ${(err as Error).message}`);
      }
      client = c;
      return c;
    },
    async close() {
      if (client) {
        const c = client;
        client = undefined;
        await c.quit().catch(() => c.disconnect());
      }
    },
  };
}
