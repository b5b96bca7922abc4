/**
 * The status page: one self-contained HTML document (inline CSS and SVG, no script, no external asset),
 * rendered from a plain {@link StatusView}. Every string that can come from gateway traffic or config
 * (API names, SLO names, list keys, component details) goes through {@link escapeHtml}; the response also
 * carries a Content-Security-Policy that forbids scripts, so a missed escape could still not run one.
 */

/** One API row. */
export interface ApiView {
  readonly name: string;
  /** Requests/s per slot, oldest first (NaN = no data). */
  readonly rate: readonly number[];
  /** Error ratio per slot. */
  readonly errorRatio: readonly number[];
  /** p95 latency per slot, seconds. */
  readonly p95: readonly number[];
  /** Over the whole window. */
  readonly totalRate: number;
  readonly totalErrorRatio: number;
  readonly totalP95: number;
}

/** One SLO row. */
export interface SloView {
  readonly name: string;
  readonly objective: number;
  readonly budgetRemaining: number | undefined;
  readonly budgetHistory: readonly number[];
  /** Burn rate by window label, in the order of the alert table. */
  readonly burnRates: readonly { readonly window: string; readonly value: number | undefined }[];
  readonly alerts: { readonly page: boolean | undefined; readonly ticket: boolean | undefined };
}

/** One exporter row. */
export interface ExporterView {
  readonly id: string;
  readonly ready: boolean | undefined;
  readonly detail: string | undefined;
  readonly sentPerSecond: number | undefined;
  readonly failedPerSecond: number | undefined;
  readonly queue: number | undefined;
}

/** Everything the page shows. */
export interface StatusView {
  readonly version: string;
  readonly instance: string;
  readonly generatedAt: Date;
  readonly windowLabel: string;
  readonly resolutionSeconds: number;
  readonly ready: boolean | undefined;
  readonly apis: readonly ApiView[];
  /** APIs beyond `max_apis` folded into one row (undefined when none). */
  readonly otherApis: ApiView | undefined;
  readonly slos: readonly SloView[];
  readonly drain: {
    readonly recordsPerSecond: readonly number[];
    readonly backlog: readonly number[];
    readonly lagSeconds: readonly number[];
  } | undefined;
  readonly exporters: readonly ExporterView[];
  /** Self-refresh interval of the page, seconds. */
  readonly refreshSeconds: number;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** The Content-Security-Policy the page is served with: no script, no external anything. */
export const STATUS_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function last(values: readonly number[]): number | undefined {
  for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i] as number)) return values[i];
  return undefined;
}

/** A number for humans: `1.23k`, `12.3`, `0.042`; `–` when unknown. */
export function fmt(value: number | undefined, unit: '' | '/s' | '%' | 's' = ''): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (unit === '%') return `${(value * 100).toFixed(value < 0.001 && value > 0 ? 3 : 2)} %`;
  if (unit === 's') return value < 1 ? `${(value * 1000).toFixed(value < 0.01 ? 1 : 0)} ms` : `${value.toFixed(2)} s`;
  if (Number.isInteger(value) && Math.abs(value) < 1e4) return `${value}${unit}`;
  const abs = Math.abs(value);
  const text = abs >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : abs >= 1e3 ? `${(value / 1e3).toFixed(2)}k` : abs >= 10 ? value.toFixed(1) : value.toFixed(abs >= 1 ? 2 : 3);
  return `${text}${unit}`;
}

/** An inline SVG sparkline of `values` (NaN = gap); empty frame without data. */
export function sparkline(values: readonly number[], opts: { label: string; color?: string; floorZero?: boolean } = { label: '' }): string {
  const w = 160;
  const h = 32;
  const finite = values.filter((v) => !Number.isNaN(v));
  const max = finite.length > 0 ? Math.max(...finite) : 0;
  const min = opts.floorZero === false && finite.length > 0 ? Math.min(...finite) : 0;
  const span = max - min || 1;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (Number.isNaN(v)) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (h - 2 - ((v - min) / span) * (h - 4)).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  const color = opts.color ?? '#3274d9';
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(opts.label)}"><rect width="${w}" height="${h}" fill="#f6f8fa"/>${d === '' ? '' : `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`}</svg>`;
}

function badge(ok: boolean | undefined, yes: string, no: string): string {
  if (ok === undefined) return '<span class="badge unknown">unknown</span>';
  return ok ? `<span class="badge ok">${yes}</span>` : `<span class="badge bad">${no}</span>`;
}

function alertBadge(firing: boolean | undefined, severity: 'page' | 'ticket'): string {
  if (firing === undefined) return `<span class="badge unknown">${severity} ?</span>`;
  return firing ? `<span class="badge ${severity === 'page' ? 'bad' : 'warn'}">${severity} firing</span>` : `<span class="badge ok">${severity} ok</span>`;
}

function apiRow(a: ApiView, other = false): string {
  return `<tr${other ? ' class="other"' : ''}><td class="name">${escapeHtml(a.name)}</td>` +
    `<td class="num">${fmt(a.totalRate, '/s')}</td><td>${sparkline(a.rate, { label: `request rate of ${a.name}` })}</td>` +
    `<td class="num">${fmt(a.totalErrorRatio, '%')}</td><td>${sparkline(a.errorRatio, { label: `error ratio of ${a.name}`, color: '#d44a3a' })}</td>` +
    `<td class="num">${fmt(a.totalP95, 's')}</td><td>${sparkline(a.p95, { label: `p95 latency of ${a.name}`, color: '#8f3bb8' })}</td></tr>`;
}

