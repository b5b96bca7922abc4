/**
 * Names the converter writes into component configs, read from the components' own schemas through the
 * registry (core reaches components only there): the sli processor's metric names and Tyk families, the
 * Tyk tag and field names the dogstatsd and statsd exporters accept. A rename in a component is picked up
 * here; `vocabulary.test.ts` holds these equal to the components' exported lists.
 */
import { z } from 'zod';
import type { ComponentKind } from '../../component.js';
import { factories } from '../../factories.js';

/** The values of the enum at `path` in a component's config schema (through defaults, arrays, objects). */
export function schemaEnum(kind: ComponentKind, type: string, path: readonly string[]): readonly string[] {
  const factory = factories.find((f) => f.kind === kind && f.type === type);
  if (!factory) throw new Error(`no ${kind} of type ${type} in the registry`);
  let node: unknown = factory.configSchema;
  let rest = [...path];
  for (let guard = 0; guard < 32; guard++) {
    if (node instanceof z.ZodEnum) {
      if (rest.length === 0) return [...new Set(node.options.map(String))];
      break;
    }
    if (node instanceof z.ZodObject && rest.length > 0) {
      node = (node.shape as Record<string, unknown>)[rest[0] as string];
      rest = rest.slice(1);
    } else if (node instanceof z.ZodArray) node = node.element;
    else if (node !== null && typeof node === 'object' && typeof (node as { unwrap?: unknown }).unwrap === 'function') node = (node as { unwrap(): unknown }).unwrap();
    else break;
  }
  throw new Error(`${kind} ${type}: no enum at ${path.join('.')}`);
}

/** Tyk Pump's Prometheus base families (`disabled_metrics` names). */
export const tykPrometheusFamilies = (): readonly string[] => schemaEnum('processor', 'sli', ['tyk_compatible', 'disabled_metrics']);

/** The sli processor's OTel-native metrics, all disabled in a converted prometheus pump's pipeline. */
export const sliNativeMetrics = (): readonly string[] => schemaEnum('processor', 'sli', ['disabled_metrics']);

/** Tyk's dogstatsd pump `tags`. */
export const tykDogstatsdTags = (): readonly string[] => schemaEnum('exporter', 'dogstatsd', ['tyk_tags']);

/** Tyk's statsd pump `fields` (only timings are sent). */
export const tykStatsdFields = (): readonly string[] => schemaEnum('exporter', 'statsd', ['tyk_fields']);

/** Tyk's statsd pump `tags` (`method` only with `separated_method`). */
export const tykStatsdTags = (): readonly string[] => schemaEnum('exporter', 'statsd', ['tyk_tags']);
