/**
 * The top-level `slos:` section: one list of SLO definitions read by the `slo` processor (live burn-rate
 * gauges) and by `tyk-otel-pump slo-rules` (Prometheus rules, Datadog SLOs). This file holds its schema,
 * the resolved form both consumers use ({@link Slo}), and the cross-section checks against the `sli`
 * processor's config (latency thresholds must be histogram bucket boundaries, selectors must use
 * attributes the metrics carry).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { compileErrorDefinition, errorDefinitionSchema, type ErrorDefinition } from '../error-definition.js';
import { HTTP_METHODS } from '../record-fields.js';
import type { Factory } from '../component.js';
import type { HttpAttribute, SliMetric } from '../../processors/sli/config.js';
import { configsOf, defaultConfigOf, type ComponentView } from './components.js';
import { errorBudget, objectiveRatio, periodDays, periodWindow, SLO_PERIODS, type SloPeriod, type SloWindow } from './windows.js';


const SLO_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ALERT_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Labels the generated rules set themselves; users may not override them. */
const RESERVED_LABELS = new Set(['alertname', 'sloth_id', 'sloth_service', 'sloth_slo', 'sloth_window', 'sloth_severity', 'le']);

const nonEmpty = (what: string) => z.string({ error: `must be ${what}` }).min(1, `must not be empty`);

const labelMap = (what: 'labels' | 'annotations') =>
  z
    .record(z.string(), z.string({ error: 'must be a string' }), { error: `must be a map of ${what}` })
    .superRefine((map, ctx) => {
      for (const key of Object.keys(map)) {
        if (!LABEL_NAME.test(key) || key.startsWith('__')) {
          ctx.addIssue({ code: 'custom', message: `must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`, path: [key], input: key });
        } else if (what === 'labels' && RESERVED_LABELS.has(key)) {
          ctx.addIssue({ code: 'custom', message: 'is set by the generated rules and cannot be overridden', path: [key], input: key });
        }
      }
    })
    .default({});

const stringList = (what: string, doc: string) =>
  z
    .array(nonEmpty(what), { error: `must be a list of ${what}s` })
    .default([])
    .describe(doc);

/** `selector`: which requests the SLO covers. Lists are OR-ed, fields AND-ed; an empty selector covers all HTTP traffic. */
export const selectorSchema = z
  .strictObject({
    api_ids: stringList('an API id', 'Tyk API ids (tyk.api.id); any of them.'),
    api_names: stringList('an API name', 'Tyk API names (tyk.api.name); any of them.'),
    org_ids: stringList('an org id', 'Tyk organisation ids (tyk.org.id); any of them.'),
    routes: stringList('a route template', 'Route templates set by the route processor (http.route), e.g. /orders/{id}; any of them.'),
    methods: z
      .array(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }), { error: 'must be a list of HTTP methods' })
      .default([])
      .describe('HTTP methods (upper case); any of them.'),
  })
  .describe('Which requests the SLO covers: fields are AND-ed, the values of one field OR-ed; empty = every HTTP request.');

/** `sli`: what a good request is. */
export const sliSchema = z
  .strictObject({
    type: z.enum(['availability', 'latency']).describe('availability: bad = an error per the error definition. latency: good = total latency <= threshold_seconds.'),
    threshold_seconds: z
      .number({ error: 'must be a number of seconds' })
      .positive('must be greater than 0')
      .optional()
      .describe('latency only: requests whose total latency is at most this many seconds are good. Must be a bucket boundary of the sli processor histograms.'),
    error_definition: errorDefinitionSchema
      .optional()
      .describe('availability only: overrides the top-level error_definition for this SLO (same keys).'),
  })
  .superRefine((s, ctx) => {
    if (s.type === 'latency' && s.threshold_seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must set threshold_seconds for a latency SLI', input: s });
    }
    if (s.type === 'availability' && s.threshold_seconds !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'only applies to a latency SLI (remove it or set type: latency)', path: ['threshold_seconds'], input: s.threshold_seconds });
    }
    if (s.type === 'latency' && s.error_definition !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'only applies to an availability SLI (a latency SLI counts slow requests)', path: ['error_definition'], input: s.error_definition });
    }
  })
  .describe('The service level indicator.');

