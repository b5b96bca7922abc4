/**
 * Datadog metric-based SLO definitions (the body of `POST /api/v1/slo`) for the SLOs of the config, over
 * what the `dogstatsd` exporter sends: `<ns>.requests` / `<ns>.requests.good` counters for availability,
 * and threshold counts on the `<ns>.request.duration.total` distribution for latency
 * (`count(v: v<=0.25):…` — needs percentiles/threshold queries enabled on that metric in Datadog).
 *
 * The exporter's settings are read through its exported config type (`namespace`, `tag_set`, `latencies`,
 * `duration_unit`, `error_definition`), so renaming one of them breaks the type-check here.
 */
import type { DogStatsdConfig } from '../../exporters/dogstatsd/config.js';
import { compileErrorDefinition, type ErrorDefinition } from '../error-definition.js';
import { badStatusCodes, sameErrorDefinition, type Slo } from './definition.js';
import { round12, type SloPeriod } from './windows.js';

/** The parts of a `dogstatsd` exporter config the generator uses. */
export interface DogStatsdView {
  readonly namespace: string;
  readonly tagSet: readonly string[];
  readonly latencies: readonly string[];
  readonly durationUnit: 'seconds' | 'milliseconds';
  /** The exporter's own error definition (its override, else the top-level one). */
  readonly errorDefinition: ErrorDefinition;
}

/** Reads a `dogstatsd` exporter config (parsed, defaults applied) into a view. */
export function dogStatsdView(config: DogStatsdConfig, topLevel: ErrorDefinition): DogStatsdView {
  return {
    namespace: config.namespace,
    tagSet: config.tag_set,
    latencies: config.latencies,
    durationUnit: config.duration_unit,
    errorDefinition: config.error_definition ? compileErrorDefinition(config.error_definition) : topLevel,
  };
}

/** A Datadog SLO definition (API v1, `type: metric`). */
export interface DatadogSlo {
  readonly type: 'metric';
  readonly name: string;
  readonly description: string;
  readonly query: { readonly numerator: string; readonly denominator: string };
  readonly thresholds: readonly { readonly timeframe: '7d' | '30d' | '90d'; readonly target: number }[];
  readonly tags: readonly string[];
}

