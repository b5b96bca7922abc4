/**
 * `tyk-otel-pump [run|validate|graph|<more>] [--config otel-config.yaml]` — the command line.
 * Exit codes: 0 success, 1 invalid config or failure, 2 usage error or forced exit on a second signal.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadConfigFile, type LoadResult } from './config/load.js';
import { formatProblem } from './errors.js';
import { redactSecrets } from './config/schema.js';
import { describePipelines, mermaidPipelines } from './graph.js';
import { factories } from './registry.js';
import { Agent } from './agent.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';
import { convertCommand } from './commands/convert/index.js';

/** Output streams, injectable for tests. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** A subcommand: parses its own options from `args`, returns the exit code. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[], io: Io): Promise<number>;
}

const CONFIG_OPTION = { config: { type: 'string', short: 'c', default: './otel-config.yaml' } } as const;

function printLoad(result: LoadResult, file: string, io: Io): void {
  for (const w of result.warnings) io.err(`warning: ${formatProblem(file, w)}`);
  for (const p of result.problems) io.err(formatProblem(file, p));
}

const validate: Command = {
  summary: 'check the config; print every problem, one line each (exit 0 valid, 1 invalid)',
  usage: 'validate [--config FILE] [--print]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION, print: { type: 'boolean', default: false } }, strict: true });
    const result = await loadConfigFile(values.config, factories);
    printLoad(result, values.config, io);
    if (!result.config) return 1;
    if (values.print) {
      io.out('# effective configuration (defaults applied, secrets redacted)');
      io.out(stringify(redactSecrets(result.config.effective)));
    } else {
      io.out(`${values.config}: valid (${result.config.pipelines.length} pipeline(s))`);
    }
    return 0;
  },
};

const graph: Command = {
  summary: 'print the resolved pipelines (text, or Mermaid with --mermaid)',
  usage: 'graph [--config FILE] [--mermaid]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION, mermaid: { type: 'boolean', default: false } }, strict: true });
    const result = await loadConfigFile(values.config, factories);
    printLoad(result, values.config, io);
    if (!result.config) return 1;
    io.out(values.mermaid ? mermaidPipelines(result.config) : describePipelines(result.config));
    return 0;
  },
};

const run: Command = {
  summary: 'run the agent (default command)',
  usage: 'run [--config FILE]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION }, strict: true });
    const result = await loadConfigFile(values.config, factories);
    printLoad(result, values.config, io);
    if (!result.config) {
      io.err('refusing to start: the configuration is invalid');
      return 1;
    }
    const logger = createLogger(result.config.service.telemetry.logs.level);
    const agent = new Agent(result.config, { logger });
    let signals = 0;
    const stopped = new Promise<number>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting at once');
          process.exit(2);
        }
        logger.info({ signal }, 'signal received: stopping');
        agent.shutdown().then(
          () => resolve(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown did not complete cleanly');
            resolve(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    // A signal may arrive while components are still starting: then the result is the shutdown's.
    const started = agent.start().then(
      () => undefined,
      (err: unknown) => {
        if (signals > 0) return undefined;
        logger.fatal({ err }, 'agent failed to start');
        return 1;
      },
    );
    const failed = await Promise.race([started, stopped.then(() => undefined)]);
    if (failed !== undefined) return failed;
    return stopped;
  },
};

/** Subcommands. Commands owned by a component folder are loaded lazily so they cost nothing otherwise. */
export const commands: Record<string, Command> = {
  run,
  validate,
  graph,
  'slo-rules': {
    summary: 'write Prometheus alert rules (or Datadog SLOs with --format datadog) for the slos section',
    usage: 'slo-rules [--config FILE] [--out FILE] [--format prometheus|datadog] [--slo NAME]...',
    run: async (args, io) => (await import('./slo/command.js')).runSloRules(args, io),
  },
  convert: convertCommand,
  dashboards: {
    summary: 'write Grafana dashboards (APIs, SLOs, agent) for the config to a directory',
    usage: 'dashboards [--config FILE] [--out DIR] [--namespace NS]',
    run: async (args, io) => (await import('./commands/dashboards.js')).runDashboards(args, io),
  },
  rules: {
    summary: 'write Prometheus alerting rules for the agent itself (--agent): down, not ready, backlog, lag, refused, exporters',
    usage: 'rules --agent [--config FILE] [--out FILE] [--job NAME] [--runbook-url URL]',
    run: async (args, io) => (await import('./commands/rules.js')).runRules(args, io),
  },
  'dead-letters': {
    summary: 'list, show, replay or purge the records a receiver could not decode',
    usage: 'dead-letters list|show N|replay [N...]|purge [N...] [--config FILE] [--receiver ID] [--reason R] [--since T] [--limit N] [--json]',
    run: async (args, io) => (await import('./commands/dead-letters.js')).runDeadLetters(args, io),
  },
  demo: {
    summary: 'push realistic synthetic gateway traffic (exact gateway msgpack) into the Redis of the first tyk_redis receiver',
    usage: 'demo [--config FILE] [--rate N] [--duration S] [--apis N] [--key-prefix P] [--uptime-key K] [--seed N]',
    run: async (args, io) => (await import('../receivers/tyk_redis/demo.js')).runDemo(args, io),
  },
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
  const command = commands[name];
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