const alertToggle = (severity: 'page' | 'ticket', doc: string) =>
  z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(true).describe(`Generate the ${severity} alert.`),
      labels: labelMap('labels').describe(`Extra labels of the ${severity} alert only.`),
      annotations: labelMap('annotations').describe(`Extra annotations of the ${severity} alert only.`),
    })
    .prefault({})
    .describe(doc);

/** `alerting`: names, labels and annotations of the generated alerts. */
export const alertingSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be an alert name' })
      .regex(ALERT_NAME, 'must be a Prometheus alert name ([a-zA-Z_:][a-zA-Z0-9_:]*)')
      .optional()
      .describe('Alert name of both severities (told apart by sloth_severity); default: the SLO name in PascalCase + "ErrorBudgetBurn".'),
    labels: labelMap('labels').describe('Extra labels of both alerts (e.g. team, routing keys).'),
    annotations: labelMap('annotations').describe('Extra annotations of both alerts (e.g. runbook_url); they override the defaults (title, summary, description).'),
    page_alert: alertToggle('page', 'Fast burn (14.4× over 1h and 5m, or 6× over 6h and 30m, for 30d): wakes someone up.'),
    ticket_alert: alertToggle('ticket', 'Slow burn (3× over 1d and 2h, or 1× over 3d and 6h, for 30d): a ticket for working hours.'),
  })
  .prefault({})
  .describe('Multi-window multi-burn-rate alerts.');

/** One SLO. */
export const sloSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be a name' })
      .regex(SLO_NAME, 'must contain only letters, digits, _, - and . and start with a letter or digit')
      .max(100, 'must be at most 100 characters long')
      .describe('Unique name (sloth_slo label, tyk.slo.name attribute).'),
    description: z.string({ error: 'must be a string' }).default('').describe('What the SLO promises, for humans (alert description, Datadog).'),
    service: z
      .string({ error: 'must be a string' })
      .regex(SLO_NAME, 'must contain only letters, digits, _, - and . and start with a letter or digit')
      .default('tyk')
      .describe('Service the SLO belongs to (sloth_service label; sloth_id is <service>-<name>).'),
    objective: z
      .number({ error: 'must be a percentage' })
      .refine((n) => n > 0 && n < 100, { message: 'must be between 0 and 100 (exclusive)' })
      .describe('Target share of good requests over the window, in percent (99.9).'),
    window: z
      .enum(SLO_PERIODS, { error: `must be one of ${SLO_PERIODS.join(', ')}` })
      .default('30d')
      .describe(`Rolling SLO period: ${SLO_PERIODS.join(', ')}. Alert factors are scaled to it.`),
    selector: selectorSchema.prefault({}),
    sli: sliSchema,
    labels: labelMap('labels').describe('Labels added to every generated rule and alert (and Datadog tags).'),
    alerting: alertingSchema,
  })
  .describe('A service level objective.');

/** Names must be unique; checked even when other items are invalid, so one run reports everything. */
function uniqueNames() {
  const check = z.superRefine<SloConfig[]>((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const name = (item as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', message: `must be unique (slos[${first}] has the same name)`, path: [i, 'name'], input: name });
      } else seen.set(name, i);
    });
  });
  check._zod.def.when = (payload) => Array.isArray(payload.value);
  return check;
}

/** The `slos` section: a list of SLOs with unique names. */
export const slosSchema = z
  .array(sloSchema, { error: 'must be a list of SLOs' })
  .check(uniqueNames())
  .default([])
  .describe('Service level objectives, read by the slo processor and by `tyk-otel-pump slo-rules`.');

/** One SLO as written in the config (defaults applied). */
export type SloConfig = z.infer<typeof sloSchema>;

