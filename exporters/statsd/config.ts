/**
 * Config of the `statsd` exporter (plain StatsD / Graphite naming, or Telegraf tags). The schema is the
 * documentation: every field has a `.describe()`; `StatsdConfig` is derived from it.
 */
import { z } from 'zod';
import { duration, uniqueEnumList } from '../../src/config/schema.js';
import { errorDefinitionSchema } from '../../src/error-definition.js';
import { LATENCY_KINDS, RECORD_FIELDS, type RecordField } from '../../src/record-fields.js';
import { parseStatsdEndpoint } from '../../internal/statsd/endpoint.js';

/** Default Telegraf tag set. */
export const DEFAULT_TAG_SET: readonly RecordField[] = Object.freeze([
  'api_id', 'api_name', 'org_id', 'method', 'status_code', 'status_class', 'route',
]);

/** Default `name_template`. */
export const DEFAULT_NAME_TEMPLATE = '{api_name}.{method}.{route}';

/** Tyk Pump statsd `fields` (only timing fields are ever sent by Tyk Pump). */
export const TYK_FIELDS = ['request_time', 'latency_total', 'latency_upstream', 'latency_gateway'] as const;

/** Tyk Pump statsd `tags` (record values embedded in the metric name). */
export const TYK_TAGS = [
  'path', 'method', 'response_code', 'api_key', 'time_stamp', 'api_version', 'api_name', 'api_id', 'org_id', 'oauth_id',
  'raw_request', 'raw_response', 'request_time', 'latency_total', 'latency_upstream', 'latency_gateway', 'ip_address',
] as const;

/** One Tyk Pump statsd tag. */
export type TykTag = (typeof TYK_TAGS)[number];

const PLACEHOLDER = `\\{(?:${RECORD_FIELDS.join('|')})\\}`;
const SEGMENT = `(?:[A-Za-z0-9_-]+|${PLACEHOLDER})`;
const TEMPLATE = new RegExp(`^(?:${SEGMENT}(?:\\.${SEGMENT})*)?$`);
const PREFIX = /^([A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*)?$/;
const GLOBAL_TAG = /^[A-Za-z][A-Za-z0-9_.-]*:[^,=:|\s\\]+$/;

/** Config schema of the `statsd` exporter. */
export const statsdConfigSchema = z
  .strictObject({
    endpoint: z
      .string({ error: 'must be host:port' })
      .default('localhost:8125')
      .refine((s) => parseStatsdEndpoint(s, false) !== undefined, { message: 'must be host:port (UDP)' })
      .describe('StatsD server (Etsy StatsD, Telegraf statsd input, statsd_exporter, …): host:port over UDP.'),
    prefix: z
      .string({ error: 'must be a metric prefix' })
      .regex(PREFIX, 'must be empty or dot-separated parts of letters, digits, _ and -, starting with a letter')
      .default('tyk')
      .describe('First segment(s) of every name; empty for none.'),
    name_template: z
      .string({ error: 'must be a name template' })
      .regex(TEMPLATE, `must be dot-separated segments, each letters/digits/_/- or one of ${RECORD_FIELDS.map((f) => `{${f}}`).join(', ')}`)
      .default(DEFAULT_NAME_TEMPLATE)
      .describe('Record fields in the name, between the prefix and the metric (tyk.<template>.requests). Each value is sanitised to one segment; an empty value becomes "unknown". Ignored when telegraf is true.'),
    telegraf: z.boolean({ error: 'must be true or false' }).default(false).describe('Telegraf-style tags instead of names from the template: tyk.requests,api_id=x,method=GET:1|c.'),
    tag_set: uniqueEnumList(RECORD_FIELDS, 'record fields')
      .default([...DEFAULT_TAG_SET])
      .describe('Telegraf tags of the request metrics (telegraf: true only). route is omitted on records without a route template.'),
    tags: z
      .array(z.string({ error: 'must be a tag such as env:prod' }).max(200, 'must be at most 200 characters').regex(GLOBAL_TAG, 'must be key:value without , = : | spaces or backslashes in the value'), { error: 'must be a list of tags such as env:prod' })
      .default([])
      .describe('Global Telegraf tags on every line (telegraf: true only), e.g. ["env:prod"].'),
    latencies: uniqueEnumList(LATENCY_KINDS, 'latency kinds')
      .default([...LATENCY_KINDS])
      .describe('Which …request.duration.<kind> timers (milliseconds) to send.'),
    sample_rate: z
      .number({ error: 'must be a number' })
      .gt(0, 'must be greater than 0')
      .max(1, 'must be at most 1')
      .default(1)
      .describe('Fraction of records whose timings are sent (random per record, flagged |@rate). Counters are never sampled.'),
    error_definition: errorDefinitionSchema.optional().describe('Overrides the top-level error_definition for requests.good/bad.'),
    network: z.boolean({ error: 'must be true or false' }).default(true).describe('Send <prefix>.network.<api_id>.* counters for TCP network-stats records.'),
    uptime: z.boolean({ error: 'must be true or false' }).default(true).describe('Send <prefix>.uptime.<api_id>.check.duration timers and checks.up/down counters for host-checker records.'),
    tyk_compatible: z.boolean({ error: 'must be true or false' }).default(false).describe("Also send Tyk Pump's statsd timers, named <field>.<tag values…> (no prefix), with tyk_fields, tyk_tags and separated_method."),
    tyk_fields: uniqueEnumList(TYK_FIELDS, 'Tyk statsd fields')
      .default(['request_time'])
      .describe("Tyk Pump's `fields`: which timings to send (request_time, latency_total, latency_upstream, latency_gateway)."),
    tyk_tags: z
      .array(z.enum([...TYK_TAGS, 'method'], { error: `must be one of ${[...TYK_TAGS, 'method'].join(', ')}` }), { error: 'must be a list of Tyk statsd tags' })
      .default([])
      .describe("Tyk Pump's `tags`: record values embedded in the name, in order (JSON-encoded, lower-cased, quotes and spaces removed). method needs separated_method."),
    separated_method: z.boolean({ error: 'must be true or false' }).default(false).describe("Tyk Pump's `separated_method`: false puts METHOD+path in the path tag, true makes method its own tag."),
    max_packet_bytes: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(512, 'must be at least 512')
      .max(65_000, 'must be at most 65000')
      .default(1432)
      .describe('Largest datagram; lines are packed up to it and a longer line is dropped (counted). Use 512 across the internet.'),
    flush_interval: duration({ min: 10, max: 60_000 })
      .prefault('1s')
      .describe('How long a partly filled datagram and the summed counters may wait before they are sent.'),
  })
  .refine((c) => !c.tyk_tags.includes('method') || c.separated_method, { message: 'may list method only with separated_method: true (Tyk Pump puts the method into path otherwise)', path: ['tyk_tags'] })
  .refine((c) => c.telegraf || c.tags.length === 0, { message: 'needs telegraf: true (plain StatsD has no tags)', path: ['tags'] })
  .describe('Sends request timers and requests/good/bad counters to a plain StatsD server (Graphite names) or Telegraf (tags).');

/** Parsed `statsd` config. */
export type StatsdConfig = z.infer<typeof statsdConfigSchema>;
