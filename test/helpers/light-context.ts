/**
 * A light `ComponentContext` (a no-op meter, no health registry, no HTTP, a silent logger) for processes
 * that must start fast and measure only the component: the multi-process receiver tests' children and the
 * receiver bench. Tests that read back what a component reports use `context.ts` instead.
 */
import { createNoopMeter } from '@opentelemetry/api';
import type { ComponentContext } from '../../src/component.js';
import { silentLogger } from '../../src/logger.js';
import { compileErrorDefinition } from '../../src/error-definition.js';

/** A context for component `id` with instance id `instanceId`, reporting nowhere. */
export function lightContext(id: string, instanceId: string): ComponentContext {
  return {
    id,
    logger: silentLogger(),
    telemetry: { meter: createNoopMeter(), name: (s) => `tyk_otel_pump.${s}`, accepted: () => undefined, refused: () => undefined, dropped: () => undefined, sent: () => undefined, sendFailed: () => undefined, queueSize: () => undefined },
    health: { set: () => undefined },
    http: { route: () => undefined, metrics: () => undefined, listen: () => Promise.resolve({ host: '127.0.0.1', port: 0 }), release: () => undefined },
    shared: { errorDefinition: compileErrorDefinition(), slos: [] },
    instanceId,
    configDir: process.cwd(),
  };
}
