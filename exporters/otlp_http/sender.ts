/**
 * One OTLP/HTTP attempt and its classification, plus the backoff policy. We send ourselves (node:http)
 * instead of through the SDK exporters because the SDK's `export(items, callback)` reports only
 * success/failure: it retries internally (in memory, within its timeout), hides the HTTP status and
 * `Retry-After` from the caller, and re-serialises on every call, so it can neither drive a collector-like
 * retry/queue/spool nor tell the at-least-once receiver whether a failure is retryable. The request bodies
 * are still produced by the SDK's own serializers (`@opentelemetry/otlp-transformer`).
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { VERSION } from '../../src/version.js';
import { MAX_TIMER_MS } from '../../src/config/schema.js';
import type { RetryConfig } from './config.js';

/** Wire format of a request body. */
export type BodyFormat = 'proto' | 'json';

/** One encoded OTLP export request, ready to send (and to spool). */
export interface EncodedRequest {
  readonly signal: 'logs' | 'metrics';
  /** The body as sent: already gzip-compressed when `gzip`. */
  readonly body: Buffer;
  readonly format: BodyFormat;
  readonly gzip: boolean;
  /** Log records or metric data points in the request (for counting). */
  readonly items: number;
}

/** What one attempt came to. */
export type SendOutcome =
  | {
      readonly kind: 'success';
      readonly status: number;
      /** Items the endpoint reported as rejected (OTLP partial success). */
      readonly rejected: number;
      readonly message: string;
    }
  | {
      readonly kind: 'retryable' | 'permanent';
      /** HTTP status, or undefined for network errors and timeouts. */
      readonly status: number | undefined;
      /** Server-requested wait (Retry-After), ms. */
      readonly retryAfterMs: number | undefined;
      /** Stable snake_case word for counters: `http_503`, `timeout`, `network`. */
      readonly reason: string;
      /** Short human-readable detail (server message or error code); never contains our headers. */
      readonly message: string;
    };

const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 300;
const USER_AGENT = `tyk-otel-pump/${VERSION}`;

/** Whether an HTTP status may succeed when retried: 408, 429, and 5xx except 501 and 505. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * Parses `Retry-After` (delay-seconds or an HTTP date) to ms; undefined when absent or invalid. Capped at
 * the longest delay a timer holds ({@link MAX_TIMER_MS}), since a longer one would fire after 1 ms.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const text = v.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_TIMER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_TIMER_MS);
}

/** Reads the `message` (field 2) of a protobuf `google.rpc.Status`; '' when it is not one. */
function statusMessage(buf: Buffer): string {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length || shift > 35) throw new RangeError('bad varint');
      const b = buf[pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  try {
    while (pos < buf.length) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 2) {
        const len = varint();
        if (pos + len > buf.length) return '';
        if (field === 2) return buf.subarray(pos, pos + len).toString('utf8');
        pos += len;
      } else return '';
    }
  } catch {
    return '';
  }
  return '';
}

