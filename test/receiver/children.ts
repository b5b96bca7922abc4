/** Starting `drain-child.ts` processes and following their messages. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./drain-child.ts', import.meta.url));

/** A receiver process and what it reported. */
export interface DrainChild {
  readonly proc: ChildProcess;
  ready: boolean;
  /** Records accepted so far. */
  count: number;
  /** Every accepted id, after `'stop'`. */
  ids: Uint32Array | undefined;
  /** Resolves when the process exits. */
  readonly exited: Promise<void>;
}

/** Forks a receiver process with `env` (see drain-child.ts for the variables). */
export function startDrainChild(env: Record<string, string>): DrainChild {
  const proc = fork(CHILD, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const c: DrainChild = { proc, ready: false, count: 0, ids: undefined, exited };
  proc.on('message', (m: { type: string; count?: number; ids?: Uint32Array }) => {
    if (m.type === 'ready') c.ready = true;
    else if (m.type === 'progress') c.count = m.count ?? 0;
    else if (m.type === 'done') c.ids = m.ids;
  });
  return c;
}
