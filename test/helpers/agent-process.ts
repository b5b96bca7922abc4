/**
 * The agent as users run it, for tests that kill, freeze or restart it: the CLI (`bin/tyk-otel-pump.js run`,
 * from the TypeScript sources) in a child process, its stderr (the JSON logs) kept for assertions and
 * failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The executable. */
export const AGENT_BIN = fileURLToPath(new URL('../../bin/tyk-otel-pump.js', import.meta.url));

/** A running agent process. */
export interface AgentProcess {
  readonly proc: ChildProcess;
  /** What it wrote to stderr so far (its logs). */
  readonly stderr: string[];
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** What {@link spawnAgent} may add. */
export interface SpawnAgentOptions {
  /** Flags for node before the executable (`--import` a test hook). */
  readonly nodeArgs?: readonly string[];
  /** More environment variables (`TYK_OTEL_PUMP_LOG_LEVEL`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `tyk-otel-pump run --config <configFile>` from the sources. */
export function spawnAgent(configFile: string, opts: SpawnAgentOptions = {}): AgentProcess {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), AGENT_BIN, 'run', '--config', configFile], {
    env: { ...process.env, TYK_OTEL_PUMP_FROM_SOURCE: '1', ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, stderr, exited };
}

/** Kills every agent still running (a frozen one is resumed first, so that it can die). */
export function killAgents(agents: Iterable<AgentProcess>): void {
  for (const a of agents) {
    if (a.proc.exitCode !== null || a.proc.signalCode !== null) continue;
    a.proc.kill('SIGCONT');
    a.proc.kill('SIGKILL');
  }
}
