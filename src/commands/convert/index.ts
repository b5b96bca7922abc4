/**
 * `tyk-otel-pump convert [--pump-conf FILE] [--env] [--out FILE] [--collector-out FILE]`: writes an
 * otel-config.yaml (and a collector.yaml when some pump needs the OpenTelemetry Collector) from a Tyk Pump
 * configuration, checks the result as `validate` would, and prints the report on stderr.
 * Exit codes: 0 written and valid, 1 unusable input or an invalid result (still written), 2 usage.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command, Io } from '../io.js';
import { loadConfigText } from '../../config/load.js';
import { formatProblem } from '../../errors.js';
import { factories } from '../../factories.js';
import { convert } from './convert.js';
import { PumpConfError } from './pump-conf.js';

/** Synopsis of the command. */
export const CONVERT_USAGE = 'convert [--pump-conf FILE] [--env] [--out FILE] [--collector-out FILE]';

/** The `convert` command for the command table. */
export const convertCommand: Command = {
  summary: 'write an otel-config.yaml (and a Collector config) from a Tyk Pump pump.conf and/or TYK_PMP_* variables',
  usage: CONVERT_USAGE,
  run: (args, io) => runConvert(args, io),
};

/** Runs the command; returns the exit code. */
export async function runConvert(args: string[], io: Io, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'pump-conf': { type: 'string' },
      env: { type: 'boolean', default: false },
      out: { type: 'string', default: './otel-config.yaml' },
      'collector-out': { type: 'string' },
    },
    strict: true,
  });
  const file = values['pump-conf'];
  if (file === undefined && !values.env) {
    io.err(`give --pump-conf FILE, --env (TYK_PMP_* variables), or both\nusage: tyk-otel-pump ${CONVERT_USAGE}`);
    return 2;
  }
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      io.err(`${file}: cannot read the pump.conf (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`);
      return 1;
    }
  }
  const source = [file, values.env ? 'TYK_PMP_* environment' : undefined].filter((s) => s !== undefined).join(' + ');
  let result;
  try {
    result = convert(text, values.env ? env : {}, { source });
  } catch (err) {
    if (err instanceof PumpConfError) {
      io.err(`${file ?? 'environment'}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const out = values.out;
  const toStdout = out === '-';
  const collectorOut = values['collector-out'] ?? (toStdout ? undefined : join(dirname(resolve(out)), 'collector.yaml'));
  const written = [toStdout ? 'stdout' : out];
  try {
    if (toStdout) io.out(result.agentYaml);
    else await writeFile(out, result.agentYaml, 'utf8');
    if (result.collectorYaml !== undefined) {
      if (collectorOut === undefined) io.err('some pumps need the OpenTelemetry Collector: give --collector-out FILE to write its config');
      else {
        await writeFile(collectorOut, result.collectorYaml, 'utf8');
        written.push(collectorOut);
      }
    }
  } catch (err) {
    io.err(`cannot write the converted config (${(err as NodeJS.ErrnoException).code ?? 'EIO'}): ${(err as Error).message}`);
    return 1;
  }

  io.err(`converted ${result.converted} pump(s) from ${source}; wrote ${written.join(' and ')}`);
  io.err(result.report.format().trimEnd());
  // The result is checked exactly as `validate` would, relative to where it was written.
  const check = loadConfigText(result.agentYaml, toStdout ? 'otel-config.yaml' : out, factories, {}, toStdout ? process.cwd() : dirname(resolve(out)));
  for (const w of check.warnings) io.err(`warning: ${formatProblem(toStdout ? 'otel-config.yaml' : out, w)}`);
  if (!check.config) {
    io.err('the converted config does not validate:');
    for (const p of check.problems) io.err(`  ${formatProblem(toStdout ? 'otel-config.yaml' : out, p)}`);
    return 1;
  }
  io.err(`validate: ${check.config.pipelines.length} pipeline(s), valid`);
  return 0;
}
