/**
 * A private PostgreSQL server (initdb in a temp dir, its own port, trust auth) for tests that stop and
 * restart the server, so the shared one on 5432 is never disturbed. PostgreSQL refuses to run as root:
 * when the tests run as root, the server runs as the `postgres` user through runuser.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './tyk-redis.js';

/** A private server: data dir, port, start/stop. */
export interface PrivatePostgres {
  readonly port: number;
  readonly dir: string;
  /** Pid of the postmaster (its children are the backends), undefined while stopped. */
  pid(): number | undefined;
  /** Connection keys for an exporter config. */
  readonly config: { host: string; port: number; database: string; user: string };
  /** Starts the server (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT), waits for the process to exit. */
  stop(): Promise<void>;
  /** Stops the server and deletes its data dir. */
  destroy(): Promise<void>;
}

const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin', '/usr/local/bin', '/usr/bin'];

function bin(name: string): string {
  for (const d of BIN_DIRS) if (existsSync(join(d, name))) return join(d, name);
  return name;
}

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** Creates a cluster in a temp dir and starts it on a free port. */
export async function startPrivatePostgres(opts: { fsync?: boolean } = {}): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'tyk-pg-'));
  const dir = join(root, 'data');
  chmodSync(root, 0o777);
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(root, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const [c, a] = asPostgresUser(bin('initdb'), ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(c, a, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const config = { host: '127.0.0.1', port, database: 'postgres', user: 'postgres' };

  const ready = async (): Promise<boolean> => {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const self: PrivatePostgres = {
    port,
    dir,
    pid() {
      try {
        return Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        return undefined;
      }
    },
    config,
    async start() {
      const [cmd, args] = asPostgresUser(bin('postgres'), ['-D', dir, '-p', String(port), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${opts.fsync === true ? 'on' : 'off'}`, '-c', 'max_connections=50']);
      const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const stderr: string[] = [];
      p.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
      proc = p;
      exited = new Promise((resolve) => p.once('exit', () => resolve()));
      const deadline = Date.now() + 30_000;
      while (!(await ready())) {
        if (p.exitCode !== null || Date.now() > deadline) throw new Error(`private postgres did not start: ${stderr.join('').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const p = proc;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
      // SIGINT = fast shutdown (clients are disconnected). runuser does not forward signals: signal the
      // postmaster itself (its pid is the first line of postmaster.pid).
      let pid = p.pid;
      try {
        pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        // not written yet: signal the child we started
      }
      if (pid !== undefined) process.kill(pid, 'SIGINT');
      await exited;
      proc = undefined;
    },
    async destroy() {
      await self.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