/** The SLI of a resolved SLO. */
export type ResolvedSli =
  | {
      readonly type: 'availability';
      /** The error definition in force for this SLO (its own override, else the top-level one). */
      readonly errorDefinition: ErrorDefinition;
      /** Whether the SLO overrides the top-level error definition. */
      readonly overridden: boolean;
    }
  | { readonly type: 'latency'; readonly thresholdSeconds: number };

/** An SLO ready for use: derived ratios, windows and ids computed once. */
export interface Slo {
  readonly name: string;
  readonly description: string;
  readonly service: string;
  /** `<service>-<name>` (sloth_id). */
  readonly id: string;
  /** Objective in percent, as configured (99.9). */
  readonly objective: number;
  /** Objective as a ratio (0.999). */
  readonly objectiveRatio: number;
  /** Error budget as a ratio (0.001). */
  readonly budget: number;
  readonly period: SloPeriod;
  readonly periodDays: number;
  /** The full-period window (`30d`, `4w`, …). */
  readonly periodWindow: SloWindow;
  readonly selector: SloConfig['selector'];
  readonly sli: ResolvedSli;
  readonly labels: Readonly<Record<string, string>>;
  readonly alerting: SloConfig['alerting'];
  /**
   * Short hash of what decides which requests are counted and how (selector, SLI type, threshold, error
   * definition). The `slo` processor keys its Redis state with it, so changing an SLO's meaning starts a
   * fresh count while changing only its objective, window or alerts keeps the history.
   */
  readonly countingHash: string;
  /** The config it was resolved from. */
  readonly config: SloConfig;
}

/** The set of status codes 100-599 an error definition counts as bad, as a sorted list. */
export function badStatusCodes(def: ErrorDefinition): number[] {
  const out: number[] = [];
  for (let code = 100; code < 600; code++) if (def.isBad(code)) out.push(code);
  return out;
}

/** Whether two error definitions count exactly the same status codes as bad. */
export function sameErrorDefinition(a: ErrorDefinition, b: ErrorDefinition): boolean {
  for (let code = 100; code < 600; code++) if (a.isBad(code) !== b.isBad(code)) return false;
  return true;
}

/** Resolves the parsed `slos` section against the top-level error definition. */
export function resolveSlos(configs: readonly SloConfig[], globalErrors: ErrorDefinition): Slo[] {
  return configs.map((c) => {
    const sli: ResolvedSli =
      c.sli.type === 'latency'
        ? { type: 'latency', thresholdSeconds: c.sli.threshold_seconds as number }
        : {
            type: 'availability',
            errorDefinition: c.sli.error_definition ? compileErrorDefinition(c.sli.error_definition) : globalErrors,
            overridden: c.sli.error_definition !== undefined,
          };
    const counting = JSON.stringify({
      selector: c.selector,
      sli: sli.type === 'latency' ? { type: 'latency', threshold: sli.thresholdSeconds } : { type: 'availability', bad: badStatusCodes(sli.errorDefinition) },
    });
    return {
      name: c.name,
      description: c.description,
      service: c.service,
      id: `${c.service}-${c.name}`,
      objective: c.objective,
      objectiveRatio: objectiveRatio(c.objective),
      budget: errorBudget(c.objective),
      period: c.window,
      periodDays: periodDays(c.window),
      periodWindow: periodWindow(c.window),
      selector: c.selector,
      sli,
      labels: c.labels,
      alerting: c.alerting,
      countingHash: createHash('sha256').update(counting).digest('hex').slice(0, 8),
      config: c,
    };
  });
}

