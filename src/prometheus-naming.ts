/**
 * OTel → Prometheus metric names as the OpenTelemetry Collector's `prometheus` exporter builds them
 * (translation strategy `UnderscoreEscapingWithSuffixes`, the default; `prometheus/otlptranslator`):
 * name split on every character outside `[a-zA-Z0-9:]` and re-joined with `_`; the unit appended as a
 * word (`s` → `seconds`, `By` → `bytes`, `{request}` dropped, `1` → nothing), `_ratio` for gauges of unit
 * `1`, `_total` for monotonic sums; then the namespace. The OTel JS serializer adds no unit suffix, so we
 * hand it names already translated.
 *
 * In core, not in the exporter's folder, because the generated dashboards and alert rules (`src/mixin/`)
 * must name metrics exactly as the exporter does.
 */

const UNITS: Readonly<Record<string, string>> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes',
  KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
  m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams',
  Cel: 'celsius', Hz: 'hertz', '1': '', '%': 'percent',
};

const PER_UNITS: Readonly<Record<string, string>> = {
  s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year',
};

/** The Prometheus kind of a metric, as far as naming cares. */
export type NameKind = 'counter' | 'gauge' | 'histogram';

function cleanUnit(unit: string): string {
  return unit.replace(/[^a-zA-Z0-9:]/g, '_').replace(/_{2,}/g, '_').replace(/^_/, '');
}

function unitSuffixes(unit: string): { main: string; per: string } {
  const [mainRaw = '', perRaw] = unit.split(/\/(.*)/s, 2);
  let main = '';
  const m = mainRaw.trim();
  if (m !== '' && !/[{}]/.test(m)) main = UNITS[m] ?? m;
  let per = '';
  if (perRaw !== undefined && perRaw !== '') {
    const p = perRaw.trim();
    if (p !== '' && !/[{}]/.test(p)) per = PER_UNITS[p] ?? p;
    if (per !== '') per = `per_${per}`;
  }
  return { main: cleanUnit(main), per: cleanUnit(per) };
}

/** The Collector's Prometheus name for an OTel metric. */
export function prometheusName(name: string, unit: string, kind: NameKind, namespace = ''): string {
  let tokens = name.split(/[^a-zA-Z0-9:]+/).filter((t) => t !== '');
  let { main, per } = unitSuffixes(unit);
  if (tokens.includes(main)) main = '';
  if (per === 'per_') per = '';
  else {
    per = per.replace(/_$/, '');
    if (tokens.includes(per)) per = '';
  }
  if (per !== '') main = main.replace(/_$/, '');
  if (main !== '') tokens.push(main);
  if (per !== '') tokens.push(per);
  if (kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  if (namespace !== '') tokens.unshift(namespace);
  const out = tokens.join('_');
  return /^[0-9]/.test(out) ? `_${out}` : out;
}
