/**
 * The metric families the `sli` processor emits: descriptions and units per name, and the delta
 * `MetricData` of each (built with the shared builders of `internal/metrics/`).
 */
import { ValueType, type Attributes } from '@opentelemetry/api';
import { AggregationTemporality, type DataPoint, type Histogram, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { descriptor, histogramData, sumData } from '../../internal/metrics/data.js';
import type { SliMetric, TykPumpMetric } from './config.js';

/** Any family with a fixed name. */
export type FamilyName = SliMetric | TykPumpMetric;

const DESCRIPTIONS: Readonly<Record<FamilyName, string>> = {
  'http.server.request.duration': 'Duration of HTTP server requests, as measured by the Tyk gateway.',
  'tyk.upstream.request.duration': 'Time the upstream took to answer, as measured by the Tyk gateway.',
  'tyk.gateway.request.duration': 'Time added by the Tyk gateway (total minus upstream).',
  'tyk.api.requests': 'HTTP requests handled by the Tyk gateway; bad ones carry error.type.',
  'http.server.request.body.size': 'Size of HTTP request bodies (Content-Length), when known.',
  'tyk.network.connections.opened': 'TCP/TLS connections opened on Tyk TCP APIs.',
  'tyk.network.connections.closed': 'TCP/TLS connections closed on Tyk TCP APIs.',
  'tyk.network.io': 'Bytes received from (receive) and sent to (transmit) clients of Tyk TCP APIs.',
  'tyk.uptime.check.duration': 'Duration of Tyk host-checker uptime checks.',
  'tyk.uptime.checks': 'Tyk host-checker uptime checks, by outcome (tyk.uptime.status up or down).',
  tyk_http_status: 'HTTP status codes per API',
  tyk_http_status_per_path: 'HTTP status codes per API path and method',
  tyk_http_status_per_key: 'HTTP status codes per API key',
  tyk_http_status_per_oauth_client: 'HTTP status codes per oAuth client id',
  tyk_latency: 'Latency added by Tyk, Total Latency, upstream latency, and gateway latency per API',
};

/** Unit per family (Tyk's families have none but the latency's milliseconds). */
export const UNITS: Readonly<Record<FamilyName, string>> = {
  'http.server.request.duration': 's',
  'tyk.upstream.request.duration': 's',
  'tyk.gateway.request.duration': 's',
  'tyk.api.requests': '{request}',
  'http.server.request.body.size': 'By',
  'tyk.network.connections.opened': '{connection}',
  'tyk.network.connections.closed': '{connection}',
  'tyk.network.io': 'By',
  'tyk.uptime.check.duration': 's',
  'tyk.uptime.checks': '{check}',
  tyk_http_status: '',
  tyk_http_status_per_path: '',
  tyk_http_status_per_key: '',
  tyk_http_status_per_oauth_client: '',
  tyk_latency: 'ms',
};

/** A delta histogram of family `name`. */
export function histogramMetric(name: FamilyName, points: DataPoint<Histogram>[], valueType = ValueType.DOUBLE): HistogramMetricData {
  return histogramData(descriptor(name, DESCRIPTIONS[name], UNITS[name], valueType), AggregationTemporality.DELTA, points);
}

/** A delta monotonic sum of family `name`. */
export function sumMetric(name: FamilyName, points: DataPoint<number>[]): SumMetricData {
  return sumData(descriptor(name, DESCRIPTIONS[name], UNITS[name], ValueType.INT), AggregationTemporality.DELTA, true, points);
}

const directionCache = new WeakMap<Attributes, { receive: Attributes; transmit: Attributes }>();

/** A network series' attributes plus `network.io.direction` (for `tyk.network.io`), built once per series. */
export function directionAttributes(attributes: Attributes, direction: 'receive' | 'transmit'): Attributes {
  let d = directionCache.get(attributes);
  if (!d) {
    d = {
      receive: Object.freeze({ ...attributes, 'network.io.direction': 'receive' }),
      transmit: Object.freeze({ ...attributes, 'network.io.direction': 'transmit' }),
    };
    directionCache.set(attributes, d);
  }
  return d[direction];
}
