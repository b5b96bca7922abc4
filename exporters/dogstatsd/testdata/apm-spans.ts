/**
 * Child process of dogstatsd.test.ts (dd-trace patches the process, so it runs apart): a fake Datadog
 * trace intake decodes the real msgpack payloads dd-trace sends; the exporter runs with apm enabled; an
 * ioredis command runs too, to show the Redis client is not traced. Prints the spans as JSON.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { unpack } from 'msgpackr';
import { dogstatsdExporterFactory } from '../index.js';
import { UNTRACKED } from '../../../src/delivery.js';
import { exporterContext, udpServer } from '../../../test/helpers/statsd-server.js';
import { httpRecord } from '../../../test/helpers/records.js';
import { TEST_REDIS_URL } from '../../../test/helpers/redis.js';

interface WireSpan { name: string; resource: string; service: string; metrics?: Record<string, number> }
const spans: WireSpan[] = [];
const intake = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url?.startsWith('/v0.4/traces') === true) {
      const traces = unpack(Buffer.concat(chunks)) as WireSpan[][];
      for (const trace of traces) spans.push(...trace);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
await new Promise<void>((r) => intake.listen(0, '127.0.0.1', () => r()));
const address = intake.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;

const server = await udpServer();
const t = exporterContext('dogstatsd');
const exporter = dogstatsdExporterFactory.create(t.ctx, dogstatsdExporterFactory.configSchema.parse({
  endpoint: server.endpoint,
  apm: { enabled: true, agent_url: `http://127.0.0.1:${port}`, service: 'pump-under-test' },
}));
await exporter.start();
const { Redis } = await import('ioredis');
const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
await redis.connect();
const deadline = Date.now() + 30_000;
while (!spans.some((s) => s.name === 'test.export') && Date.now() < deadline) {
  await exporter.consumeRecords?.([httpRecord(), httpRecord(), httpRecord()], UNTRACKED);
  await redis.ping();
  await new Promise((r) => setTimeout(r, 250));
}
await exporter.shutdown();
redis.disconnect();
const ddTraceInCache = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/dd-trace/'));
console.log(JSON.stringify({
  ddTraceInCache,
  spans: spans.map((s) => ({ name: s.name, resource: s.resource, service: s.service, items: s.metrics?.['batch.items'] })),
}));
await server.close();
await t.close();
intake.close();
process.exit(0);
