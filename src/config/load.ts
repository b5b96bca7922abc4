/**
 * Loading and validating `otel-config.yaml`: YAML → `${env:…}` expansion → top-level shape → each
 * component's own schema → shared sections → pipeline graph checks. Every problem is collected in one
 * pass; nothing stops at the first one.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { ConfigError } from '../errors.js';
import type { ComponentKind, Factory, ProcessorSignature } from '../component.js';
import type { Signal } from '../model.js';
import { expandEnv } from './env.js';
import { parseConfigYaml } from './yaml.js';
import { duration, encodeConfig, hostPort, maskCredentials, secret } from './schema.js';
import { configErrorMap, formatPath, issuesToProblems, showValue, suggest } from './problems.js';
import { buildSharedConfig, sharedSectionChecks, sharedSectionSchemas, type SharedConfig } from './shared.js';
import { checkShutdownWaits, checkWorkers, planPipelines } from '../graph-plan.js';

/** Log levels accepted by `service.telemetry.logs.level` (pino's). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const pipelineSchema = z.strictObject({
  receivers: z.array(z.string({ error: 'must be a component id' }), { error: 'must be a list of receiver ids' }).default([]),
  processors: z.array(z.string({ error: 'must be a component id' }), { error: 'must be a list of processor ids' }).default([]),
  exporters: z.array(z.string({ error: 'must be a component id' }), { error: 'must be a list of exporter ids' }).default([]),
});

/** Longest duration Node's timers can hold (2^31 − 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One OTLP/HTTP push exporter of self-telemetry (the Collector's `readers[].periodic.exporter.otlp`). */
const telemetryOtlpSchema = z.strictObject({
  protocol: z.enum(['http/protobuf', 'http/json'], { error: 'must be http/protobuf or http/json (grpc is not supported)' }).default('http/protobuf').describe('OTLP/HTTP encoding.'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://collector:4318/v1/metrics' })
    .describe('Where to POST; a URL without a path gets `/v1/metrics`.'),
  headers: z
    .union([
      z.record(z.string(), secret()),
      z.array(z.strictObject({ name: z.string(), value: secret() })),
    ], { error: 'must be a map of header names to values, or a list of { name, value }' })
    .default({})
    .describe('Extra request headers (values are secrets: never printed).'),
  timeout: duration({ min: 1, max: MAX_TIMER_MS }).prefault('10s').describe('Timeout of one export request.'),
});

/** One push reader of self-telemetry (the Collector's `readers[]` entry; only `periodic` is supported). */
export const telemetryReaderSchema = z.strictObject({
  periodic: z.strictObject({
    interval: z
      .union([z.number().int().min(1000).max(MAX_TIMER_MS), duration({ min: 1000, max: MAX_TIMER_MS })], { error: 'must be a duration such as 60s, or milliseconds' })
      .default(60000)
      .describe('Export interval (a duration, or milliseconds as in the Collector).'),
    exporter: z.strictObject({ otlp: telemetryOtlpSchema }, { error: 'must be { otlp: { … } }' }),
  }),
});

/** Schema of the `service` section. */
export const serviceSchema = z.strictObject({
  pipelines: z.record(z.string(), pipelineSchema.prefault({}), { error: 'must be a map of pipelines' }),
  telemetry: z
    .strictObject({
      logs: z
        .strictObject({
          level: z.enum(LOG_LEVELS).default('info').describe('Log level (env TYK_OTEL_PUMP_LOG_LEVEL wins).'),
          encoding: z.enum(['json']).default('json').describe('json: one object per line on stderr (the only encoding for now).'),
        })
        .prefault({}),
      metrics: z
        .strictObject({
          address: hostPort().default('0.0.0.0:9464').describe('Where /metrics (self-telemetry), /health and /ready are served.'),
          prefix: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus name prefix').default('tyk_otel_pump').describe('Name prefix of self-telemetry metrics.'),
          readers: z
            .array(telemetryReaderSchema, { error: 'must be a list of readers such as { periodic: { exporter: { otlp: { endpoint: … } } } }' })
            .default([])
            .describe('Push readers, as the Collector\'s `service::telemetry::metrics::readers`: each periodically exports self-telemetry over OTLP/HTTP (the pull endpoint stays).'),
        })
        .prefault({}),
      resource: z
        .record(z.string(), z.union([z.string(), z.null()]), { error: 'must be a map of resource attributes' })
        .default({})
        .describe('Resource attributes of self-telemetry, as the Collector\'s `service::telemetry::resource` (null removes a default one).'),
    })
    .prefault({}),
  shutdown_timeout: duration({ min: 1 }).prefault('30s').describe('How long SIGTERM may take to drain and flush before the agent exits anyway.'),
  workers: z
    .number({ error: 'must be a whole number of worker threads (0 = run the pipelines on the main thread)' })
    .int('must be a whole number of worker threads (0 = run the pipelines on the main thread)')
    .min(0, 'must be 0 (the main thread) or more')
    .max(64, 'must be at most 64')
    .default(0)
    .describe('Worker threads that each run the receivers and processors of every pipeline (own Redis connection, claims shared); exporters stay on the main thread. 0: everything on the main thread.'),
});

/** Parsed `service` section. */
export type ServiceConfig = z.infer<typeof serviceSchema>;

/** One defined component, validated. */
export interface ComponentEntry {
  readonly id: string;
  readonly kind: ComponentKind;
  readonly type: string;
  readonly name: string;
  readonly factory: Factory;
  /** The parsed config; undefined when it is invalid (the problems say why). */
  readonly config: unknown;
  /** False when the component's config has problems (it still takes part in graph checks). */
  readonly valid: boolean;
}

/** A pipeline after graph planning: which signal flows between every stage. */
export interface PipelineSpec {
  /** `metrics`, `metrics/name`, … */
  readonly id: string;
  readonly signal: Signal;
  readonly receivers: readonly string[];
  readonly processors: readonly { readonly id: string; readonly signature: ProcessorSignature }[];
  readonly exporters: readonly string[];
}

/** A fully validated configuration. */
export interface ResolvedConfig {
  readonly file: string;
  readonly dir: string;
  readonly components: ReadonlyMap<string, ComponentEntry>;
  readonly pipelines: readonly PipelineSpec[];
  readonly service: ServiceConfig;
  readonly shared: SharedConfig;
  /** The config with defaults applied, as YAML would write it, for `validate --print` (secrets still present: redact before printing). */
  readonly effective: Record<string, unknown>;
}

/** Result of loading: a config when there are no problems; warnings either way. */
export interface LoadResult {
  readonly config: ResolvedConfig | undefined;
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly ConfigProblem[];
}

const SECTIONS = { receivers: 'receiver', processors: 'processor', exporters: 'exporter' } as const;
const ID = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/;

function shapeOf(schema: z.ZodType, path: readonly PropertyKey[]): readonly string[] {
  // Walk the schema along the path to list the keys known at that point (for "did you mean").
  let s: unknown = schema;
  for (const key of path) {
    s = unwrap(s);
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof key === 'string' && key in shape) s = shape[key];
    else {
      const element = (s as { element?: unknown }).element ?? (s as { valueType?: unknown }).valueType;
      if (element === undefined) return [];
      s = element;
    }
  }
  const shape = (unwrap(s) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { innerType?: unknown; in?: unknown; schema?: unknown; type?: string } } | undefined;
  for (let i = 0; i < 10 && cur?.def; i++) {
    const d = cur.def;
    const next = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (next === undefined) break;
    cur = next as typeof cur;
  }
  return cur;
}

