/**
 * Builders of OTel SDK `MetricData`, so the `sli` and `slo` processors (delta) and the `prometheus` and
 * `otlp_http` exporters (cumulative or delta state) all hand on the same shapes.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality, DataPointType, type DataPoint, type GaugeMetricData, type Histogram, type HistogramMetricData, type MetricData,
  type MetricDescriptor, type SumMetricData,
} from '@opentelemetry/sdk-metrics';

/** The point types a state keeps (exponential histograms are refused by every consumer here). */
export type PointType = DataPointType.SUM | DataPointType.GAUGE | DataPointType.HISTOGRAM;

/** A metric descriptor. */
export function descriptor(name: string, description: string, unit: string, valueType: ValueType = ValueType.DOUBLE): MetricDescriptor {
  return { name, description, unit, valueType };
}

/** A sum (counter when monotonic). */
export function sumData(d: MetricDescriptor, temporality: AggregationTemporality, isMonotonic: boolean, dataPoints: DataPoint<number>[]): SumMetricData {
  return { descriptor: d, aggregationTemporality: temporality, dataPointType: DataPointType.SUM, isMonotonic, dataPoints };
}

/** A histogram. */
export function histogramData(d: MetricDescriptor, temporality: AggregationTemporality, dataPoints: DataPoint<Histogram>[]): HistogramMetricData {
  return { descriptor: d, aggregationTemporality: temporality, dataPointType: DataPointType.HISTOGRAM, dataPoints };
}

/** A gauge (its temporality is reported as cumulative, as the SDK does). */
export function gaugeData(d: MetricDescriptor, dataPoints: DataPoint<number>[]): GaugeMetricData {
  return { descriptor: d, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints };
}

/** A metric of the given point type from points of the matching value type. */
export function metricData(
  type: PointType,
  d: MetricDescriptor,
  temporality: AggregationTemporality,
  isMonotonic: boolean,
  dataPoints: DataPoint<number>[] | DataPoint<Histogram>[],
): MetricData {
  if (type === DataPointType.HISTOGRAM) return histogramData(d, temporality, dataPoints as DataPoint<Histogram>[]);
  if (type === DataPointType.SUM) return sumData(d, temporality, isMonotonic, dataPoints as DataPoint<number>[]);
  return { ...gaugeData(d, dataPoints as DataPoint<number>[]), aggregationTemporality: temporality };
}

/** A data point. */
export function point<T>(startTime: HrTime, endTime: HrTime, attributes: Attributes, value: T): DataPoint<T> {
  return { startTime, endTime, attributes, value };
}
