/**
 * The set-up the at-least-once OTLP tests share: a local OTLP sink and a private Redis key prefix, opened
 * before a suite's tests and closed after them.
 */
import { after, before } from 'node:test';
import { startOtlpSink, type OtlpSink } from './otlp-sink.js';
import { testRedis, type TestRedis } from './redis.js';

/** A suite's sink and Redis, there once its `before` hooks ran. */
export interface SinkAndRedis {
  readonly sink: OtlpSink;
  readonly redis: TestRedis;
}

/** Opens a sink and a Redis prefix (`label`) before the tests of the enclosing `describe`, closes them after. */
export function sinkAndRedis(label: string): SinkAndRedis {
  let sink: OtlpSink | undefined;
  let redis: TestRedis | undefined;
  before(async () => {
    sink = await startOtlpSink();
    redis = await testRedis(label);
  });
  after(async () => {
    await sink?.close();
    await redis?.cleanup();
  });
  const opened = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('sinkAndRedis: used before its before() hook ran');
    return v;
  };
  return {
    get sink() {
      return opened(sink);
    },
    get redis() {
      return opened(redis);
    },
  };
}