function errorText(res: IncomingMessage, body: Buffer): string {
  const type = String(res.headers['content-type'] ?? '');
  let text = '';
  if (type.includes('protobuf')) text = statusMessage(body);
  else if (type.includes('json')) {
    try {
      const j = JSON.parse(body.toString('utf8')) as { message?: unknown };
      text = typeof j.message === 'string' ? j.message : body.toString('utf8');
    } catch {
      text = body.toString('utf8');
    }
  } else text = body.toString('utf8');
  text = text.replace(/\s+/g, ' ').trim();
  if (text === '') text = res.statusMessage ?? '';
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

function partialSuccess(signal: EncodedRequest['signal'], format: BodyFormat, body: Buffer): { rejected: number; message: string } {
  if (body.length === 0) return { rejected: 0, message: '' };
  try {
    if (format === 'json') {
      const j = JSON.parse(body.toString('utf8')) as { partialSuccess?: { rejectedLogRecords?: unknown; rejectedDataPoints?: unknown; errorMessage?: unknown } };
      const p = j.partialSuccess;
      return { rejected: Number(p?.rejectedLogRecords ?? p?.rejectedDataPoints ?? 0) || 0, message: typeof p?.errorMessage === 'string' ? p.errorMessage : '' };
    }
    if (signal === 'logs') {
      const p = ProtobufLogsSerializer.deserializeResponse(body).partialSuccess;
      return { rejected: Number(p?.rejectedLogRecords ?? 0) || 0, message: p?.errorMessage ?? '' };
    }
    const p = ProtobufMetricsSerializer.deserializeResponse(body).partialSuccess;
    return { rejected: Number(p?.rejectedDataPoints ?? 0) || 0, message: p?.errorMessage ?? '' };
  } catch {
    // A 2xx whose body we cannot read is still a success (as in the SDK).
    return { rejected: 0, message: '' };
  }
}

/** Sends encoded requests to one URL. */
export class HttpSender {
  readonly url: string;
  private readonly target: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly timeoutMs: number;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly request: typeof httpRequest;

  constructor(options: { url: string; headers: Readonly<Record<string, string>>; timeoutMs: number; maxSockets: number }) {
    this.url = options.url;
    this.target = new URL(options.url);
    this.headers = options.headers;
    this.timeoutMs = options.timeoutMs;
    const https = this.target.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.request = https ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
  }

  /** One attempt. Never throws: every failure is classified. */
  send(req: EncodedRequest, abort?: AbortSignal): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      let done = false;
      const finish = (o: SendOutcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const headers: Record<string, string | number> = {
        ...this.headers,
        'Content-Type': req.format === 'proto' ? 'application/x-protobuf' : 'application/json',
        'Content-Length': req.body.length,
        'User-Agent': USER_AGENT,
      };
      if (req.gzip) headers['Content-Encoding'] = 'gzip';
      const r = this.request(this.target, { method: 'POST', headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ERROR_BODY_BYTES) chunks.push(c);
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          if (status >= 200 && status < 300) finish({ kind: 'success', status, rejected: 0, message: '' });
          else finish({ kind: 'retryable', status: undefined, retryAfterMs: undefined, reason: 'network', message: err.code ?? err.message });
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (status >= 200 && status < 300) {
            const p = partialSuccess(req.signal, req.format, body);
            finish({ kind: 'success', status, rejected: p.rejected, message: p.message });
            return;
          }
          const retryable = isRetryableStatus(status);
          finish({
            kind: retryable ? 'retryable' : 'permanent',
            status,
            retryAfterMs: retryable ? parseRetryAfter(res.headers['retry-after']) : undefined,
            reason: `http_${status}`,
            message: errorText(res, body),
          });
        });
      });
      const timer = setTimeout(() => {
        r.destroy();
        finish({ kind: 'retryable', status: undefined, retryAfterMs: undefined, reason: 'timeout', message: `no response within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      const onAbort = () => {
        r.destroy();
        finish({ kind: 'retryable', status: undefined, retryAfterMs: undefined, reason: 'aborted', message: 'aborted by shutdown' });
      };
      if (abort?.aborted) return onAbort();
      abort?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err: NodeJS.ErrnoException) => {
        // Connection refused/reset, DNS, TLS: the endpoint may come back, so all of them are retryable.
        finish({ kind: 'retryable', status: undefined, retryAfterMs: undefined, reason: 'network', message: err.code ?? err.message });
      });
      r.end(req.body);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

/** Exponential backoff with jitter, as the Collector's `retry_on_failure` (cenkalti/backoff). */
export class Backoff {
  private interval: number;

  constructor(
    private readonly config: RetryConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.interval = config.initial_interval;
  }

  /** The next wait in ms (randomised around the current interval, which then grows). */
  next(): number {
    const rf = this.config.randomization_factor;
    const delta = rf * this.interval;
    const wait = this.interval - delta + this.random() * 2 * delta;
    this.interval = Math.min(this.interval * this.config.multiplier, this.config.max_interval);
    return Math.max(0, Math.round(wait));
  }

  reset(): void {
    this.interval = this.config.initial_interval;
  }
}
