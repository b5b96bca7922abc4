/**
 * The `tyk_redis` side of `tyk-otel-pump demo` (the command is `src/commands/demo.ts`): writes records to
 * the lists this receiver drains, encoded byte for byte as a Tyk gateway writes them (`encode.ts`, next
 * to the decoder: one wire format).
 */
import type { DemoOptions, DemoWriter } from '../../src/component.js';
import type { TykRedisConfig } from './config.js';
import { connectionPlan, createClient } from '../../internal/redis/connection.js';
import { drainKeys } from './keys.js';
import { encodeAnalytics, encodeUptime } from '../../internal/tyk-wire/encode.js';

/** The list the receiver drains msgpack analytics from (the base list when it drains none). */
export function demoAnalyticsKey(config: TykRedisConfig, keyPrefix?: string): string {
  if (keyPrefix !== undefined) return `${keyPrefix}tyk-system-analytics`;
  const first = drainKeys({ ...config, uptime: false }).find((k) => k.encoding === 'msgpack');
  // A receiver that drains no msgpack list would never see the demo traffic; write the base list anyway.
  return first?.key ?? `${config.key_prefix}tyk-system-analytics`;
}

/** Connects to the receiver's Redis; rejects with `cannot connect to <where>: <reason>`. */
export async function openDemoWriter(config: TykRedisConfig, configDir: string, options: DemoOptions): Promise<DemoWriter> {
  const analyticsKey = demoAnalyticsKey(config, options.keyPrefix);
  const uptimeKey = options.uptimeKey ?? config.uptime_key;
  const plan = connectionPlan(config, configDir);
  const client = createClient(plan);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`cannot connect to ${plan.describe}: ${(err as Error).message}`);
  }
  return {
    describe: `${plan.describe} ${analyticsKey} (uptime → ${uptimeKey})`,
    async write(analytics, uptime) {
      const a = analytics.map(encodeAnalytics);
      const u = uptime.map(encodeUptime);
      if (a.length > 0) await client.rpush(analyticsKey, ...a);
      if (u.length > 0) await client.rpush(uptimeKey, ...u);
      let bytes = 0;
      for (const b of a) bytes += b.length;
      return bytes;
    },
    close: () => client.disconnect(),
  };
}
