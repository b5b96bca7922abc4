/**
 * The `redact` processor: Tyk Pump's per-pump record trimming, in the order of Tyk Pump's `filterData`
 * (`main.go`), plus API-key obfuscation:
 *
 *   1. `omit_detailed_recording` blanks raw_request/raw_response; otherwise `max_record_size` truncates
 *      them to N bytes of their base64 text (Tyk cuts bytes, so a cut can fall inside a base64 quantum).
 *   2. (Tyk's `filters` run here: put a `filter` processor before `redact` so filters see the original
 *      api_id/org_id/response_code even when `ignore_fields` resets them.)
 *   3. `ignore_fields` resets the named top-level fields to their zero value.
 *   4. `obfuscate_api_keys` / `drop_key_tags` (Tyk does this in its Prometheus pump, after step 3;
 *      a key removed by `ignore_fields` stays empty).
 *   5. `raw_request_decoded` / `raw_response_decoded` replace the base64 text with the decoded text.
 *
 * Uptime records have none of these fields and pass through unchanged. Records are never mutated: a
 * changed record is a new object, an unchanged one is passed on as it is, in a new batch array.
 */
import { obfuscateApiKey } from '../../src/record-fields.js';
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { AnalyticsRecord, RecordBatch, TykRecord } from '../../src/model.js';
import { withFieldsZeroed, type AnalyticsJsonField } from '../../src/tyk-json.js';
import { BurstLogger } from '../../src/logger.js';
import type { RedactConfig } from './config.js';

/**
 * Truncates `value` to at most `size` bytes of its UTF-8 form, as Tyk's `trimString` does (it cuts bytes).
 * Base64 text is ASCII, so this is a plain cut; a cut inside a multi-byte character (only possible on
 * text that is not base64) leaves U+FFFD, which is what Tyk's JSON output shows for the broken byte.
 */
export function trimToBytes(value: string, size: number): string {
  if (value.length * 3 <= size) return value;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes <= size) return value;
  if (bytes === value.length) return value.slice(0, size);
  return Buffer.from(value, 'utf8').subarray(0, size).toString('utf8');
}

/** Re-exported for the processor's tests and callers; the rule lives in `src/record-fields.ts`. */
export { obfuscateApiKey };

function isB64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

/**
 * Decodes standard, padded base64 exactly when Go's `base64.StdEncoding.DecodeString` accepts it (CR/LF
 * ignored, length a multiple of 4, `=` only as final padding); returns undefined otherwise, in which case
 * Tyk keeps the original text. The bytes become text as UTF-8, invalid sequences as U+FFFD (what Tyk's
 * JSON pumps print for Go's byte string).
 */
export function decodeBase64Text(value: string): string | undefined {
  if (value === '') return '';
  let s = value;
  if (s.includes('\n') || s.includes('\r')) s = s.replace(/[\r\n]/g, '');
  const n = s.length;
  if (n % 4 !== 0) return undefined;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) === 61) pad = s.charCodeAt(n - 2) === 61 ? 2 : 1;
  for (let i = 0; i < n - pad; i++) if (!isB64Char(s.charCodeAt(i))) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/** What `redactRecord` did to one record, for counting. */
export interface RedactOutcome {
  /** Raw fields that were not valid base64 and were left as they were (0, 1 or 2). */
  decodeFailures: number;
}

/** The config compiled for the hot path. */
export interface CompiledRedaction {
  readonly omit: boolean;
  readonly maxSize: number;
  readonly ignore: readonly AnalyticsJsonField[];
  readonly ignoreApiKey: boolean;
  readonly ignoreRawRequest: boolean;
  readonly ignoreRawResponse: boolean;
  readonly ignoreTags: boolean;
  readonly obfuscate: boolean;
  readonly dropKeyTags: boolean;
  readonly decodeRequest: boolean;
  readonly decodeResponse: boolean;
  /** False when the config changes nothing. */
  readonly active: boolean;
}

/** Compiles the config. */
export function compileRedaction(config: RedactConfig): CompiledRedaction {
  const ignore = config.ignore_fields;
  return {
    omit: config.omit_detailed_recording,
    maxSize: config.max_record_size,
    ignore,
    ignoreApiKey: ignore.includes('api_key'),
    ignoreRawRequest: ignore.includes('raw_request'),
    ignoreRawResponse: ignore.includes('raw_response'),
    ignoreTags: ignore.includes('tags'),
    obfuscate: config.obfuscate_api_keys,
    dropKeyTags: config.drop_key_tags,
    decodeRequest: config.raw_request_decoded,
    decodeResponse: config.raw_response_decoded,
    active:
      config.omit_detailed_recording || config.max_record_size > 0 || ignore.length > 0 || config.obfuscate_api_keys ||
      config.drop_key_tags || config.raw_request_decoded || config.raw_response_decoded,
  };
}

