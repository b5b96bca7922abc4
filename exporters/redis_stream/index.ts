/**
 * The `redis_stream` exporter: appends every record's original wire bytes (msgpack or protobuf, unchanged)
 * to a Redis stream, where consumer groups (the `redis_stream` receiver) read them.
 */
import type { ExporterFactory } from '../../src/component.js';
import { redisStreamExporterConfigSchema, type RedisStreamExporterConfig } from './config.js';
import { RedisStreamExporter } from './redis_stream.js';

/** Factory of the `redis_stream` exporter. */
export const redisStreamExporterFactory: ExporterFactory<RedisStreamExporterConfig> = {
  kind: 'exporter',
  type: 'redis_stream',
  description: 'Appends records (their original msgpack/protobuf bytes) to a Redis stream with XADD, trimmed by length and/or age.',
  configSchema: redisStreamExporterConfigSchema,
  inputs: ['records'],
  reads: () => 'wire',
  create: (ctx, config) => new RedisStreamExporter(ctx, config),
};
