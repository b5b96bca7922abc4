/**
 * What every pump gets, whatever its type: Tyk Pump's per-pump `filters` → a `filter` processor, and the
 * record trimming (`omit_detailed_recording`, `max_record_size`, `ignore_fields`, raw decoding; per pump,
 * else global) → a `redact` processor, both in that pump's own pipeline. Tyk order (`main.go filterData`):
 * trim, then filter, then ignore_fields, then decode; filtering first drops the same records and trims less.
 */
import { Reader, pumpId, type Ctx } from './context.js';
import type { PumpEntry } from './pump-conf.js';

const FILTER_KEYS = ['org_ids', 'api_ids', 'response_codes', 'skip_org_ids', 'skip_api_ids', 'skip_response_codes'] as const;

/** The pump's `filter`/`redact` processors (added to the agent config); returns their ids in order. */
export function pumpProcessors(ctx: Ctx, p: PumpEntry): string[] {
  const ids: string[] = [];
  const id = pumpId(p);
  const base = `pumps.${p.name}`;
  const r = new Reader(ctx, base, p.conf);
  const g = new Reader(ctx, '', ctx.conf.globals);
  // Tyk Pump has filters per pump only; a global `filters` applies to the pumps without their own.
  const own = r.object('filters');
  const global = own === undefined ? g.object('filters') : undefined;
  const f = new Reader(ctx, own !== undefined ? `${base}.filters` : 'filters', own ?? global ?? {});
  const filter: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) {
    const v = k.endsWith('codes') ? f.numList(k) : f.list(k);
    if (v === undefined || v.length === 0) continue;
    filter[k] = v;
    if (own !== undefined) ctx.report.mapped(f.src(k), `processors::filter/${id}.${k} (same rule order: block lists beat allow lists)`);
    else ctx.report.approximated(`${f.src(k)} → ${base}`, `processors::filter/${id}.${k}: Tyk Pump reads filters per pump only (it ignores a global one); applied to this pump, which has none of its own`);
  }
  if (own !== undefined || global !== undefined) f.dropUnread('not a Tyk Pump filter');
  const kinds = ctx.uptimeDrained ? ['http', 'network'] : undefined;
  if (kinds) filter['kinds'] = kinds;
  if (Object.keys(filter).length > 0) {
    ctx.agent.set(['processors', `filter/${id}`], filter, `from ${own === undefined && global !== undefined ? 'the global filters' : `${base}.filters`}${kinds ? ' (kinds: Tyk Pump sends uptime records only to its uptime pump)' : ''}`);
    ids.push(`filter/${id}`);
  }

  const redact: Record<string, unknown> = {};
  const omit = r.bool('omit_detailed_recording');
  const globalOmit = g.bool('omit_detailed_recording');
  if (omit) {
    redact['omit_detailed_recording'] = true;
    ctx.report.mapped(r.src('omit_detailed_recording'), `processors::redact/${id}.omit_detailed_recording`);
  } else if (globalOmit && omit === undefined) {
    redact['omit_detailed_recording'] = true;
    ctx.report.approximated(`${g.src('omit_detailed_recording')} → ${base}`, `processors::redact/${id}.omit_detailed_recording: Tyk Pump ignores the global flag (only the per-pump one works); the agent applies it as its name says`);
  }
  const size = r.num('max_record_size');
  const globalSize = g.num('max_record_size');
  const effSize = size !== undefined && size > 0 ? size : globalSize;
  if (effSize !== undefined && effSize > 0 && !redact['omit_detailed_recording']) {
    redact['max_record_size'] = effSize;
    ctx.report.mapped(size !== undefined && size > 0 ? r.src('max_record_size') : `${g.src('max_record_size')} → ${base}`, `processors::redact/${id}.max_record_size (bytes of the base64 raw request/response, as Tyk)`);
  }
  const ownIgnore = r.list('ignore_fields');
  const ignore = ownIgnore ?? g.list('ignore_fields');
  if (ignore && ignore.length > 0) {
    redact['ignore_fields'] = ignore;
    if (ownIgnore) ctx.report.mapped(r.src('ignore_fields'), `processors::redact/${id}.ignore_fields`);
    else ctx.report.approximated(`${g.src('ignore_fields')} → ${base}`, `processors::redact/${id}.ignore_fields: Tyk Pump reads ignore_fields per pump only; applied to this pump, which has none of its own`);
  }
  for (const k of ['raw_request_decoded', 'raw_response_decoded'] as const) {
    const v = r.bool(k);
    if (v) {
      redact[k] = true;
      ctx.report.mapped(r.src(k), `processors::redact/${id}.${k}`);
    } else if (v === undefined && g.bool(k)) {
      redact[k] = true;
      ctx.report.approximated(`${g.src(k)} → ${base}`, `processors::redact/${id}.${k}: the global flag is a deprecated no-op in Tyk Pump; applied to this pump as its name says`);
    }
  }
  if (Object.keys(redact).length > 0) {
    ctx.agent.set(['processors', `redact/${id}`], redact, `from ${base} (record trimming${globalSize || globalOmit ? ' and the global settings' : ''})`);
    ids.push(`redact/${id}`);
  }
  r.touch('type', 'name', 'meta', 'timeout');
  if (r.has('name')) ctx.report.mapped(r.src('name'), 'deprecated in Tyk Pump; the pump key names the pipeline');
  r.dropUnread('not a Tyk Pump pump setting the converter knows');
  return ids;
}

/** The pump's `timeout` (seconds; 0 = none): where it has no counterpart, says so. */
export function pumpTimeout(ctx: Ctx, p: PumpEntry): number | undefined {
  const r = new Reader(ctx, `pumps.${p.name}`, p.conf);
  const t = r.num('timeout');
  return t !== undefined && t > 0 ? t : undefined;
}

/** Adds `service.pipelines.<signal>/<pump>`. */
export function addPipeline(ctx: Ctx, p: PumpEntry, signal: 'metrics' | 'records' | 'logs', processors: readonly string[], exporters: readonly string[], pipelineName?: string): string {
  const id = `${signal}/${pipelineName ?? pumpId(p)}`;
  ctx.agent.set(['service', 'pipelines', id], { receivers: [ctx.receiver], processors: [...processors], exporters: [...exporters] }, `pump "${p.name}" (type ${p.type})`);
  return id;
}
