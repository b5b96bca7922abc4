/** The `file` exporter factory. */
import type { ExporterFactory } from '../../src/component.js';
import { fileConfigSchema, type FileConfig } from './config.js';
import { FileExporter } from './file.js';

/** `exporters: file`: records as Tyk JSON lines or CSV, logs as JSON lines, to a file (rotated) or stdout. */
export const fileExporterFactory: ExporterFactory<FileConfig> = {
  kind: 'exporter',
  type: 'file',
  description: 'Appends records (Tyk JSON lines or CSV, as Tyk Pump\'s stdout/CSV pumps) and logs (JSON lines) to a file with size rotation, or to stdout.',
  configSchema: fileConfigSchema,
  inputs: ['records', 'logs'],
  checkInput: (config, signal) => (signal === 'logs' && config.format === 'csv' ? 'must use format json for logs (csv has columns for records only)' : undefined),
  create: (ctx, config) => new FileExporter(ctx, config),
};