function sloRow(s: SloView): string {
  const burns = s.burnRates.map((b) => `<td class="num">${fmt(b.value)}×</td>`).join('');
  const remaining = s.budgetRemaining;
  const cls = remaining === undefined ? '' : remaining < 0 ? ' bad' : remaining < 0.25 ? ' warn' : ' good';
  return `<tr><td class="name">${escapeHtml(s.name)}</td><td class="num">${fmt(s.objective, '%')}</td>` +
    `<td class="num${cls}">${fmt(remaining, '%')}</td><td>${sparkline(s.budgetHistory, { label: `error budget remaining of ${s.name}`, color: '#37872d', floorZero: false })}</td>${burns}` +
    `<td>${alertBadge(s.alerts.page, 'page')} ${alertBadge(s.alerts.ticket, 'ticket')}</td></tr>`;
}

function exporterRow(e: ExporterView): string {
  return `<tr><td class="name">${escapeHtml(e.id)}</td><td>${badge(e.ready, 'ready', 'not ready')}${e.detail ? ` <span class="detail">${escapeHtml(e.detail)}</span>` : ''}</td>` +
    `<td class="num">${fmt(e.sentPerSecond, '/s')}</td><td class="num">${fmt(e.failedPerSecond, '/s')}</td><td class="num">${fmt(e.queue)}</td></tr>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{background:#1f2937;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .meta{opacity:.8;font-size:12px}
main{padding:8px 20px 24px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%;margin-bottom:8px}th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:middle}
th{font-size:12px;color:#57606a;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{max-width:340px;overflow-wrap:anywhere;font-weight:500}tr.other td.name{font-style:italic;color:#57606a}
.spark{display:block}.badge{display:inline-block;padding:1px 6px;border-radius:8px;font-size:12px}
.badge.ok{background:#dafbe1;color:#116329}.badge.bad{background:#ffebe9;color:#a40e26}.badge.warn{background:#fff8c5;color:#7d4e00}.badge.unknown{background:#eaeef2;color:#57606a}
td.good{color:#116329}td.warn{color:#7d4e00}td.bad{color:#a40e26;font-weight:600}.detail{color:#57606a;font-size:12px}
.empty{color:#57606a;font-style:italic}.cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px}
.card .v{font-size:20px;font-variant-numeric:tabular-nums}.card .k{font-size:12px;color:#57606a}`;

/** The whole page. */
export function renderStatusPage(v: StatusView): string {
  const windows = v.slos[0]?.burnRates.map((b) => `<th>burn ${escapeHtml(b.window)}</th>`).join('') ?? '';
  const apis = v.apis.length === 0 && !v.otherApis
    ? `<p class="empty">No HTTP traffic in the last ${escapeHtml(v.windowLabel)} (the page reads the sli processor's http.server.request.duration).</p>`
    : `<table id="apis"><thead><tr><th>API</th><th>req/s (avg)</th><th>rate</th><th>errors</th><th>error ratio</th><th>p95</th><th>p95 latency</th></tr></thead><tbody>` +
      v.apis.map((a) => apiRow(a)).join('') + (v.otherApis ? apiRow(v.otherApis, true) : '') + '</tbody></table>';
  const slos = v.slos.length === 0
    ? '<p class="empty">No SLO gauges received (add the slo processor to a pipeline that feeds this exporter).</p>'
    : `<table id="slos"><thead><tr><th>SLO</th><th>objective</th><th>budget left</th><th>budget</th>${windows}<th>alerts</th></tr></thead><tbody>${v.slos.map(sloRow).join('')}</tbody></table>`;
  const d = v.drain;
  const drain = !d
    ? '<p class="empty">Drain figures unavailable.</p>'
    : `<div class="cards" id="drain">` +
      `<div class="card"><div class="k">records/s</div><div class="v">${fmt(last(d.recordsPerSecond))}</div>${sparkline(d.recordsPerSecond, { label: 'records drained per second' })}</div>` +
      `<div class="card"><div class="k">backlog (records in Redis)</div><div class="v">${fmt(last(d.backlog))}</div>${sparkline(d.backlog, { label: 'backlog', color: '#c4162a' })}</div>` +
      `<div class="card"><div class="k">drain lag (oldest record)</div><div class="v">${fmt(last(d.lagSeconds), 's')}</div>${sparkline(d.lagSeconds, { label: 'drain lag', color: '#e0752d' })}</div></div>`;
  const exporters = v.exporters.length === 0
    ? '<p class="empty">No exporter telemetry yet.</p>'
    : `<table id="exporters"><thead><tr><th>exporter</th><th>health</th><th>sent/s</th><th>failed/s</th><th>queue</th></tr></thead><tbody>${v.exporters.map(exporterRow).join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${v.refreshSeconds}"><link rel="icon" href="data:,"><title>tyk-otel-pump status</title><style>${STYLE}</style></head>
<body><header><h1>tyk-otel-pump status</h1>${badge(v.ready, 'ready', 'not ready')}<span class="meta">version ${escapeHtml(v.version)} · instance ${escapeHtml(v.instance)} · last ${escapeHtml(v.windowLabel)}, one point per ${v.resolutionSeconds} s · ${escapeHtml(v.generatedAt.toISOString())}</span></header>
<main><h2>APIs</h2>${apis}<h2>SLOs</h2>${slos}<h2>Drain</h2>${drain}<h2>Exporters</h2>${exporters}</main></body></html>
`;
}
