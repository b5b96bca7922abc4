/**
 * What every mapping module shares: the Tyk configuration being read, the two documents being written,
 * the report, and small helpers to read pump.conf values with their provenance.
 */
import type { OutDoc } from './output.js';
import type { PumpConf, PumpEntry } from './pump-conf.js';
import type { Report } from './report.js';

/** The conversion in progress. */
export interface Ctx {
  readonly conf: PumpConf;
  readonly report: Report;
  /** The agent's otel-config.yaml. */
  readonly agent: OutDoc;
  /** The OpenTelemetry Collector config (Collector route pumps only). */
  readonly collector: OutDoc;
  /** Id of the one receiver every pipeline shares. */
  readonly receiver: string;
  /** Whether the receiver drains the uptime list (then pump pipelines keep only http/network records). */
  readonly uptimeDrained: boolean;
}

/** `path`, plus ` (TYK_PMP_…)` when the environment set it. */
export function src(ctx: Ctx, path: string): string {
  const env = ctx.conf.fromEnv.get(path);
  return env ? `${path} (${env})` : path;
}

/**
 * A secret for the output: a `${env:VAR}` reference when the environment supplied it (the value is not
 * copied into a file), else the pump.conf literal (already in a file).
 */
export function secretRef(ctx: Ctx, path: string, value: string): string {
  const env = ctx.conf.fromEnv.get(path);
  if (env) return `\${env:${env}}`;
  // Tyk Pump's KV reference to an environment variable (pump kv.go): the same variable, read by the agent.
  const kv = /^env:\/\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
  if (kv) return `\${env:${kv[1]}}`;
  if (/^(vault|consul|secrets|awssm|azurekv|gcpsm):\/\//.test(value)) {
    ctx.report.dropped(path, 'a Tyk KV store reference: the agent reads no KV store; put the secret in the environment and write ${env:VAR}');
  }
  return value;
}

/** Keys whose values are never shown in the report. */
const SECRET_KEY = /password|token|secret|api_key|connection_string|application_id/i;

/** `n` seconds as a duration string. */
export const seconds = (n: number): string => `${n}s`;

/** Component and pipeline name for a pump: its map key with characters ids cannot hold replaced. */
export function pumpId(p: PumpEntry): string {
  return p.name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * Typed reads of one settings object (a pump's meta, a section) that remember which keys were read,
 * so the keys nobody read can be reported as dropped.
 */
export class Reader {
  private readonly read = new Set<string>();

  constructor(
    private readonly ctx: Ctx,
    /** pump.conf path of the object, e.g. `pumps.es.meta`. */
    readonly path: string,
    private readonly obj: Readonly<Record<string, unknown>>,
  ) {}

  /** `path.key` with its env var, for the report. */
  src(key: string): string {
    return src(this.ctx, this.path === '' ? key : `${this.path}.${key}`);
  }

  /** A secret value for the output (see {@link secretRef}). */
  secret(key: string): string | undefined {
    const v = this.str(key);
    return v === undefined || v === '' ? undefined : secretRef(this.ctx, this.path === '' ? key : `${this.path}.${key}`, v);
  }

  /** Marks `key` handled without reading it. */
  touch(...keys: string[]): void {
    for (const k of keys) this.read.add(k);
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    this.read.add(key);
    return this.obj[key];
  }

  private typed<T>(key: string, ok: (v: unknown) => v is T, what: string): T | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    if (ok(v)) return v;
    const shown = SECRET_KEY.test(key) ? 'a value of another type' : JSON.stringify(v).slice(0, 40);
    this.ctx.report.dropped(this.src(key), `expected ${what}, got ${shown}; ignored`);
    return undefined;
  }

  str(key: string): string | undefined {
    return this.typed(key, (v): v is string => typeof v === 'string', 'a string');
  }

  num(key: string): number | undefined {
    const v = this.raw(key);
    // Tyk Pump's decoders accept numeric strings in places (mapstructure WeaklyTypedInput); so do we.
    if (typeof v === 'string' && /^[+-]?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
    return this.typed(key, (x): x is number => typeof x === 'number' && Number.isFinite(x), 'a number');
  }

  bool(key: string): boolean | undefined {
    return this.typed(key, (v): v is boolean => typeof v === 'boolean', 'true or false');
  }

  list(key: string): string[] | undefined {
    const v = this.raw(key);
    if (typeof v === 'string') return v === '' ? [] : v.split(',').map((s) => s.trim());
    return this.typed(key, (x): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string'), 'a list of strings');
  }

  numList(key: string): number[] | undefined {
    return this.typed(key, (v): v is number[] => Array.isArray(v) && v.every((n) => typeof n === 'number'), 'a list of numbers');
  }

  object(key: string): Record<string, unknown> | undefined {
    return this.typed(key, (v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v), 'an object');
  }

  /** Reports every key not read as dropped with `why`. */
  dropUnread(why: string): void {
    for (const k of Object.keys(this.obj).sort()) {
      if (!this.read.has(k)) this.ctx.report.dropped(this.src(k), why);
    }
  }
}
