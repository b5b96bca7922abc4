/** The `otlp_http` exporter: metrics and logs over OTLP/HTTP (protobuf or JSON), with queue, retries and spool. */
import type { ExporterFactory } from '../../src/component.js';
import { otlpHttpConfigSchema, type OtlpHttpConfig } from './config.js';
import { OtlpHttpExporter } from './otlp_http.js';

/** Factory of the `otlp_http` exporter. */
export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  description: 'Sends metrics and logs to an OTLP/HTTP endpoint with a bounded queue, retries and an optional disk spool.',
  configSchema: otlpHttpConfigSchema,
  inputs: ['metrics', 'logs'],
  shutdownWaits: (config) => [{ path: ['sending_queue', 'drain_timeout'], ms: config.sending_queue.drain_timeout }],
  create: (ctx, config) => new OtlpHttpExporter(ctx, config),
};
