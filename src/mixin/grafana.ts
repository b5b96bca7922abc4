/**
 * Small builders for Grafana dashboard JSON, typed by `@grafana/schema` (the types Grafana itself
 * generates from its dashboard schema), so a field Grafana does not know fails to compile. Only types are
 * imported: the shipped command has no runtime dependency on Grafana packages.
 *
 * Every panel queries the `${datasource}` template variable (a Prometheus data source picked at import
 * time); no data source uid is ever written.
 */
import type { ThresholdsMode, Dashboard, DataSourceRef, FieldConfigSource, GridPos, Panel, RowPanel, VariableModel } from '@grafana/schema';

/** `schemaVersion` of the dashboards we write (Grafana 12/13's current dashboard schema, `@grafana/schema` `defaultDashboard`). */
export const SCHEMA_VERSION = 42;

/** The data source every query uses: the `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** One Prometheus query of a panel. */
export interface PromTarget {
  /** PromQL; may use `$__rate_interval`, `$__range` and the dashboard's variables. */
  readonly expr: string;
  /** Legend (`{{label}}` placeholders). */
  readonly legend?: string;
  /** An instant query (tables, stats of "now") rather than a range query. */
  readonly instant?: boolean;
  /** `heatmap` for histogram buckets, else time series / table. */
  readonly format?: 'time_series' | 'table' | 'heatmap';
}

/** Panel kinds we use. */
export type PanelKind = 'timeseries' | 'stat' | 'table' | 'heatmap' | 'bargauge';

/** Options of {@link panel}. */
export interface PanelSpec {
  readonly kind: PanelKind;
  readonly title: string;
  readonly description?: string;
  readonly targets: readonly PromTarget[];
  /** Grafana unit id (`reqps`, `percentunit`, `s`, `bytes`, `short`). */
  readonly unit?: string;
  /** Grid width (of 24) and height. */
  readonly w?: number;
  readonly h?: number;
  readonly min?: number;
  readonly max?: number;
  /** Thresholds: base colour green, then `[value, colour]` steps. */
  readonly thresholds?: readonly (readonly [number, string])[];
  readonly decimals?: number;
}

function fieldConfig(spec: PanelSpec): FieldConfigSource {
  const steps: { value: number | null; color: string }[] = [{ value: null, color: 'green' }];
  for (const [value, color] of spec.thresholds ?? []) steps.push({ value, color });
  return {
    defaults: {
      ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.decimals !== undefined ? { decimals: spec.decimals } : {}),
      // Threshold steps start at -Infinity; the schema writes it as null.
      thresholds: { mode: 'absolute' as ThresholdsMode, steps },
    },
    overrides: [],
  };
}

function options(kind: PanelKind): Record<string, unknown> {
  switch (kind) {
    case 'timeseries':
      return { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' };
    case 'table':
      return { showHeader: true, cellHeight: 'sm' };
    case 'heatmap':
      return { calculate: false, yAxis: { unit: 's' }, color: { mode: 'scheme', scheme: 'Oranges', steps: 64 }, cellGap: 1 };
    case 'bargauge':
      return { displayMode: 'gradient', orientation: 'horizontal', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
  }
}

/** A panel (position assigned by {@link layout}). */
export function panel(spec: PanelSpec): Panel {
  return {
    type: spec.kind,
    title: spec.title,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    datasource: DATASOURCE,
    gridPos: { x: 0, y: 0, w: spec.w ?? 12, h: spec.h ?? 8 },
    fieldConfig: fieldConfig(spec),
    options: options(spec.kind),
    targets: spec.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: t.expr,
      ...(t.legend !== undefined ? { legendFormat: t.legend } : {}),
      instant: t.instant ?? false,
      range: !(t.instant ?? false),
      format: t.format ?? (spec.kind === 'table' ? 'table' : 'time_series'),
      editorMode: 'code',
    })),
  };
}

/** A collapsed-off row header. */
export function row(title: string): RowPanel {
  return { type: 'row', title, collapsed: false, id: 0, panels: [], gridPos: { x: 0, y: 0, w: 24, h: 1 } };
}

/**
 * Assigns ids and grid positions left to right, wrapping at 24 columns; a row starts a new line.
 * Returns new objects (the specs are not touched).
 */
export function layout(items: readonly (Panel | RowPanel)[]): (Panel | RowPanel)[] {
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  let id = 1;
  return items.map((item) => {
    const g = item.gridPos as GridPos;
    if (item.type === 'row' || x + g.w > 24) {
      y += lineHeight;
      x = 0;
      lineHeight = 0;
    }
    const placed = { ...item, id: id++, gridPos: { ...g, x, y } };
    x += g.w;
    lineHeight = Math.max(lineHeight, g.h);
    if (item.type === 'row') {
      x = 24;
    }
    return placed;
  });
}

/** The `datasource` variable: any Prometheus data source. */
export function datasourceVariable(): VariableModel {
  return { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', hide: 0, refresh: 1, regex: '', options: [] };
}

/** A multi-value query variable over a label's values (`All` = `.*`). */
export function labelVariable(name: string, label: string, metric: string, labelName: string): VariableModel {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query: `label_values(${metric}, ${labelName})`, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    includeAll: true,
    allValue: '.*',
    multi: true,
    sort: 1,
    current: { text: ['All'], value: ['$__all'] },
    options: [],
    hide: 0,
  };
}

/** Options of {@link dashboard}. */
export interface DashboardSpec {
  /** Stable uid, so re-importing replaces the dashboard. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly VariableModel[];
  readonly panels: readonly (Panel | RowPanel)[];
  /** Default time range (`now-<from>` to now). */
  readonly from?: string;
}

/** A complete dashboard, importable through the UI or file provisioning. */
export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [...spec.tags],
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    time: { from: `now-${spec.from ?? '1h'}`, to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: { list: [datasourceVariable(), ...spec.variables] },
    panels: layout(spec.panels),
  };
}

/** Every PromQL expression of a dashboard, with the panel title it belongs to (tests execute them all). */
export function dashboardQueries(d: Dashboard): { panel: string; expr: string; instant: boolean }[] {
  const out: { panel: string; expr: string; instant: boolean }[] = [];
  for (const p of d.panels ?? []) {
    for (const t of (p as Panel).targets ?? []) {
      out.push({ panel: p.title ?? '', expr: String(t['expr']), instant: t['instant'] === true });
    }
  }
  return out;
}
