/** `tyk-otel-pump graph`: prints the resolved pipelines as text, or as a Mermaid flowchart. */
import { parseArgs } from 'node:util';
import { describePipelines, mermaidPipelines } from '../graph.js';
import { CONFIG_OPTION, loadConfig, type Command } from './io.js';

/** The `graph` command. */
export const graphCommand: Command = {
  summary: 'print the resolved pipelines (text, or Mermaid with --mermaid)',
  usage: 'graph [--config FILE] [--mermaid]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CONFIG_OPTION, mermaid: { type: 'boolean', default: false } }, strict: true });
    const config = await loadConfig(values.config, io);
    if (!config) return 1;
    io.out(values.mermaid ? mermaidPipelines(config) : describePipelines(config));
    return 0;
  },
};
