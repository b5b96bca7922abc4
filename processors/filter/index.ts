/** The `filter` processor factory. */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { filterConfigSchema, type FilterConfig } from './config.js';
import { FilterProcessor } from './filter.js';

/** `processors: filter`: drops records by org, API, response code (Tyk Pump rules) and kind. */
export const filterProcessorFactory: ProcessorFactory<FilterConfig> = {
  kind: 'processor',
  type: 'filter',
  description: 'Drops records by org id, API id and response code (Tyk Pump filter rules) and by record kind.',
  configSchema: filterConfigSchema,
  signatures: [{ input: 'records', output: 'records' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  reads: () => ['apiId', 'orgId', 'responseCode'],
  create: (ctx, config, _signature, next) => new FilterProcessor(ctx, config, next as Consumer<'records'>),
};