/** Result: definitions, plus problems (an SLO that cannot be expressed) and warnings. */
export interface DatadogResult {
  readonly slos: readonly DatadogSlo[];
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Datadog's tag normalisation, applied so queries match what intake stores: lower case, and every
 * character other than letters, digits, `_ - : . /` becomes `_` (`Orders API` → `orders_api`,
 * `/orders/{id}` → `/orders/_id_`).
 */
export function datadogTagValue(value: string): string {
  return value.toLowerCase().replace(/[^\p{L}\p{N}_\-:./]/gu, '_');
}

const SELECTOR_TAGS = [
  ['api_ids', 'api_id'],
  ['api_names', 'api_name'],
  ['org_ids', 'org_id'],
  ['routes', 'route'],
  ['methods', 'method'],
] as const;

function anyOf(tag: string, values: readonly string[]): string {
  const terms = values.map((v) => `${tag}:${datadogTagValue(v)}`);
  return terms.length === 1 ? (terms[0] as string) : `(${terms.join(' OR ')})`;
}

/** A Datadog filter for the bad status codes of a definition: whole classes by `status_class`, the rest by `status_code`. */
export function badStatusFilter(def: ErrorDefinition): string | undefined {
  const bad = new Set(badStatusCodes(def));
  if (bad.size === 0) return undefined;
  const terms: string[] = [];
  const codes: number[] = [];
  for (let h = 1; h <= 5; h++) {
    const inClass: number[] = [];
    for (let c = h * 100; c < h * 100 + 100; c++) if (bad.has(c)) inClass.push(c);
    if (inClass.length === 100) terms.push(`status_class:${h}xx`);
    else if (inClass.length >= 50) {
      const excluded: number[] = [];
      for (let c = h * 100; c < h * 100 + 100; c++) if (!bad.has(c)) excluded.push(c);
      terms.push(`(status_class:${h}xx AND NOT status_code IN (${excluded.join(', ')}))`);
    } else codes.push(...inClass);
  }
  if (codes.length > 0) terms.push(codes.length === 1 ? `status_code:${codes[0] as number}` : `status_code IN (${codes.join(', ')})`);
  return terms.length === 1 ? (terms[0] as string) : `(${terms.join(' OR ')})`;
}

function timeframe(period: SloPeriod): '7d' | '30d' | '90d' {
  return period === '7d' ? '7d' : period === '90d' ? '90d' : '30d';
}

/** Datadog SLO definitions for `slos`, over the metrics of the dogstatsd exporter described by `view`. */
export function datadogSlos(slos: readonly Slo[], view: DogStatsdView): DatadogResult {
  const out: DatadogSlo[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const ns = view.namespace;
  for (const slo of slos) {
    const terms: string[] = [];
    let ok = true;
    for (const [field, tag] of SELECTOR_TAGS) {
      const values = slo.selector[field];
      if (values.length === 0) continue;
      if (!view.tagSet.includes(tag)) {
        problems.push(`${slo.name}: the selector uses ${field}, but the dogstatsd exporter does not send the ${tag} tag (add it to tag_set)`);
        ok = false;
        continue;
      }
      terms.push(anyOf(tag, values));
    }
    const filter = (extra: string[] = []) => {
      const all = [...terms, ...extra];
      return all.length === 0 ? '*' : all.join(' AND ');
    };
    let query: DatadogSlo['query'] | undefined;
    if (slo.sli.type === 'availability') {
      const total = `sum:${ns}.requests{${filter()}}.as_count()`;
      if (sameErrorDefinition(slo.sli.errorDefinition, view.errorDefinition)) {
        query = { numerator: `sum:${ns}.requests.good{${filter()}}.as_count()`, denominator: total };
      } else {
        // The SLO counts other codes as bad than the exporter's requests.good/bad: subtract its own bad codes.
        const bad = badStatusFilter(slo.sli.errorDefinition);
        const needs = bad?.includes('status_class:') ? ['status_class'] : [];
        if (bad?.includes('status_code')) needs.push('status_code');
        const missing = needs.filter((t) => !view.tagSet.includes(t));
        if (missing.length > 0) {
          problems.push(`${slo.name}: its own error_definition needs the ${missing.join(' and ')} tag(s) on the dogstatsd metrics (add them to tag_set)`);
          ok = false;
        } else {
          query = {
            numerator: bad === undefined ? total : `${total} - sum:${ns}.requests{${filter([bad])}}.as_count()`,
            denominator: total,
          };
        }
      }
    } else {
      if (!view.latencies.includes('total')) {
        problems.push(`${slo.name}: a latency SLO counts ${ns}.request.duration.total, but the dogstatsd exporter's latencies do not include total`);
        ok = false;
      } else {
        const threshold = round12(view.durationUnit === 'milliseconds' ? slo.sli.thresholdSeconds * 1000 : slo.sli.thresholdSeconds);
        const metric = `${ns}.request.duration.total{${filter()}}`;
        query = { numerator: `count(v: v<=${threshold}):${metric}.as_count()`, denominator: `count:${metric}.as_count()` };
        warnings.push(`${slo.name}: a latency SLO counts values of the ${ns}.request.duration.total distribution; enable percentiles and threshold queries on that metric in Datadog`);
      }
    }
    if (slo.period === '28d') warnings.push(`${slo.name}: Datadog SLO timeframes are 7d, 30d and 90d; the 28d window is sent as 30d`);
    if (!ok || !query) continue;
    out.push({
      type: 'metric',
      name: slo.name,
      description: slo.description,
      query,
      thresholds: [{ timeframe: timeframe(slo.period), target: slo.objective }],
      tags: [`service:${datadogTagValue(slo.service)}`, `slo:${datadogTagValue(slo.name)}`, ...Object.entries(slo.labels).map(([k, v]) => `${k.toLowerCase()}:${datadogTagValue(v)}`)],
    });
  }
  return { slos: out, problems, warnings };
}
