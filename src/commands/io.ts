/**
 * What every command shares: the output streams, the command shape, the `--config` option, and loading
 * the config with every warning and problem printed one line each.
 */
import { loadConfigFile, type LoadResult, type ResolvedConfig } from '../config/load.js';
import { formatProblem } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { parseConfigYaml } from '../config/yaml.js';
import { loadFactoriesFor } from '../registry.js';

/** Output streams, injectable for tests. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The process's stdout and stderr, one line per call. */
export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** A subcommand: parses its own options from `args`, returns the exit code. */
export interface Command {
  /** One line for `--help`. */
  readonly summary: string;
  /** The synopsis after `tyk-otel-pump `. */
  readonly usage: string;
  run(args: string[], io: Io): Promise<number>;
}

/** The `--config`/`-c` option every command takes (a `parseArgs` options entry). */
export const CONFIG_OPTION = { config: { type: 'string', short: 'c', default: './otel-config.yaml' } } as const;

/** Prints a load's warnings and problems to stderr, each prefixed by the file. */
export function printLoad(result: LoadResult, file: string, io: Io): void {
  for (const w of result.warnings) io.err(`warning: ${formatProblem(file, w)}`);
  for (const p of result.problems) io.err(formatProblem(file, p));
}

/**
 * Loads and validates `file`; prints what is wrong. Undefined when invalid. Only the factories of the types
 * the file names are loaded (every one when it names a type we do not know, so that the problem lists the
 * known types).
 */
export async function loadConfig(file: string, io: Io): Promise<ResolvedConfig | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const parsed = text === undefined ? undefined : parseConfigYaml(text);
  const result = await loadConfigFile(file, await loadFactoriesFor(parsed?.ok ? parsed.value : undefined));
  printLoad(result, file, io);
  return result.config;
}
