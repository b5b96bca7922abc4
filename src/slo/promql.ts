/**
 * PromQL building blocks for the SLO rules: the agreed Prometheus names of the `sli` processor's metrics
 * (as the `prometheus` exporter serves them), safe quoting of label values (API ids and names may contain
 * quotes, backslashes, `--` or non-ASCII text), RE2 escaping for multi-value selectors, and a compact
 * status-code regex for an error definition.
 */
import type { ErrorDefinition } from '../error-definition.js';
import { badStatusCodes } from './definition.js';
import type { Slo } from './definition.js';

/** Prometheus metric names the SLO rules query (the agreed names of the `sli` processor's metrics). */
export const PROM_METRICS = {
  /** `tyk.api.requests`: one per HTTP record. */
  requests: 'tyk_api_requests_total',
  /** `http.server.request.duration` buckets (seconds, `le` printed with `String(n)`). */
  durationBucket: 'http_server_request_duration_seconds_bucket',
  durationCount: 'http_server_request_duration_seconds_count',
} as const;

/** Prometheus label names of the metric attributes the selectors use. */
export const PROM_LABELS = {
  apiId: 'tyk_api_id',
  apiName: 'tyk_api_name',
  orgId: 'tyk_org_id',
  route: 'http_route',
  method: 'http_request_method',
  status: 'http_response_status_code',
  errorType: 'error_type',
} as const;

/** A PromQL double-quoted string literal (Go escapes: `\\`, `\"`, `\n`, `\uXXXX`). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** Escapes RE2 metacharacters (Go's `regexp.QuoteMeta`). */
export function quoteMeta(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** `label="v"` for one value, `label=~"a|b"` (each value escaped) for several. */
export function matcher(label: string, values: readonly string[]): string {
  if (values.length === 1) return `${label}=${promString(values[0] as string)}`;
  return `${label}=~${promString(values.map(quoteMeta).join('|'))}`;
}

/** The label matchers of an SLO's selector, in a stable order. */
export function selectorMatchers(slo: Pick<Slo, 'selector'>): string[] {
  const s = slo.selector;
  const out: string[] = [];
  if (s.api_ids.length > 0) out.push(matcher(PROM_LABELS.apiId, s.api_ids));
  if (s.api_names.length > 0) out.push(matcher(PROM_LABELS.apiName, s.api_names));
  if (s.org_ids.length > 0) out.push(matcher(PROM_LABELS.orgId, s.org_ids));
  if (s.routes.length > 0) out.push(matcher(PROM_LABELS.route, s.routes));
  if (s.methods.length > 0) out.push(matcher(PROM_LABELS.method, s.methods));
  return out;
}

/** `{a="1",b=~"x|y"}` (or `` when there are no matchers). */
export function braces(matchers: readonly string[]): string {
  return matchers.length === 0 ? '' : `{${matchers.join(',')}}`;
}

/**
 * A compact RE2 pattern matching exactly the status codes an error definition counts as bad:
 * whole classes as `5..`, whole decades as `5[1-9].`, the rest as digit classes (`50[02-9]`).
 * Prometheus anchors label regexes, so `5..` cannot match `1500`. Undefined when no code is bad.
 */
export function statusCodeRegex(def: ErrorDefinition): string | undefined {
  const bad = new Set(badStatusCodes(def));
  if (bad.size === 0) return undefined;
  const parts: string[] = [];
  for (let h = 1; h <= 5; h++) {
    const base = h * 100;
    let all = true;
    for (let c = base; c < base + 100; c++) if (!bad.has(c)) all = false;
    if (all) {
      parts.push(`${h}..`);
      continue;
    }
    const fullDecades: number[] = [];
    const partial: string[] = [];
    for (let t = 0; t < 10; t++) {
      const digits: number[] = [];
      for (let u = 0; u < 10; u++) if (bad.has(base + t * 10 + u)) digits.push(u);
      if (digits.length === 10) fullDecades.push(t);
      else if (digits.length > 0) partial.push(`${h}${t}${oneOf(digits)}`);
    }
    parts.push(...partial);
    if (fullDecades.length > 0) parts.push(`${h}${oneOf(fullDecades)}.`);
  }
  return parts.join('|');
}

/** `[7]` → `7`, `[0,2,3,4,9]` → `[02-49]`. */
function oneOf(digits: readonly number[]): string {
  return digits.length === 1 ? String(digits[0]) : `[${digitClass(digits)}]`;
}

/** `[0,2,3,4,9]` → `02-49`. */
function digitClass(digits: readonly number[]): string {
  let out = '';
  for (let i = 0; i < digits.length; ) {
    let j = i;
    while (j + 1 < digits.length && (digits[j + 1] as number) === (digits[j] as number) + 1) j++;
    const from = digits[i] as number;
    const to = digits[j] as number;
    out += to - from >= 2 ? `${from}-${to}` : to === from ? `${from}` : `${from}${to}`;
    i = j + 1;
  }
  return out;
}
