/** The `slo` processor: Tyk records → SLO gauges (error ratio, burn rate, error budget, alert state), state shared through Redis. */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { sloConfigSchema, type SloProcessorConfig } from './config.js';
import { SloProcessor } from './slo.js';

/** Factory of the `slo` processor. */
export const sloProcessorFactory: ProcessorFactory<SloProcessorConfig> = {
  kind: 'processor',
  type: 'slo',
  description: 'Evaluates the top-level slos from records (per-minute counts shared in Redis) and emits burn-rate, error-budget and alert gauges.',
  configSchema: sloConfigSchema,
  signatures: [{ input: 'records', output: 'metrics' }],
  reads: () => ['timestampMs', 'apiId', 'apiName', 'orgId', 'method', 'responseCode', 'requestTime'],
  create(ctx, config, _signature, next) {
    return new SloProcessor(ctx, config, next as Consumer<'metrics'>);
  },
};
