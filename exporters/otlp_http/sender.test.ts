/**
 * `Retry-After` beyond what a Node.js timer holds (2³¹−1 ms): capped, so a server asking for "never"
 * does not turn into a retry after 1 ms (and a `TimeoutOverflowWarning`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS } from '../../src/config/schema.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { componentContext } from '../../test/helpers/context.js';
import { startOtlpSink } from '../../test/helpers/otlp-sink.js';
import { otlpHttpConfigSchema } from './config.js';
import { otlpHttpExporterFactory } from './index.js';
import { parseRetryAfter } from './sender.js';

describe('otlp_http Retry-After', () => {
  it('is capped at the longest timer, as seconds and as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(parseRetryAfter('99999999999', now), MAX_TIMER_MS);
    assert.equal(parseRetryAfter(String(Math.floor(MAX_TIMER_MS / 1000)), now), Math.floor(MAX_TIMER_MS / 1000) * 1000);
    assert.equal(parseRetryAfter(new Date(now + 400 * 86_400_000).toUTCString(), now), MAX_TIMER_MS);
    assert.equal(parseRetryAfter(new Date(now + 5000).toUTCString(), now), 5000);
  });

  it('a huge Retry-After from the endpoint waits instead of retrying at once', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const sink = await startOtlpSink();
    const telemetry = new SelfTelemetry('t');
    const config = otlpHttpConfigSchema.parse({ endpoint: sink.url, sending_queue: { drain_timeout: '50ms' }, retry_on_failure: { initial_interval: '10ms', randomization_factor: 0, max_elapsed_time: '0' } });
    const exp = otlpHttpExporterFactory.create(componentContext({ id: 'otlp_http', telemetry: telemetry.forComponent('exporter', 'otlp_http', 'logs') }), config);
    try {
      sink.reply((_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '99999999999' } } : { status: 200 }));
      await exp.start();
      const batch = { resource: {}, scope: 't', logs: [{ timestampMs: 0, timestampNs: 0, severityNumber: 9, severityText: 'INFO', body: 'x', attributes: {} }] };
      await exp.consumeLogs?.(batch as never, { chunkId: 'c1', defer: () => () => undefined });
      // Once the first answer is in, a 1 ms overflowed timer would retry well within this wait.
      const deadline = Date.now() + 5000;
      while (sink.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(sink.requests.length, 1, 'no retry before the (capped) Retry-After');
      assert.deepEqual(warnings.filter((w) => w === 'TimeoutOverflowWarning'), []);
    } finally {
      process.off('warning', onWarning);
      await exp.shutdown();
      await telemetry.shutdown();
      await sink.close();
    }
  });
});
