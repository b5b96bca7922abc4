/**
 * The gateway fixtures (copied from shared/fixtures into test/fixtures so a clean clone has them):
 * real wire bytes plus the values a correct reader must decode. See test/fixtures/README.md.
 */
import { readFileSync } from 'node:fs';
import type { TestRedis } from './redis.js';

/** One fixture line. */
export interface Fixture {
  readonly format: 'msgpack' | 'legacy' | 'pump18' | 'protobuf' | 'uptime';
  readonly redisKey: string;
  /** The exact bytes of the Redis list element. */
  readonly bytes: Buffer;
  /** What a correct reader decodes, keyed by Tyk's JSON field names (plus `route_template_hint`). */
  readonly expected: Record<string, unknown>;
}

/** The fixture files. */
export const FIXTURE_FILES = [
  'gateway-msgpack.jsonl',
  'gateway-legacy-v4.jsonl',
  'gateway-pump18.jsonl',
  'gateway-protobuf.jsonl',
  'uptime-msgpack.jsonl',
] as const;

/** Reads one fixture file. */
export function loadFixtures(file: (typeof FIXTURE_FILES)[number]): Fixture[] {
  const text = readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const j = JSON.parse(line) as { format: Fixture['format']; redis_key: string; b64: string; expected: Record<string, unknown> };
      return { format: j.format, redisKey: j.redis_key, bytes: Buffer.from(j.b64, 'base64'), expected: j.expected };
    });
}

/** Every fixture of every file. */
export function allFixtures(): Fixture[] {
  return FIXTURE_FILES.flatMap((f) => loadFixtures(f));
}

/**
 * RPUSHes the fixtures' bytes to `<prefix><redis_key>` (uptime fixtures to `<prefix><uptimeKey>` when
 * given), in fixture order within each list.
 */
export async function pushFixtures(redis: TestRedis, fixtures: readonly Fixture[], opts: { uptimeKey?: string } = {}): Promise<void> {
  const byKey = new Map<string, Buffer[]>();
  for (const f of fixtures) {
    const key = f.format === 'uptime' && opts.uptimeKey !== undefined ? opts.uptimeKey : f.redisKey;
    let list = byKey.get(key);
    if (list === undefined) {
      list = [];
      byKey.set(key, list);
    }
    list.push(f.bytes);
  }
  for (const [key, values] of byKey) await redis.push(`${redis.prefix}${key}`, values);
}
