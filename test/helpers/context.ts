/**
 * A `ComponentContext` for a component under test, built from real parts (self-telemetry, health
 * registry, HTTP servers, shared config) so that what a component reports can be read back.
 */
import type { Logger } from 'pino';
import type { ComponentContext, ComponentTelemetry } from '../../src/component.js';
import { buildSharedConfig, sharedSectionSchemas, type SharedConfig } from '../../src/config/shared.js';
import { HealthRegistry } from '../../src/graph.js';
import { HttpServers } from '../../src/http-server.js';
import { silentLogger } from '../../src/logger.js';

/** What {@link componentContext} needs; every field but `id` and `telemetry` has a default. */
export interface ComponentContextOptions {
  readonly id: string;
  /** Usually `new SelfTelemetry(prefix).forComponent(kind, id)`: the test picks the prefix it reads back. */
  readonly telemetry: ComponentTelemetry;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Default: new servers logging to `logger` (close them in the test when the component listens). */
  readonly http?: HttpServers;
  /** Default: a new registry. */
  readonly health?: HealthRegistry;
  /** Default: {@link testSharedConfig}(). */
  readonly shared?: SharedConfig;
  /** Default: `test`. */
  readonly instanceId?: string;
  /** Default: the working directory. */
  readonly configDir?: string;
}

/** The shared config of an agent with the default error definition (and the given one, or SLOs, when asked). */
export function testSharedConfig(sections: { errorDefinition?: unknown; slos?: unknown } = {}): SharedConfig {
  return buildSharedConfig({
    error_definition: sharedSectionSchemas.error_definition.parse(sections.errorDefinition),
    ...(sections.slos === undefined ? {} : { slos: sharedSectionSchemas.slos.parse(sections.slos) }),
  });
}

/** A component context from `opts` and the defaults. */
export function componentContext(opts: ComponentContextOptions): ComponentContext {
  const logger = opts.logger ?? silentLogger();
  return {
    id: opts.id,
    logger,
    telemetry: opts.telemetry,
    health: (opts.health ?? new HealthRegistry()).reporter(opts.id),
    http: (opts.http ?? new HttpServers(logger)).hostFor(opts.id),
    shared: opts.shared ?? testSharedConfig(),
    instanceId: opts.instanceId ?? 'test',
    configDir: opts.configDir ?? process.cwd(),
  };
}
