/**
 * Config of the `file` exporter: where (a file or `-` for stdout), in which format (JSON lines or CSV),
 * and optional size-based rotation. The schema is the documentation; `FileConfig` is derived from it.
 */
import { z } from 'zod';

/** Config schema of the `file` exporter. */
export const fileConfigSchema = z
  .strictObject({
    path: z
      .string({ error: 'must be a file path or - for stdout' })
      .min(1, 'must be a file path or - for stdout')
      .default('-')
      .describe('File to append to, or - for stdout (the default, like Tyk Pump\'s stdout pump). Relative paths resolve against the config file\'s directory; missing directories are created.'),
    format: z
      .enum(['json', 'csv'], { error: 'must be json or csv' })
      .default('json')
      .describe('json: one object per line, keyed by Tyk\'s JSON field names (records) or OTel-style log entries (logs). csv: records only, a header row then one row per record, nested fields flattened as latency.total.'),
    uptime_path: z
      .string({ error: 'must be a file path' })
      .default('')
      .describe('Where uptime records go. Empty: the same file as path in json format; not written (counted as dropped, reason uptime_not_written) in csv format, whose columns are those of analytics records.'),
    rotation: z
      .strictObject({
        max_megabytes: z
          .number({ error: 'must be a number of megabytes' })
          .min(0, 'must be 0 (no rotation) or more')
          .default(0)
          .describe('Rotate when the file would grow beyond this many megabytes (10^6 bytes); 0 turns rotation off. A single batch larger than the limit is still written whole.'),
        max_backups: z
          .number({ error: 'must be a number' })
          .int('must be an integer')
          .min(0, 'must be 0 or more')
          .max(1000, 'must be at most 1000')
          .default(5)
          .describe('Rotated files kept as <path>.1 (newest) … <path>.N; older ones are deleted. 0 keeps none.'),
      })
      .prefault({})
      .describe('Size-based rotation of path (and uptime_path).'),
  })
  .superRefine((c, ctx) => {
    if (c.path === '-' && c.rotation.max_megabytes > 0) {
      ctx.addIssue({ code: 'custom', message: 'must be 0 when path is - (stdout cannot be rotated)', path: ['rotation', 'max_megabytes'], input: c.rotation.max_megabytes });
    }
    if (c.uptime_path !== '' && c.uptime_path === c.path) {
      ctx.addIssue({ code: 'custom', message: 'must differ from path (leave it empty to share the file in json format)', path: ['uptime_path'], input: c.uptime_path });
    }
  });

/** The `file` exporter's config. */
export type FileConfig = z.infer<typeof fileConfigSchema>;
