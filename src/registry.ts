/**
 * Every component type the agent knows: a literal list of factories. Adding a component is its folder
 * plus one line here.
 */
import type { Factory } from './component.js';
import { sliProcessorFactory } from '../processors/sli/index.js';
import { sloProcessorFactory } from '../processors/slo/index.js';
import { prometheusExporterFactory } from '../exporters/prometheus/index.js';
import { tykRedisReceiverFactory } from '../receivers/tyk_redis/index.js';
import { redisStreamReceiverFactory } from '../receivers/redis_stream/index.js';
import { filterProcessorFactory } from '../processors/filter/index.js';
import { redactProcessorFactory } from '../processors/redact/index.js';
import { routeProcessorFactory } from '../processors/route/index.js';
import { auditLogProcessorFactory } from '../processors/audit_log/index.js';
import { otlpHttpExporterFactory } from '../exporters/otlp_http/index.js';
import { dogstatsdExporterFactory } from '../exporters/dogstatsd/index.js';
import { statsdExporterFactory } from '../exporters/statsd/index.js';
import { fileExporterFactory } from '../exporters/file/index.js';
import { statusExporterFactory } from '../exporters/status/index.js';
import { sqlExporterFactory } from '../exporters/sql/index.js';
import { sqlAggregateExporterFactory } from '../exporters/sql_aggregate/index.js';
import { redisStreamExporterFactory } from '../exporters/redis_stream/index.js';

/** All factories, receivers first, then processors, then exporters. */
export const factories: readonly Factory[] = [
  tykRedisReceiverFactory,
  redisStreamReceiverFactory,
  filterProcessorFactory,
  redactProcessorFactory,
  routeProcessorFactory,
  auditLogProcessorFactory,
  sliProcessorFactory,
  sloProcessorFactory,
  otlpHttpExporterFactory,
  prometheusExporterFactory,
  dogstatsdExporterFactory,
  statsdExporterFactory,
  fileExporterFactory,
  statusExporterFactory,
  sqlExporterFactory,
  sqlAggregateExporterFactory,
  redisStreamExporterFactory,
];
