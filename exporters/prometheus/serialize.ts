/**
 * A fast drop-in for `PrometheusSerializer` of `@opentelemetry/exporter-prometheus` 0.223.0 (configured
 * without prefix, without timestamps and without scope labels — the accumulator puts those into the
 * series attributes). Its output is byte-for-byte the library's (`serialize.test.ts` compares them), but
 * each series' label text is built once and cached on its (frozen) attributes object instead of being
 * re-sanitised and re-escaped with five regular expressions on every line of every scrape: the library
 * takes ~1.8 s for 2000 SLI series (130 000 lines), this ~0.1 s.
 *
 * One addition: metric names in `keepNames` get no `_total` (Tyk Pump's counters, see the README).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeAttributeValue(v: AttributeValue | undefined = ''): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return escapeString(s).replace(/"/g, '\\"');
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueString(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}

function labelText(attributes: Attributes): string {
  let out = '';
  for (const [k, v] of Object.entries(attributes)) out += `${out.length > 0 ? ',' : ''}${sanitizeName(k)}="${escapeAttributeValue(v)}"`;
  return out;
}

function promType(m: MetricData): string {
  switch (m.dataPointType) {
    case DataPointType.SUM:
      return m.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

/** Options of {@link FastPrometheusSerializer}. */
export interface FastSerializerOptions {
  /** Resource attributes whose names match become labels of every series (`withResourceConstantLabels`). */
  readonly resourceLabels?: RegExp;
  readonly withoutTargetInfo?: boolean;
  /** Names exposed exactly as given: no `_total` appended to counters. */
  readonly keepNames?: ReadonlySet<string>;
}

/** Prometheus text format 0.0.4, as `PrometheusSerializer` writes it. */
export class FastPrometheusSerializer {
  private readonly labels = new WeakMap<Attributes, string>();
  private readonly les = new WeakMap<number[], string[]>();

  constructor(private readonly opts: FastSerializerOptions = {}) {}

  serialize(rm: ResourceMetrics): string {
    const extra = this.extraLabels(rm);
    // One flat list of lines for the whole scrape, joined once. (The library builds each family as a
    // string, trims it and appends '\n': the same bytes, as every family ends with a line break.)
    const out: string[] = [this.resource(rm)];
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) this.metric(out, m, extra, 0, m.dataPoints.length);
    if (out.length === 1) out.push('# no registered metrics');
    return out.join('');
  }

  /**
   * The same text as {@link serialize}, written in slices of about `sliceLines` lines with a turn of the
   * event loop between them, so a large scrape never blocks probes and the drain for long.
   */
  async serializeSliced(rm: ResourceMetrics, sliceLines = 2000): Promise<string> {
    const extra = this.extraLabels(rm);
    const out: string[] = [this.resource(rm)];
    let budget = sliceLines;
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const n = m.dataPoints.length;
        // Lines per data point: one, or a histogram's buckets plus _count and _sum.
        const per = m.dataPointType === DataPointType.HISTOGRAM ? ((m.dataPoints[0] as DataPoint<Histogram> | undefined)?.value.buckets.boundaries.length ?? 0) + 3 : 1;
        let from = 0;
        do {
          const to = Math.min(n, from + Math.max(1, Math.floor(budget / per)));
          this.metric(out, m, extra, from, to);
          budget -= (to - from) * per;
          from = to;
          if (budget <= 0) {
            await new Promise<void>((r) => setImmediate(r));
            budget = sliceLines;
          }
        } while (from < n);
      }
    }
    if (out.length === 1) out.push('# no registered metrics');
    return out.join('');
  }

  private extraLabels(rm: ResourceMetrics): string {
    if (!this.opts.resourceLabels) return '';
    const picked: Attributes = {};
    for (const [k, v] of Object.entries(rm.resource.attributes)) if (k.match(this.opts.resourceLabels)) picked[k] = v as AttributeValue;
    return labelText(picked);
  }

  private resource(rm: ResourceMetrics): string {
    if (this.opts.withoutTargetInfo) return '';
    const l = labelText(rm.resource.attributes as Attributes);
    return `# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info${l === '' ? '' : `{${l}}`} 1\n`;
  }

  private series(attributes: Attributes, extra: string): string {
    let l = this.labels.get(attributes);
    if (l === undefined) {
      l = labelText(attributes);
      this.labels.set(attributes, l);
    }
    if (extra === '') return l;
    return l === '' ? extra : `${l},${extra}`;
  }

  private leStrings(boundaries: number[]): string[] {
    let s = this.les.get(boundaries);
    if (s === undefined) {
      s = boundaries.map((b) => (b === Infinity ? '+Inf' : String(b)));
      this.les.set(boundaries, s);
    }
    return s;
  }

  /** Writes data points `from` to `to` of `m` (and its header when `from` is 0). */
  private metric(out: string[], m: MetricData, extra: string, from: number, to: number): void {
    let name = sanitizeName(escapeString(m.descriptor.name));
    if (name === '' || name === '_') return;
    if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
    if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !name.endsWith('_total') && !this.opts.keepNames?.has(name)) name += '_total';
    if (from === 0) {
      const unit = m.descriptor.unit ? `\n# UNIT ${name} ${escapeString(m.descriptor.unit)}` : '';
      out.push(`# HELP ${name} ${escapeString(m.descriptor.description || 'description missing')}${unit}\n# TYPE ${name} ${promType(m)}\n`);
    }
    if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE) {
      const points = m.dataPoints;
      for (let i = from; i < to; i++) {
        const dp = points[i] as DataPoint<number>;
        const l = this.series(dp.attributes, extra);
        out.push(l === '' ? `${name} ${valueString(dp.value)}\n` : `${name}{${l}} ${valueString(dp.value)}\n`);
      }
    } else if (m.dataPointType === DataPointType.HISTOGRAM) {
      const points = m.dataPoints;
      for (let i = from; i < to; i++) this.histogram(out, name, points[i] as DataPoint<Histogram>, extra);
    }
  }

  private histogram(out: string[], name: string, dp: DataPoint<Histogram>, extra: string): void {
    const h = dp.value;
    const l = this.series(dp.attributes, extra);
    const braces = l === '' ? '' : `{${l}}`;
    out.push(`${name}_count${braces} ${valueString(h.count)}\n`);
    if (h.sum != null) out.push(`${name}_sum${braces} ${valueString(h.sum)}\n`);
    const prefix = l === '' ? `${name}_bucket{le="` : `${name}_bucket{${l},le="`;
    const bounds = h.buckets.boundaries;
    const les = this.leStrings(bounds);
    const counts = h.buckets.counts;
    let cumulative = 0;
    let infinite = false;
    for (let i = 0; i < counts.length; i++) {
      cumulative += counts[i] as number;
      const upper = bounds[i];
      if (upper === undefined && infinite) break;
      if (upper === Infinity) infinite = true;
      out.push(`${prefix}${upper === undefined ? '+Inf' : (les[i] as string)}"} ${valueString(cumulative)}\n`);
    }
  }
}
