/**
 * Runs a real agent in-process from YAML text, with the real registry, for end-to-end tests.
 */
import { loadConfigText } from '../../src/config/load.js';
import { Agent } from '../../src/agent.js';
import { factories as defaultFactories } from '../../src/factories.js';
import type { Factory } from '../../src/component.js';
import { formatProblem } from '../../src/errors.js';
import { captureLogger, type LogLine } from './log-capture.js';

/** A started in-process agent. */
export interface RunningAgent {
  readonly agent: Agent;
  readonly logs: LogLine[];
  /** Base URL of the telemetry listener (`/health`, `/ready`, `/metrics`). */
  readonly telemetryUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts an agent from `yaml`. Unless the YAML sets it, the telemetry listener is put on 127.0.0.1:0 by
 * passing `TELEMETRY_ADDRESS` in the env (use `${env:TELEMETRY_ADDRESS:-127.0.0.1:0}` in the YAML).
 */
export async function startAgent(
  yaml: string,
  opts: { env?: Record<string, string | undefined>; factories?: readonly Factory[]; dir?: string; instanceId?: string } = {},
): Promise<RunningAgent> {
  const result = loadConfigText(yaml, 'test-config.yaml', opts.factories ?? defaultFactories, { ...process.env, ...opts.env }, opts.dir);
  if (!result.config) throw new Error(`invalid test config:\n${result.problems.map((p) => formatProblem('test-config.yaml', p)).join('\n')}`);
  const { logger, lines } = captureLogger('debug');
  const agent = new Agent(result.config, { logger, instanceId: opts.instanceId });
  await agent.start();
  const bound = await agent.bound(result.config.service.telemetry.metrics.address);
  const host = bound ? (bound.host === '0.0.0.0' || bound.host === '::' ? '127.0.0.1' : bound.host) : '127.0.0.1';
  return {
    agent,
    logs: lines,
    telemetryUrl: `http://${host}:${bound?.port ?? 0}`,
    stop: () => agent.shutdown(),
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
