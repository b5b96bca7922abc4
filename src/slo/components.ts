/**
 * The component configs the SLO engine reads, typed by each component's exported `config.ts` type, so
 * renaming a key there (say `buckets` in `processors/sli/config.ts`) breaks the type-check here instead
 * of silently disabling a check. Defaults come from the registered factory's schema, never a copy.
 */
import type { Factory } from '../component.js';
import type { DogStatsdConfig } from '../../exporters/dogstatsd/config.js';
import type { PrometheusConfig } from '../../exporters/prometheus/config.js';
import type { SliConfig } from '../../processors/sli/config.js';
import type { SloProcessorConfig } from '../../processors/slo/config.js';

/** `kind/type` → the config type of that component. */
export interface SloComponentConfigs {
  'processor/sli': SliConfig;
  'processor/slo': SloProcessorConfig;
  'exporter/prometheus': PrometheusConfig;
  'exporter/dogstatsd': DogStatsdConfig;
}

/** A component read by the SLO engine. */
export type SloComponent = keyof SloComponentConfigs;

/** What the engine needs of a validated component entry. */
export interface ComponentView {
  readonly kind: string;
  readonly type: string;
  readonly config: unknown;
}

function split(key: SloComponent): [kind: string, type: string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** `[id, config]` of every valid component of `key`, in config order. */
export function configsOf<K extends SloComponent>(components: ReadonlyMap<string, ComponentView>, key: K): [string, SloComponentConfigs[K]][] {
  const [kind, type] = split(key);
  const out: [string, SloComponentConfigs[K]][] = [];
  for (const [id, c] of components) {
    // The loader parsed this config with the schema of `type`, whose output type is the one named above.
    if (c.kind === kind && c.type === type && c.config !== undefined) out.push([id, c.config as SloComponentConfigs[K]]);
  }
  return out;
}

/** The default config of `key` (its schema parsing `{}`), or undefined when that type is not registered. */
export function defaultConfigOf<K extends SloComponent>(factories: readonly Factory[], key: K): SloComponentConfigs[K] | undefined {
  const [kind, type] = split(key);
  const factory = factories.find((f) => f.kind === kind && f.type === type);
  return factory ? (factory.configSchema.parse({}) as SloComponentConfigs[K]) : undefined;
}
