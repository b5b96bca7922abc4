/**
 * The Prometheus names the dashboards and agent alerts query, derived from the code that emits them: the
 * `sli` processor's metric names (types of `processors/sli/config.ts`), the SLO rules' names
 * (`src/slo/promql.ts`, `src/slo/rules.ts`), and the OTel → Prometheus naming the `prometheus` exporter
 * uses (`src/prometheus-naming.ts`). A renamed metric renames the query or fails the type-check, and the
 * end-to-end test (every query against a real Prometheus scraping a real agent) catches what still drifts.
 */
import { prometheusName, type NameKind } from '../prometheus-naming.js';
import type { SliMetric, TykPumpMetric } from '../../processors/sli/config.js';
import { PROM_LABELS, PROM_METRICS } from '../slo/promql.js';

/** Which Prometheus names to use: the `prometheus` exporter's namespace and the self-telemetry prefix. */
export interface NameOptions {
  /** `exporters::prometheus::namespace` ('' = none). */
  readonly namespace: string;
  /** `service::telemetry::metrics::prefix` (default `tyk_otel_pump`). */
  readonly telemetryPrefix: string;
}

/** A metric of the `sli` processor as the `prometheus` exporter serves it. */
function sli(name: SliMetric, unit: string, kind: NameKind, ns: string): string {
  return prometheusName(name, unit, kind, ns);
}

/**
 * The name of a self-telemetry instrument as `/metrics` serves it: self-telemetry goes through the OTel
 * SDK's Prometheus serializer, which replaces invalid characters and adds `_total` to counters but no
 * unit suffix (unlike the `prometheus` exporter's Collector naming).
 */
export function selfTelemetryName(name: string, kind: NameKind): string {
  const base = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return kind === 'counter' && !base.endsWith('_total') ? `${base}_total` : base;
}

/** Label names (OTel attribute → Prometheus label) the dashboards group and filter by. */
export const LABELS = {
  ...PROM_LABELS,
  /** Self-telemetry attributes. */
  receiver: 'receiver',
  processor: 'processor',
  exporter: 'exporter',
  reason: 'reason',
  signal: 'signal',
  key: 'key',
  /** `tyk_otel_pump_receiver_drain_lag_seconds{record="oldest|newest"}`. */
  record: 'record',
  le: 'le',
  component: 'component',
  /** `slo` processor gauges. */
  sloName: 'tyk_slo_name',
  window: 'window',
  severity: 'severity',
} as const;

/** Every metric name the generated dashboards and agent rules use. */
export function metricNames(o: NameOptions) {
  const ns = o.namespace === '' ? '' : `${o.namespace}_`;
  const self = (what: string, _unit: string, kind: NameKind) => selfTelemetryName(`${o.telemetryPrefix}.${what}`, kind);
  const receiver = (what: string, unit: string, kind: NameKind) => self(`receiver.${what}`, unit, kind);
  // Typed by the sli processor's list of Tyk Pump families: a renamed family fails the type-check here.
  const tykStatus: TykPumpMetric = 'tyk_http_status';
  const tykStatusPerPath: TykPumpMetric = 'tyk_http_status_per_path';
  const tykLatency: TykPumpMetric = 'tyk_latency';
  return {
    requests: `${ns}${PROM_METRICS.requests}`,
    durationBucket: `${ns}${PROM_METRICS.durationBucket}`,
    durationCount: `${ns}${PROM_METRICS.durationCount}`,
    upstreamBucket: `${sli('tyk.upstream.request.duration', 's', 'histogram', o.namespace)}_bucket`,
    gatewayBucket: `${sli('tyk.gateway.request.duration', 's', 'histogram', o.namespace)}_bucket`,
    /** Tyk Pump's families are served verbatim (no namespace). */
    tyk: { status: tykStatus, statusPerPath: tykStatusPerPath, latencyBucket: `${tykLatency}_bucket` },
    slo: {
      objective: prometheusName('tyk.slo.objective', '1', 'gauge', o.namespace),
      errorRatio: prometheusName('tyk.slo.error_ratio', '1', 'gauge', o.namespace),
      burnRate: prometheusName('tyk.slo.burn_rate', '1', 'gauge', o.namespace),
      budgetRemaining: prometheusName('tyk.slo.error_budget.remaining', '1', 'gauge', o.namespace),
      alert: prometheusName('tyk.slo.alert', '', 'gauge', o.namespace),
    },
    agent: {
      receiverAccepted: self('receiver.accepted_items', '{item}', 'counter'),
      receiverRefused: self('receiver.refused_items', '{item}', 'counter'),
      receiverDropped: self('receiver.dropped_items', '{item}', 'counter'),
      processorDropped: self('processor.dropped_items', '{item}', 'counter'),
      exporterAccepted: self('exporter.accepted_items', '{item}', 'counter'),
      exporterDropped: self('exporter.dropped_items', '{item}', 'counter'),
      exporterSent: self('exporter.sent_items', '{item}', 'counter'),
      exporterFailed: self('exporter.send_failed_items', '{item}', 'counter'),
      exporterQueue: self('exporter.queue_size', '{item}', 'gauge'),
      ready: self('ready', '1', 'gauge'),
      componentReady: self('component.ready', '1', 'gauge'),
      rss: self('process.memory.rss_bytes', 'By', 'gauge'),
      heap: self('process.heap_used_bytes', 'By', 'gauge'),
      backlog: receiver('backlog_records', '{record}', 'gauge'),
      lag: receiver('drain_lag_seconds', 's', 'gauge'),
      unacked: receiver('unacked_chunks', '{chunk}', 'gauge'),
      deadLettered: receiver('dead_lettered_items', '{item}', 'counter'),
    },
  };
}

/** The names {@link metricNames} returns. */
export type MetricNames = ReturnType<typeof metricNames>;
