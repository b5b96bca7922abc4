/** The `redact` processor factory. */
import type { Consumer, ProcessorFactory } from '../../src/component.js';
import { redactConfigSchema, type RedactConfig } from './config.js';
import { RedactProcessor } from './redact.js';

/** `processors: redact`: Tyk Pump record trimming, ignore_fields, API-key obfuscation, raw decoding. */
export const redactProcessorFactory: ProcessorFactory<RedactConfig> = {
  kind: 'processor',
  type: 'redact',
  description: 'Trims raw request/response, resets ignored fields, obfuscates API keys and decodes raw request/response (Tyk Pump semantics).',
  configSchema: redactConfigSchema,
  signatures: [{ input: 'records', output: 'records' }],
  // Stateless per batch (sli emits each batch's deltas): copies in worker threads add up to the same output.
  workers: {},
  create: (ctx, config, _signature, next) => new RedactProcessor(ctx, config, next as Consumer<'records'>),
};
