/**
 * The APIs (RED) dashboard on the `sli` processor's metrics, and its Tyk Pump compatible variant on the
 * `tyk_compatible` families (the names Tyk's own demo dashboards query).
 */
import type { Dashboard, Panel } from '@grafana/schema';
import { dashboard, labelVariable, panel, row } from './grafana.js';
import { LABELS, type MetricNames } from './names.js';

const RATE = '$__rate_interval';

/** The API/route/method filter of every query. */
function selector(extra: readonly string[] = []): string {
  return `{${[`${LABELS.apiName}=~"$api"`, `${LABELS.route}=~"$route"`, `${LABELS.method}=~"$method"`, ...extra].join(', ')}}`;
}

/**
 * Bad requests as the SLOs count them: the `sli` processor sets `error.type` exactly on the records its
 * error definition counts as bad (the same definition `slo-rules` uses for availability SLOs).
 */
const BAD = `${LABELS.errorType}!=""`;

function quantile(q: number, bucket: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${[LABELS.le, by].filter((x) => x !== '').join(', ')}) (rate(${bucket}${selector()}[${RATE}])))`;
}

/** The APIs (RED) dashboard. */
export function apisDashboard(m: MetricNames): Dashboard {
  const req = m.requests;
  const api = LABELS.apiName;
  const panels: Panel[] = [
    panel({ kind: 'stat', title: 'Requests/s', w: 6, h: 4, unit: 'reqps', targets: [{ expr: `sum(rate(${req}${selector()}[${RATE}]))` }] }),
    panel({
      kind: 'stat', title: 'Error ratio', w: 6, h: 4, unit: 'percentunit', decimals: 2, thresholds: [[0.01, 'orange'], [0.05, 'red']],
      description: 'Share of requests the error definition counts as bad (error.type set), as the availability SLOs count them.',
      targets: [{ expr: `(sum(rate(${req}${selector([BAD])}[${RATE}])) or vector(0)) / sum(rate(${req}${selector()}[${RATE}]))` }],
    }),
    panel({ kind: 'stat', title: 'p99 latency', w: 6, h: 4, unit: 's', targets: [{ expr: quantile(0.99, m.durationBucket, '') }] }),
    panel({ kind: 'stat', title: 'APIs with traffic', w: 6, h: 4, unit: 'short', targets: [{ expr: `count(count by (${api}) (rate(${req}${selector()}[${RATE}]) > 0))` }] }),
    row('Rate and errors'),
    panel({ kind: 'timeseries', title: 'Request rate by API', unit: 'reqps', targets: [{ expr: `sum by (${api}) (rate(${req}${selector()}[${RATE}]))`, legend: `{{${api}}}` }] }),
    panel({
      kind: 'timeseries', title: 'Error ratio by API', unit: 'percentunit', min: 0,
      targets: [{ expr: `sum by (${api}) (rate(${req}${selector([BAD])}[${RATE}])) / sum by (${api}) (rate(${req}${selector()}[${RATE}]))`, legend: `{{${api}}}` }],
    }),
    panel({ kind: 'timeseries', title: 'Responses by status code', unit: 'reqps', targets: [{ expr: `sum by (${LABELS.status}) (rate(${req}${selector()}[${RATE}]))`, legend: `{{${LABELS.status}}}` }] }),
    panel({ kind: 'timeseries', title: 'Errors by type', unit: 'reqps', targets: [{ expr: `sum by (${LABELS.errorType}) (rate(${req}${selector([BAD])}[${RATE}]))`, legend: `{{${LABELS.errorType}}}` }] }),
    row('Latency'),
    panel({
      kind: 'timeseries', title: 'Latency p50 / p90 / p99', unit: 's',
      targets: [0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, m.durationBucket, ''), legend: `p${Math.round(q * 100)}` })),
    }),
    panel({ kind: 'timeseries', title: 'p95 latency by API', unit: 's', targets: [{ expr: quantile(0.95, m.durationBucket, api), legend: `{{${api}}}` }] }),
    panel({
      kind: 'timeseries', title: 'Upstream vs gateway latency (p95)', unit: 's',
      description: 'Time the upstream took and the time Tyk added (total minus upstream).',
      targets: [
        { expr: quantile(0.95, m.upstreamBucket, ''), legend: 'upstream p95' },
        { expr: quantile(0.95, m.gatewayBucket, ''), legend: 'gateway p95' },
      ],
    }),
    panel({
      kind: 'heatmap', title: 'Latency heatmap', unit: 's',
      targets: [{ expr: `sum by (${LABELS.le}) (increase(${m.durationBucket}${selector()}[${RATE}]))`, legend: `{{${LABELS.le}}}`, format: 'heatmap' }],
    }),
    row('Routes'),
    panel({
      kind: 'table', title: 'Top routes by traffic (req/s over the range)', unit: 'reqps',
      targets: [{ expr: `topk(10, sum by (${api}, ${LABELS.method}, ${LABELS.route}) (rate(${req}${selector()}[$__range])))`, instant: true }],
    }),
    panel({
      kind: 'table', title: 'Top routes by errors (bad req/s over the range)', unit: 'reqps',
      targets: [{ expr: `topk(10, sum by (${api}, ${LABELS.method}, ${LABELS.route}) (rate(${req}${selector([BAD])}[$__range])))`, instant: true }],
    }),
  ];
  return dashboard({
    uid: 'tyk-otel-pump-apis',
    title: 'Tyk APIs (RED)',
    description: 'Request rate, errors and duration per Tyk API, route and method, from the tyk-otel-pump sli processor metrics.',
    tags: ['tyk', 'tyk-otel-pump'],
    variables: [
      labelVariable('api', 'API', req, api),
      labelVariable('route', 'Route', `${req}{${api}=~"$api"}`, LABELS.route),
      labelVariable('method', 'Method', `${req}{${api}=~"$api"}`, LABELS.method),
    ],
    panels,
  });
}

/**
 * The same view on Tyk Pump's Prometheus families (`sli.tyk_compatible`): `tyk_http_status{code,api}`,
 * `tyk_http_status_per_path{code,api,path,method}` and `tyk_latency{type,api}` in milliseconds. Tyk labels
 * APIs by id.
 */
export function tykCompatibleDashboard(m: MetricNames): Dashboard {
  const { status, statusPerPath, latencyBucket } = m.tyk;
  const sel = '{api=~"$api"}';
  const tq = (q: number, type: string) => `histogram_quantile(${q}, sum by (le, api) (rate(${latencyBucket}{api=~"$api", type="${type}"}[${RATE}])))`;
  const panels: Panel[] = [
    panel({ kind: 'timeseries', title: 'Requests/s by API (tyk_http_status)', unit: 'reqps', targets: [{ expr: `sum by (api) (rate(${status}${sel}[${RATE}]))`, legend: '{{api}}' }] }),
    panel({ kind: 'timeseries', title: 'Responses by status code', unit: 'reqps', targets: [{ expr: `sum by (code) (rate(${status}${sel}[${RATE}]))`, legend: '{{code}}' }] }),
    panel({
      kind: 'timeseries', title: '5xx ratio by API', unit: 'percentunit', min: 0,
      targets: [{ expr: `(sum by (api) (rate(${status}{api=~"$api", code=~"5.."}[${RATE}])) or (0 * sum by (api) (rate(${status}${sel}[${RATE}])))) / sum by (api) (rate(${status}${sel}[${RATE}]))`, legend: '{{api}}' }],
    }),
    panel({ kind: 'timeseries', title: 'p90 total latency by API (tyk_latency)', unit: 'ms', targets: [{ expr: tq(0.9, 'total'), legend: '{{api}}' }] }),
    panel({
      kind: 'timeseries', title: 'p90 upstream vs gateway latency', unit: 'ms',
      targets: [{ expr: tq(0.9, 'upstream'), legend: 'upstream {{api}}' }, { expr: tq(0.9, 'gateway'), legend: 'gateway {{api}}' }],
    }),
    panel({
      kind: 'table', title: 'Top paths (tyk_http_status_per_path)', unit: 'reqps',
      targets: [{ expr: `topk(10, sum by (api, method, path) (rate(${statusPerPath}${sel}[$__range])))`, instant: true }],
    }),
  ];
  return dashboard({
    uid: 'tyk-otel-pump-apis-tyk',
    title: 'Tyk APIs (Tyk Pump compatible metrics)',
    description: "The APIs dashboard on Tyk Pump's Prometheus families (tyk_http_status, tyk_http_status_per_path, tyk_latency), served by tyk-otel-pump when sli.tyk_compatible is on.",
    tags: ['tyk', 'tyk-otel-pump', 'tyk-pump'],
    variables: [labelVariable('api', 'API id', status, 'api')],
    panels,
  });
}