/** Parses with our error map and input reporting, returning problems with paths prefixed. */
export function parseWithProblems<T>(
  schema: z.ZodType<T>,
  value: unknown,
  prefix: readonly (string | number)[],
): { value: T | undefined; problems: ConfigProblem[] } {
  const r = schema.safeParse(value, { reportInput: true, error: configErrorMap });
  if (r.success) return { value: r.data, problems: [] };
  return { value: undefined, problems: issuesToProblems(r.error.issues, prefix, (p) => shapeOf(schema, p)) };
}

/**
 * Validates config text. `file` is only used in messages; `dir` resolves relative paths. No problem or
 * warning carries URL credentials (`http://user:pass@host` prints as `http://<redacted>@host`).
 */
export function loadConfigText(
  text: string,
  file: string,
  factories: readonly Factory[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  dir: string = process.cwd(),
): LoadResult {
  const r = loadUnmasked(text, file, factories, env, dir);
  const mask = (p: ConfigProblem): ConfigProblem => ({
    ...p,
    message: maskCredentials(p.message),
    ...(p.got === undefined ? {} : { got: maskCredentials(p.got) }),
  });
  return { config: r.config, problems: r.problems.map(mask), warnings: r.warnings.map(mask) };
}

function loadUnmasked(
  text: string,
  file: string,
  factories: readonly Factory[],
  env: Readonly<Record<string, string | undefined>>,
  dir: string,
): LoadResult {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];

  const yaml = parseConfigYaml(text);
  if (!yaml.ok) return { config: undefined, problems: [yaml.problem], warnings };
  const raw = yaml.value;
  const expanded = expandEnv(raw, env);
  // A value whose expansion failed is reported once, by the expansion problem, not again by its schema.
  const expansionFailed = new Set<string>();
  for (const issue of expanded.issues) {
    (issue.warning ? warnings : problems).push({ path: formatPath(issue.path), message: issue.message });
    if (!issue.warning) expansionFailed.add(formatPath(issue.path));
  }
  const firstExpansionProblems = problems.length;
  const root = expanded.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    problems.push({ path: '', message: 'the config must be a map with receivers, processors, exporters and service', got: showValue(root, []) });
    return { config: undefined, problems, warnings };
  }
  const rootMap = root as Record<string, unknown>;
  const known = ['receivers', 'processors', 'exporters', 'service', ...Object.keys(sharedSectionSchemas)];
  for (const key of Object.keys(rootMap)) {
    if (known.includes(key)) continue;
    if (key === 'extensions' || key === 'connectors') {
      problems.push({ path: key, message: `${key} are not supported by tyk-otel-pump (use processors that convert signals instead)` });
      continue;
    }
    const hint = suggest(key, known);
    problems.push({ path: key, message: hint ? `unknown top-level section (did you mean "${hint}"?)` : `unknown top-level section (known: ${known.join(', ')})` });
  }

  let pipelinesToPlan: ServiceConfig['pipelines'] | undefined;

  // Components.
  const components = new Map<string, ComponentEntry>();
  const effective: Record<string, unknown> = {};
  for (const [section, kind] of Object.entries(SECTIONS) as [keyof typeof SECTIONS, ComponentKind][]) {
    const value = rootMap[section] ?? {};
    effective[section] = {};
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ path: section, message: `must be a map of ${kind} ids to their settings`, got: showValue(value, [section]) });
      continue;
    }
    for (const [id, cfg] of Object.entries(value as Record<string, unknown>)) {
      const m = ID.exec(id);
      if (!m) {
        problems.push({ path: `${section}::${id}`, message: 'invalid component id: must be type or type/name (type: lower-case letters, digits, _; name: letters, digits, _ . -)' });
        continue;
      }
      const type = m[1] ?? '';
      const factory = factories.find((f) => f.kind === kind && f.type === type);
      if (!factory) {
        const types = factories.filter((f) => f.kind === kind).map((f) => f.type);
        const hint = suggest(type, types);
        problems.push({ path: `${section}::${id}`, message: `unknown ${kind} type "${type}"${hint ? ` (did you mean "${hint}"?)` : ''} (known: ${types.join(', ') || 'none'})` });
        continue;
      }
      const parsed = parseWithProblems(factory.configSchema, cfg ?? {}, [section, id]);
      problems.push(...parsed.problems);
      const valid = parsed.value !== undefined;
      components.set(id, { id, kind, type, name: m[2] ?? '', factory, config: parsed.value, valid });
      if (valid) (effective[section] as Record<string, unknown>)[id] = encodeConfig(factory.configSchema, parsed.value);
    }
  }

  // Shared sections.
  const sharedValues: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(sharedSectionSchemas)) {
    const parsed = parseWithProblems(schema as z.ZodType, rootMap[key], [key]);
    problems.push(...parsed.problems);
    sharedValues[key] = parsed.value;
    effective[key] = encodeConfig(schema as z.ZodType, parsed.value);
  }
  // Cross-section checks (e.g. SLO thresholds vs the sli processor's buckets), also when a section is
  // partly invalid, so one run reports everything.
  const validComponents = new Map([...components].filter(([, c]) => c.valid));
  for (const check of Object.values(sharedSectionChecks)) {
    problems.push(...check({ components: validComponents, factories, sections: sharedValues, raw: rootMap }));
  }

  // Service. Pipelines are checked even when another part of `service` is invalid, so one run reports all.
  let service: ServiceConfig | undefined;
  const rawService = rootMap['service'];
  if (rawService === undefined) {
    problems.push({ path: 'service', message: 'is required (it lists the pipelines to run)' });
  } else {
    const parsed = parseWithProblems(serviceSchema, rawService, ['service']);
    service = parsed.value;
    effective['service'] = encodeConfig(serviceSchema, parsed.value);
    if (service) {
      problems.push(...parsed.problems);
    } else {
      const onlyPipelines = parseWithProblems(serviceSchema.pick({ pipelines: true }), { pipelines: (rawService as { pipelines?: unknown } | null)?.pipelines }, ['service']);
      const { pipelines: _ignored, ...others } = (rawService ?? {}) as Record<string, unknown>;
      const rest = parseWithProblems(serviceSchema.omit({ pipelines: true }), others, ['service']);
      problems.push(...onlyPipelines.problems, ...rest.problems);
      if (onlyPipelines.problems.length === 0 && rest.problems.length === 0) problems.push(...parsed.problems);
      pipelinesToPlan = onlyPipelines.value?.pipelines;
    }
  }
  pipelinesToPlan ??= service?.pipelines;

  let pipelines: PipelineSpec[] = [];
  if (pipelinesToPlan) {
    const plan = planPipelines(pipelinesToPlan, rootMap, components, factories);
    problems.push(...plan.problems);
    warnings.push(...plan.warnings);
    pipelines = plan.pipelines;
  }
  if (service) problems.push(...checkShutdownWaits(components, service.shutdown_timeout));
  if (service && service.workers > 0) problems.push(...checkWorkers(pipelines, components));

  if (expansionFailed.size > 0) {
    const kept = problems.filter((p, i) => i < firstExpansionProblems || !expansionFailed.has(p.path));
    problems.length = 0;
    problems.push(...kept);
  }
  if (problems.length > 0 || !service) return { config: undefined, problems, warnings };
  const shared = buildSharedConfig(sharedValues as Parameters<typeof buildSharedConfig>[0]);
  return { config: { file, dir, components, pipelines, service, shared, effective }, problems, warnings };
}

/** Reads and validates a config file. A missing or unreadable file is a problem like any other. */
export async function loadConfigFile(
  path: string,
  factories: readonly Factory[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { config: undefined, problems: [{ path: '', message: `cannot read the config file (${code})` }], warnings: [] };
  }
  return loadConfigText(text, path, factories, env, dirname(resolve(path)));
}

/** Throws a ConfigError with every problem when the result has any. */
export function requireConfig(result: LoadResult, file: string): ResolvedConfig {
  if (!result.config) throw new ConfigError(file, result.problems);
  return result.config;
}
