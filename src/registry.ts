/**
 * Every component type the agent knows: a literal list of (kind, type, loader). Adding a component is its
 * folder plus one line here.
 *
 * A factory's module (and what it imports: the PostgreSQL driver, hot-shots, the OTLP serializers…) is
 * loaded only when a config names its type: `run` with `tyk_redis → route → sli → prometheus` never loads
 * the SQL or StatsD exporters (BENCHMARKS.md, "Pipeline": ~15 MiB of RSS at start). Commands and tests that
 * need every type import `src/factories.ts`.
 */
import type { ComponentKind, Factory } from './component.js';

/** One registered component type; `load()` imports its factory's module. */
export interface RegistryEntry {
  readonly kind: ComponentKind;
  readonly type: string;
  load(): Promise<Factory>;
}

/** All component types, receivers first, then processors, then exporters. */
export const registry: readonly RegistryEntry[] = [
  { kind: 'receiver', type: 'tyk_redis', load: async () => (await import('../receivers/tyk_redis/index.js')).tykRedisReceiverFactory },
  { kind: 'receiver', type: 'redis_stream', load: async () => (await import('../receivers/redis_stream/index.js')).redisStreamReceiverFactory },
  { kind: 'processor', type: 'filter', load: async () => (await import('../processors/filter/index.js')).filterProcessorFactory },
  { kind: 'processor', type: 'redact', load: async () => (await import('../processors/redact/index.js')).redactProcessorFactory },
  { kind: 'processor', type: 'route', load: async () => (await import('../processors/route/index.js')).routeProcessorFactory },
  { kind: 'processor', type: 'audit_log', load: async () => (await import('../processors/audit_log/index.js')).auditLogProcessorFactory },
  { kind: 'processor', type: 'sli', load: async () => (await import('../processors/sli/index.js')).sliProcessorFactory },
  { kind: 'processor', type: 'slo', load: async () => (await import('../processors/slo/index.js')).sloProcessorFactory },
  { kind: 'exporter', type: 'otlp_http', load: async () => (await import('../exporters/otlp_http/index.js')).otlpHttpExporterFactory },
  { kind: 'exporter', type: 'prometheus', load: async () => (await import('../exporters/prometheus/index.js')).prometheusExporterFactory },
  { kind: 'exporter', type: 'dogstatsd', load: async () => (await import('../exporters/dogstatsd/index.js')).dogstatsdExporterFactory },
  { kind: 'exporter', type: 'statsd', load: async () => (await import('../exporters/statsd/index.js')).statsdExporterFactory },
  { kind: 'exporter', type: 'file', load: async () => (await import('../exporters/file/index.js')).fileExporterFactory },
  { kind: 'exporter', type: 'status', load: async () => (await import('../exporters/status/index.js')).statusExporterFactory },
  { kind: 'exporter', type: 'sql', load: async () => (await import('../exporters/sql/index.js')).sqlExporterFactory },
  { kind: 'exporter', type: 'sql_aggregate', load: async () => (await import('../exporters/sql_aggregate/index.js')).sqlAggregateExporterFactory },
  { kind: 'exporter', type: 'redis_stream', load: async () => (await import('../exporters/redis_stream/index.js')).redisStreamExporterFactory },
];

/** Loads every factory, in {@link registry} order. */
export function loadAllFactories(): Promise<Factory[]> {
  return Promise.all(registry.map((e) => e.load()));
}

const SECTIONS: readonly (readonly [string, ComponentKind])[] = [['receivers', 'receiver'], ['processors', 'processor'], ['exporters', 'exporter']];

/**
 * Loads the factories a parsed config root names under `receivers`, `processors` and `exporters` (by the
 * type part of each `type[/name]` id), plus `sli` and `slo` when top-level `slos` are defined (their
 * defaults shape the SLO rules). When the config names a type we do not know, or its sections are not
 * maps, every factory is loaded, so that validation lists the known types exactly as before.
 */
export async function loadFactoriesFor(root: unknown): Promise<Factory[]> {
  const wanted = new Set<RegistryEntry>();
  const doc = root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>) : {};
  for (const [section, kind] of SECTIONS) {
    const value = doc[section];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) return loadAllFactories();
    for (const id of Object.keys(value)) {
      const type = id.split('/')[0];
      const entry = registry.find((e) => e.kind === kind && e.type === type);
      if (!entry) return loadAllFactories();
      wanted.add(entry);
    }
  }
  if (doc['slos'] !== undefined) for (const e of registry) if (e.type === 'sli' || e.type === 'slo') wanted.add(e);
  return Promise.all(registry.filter((e) => wanted.has(e)).map((e) => e.load()));
}
