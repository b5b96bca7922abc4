/** `tyk-otel-pump validate`: checks the config and prints every problem, or the effective config with `--print`. */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { redactSecrets } from '../config/schema.js';
import { CONFIG_OPTION, loadConfig, type Command } from './io.js';

/** The `validate` command. */
export const validateCommand: Command = {
  summary: 'check the config; print every problem, one line each (exit 0 valid, 1 invalid)',
  usage: 'validate [--config FILE] [--print]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION, print: { type: 'boolean', default: false } }, strict: true });
    const config = await loadConfig(values.config, io);
    if (!config) return 1;
    if (values.print) {
      io.out('# effective configuration (defaults applied, secrets redacted)');
      io.out(stringify(redactSecrets(config.effective)));
    } else {
      io.out(`${values.config}: valid (${config.pipelines.length} pipeline(s))`);
    }
    return 0;
  },
};