/** What a cross-section check sees of the rest of the validated config. */
export interface CrossCheckInput {
  /** Every validated component, by id. */
  readonly components: ReadonlyMap<string, ComponentView>;
  /** The registered factories (for the defaults of a component that is not configured). */
  readonly factories: readonly Factory[];
  /** Every parsed shared section, by YAML key (undefined where the section itself was invalid). */
  readonly sections: Readonly<Record<string, unknown>>;
  /** The raw top-level sections (after `${env:…}` expansion), to check the valid parts of an invalid section. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Selector fields → the metric attribute they filter on. */
const SELECTOR_ATTRIBUTE: Readonly<Record<keyof SloConfig['selector'], HttpAttribute>> = {
  api_ids: 'tyk.api.id',
  api_names: 'tyk.api.name',
  org_ids: 'tyk.org.id',
  routes: 'http.route',
  methods: 'http.request.method',
};

function formatList(values: readonly number[]): string {
  return values.map((v) => String(v)).join(', ');
}

/**
 * Checks the `slos` section against the `sli` processors (the metrics the Prometheus rules query) and the
 * `slo` processors (which SLOs they evaluate): latency thresholds must be bucket boundaries of every `sli`
 * processor (or of the default buckets when there is none), selectors must filter on attributes the
 * metrics carry, the metrics the rules query must not be disabled, and `slo` processors may only name
 * defined SLOs.
 */
export function crossCheckSlos(input: CrossCheckInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const parsed = input.sections['slos'] as readonly SloConfig[] | undefined;
  const slos: readonly (SloConfig | undefined)[] = parsed ?? validItems(input.raw['slos']);
  const slis = configsOf(input.components, 'processor/sli');
  const defaults = defaultConfigOf(input.factories, 'processor/sli');
  const bucketSets =
    slis.length > 0
      ? slis.map(([id, c]) => ({ id, buckets: c.buckets }))
      : defaults ? [{ id: '', buckets: defaults.buckets }] : [];

  slos.forEach((slo, i) => {
    if (slo === undefined) return;
    if (slo.sli.type === 'latency' && slo.sli.threshold_seconds !== undefined) {
      const t = slo.sli.threshold_seconds;
      for (const { id, buckets } of bucketSets) {
        if (!buckets.includes(t)) {
          const source = id === '' ? 'the default histogram buckets (no sli processor is configured)' : `processors::${id}::buckets`;
          problems.push({
            path: `slos[${i}]::sli::threshold_seconds`,
            message: `must be a histogram bucket boundary of ${source}: one of ${formatList(buckets)}`,
            got: String(t),
          });
        }
      }
    }
    for (const [id, view] of slis) {
      for (const [field, attribute] of Object.entries(SELECTOR_ATTRIBUTE) as [keyof SloConfig['selector'], HttpAttribute][]) {
        if (slo.selector[field].length > 0 && !view.attributes.includes(attribute)) {
          problems.push({
            path: `slos[${i}]::selector::${field}`,
            message: `needs the ${attribute} attribute on the metrics, but processors::${id}::attributes does not include it`,
          });
        }
      }
      const metric: SliMetric = slo.sli.type === 'latency' ? 'http.server.request.duration' : 'tyk.api.requests';
      if (view.disabled_metrics.includes(metric)) {
        problems.push({
          path: `slos[${i}]::sli::type`,
          message: `${slo.sli.type === 'availability' ? 'an' : 'a'} ${slo.sli.type} SLI is computed from ${metric}, but processors::${id}::disabled_metrics disables it`,
        });
      }
    }
  });

  // Names as written, so an SLO that is itself invalid is not reported again as unknown here.
  const rawList: readonly unknown[] = Array.isArray(input.raw['slos']) ? (input.raw['slos'] as unknown[]) : [];
  const names = new Set(parsed ? parsed.map((s) => s.name) : rawList.map((s) => (s as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string'));
  for (const [id, c] of configsOf(input.components, 'processor/slo')) {
    c.slos.forEach((name, j) => {
      if (!names.has(name)) {
        problems.push({
          path: `processors::${id}::slos[${j}]`,
          message: names.size === 0 ? 'names an SLO, but the top-level slos section defines none' : `must name an SLO defined under slos (known: ${[...names].join(', ')})`,
          got: JSON.stringify(name),
        });
      }
    });
  }
  return problems;
}

/** The items of an invalid `slos` list that are valid on their own (the others are reported already). */
function validItems(raw: unknown): (SloConfig | undefined)[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const r = sloSchema.safeParse(item);
    return r.success ? r.data : undefined;
  });
}
