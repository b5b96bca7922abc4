/**
 * Every registered component passes the same contract: its default config validates, an unknown key is
 * rejected, start → shutdown → shutdown works (idempotent), shutdown without start works, a shutdown whose
 * deadline has already passed resolves, and the waits it declares (`shutdownWaits`) name real config keys.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { factories } from '../src/factories.js';
import type { ComponentContext, Consumer, Factory } from '../src/component.js';
import type { Signal } from '../src/model.js';
import { HttpServers } from '../src/http-server.js';
import { SelfTelemetry } from '../src/telemetry.js';
import { parseWithProblems } from '../src/config/load.js';
import { silentLogger } from '../src/logger.js';
import { RecordingConsumer } from './helpers/records.js';
import { componentContext } from './helpers/context.js';

/** Overrides so a default config can actually start in a test (free ports, private Redis keys, temp files). */
const START_OVERRIDES: Record<string, Record<string, unknown>> = {
  'receiver:tyk_redis': { key_prefix: `conformance-${process.pid}-`, uptime_key: `conformance-${process.pid}-uptime` },
  'exporter:prometheus': { endpoint: '127.0.0.1:0' },
  'exporter:status': { endpoint: '127.0.0.1:0' },
  'exporter:file': { path: '/dev/null' },
  // Nothing listens on port 1: the SQL exporters start, fail to connect in the background and stop cleanly.
  'exporter:sql': { port: 1 },
  'exporter:sql_aggregate': { port: 1 },
  // Likewise for the stream components: no stream or group is left behind in the shared Redis.
  'receiver:redis_stream': { endpoint: 'redis://127.0.0.1:1' },
  'exporter:redis_stream': { endpoint: 'redis://127.0.0.1:1' },
};

function context(id: string, http: HttpServers, telemetry: SelfTelemetry): ComponentContext {
  return componentContext({ id, telemetry: telemetry.forComponent('exporter', id), http, instanceId: `conformance-${process.pid}` });
}

function create(f: Factory, config: unknown, ctx: ComponentContext) {
  const next = new RecordingConsumer<Signal>() as Consumer<Signal>;
  if (f.kind === 'receiver') return f.create(ctx, config, next as Consumer<'records'>);
  if (f.kind === 'processor') return f.create(ctx, config, f.signatures[0] as (typeof f.signatures)[number], next);
  return f.create(ctx, config);
}

describe('component conformance', () => {
  it('the registry lists each kind/type once', () => {
    const keys = factories.map((f) => `${f.kind}:${f.type}`);
    assert.deepEqual(keys, [...new Set(keys)]);
  });

  for (const f of factories) {
    describe(`${f.kind} ${f.type}`, () => {
      it('default config validates', () => {
        const r = parseWithProblems(f.configSchema, {}, [f.type]);
        assert.deepEqual(r.problems, []);
      });

      it('rejects an unknown key with a path-prefixed problem', () => {
        const r = parseWithProblems(f.configSchema, { surely_not_a_key: 1 }, [`${f.kind}s`, f.type]);
        assert.ok(
          r.problems.some((p) => p.path === `${f.kind}s::${f.type}::surely_not_a_key` && p.message.startsWith('unknown key')),
          JSON.stringify(r.problems),
        );
      });

      it('start → shutdown → shutdown, and shutdown without start', async () => {
        const http = new HttpServers(silentLogger());
        const telemetry = new SelfTelemetry('conformance');
        try {
          const config = f.configSchema.parse(START_OVERRIDES[`${f.kind}:${f.type}`] ?? {});
          const a = create(f, config, context(`${f.type}/a`, http, telemetry));
          await a.start();
          await a.shutdown();
          await a.shutdown();
          const b = create(f, config, context(`${f.type}/b`, http, telemetry));
          await b.shutdown();
          await b.shutdown();
        } finally {
          await http.close();
          await telemetry.shutdown();
        }
      });

      it('a shutdown whose deadline has passed resolves (within 10 s)', async () => {
        const http = new HttpServers(silentLogger());
        const telemetry = new SelfTelemetry('conformance');
        try {
          const config = f.configSchema.parse(START_OVERRIDES[`${f.kind}:${f.type}`] ?? {});
          const c = create(f, config, context(`${f.type}/c`, http, telemetry));
          await c.start();
          const passed = { at: Date.now(), signal: AbortSignal.abort() };
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('shutdown ignored its deadline')), 10_000);
          });
          await Promise.race([c.shutdown(passed), late]).finally(() => clearTimeout(timer));
        } finally {
          await http.close();
          await telemetry.shutdown();
        }
      });

      it('each declared shutdown wait is a duration key of the config', () => {
        const config = f.configSchema.parse({}) as Record<string, unknown>;
        const waits = (f.shutdownWaits as ((c: unknown) => readonly { path: readonly string[]; ms: number }[]) | undefined)?.(config) ?? [];
        for (const w of waits) {
          const value = w.path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), config);
          assert.equal(value, w.ms, `${w.path.join('::')} holds the declared wait`);
        }
      });
    });
  }
});
