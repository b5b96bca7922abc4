/** The `route` processor factory. */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { routeConfigSchema, type RouteConfig } from './config.js';
import { RouteProcessor } from './route.js';

/** `processors: route`: sets `http.route` (`AnalyticsRecord.route`) to a low-cardinality path template. */
export const routeProcessorFactory: ProcessorFactory<RouteConfig> = {
  kind: 'processor',
  type: 'route',
  description: 'Sets http.route to a low-cardinality template of the request path (ids, UUIDs, ULIDs, tokens → placeholders; user routes and patterns; per-API cap).',
  configSchema: routeConfigSchema,
  signatures: [{ input: 'records', output: 'records' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  reads: () => ['apiId', 'path', 'rawPath', 'originalPath', 'listenPath', 'trackPath'],
  create: (ctx, config, _signature, next) => new RouteProcessor(ctx, config, next as Consumer<'records'>),
};
