/**
 * Config of the `status` exporter: where `/status` is served and how much history its fixed-size ring
 * buffers keep. Adding the exporter to a metrics pipeline turns the page on; leaving it out keeps it off.
 */
import { z } from 'zod';
import { duration, hostPort } from '../../src/config/schema.js';

/** Config schema of the `status` exporter. */
export const statusConfigSchema = z
  .strictObject({
    endpoint: hostPort()
      .default('0.0.0.0:9464')
      .describe("host:port where the page is served. The default is the agent's own telemetry address (next to /metrics, /health, /ready)."),
    path: z
      .string({ error: 'must be a URL path' })
      .regex(/^\/[A-Za-z0-9._~\/-]*$/, 'must be a URL path starting with / (letters, digits, . _ ~ / -)')
      .default('/status')
      .describe('URL path of the page.'),
    window: duration({ min: 60_000, max: 3_600_000 }).prefault('15m').describe('History shown as sparklines (1m to 1h).'),
    resolution: duration({ min: 1000, max: 600_000 }).prefault('30s').describe('Width of one sparkline point; window / resolution points are kept (at most 720).'),
    max_apis: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(50)
      .describe('APIs tracked at most; traffic of further APIs is shown as one "(other APIs)" row. Bounds the memory (about 60 KiB per API at the defaults).'),
  })
  .superRefine((c, ctx) => {
    if (c.window / c.resolution > 720) {
      ctx.addIssue({ code: 'custom', message: `must be at least window / 720 (${Math.ceil(c.window / 720)} ms for this window)`, path: ['resolution'], input: c.resolution });
    }
    if (c.resolution > c.window / 2) {
      ctx.addIssue({ code: 'custom', message: 'must be at most half the window (a sparkline needs two points)', path: ['resolution'], input: c.resolution });
    }
  })
  .describe('Serves a self-contained HTML status page (APIs, SLOs, drain, exporters) from the metrics of the pipelines it is in.');

/** Parsed `status` exporter config (durations in ms). */
export type StatusConfig = z.infer<typeof statusConfigSchema>;
