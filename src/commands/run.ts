/**
 * `tyk-otel-pump run` (the default command): starts the agent and stops it on SIGTERM/SIGINT; a second
 * signal exits at once with code 2.
 */
import { parseArgs } from 'node:util';
import { Agent } from '../agent.js';
import { createLogger } from '../logger.js';
import { CONFIG_OPTION, loadConfig, type Command } from './io.js';

/** The `run` command. */
export const runCommand: Command = {
  summary: 'run the agent (default command)',
  usage: 'run [--config FILE]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION }, strict: true });
    const config = await loadConfig(values.config, io);
    if (!config) {
      io.err('refusing to start: the configuration is invalid');
      return 1;
    }
    const logger = createLogger(config.service.telemetry.logs.level);
    const agent = new Agent(config, { logger });
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
