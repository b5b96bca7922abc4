/**
 * Checks a PromQL query of a generated dashboard or rule against a real Prometheus: it returns data
 * without error, and every metric and label it names exists (so a typo hidden behind `or vector(0)` or a
 * `by (…)` label that does not exist still fails).
 */
/** What Grafana substitutes, as the test substitutes it (scrape and evaluation every second). */
export function grafanaExpand(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '15s')
    .replaceAll('$__range', '1m')
    .replace(/\$(api|route|method|instance)\b/g, '.*');
}

/** Labels Prometheus itself adds or knows, valid on any query. */
export const BUILTIN_LABELS = new Set(['instance', 'job', '__name__', 'alertname', 'alertstate']);
/** Built-in series that may legitimately be empty (ALERTS has series only while an alert is active). */
export const BUILTIN_METRICS = new Set(['ALERTS', 'up']);
const PROMQL_KEYWORDS = new Set(['by', 'on', 'and', 'or', 'unless', 'without', 'ignoring', 'bool', 'offset', 'group_left', 'group_right']);

/** Metric names (selectors, bare or with `{…}`) and label names (matchers, `by (…)`, `on (…)`) of a query. */
export function referenced(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_, inner: string) => {
    for (const l of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) labels.add(l[1] as string);
    return ' ';
  });
  rest = rest.replace(/\b(by|on|without|ignoring)\s*\(([^)]*)\)/g, (_, _w: string, inner: string) => {
    for (const l of inner.split(',')) if (l.trim() !== '') labels.add(l.trim());
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  for (const m of rest.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])(?!\s*\()/g)) {
    const word = m[1] as string;
    if (!PROMQL_KEYWORDS.has(word) && !/^(Inf|NaN)$/i.test(word)) metrics.add(word);
  }
  return { metrics: [...metrics], labels: [...labels] };
}

export interface Checker {
  labelsOf(metric: string): Promise<Set<string>>;
  query(expr: string): Promise<{ metric: Record<string, string> }[]>;
}

/** The problems of one query ([] when it returns data and names only what exists). */
export async function checkQuery(c: Checker, expr: string, legend?: string): Promise<string[]> {
  const problems: string[] = [];
  const { metrics, labels } = referenced(expr);
  const known = new Set(BUILTIN_LABELS);
  for (const metric of metrics) {
    const l = await c.labelsOf(metric);
    if (l.size === 0 && !BUILTIN_METRICS.has(metric)) problems.push(`metric ${metric} has no series`);
    for (const x of l) known.add(x);
  }
  for (const label of labels) if (!known.has(label)) problems.push(`label ${label} exists on none of ${metrics.join(', ')}`);
  let result: { metric: Record<string, string> }[] = [];
  try {
    result = await c.query(grafanaExpand(expr));
    if (result.length === 0) problems.push('returned no data');
  } catch (err) {
    problems.push(`error: ${(err as Error).message}`);
  }
  for (const m of (legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
    const label = m[1] as string;
    if (result.length > 0 && !result.some((s) => s.metric[label] !== undefined)) problems.push(`legend label ${label} is on no result series`);
  }
  return problems;
}

