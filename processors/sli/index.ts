/** The `sli` processor: Tyk records → SLI metrics (OTel metric data, delta temporality). */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { sliConfigSchema, type SliConfig } from './config.js';
import { SliProcessor } from './sli.js';
import { sliReads } from './reads.js';

/** Factory of the `sli` processor. */
export const sliProcessorFactory: ProcessorFactory<SliConfig> = {
  kind: 'processor',
  type: 'sli',
  description: 'Aggregates Tyk records into SLI metrics: request duration histograms and request counters (http.server.request.duration, tyk.api.requests, …).',
  configSchema: sliConfigSchema,
  signatures: [{ input: 'records', output: 'metrics' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  reads: sliReads,
  create(ctx, config, _signature, next) {
    return new SliProcessor(ctx, config, next as Consumer<'metrics'>);
  },
};