function redactRaw(value: string, c: CompiledRedaction, ignored: boolean, decode: boolean, out: RedactOutcome): string {
  if (ignored || c.omit || value === '') return '';
  let v = value;
  let cut = false;
  if (c.maxSize > 0) {
    const trimmed = trimToBytes(v, c.maxSize);
    cut = trimmed.length !== v.length;
    v = trimmed;
  }
  if (!decode) return v;
  // Our one departure from Tyk: a base64 text we cut mid-quantum is decoded up to its last whole
  // quantum, instead of failing to decode and staying base64 (Tyk's output would then flip between
  // text and base64 depending on max_record_size % 4).
  const whole = cut && v.length % 4 !== 0 ? v.slice(0, v.length - (v.length % 4)) : v;
  const text = decodeBase64Text(whole);
  if (text === undefined) {
    out.decodeFailures++;
    return v;
  }
  return text;
}

function redactTags(tags: readonly string[], c: CompiledRedaction): readonly string[] {
  let out: string[] | undefined;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i] as string;
    if (!t.startsWith('key-')) {
      out?.push(t);
      continue;
    }
    out ??= tags.slice(0, i);
    if (!c.dropKeyTags) out.push(`key-${obfuscateApiKey(t.slice(4))}`);
  }
  return out ?? tags;
}

/** Applies the redaction to one analytics record; returns the same object when nothing changes. */
export function redactRecord(r: AnalyticsRecord, c: CompiledRedaction, outcome: RedactOutcome): AnalyticsRecord {
  const rawRequest = redactRaw(r.rawRequest, c, c.ignoreRawRequest, c.decodeRequest, outcome);
  const rawResponse = redactRaw(r.rawResponse, c, c.ignoreRawResponse, c.decodeResponse, outcome);
  const apiKey = c.ignoreApiKey ? '' : c.obfuscate ? obfuscateApiKey(r.apiKey) : r.apiKey;
  const tags = c.ignoreTags || !(c.obfuscate || c.dropKeyTags) ? r.tags : redactTags(r.tags, c);
  if (c.ignore.length > 0) {
    const z = withFieldsZeroed(r, c.ignore) as { -readonly [K in keyof AnalyticsRecord]: AnalyticsRecord[K] };
    z.rawRequest = rawRequest;
    z.rawResponse = rawResponse;
    z.apiKey = apiKey;
    if (!c.ignoreTags) z.tags = tags;
    return z;
  }
  if (rawRequest === r.rawRequest && rawResponse === r.rawResponse && apiKey === r.apiKey && tags === r.tags) return r;
  return { ...r, rawRequest, rawResponse, apiKey, tags };
}

/** records → records: trims and redacts fields, forwarding a new batch. */
export class RedactProcessor implements Processor<'records'> {
  private readonly compiled: CompiledRedaction;
  private readonly decodeFailures;
  private readonly burst: BurstLogger;
  private readonly outcome: RedactOutcome = { decodeFailures: 0 };

  constructor(
    private readonly ctx: ComponentContext,
    config: RedactConfig,
    private readonly next: Consumer<'records'>,
  ) {
    this.compiled = compileRedaction(config);
    this.burst = new BurstLogger(ctx.logger);
    this.decodeFailures = ctx.telemetry.meter.createCounter('processor.redact.decode_failures', {
      description: 'raw_request/raw_response values that were not valid base64 and were forwarded undecoded.',
      unit: '{field}',
    });
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    this.ctx.telemetry.accepted(batch.length);
    if (batch.length === 0) return;
    if (!this.compiled.active) {
      await this.next.consume(batch.slice(), bctx);
      return;
    }
    const out = new Array<TykRecord>(batch.length);
    const outcome = this.outcome;
    outcome.decodeFailures = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as TykRecord;
      out[i] = r.kind === 'uptime' ? r : redactRecord(r, this.compiled, outcome);
    }
    if (outcome.decodeFailures > 0) {
      this.decodeFailures.add(outcome.decodeFailures, { processor: this.ctx.id });
      this.burst.log('warn', { fields: outcome.decodeFailures }, 'raw request/response is not valid base64; forwarded undecoded');
    }
    await this.next.consume(out, bctx);
  }
}
