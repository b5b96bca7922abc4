/**
 * `${env:VAR}` / `${env:VAR:-default}` expansion inside any string of the parsed config, with `$$` as the
 * escape for a literal `$`, following the Collector's confmap rules. A string that is *only* a reference
 * takes the YAML type of the expanded value (`port: ${env:PORT}` gives a number), as the Collector does.
 */
import { parse as parseYamlScalar } from 'yaml';

/** A problem found while expanding, reported with the config path. */
export interface ExpansionIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** True when the variable was unset and had no default (a warning, not an error: the value becomes ''). */
  readonly warning: boolean;
}

const REF = /\$\$|\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands every string in `value` (recursively) against `env`. Returns the new tree and the issues met. */
export function expandEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; issues: ExpansionIssue[] } {
  const issues: ExpansionIssue[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') return expandString(v, env, path, issues);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, []), issues };
}

function expandString(
  s: string,
  env: Readonly<Record<string, string | undefined>>,
  path: (string | number)[],
  issues: ExpansionIssue[],
): unknown {
  if (!s.includes('$')) return s;
  const whole = /^\$\{([^}]*)\}$/.exec(s);
  let failed = false;
  const resolve = (ref: string): string => {
    const m = /^env:([^:]*)(?::-(.*))?$/s.exec(ref);
    if (!m) {
      failed = true;
      issues.push({ path, message: `unsupported reference \${${ref}} (only \${env:VAR} and \${env:VAR:-default} are supported; write $$ for a literal $)`, warning: false });
      return '';
    }
    const name = m[1] ?? '';
    if (!ENV_NAME.test(name)) {
      failed = true;
      issues.push({ path, message: `invalid environment variable name "${name}"`, warning: false });
      return '';
    }
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    if (m[2] !== undefined) return m[2];
    if (fromEnv === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set; using an empty value`, warning: true });
    }
    return '';
  };
  if (whole) {
    const expanded = resolve(whole[1] ?? '');
    if (failed) return s;
    // As in the Collector, a value that is only a reference is typed like a YAML scalar.
    if (expanded === '') return '';
    try {
      const typed: unknown = parseYamlScalar(expanded);
      return typed !== null && typeof typed === 'object' ? expanded : typed ?? expanded;
    } catch {
      return expanded;
    }
  }
  return s.replace(REF, (token: string, ref: string | undefined) => (token === '$$' ? '$' : resolve(ref ?? '')));
}
