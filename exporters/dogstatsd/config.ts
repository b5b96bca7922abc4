/**
 * Config of the `dogstatsd` exporter. The schema is the documentation: every field has a `.describe()`;
 * `DogStatsdConfig` is derived from it.
 */
import { z } from 'zod';
import { duration, uniqueEnumList } from '../../src/config/schema.js';
import { errorDefinitionSchema } from '../../src/error-definition.js';
import { LATENCY_KINDS, RECORD_FIELDS, type RecordField } from '../../src/record-fields.js';
import { parseStatsdEndpoint } from '../../internal/statsd/endpoint.js';

/** The default per-record tag set. */
export const DEFAULT_TAG_SET: readonly RecordField[] = Object.freeze([
  'api_id', 'api_name', 'org_id', 'method', 'status_code', 'status_class', 'route',
]);

/** Tags of Tyk Pump's dogstatsd `request_time` histogram (its `tags` option). */
export const TYK_TAGS = ['path', 'method', 'response_code', 'api_version', 'api_name', 'api_id', 'org_id', 'tracked', 'oauth_id'] as const;

/** One Tyk Pump dogstatsd tag name. */
export type TykTag = (typeof TYK_TAGS)[number];

/** Datagram size over UDP across a network (Datadog's clients use 1432 to stay inside one Ethernet frame). */
export const DEFAULT_UDP_PACKET_BYTES = 1432;
/**
 * Datagram size over a Unix socket or UDP to a loopback address (no fragmentation there): the Agent's
 * default `dogstatsd_buffer_size`. Bigger datagrams mean fewer send syscalls, the exporter's main cost.
 */
export const DEFAULT_LOCAL_PACKET_BYTES = 8192;

/** The `max_packet_bytes` default for an endpoint: 8192 for a Unix socket or a loopback host, else 1432. */
export function defaultPacketBytes(endpoint: { kind: 'udp'; host: string } | { kind: 'uds' }): number {
  if (endpoint.kind === 'uds') return DEFAULT_LOCAL_PACKET_BYTES;
  const h = endpoint.host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) ? DEFAULT_LOCAL_PACKET_BYTES : DEFAULT_UDP_PACKET_BYTES;
}

const NAMESPACE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;
const GLOBAL_TAG = /^[A-Za-z][^|,#@\s]*$/;

/** `apm` section: optional dd-trace spans of the exporter's own work. */
const apmSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }).default(false).describe('Load dd-trace (only then) and send one APM span per exported batch to a Datadog Agent. Off by default.'),
    agent_url: z
      .string({ error: 'must be an http:// URL' })
      .default('http://localhost:8126')
      .refine((s) => /^https?:\/\/[^\s/]+/.test(s) || /^unix:\/\/\//.test(s), { message: 'must be an http://host:port URL or unix:///path' })
      .describe('Trace intake of the Datadog Agent (http://host:8126 or unix:///var/run/datadog/apm.socket).'),
    service: z.string().min(1).default('tyk-otel-pump').describe('APM service name of the spans.'),
    env: z.string().default('').describe('APM env tag; empty = not set (dd-trace then reads DD_ENV).'),
    sample_rate: z.number({ error: 'must be a number' }).gt(0, 'must be greater than 0').max(1, 'must be at most 1').default(1).describe('Fraction of batch spans kept.'),
    runtime_metrics: z.boolean({ error: 'must be true or false' }).default(false).describe("Also send dd-trace's Node runtime metrics (runtime.node.*: heap, GC, event loop) to the Agent's DogStatsD port."),
  })
  .describe('Datadog APM for the agent itself (dd-trace, lazily loaded; the ioredis and every other auto-instrumentation stay off).');

