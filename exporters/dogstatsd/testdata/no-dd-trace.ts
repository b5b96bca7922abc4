/**
 * Child process of dogstatsd.test.ts: imports the exporter, runs it with apm off, and reports whether
 * dd-trace was loaded (it must not be: its init patches modules process-wide).
 */
import { createRequire } from 'node:module';
import { dogstatsdExporterFactory } from '../index.js';
import { UNTRACKED } from '../../../src/delivery.js';
import { exporterContext, udpServer } from '../../../test/helpers/statsd-server.js';
import { httpRecord } from '../../../test/helpers/records.js';

const server = await udpServer();
const t = exporterContext('dogstatsd');
const exporter = dogstatsdExporterFactory.create(t.ctx, dogstatsdExporterFactory.configSchema.parse({ endpoint: server.endpoint }));
await exporter.start();
await exporter.consumeRecords?.([httpRecord(), httpRecord()], UNTRACKED);
await exporter.shutdown();
await server.settle();
const cache = createRequire(import.meta.url).cache;
const loaded = Object.keys(cache).some((k) => k.includes('/node_modules/dd-trace/')) || '_ddtrace' in globalThis;
console.log(`dd-trace loaded: ${String(loaded)}`);
console.log(`lines: ${server.lines().length}`);
await server.close();
await t.close();
