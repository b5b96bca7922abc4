/**
 * `tyk-otel-pump [command] [--config otel-config.yaml]` — the command line: a table of commands, each in
 * `src/commands/<name>.ts`. Adding a command is its file plus one line in {@link commands}.
 * Exit codes: 0 success, 1 invalid config or failure, 2 usage error or forced exit on a second signal.
 */
import { VERSION } from './version.js';
import { processIo, type Command, type Io } from './commands/io.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { graphCommand } from './commands/graph.js';
import { sloRulesCommand } from './commands/slo-rules.js';
import { dashboardsCommand } from './commands/dashboards.js';
import { rulesCommand } from './commands/rules.js';
import { deadLettersCommand } from './commands/dead-letters.js';
import { demoCommand } from './commands/demo.js';
import { convertCommand } from './commands/convert/index.js';

export type { Command, Io } from './commands/io.js';

/** Subcommands by name, in the order `--help` lists them. */
export const commands: Readonly<Record<string, Command>> = {
  run: runCommand,
  validate: validateCommand,
  graph: graphCommand,
  'slo-rules': sloRulesCommand,
  convert: convertCommand,
  dashboards: dashboardsCommand,
  rules: rulesCommand,
  'dead-letters': deadLettersCommand,
  demo: demoCommand,
};

function help(): string {
  const lines = [
    `tyk-otel-pump ${VERSION} — OpenTelemetry-style agent for Tyk gateway analytics`,
    '',
    'usage: tyk-otel-pump [command] [--config FILE] [options]',
    '',
    'commands:',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(46)} ${c.summary}`),
    '',
    'global options:',
    '  -c, --config FILE   config file (default ./otel-config.yaml)',
    '  -h, --help          this help',
    '  -v, --version       print the version',
  ];
  return lines.join('\n');
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    io.out(VERSION);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.out(help());
    return 0;
  }
  const name = first === undefined || first.startsWith('-') ? 'run' : first;
  const args = first === undefined || first.startsWith('-') ? argv : rest;
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`usage: tyk-otel-pump ${command.usage}\n\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${err.message}\nusage: tyk-otel-pump ${command.usage}`);
      return 2;
    }
    throw err;
  }
}