/** Config schema of the `dogstatsd` exporter. */
export const dogstatsdConfigSchema = z
  .strictObject({
    endpoint: z
      .string({ error: 'must be host:port or unix:///path' })
      .default('localhost:8125')
      .refine((s) => parseStatsdEndpoint(s, true) !== undefined, { message: 'must be host:port (UDP) or unix:///path/to/dsd.socket' })
      .describe('Datadog Agent DogStatsD address: host:port (UDP) or unix:///var/run/datadog/dsd.socket (Unix datagram socket).'),
    namespace: z
      .string({ error: 'must be a metric namespace' })
      .regex(NAMESPACE, 'must be letters, digits and _ in dot-separated parts, starting with a letter')
      .default('tyk')
      .describe('Prefix of every per-record metric name (<namespace>.request.duration.total, <namespace>.requests, …).'),
    tags: z
      .array(
        z.string({ error: 'must be a tag such as env:prod' }).max(200, 'must be at most 200 characters (Datadog truncates longer tags)').regex(GLOBAL_TAG, 'must be key:value (or a bare key) starting with a letter, without | , # @ or spaces'),
        { error: 'must be a list of tags such as env:prod' },
      )
      .default([])
      .describe('Global tags on every line, e.g. ["env:prod", "region:eu"].'),
    tag_set: uniqueEnumList(RECORD_FIELDS, 'record tags')
      .default([...DEFAULT_TAG_SET])
      .describe(`Per-record tags on the request metrics, from ${RECORD_FIELDS.join(', ')}. route is omitted on records without a route template.`),
    latencies: uniqueEnumList(LATENCY_KINDS, 'latency kinds')
      .default([...LATENCY_KINDS])
      .describe('Which <namespace>.request.duration.<kind> distributions to send (total, upstream, gateway).'),
    duration_unit: z
      .enum(['seconds', 'milliseconds'], { error: 'must be seconds or milliseconds' })
      .default('seconds')
      .describe('Unit of the duration distributions: seconds (as OTel http.server.request.duration) or milliseconds (as Tyk).'),
    sample_rate: z
      .number({ error: 'must be a number' })
      .gt(0, 'must be greater than 0')
      .max(1, 'must be at most 1')
      .default(1)
      .describe('Fraction of records whose duration values are sent (random per record, flagged |@rate on the wire so Datadog scales counts). Counters are never sampled.'),
    error_definition: errorDefinitionSchema.optional().describe('Overrides the top-level error_definition for requests.good/bad.'),
    uptime: z.boolean({ error: 'must be true or false' }).default(true).describe('Send <namespace>.uptime.check.duration and <namespace>.uptime.checks for host-checker records.'),
    network: z.boolean({ error: 'must be true or false' }).default(true).describe('Send <namespace>.network.* counters for TCP network-stats records.'),
    tyk_compatible: z.boolean({ error: 'must be true or false' }).default(false).describe("Also send Tyk Pump's <namespace>.request_time histogram (|h, milliseconds, Tyk's tags plus tyk-pump) for existing dashboards."),
    tyk_tags: uniqueEnumList(TYK_TAGS, 'Tyk dogstatsd tags')
      .default([])
      .describe("Tyk Pump's `tags` option for request_time: empty = Tyk's default set (path, method, response_code, api_version, api_name, api_id, org_id, tracked, oauth_id if set)."),
    max_packet_bytes: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(512, 'must be at least 512')
      .max(65_000, 'must be at most 65000')
      .optional()
      .describe("Largest datagram sent; lines are packed up to it and a longer line is dropped (counted). Default 8192 over a Unix socket or to a loopback host (localhost, 127.x, ::1), else 1432. Keep it within the Agent's dogstatsd_buffer_size."),
    flush_interval: duration({ min: 10, max: 60_000 })
      .prefault('1s')
      .describe('How long a partly filled datagram and the aggregated counters may wait before they are sent.'),
    apm: apmSchema.prefault({}),
  })
  .describe('Sends per-request distributions and count-SLO counters to a Datadog Agent over DogStatsD.');

/** Parsed `dogstatsd` config. */
export type DogStatsdConfig = z.infer<typeof dogstatsdConfigSchema>;
