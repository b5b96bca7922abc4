/**
 * `tyk-otel-pump [command] [--config otel-config.yaml]` — the command line: a table of commands, each in
 * `src/commands/<name>.ts`. Adding a command is its file plus one line in {@link commands}.
 * Exit codes: 0 success, 1 invalid config or failure, 2 usage error or forced exit on a second signal.
 */
import { VERSION } from './version.js';
import { processIo, type Command, type Io } from './commands/io.js';

export type { Command, Io } from './commands/io.js';

/**
 * Subcommands by name, in the order `--help` lists them; each module is imported when its command runs, so
 * `run` does not load what `convert` or `dashboards` need (every factory, the Grafana mixin).
 */
export const commands: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  graph: async () => (await import('./commands/graph.js')).graphCommand,
  'slo-rules': async () => (await import('./commands/slo-rules.js')).sloRulesCommand,
  convert: async () => (await import('./commands/convert/index.js')).convertCommand,
  dashboards: async () => (await import('./commands/dashboards.js')).dashboardsCommand,
  rules: async () => (await import('./commands/rules.js')).rulesCommand,
  'dead-letters': async () => (await import('./commands/dead-letters.js')).deadLettersCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
};

async function help(): Promise<string> {
  const loaded = await Promise.all(Object.values(commands).map((load) => load()));
  const lines = [
    `tyk-otel-pump ${VERSION} — OpenTelemetry-style agent for Tyk gateway analytics`,
    '',
    'usage: tyk-otel-pump [command] [--config FILE] [options]',
    '',
    'commands:',
    ...loaded.map((c) => `  ${c.usage.padEnd(46)} ${c.summary}`),
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
    io.out(await help());
    return 0;
  }
  const name = first === undefined || first.startsWith('-') ? 'run' : first;
  const args = first === undefined || first.startsWith('-') ? argv : rest;
  const command = Object.hasOwn(commands, name) ? await commands[name]?.() : undefined;
  if (!command) {
    io.err(`unknown command "${name}"\n\n${await help()}`);
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
