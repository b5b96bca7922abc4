/**
 * Private Redis topologies for connection tests of any Redis component: a master watched by a Sentinel
 * (both password-protected), and a three-master Redis Cluster. Each runs as its own `redis-server`
 * processes on free ports (never the shared Redis on 6379) and is removed by `destroy()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { waitFor } from './agent.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './tyk-redis.js';

/** A master and one Sentinel monitoring it as `masterName`. */
export interface PrivateSentinel {
  readonly master: PrivateRedis;
  readonly masterPassword: string;
  readonly masterName: string;
  /** `127.0.0.1:<port>` of the Sentinel. */
  readonly sentinelAddr: string;
  readonly sentinelPassword: string;
  destroy(): Promise<void>;
}

/** Starts a password-protected master and a password-protected Sentinel that knows it. */
export async function startSentinel(opts: { masterName?: string; masterPassword?: string; sentinelPassword?: string } = {}): Promise<PrivateSentinel> {
  const masterName = opts.masterName ?? 'mymaster';
  const masterPassword = opts.masterPassword ?? 'master-pw';
  const sentinelPassword = opts.sentinelPassword ?? 'sentinel-pw';
  const master = await startPrivateRedis(['--requirepass', masterPassword], { pingArgs: ['-a', masterPassword, '--no-auth-warning'] });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tyk-sentinel-'));
  writeFileSync(join(dir, 'sentinel.conf'), [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `requirepass ${sentinelPassword}`,
    `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`, `sentinel auth-pass ${masterName} ${masterPassword}`, '',
  ].join('\n'));
  const sentinel: ChildProcess = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
  await waitFor('sentinel knows the master', () => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), '-a', sentinelPassword, '--no-auth-warning', 'sentinel', 'get-master-addr-by-name', masterName]).toString().includes(String(master.port));
    } catch {
      return false;
    }
  });
  return {
    master,
    masterPassword,
    masterName,
    sentinelAddr: `127.0.0.1:${port}`,
    sentinelPassword,
    async destroy() {
      sentinel.kill('SIGKILL');
      await master.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Three masters forming one Redis Cluster (all 16384 slots assigned, state ok). */
export interface PrivateCluster {
  readonly nodes: readonly PrivateRedis[];
  /** `127.0.0.1:<port>` of every node. */
  readonly addrs: readonly string[];
  /** A connected admin client of the cluster (closed by `destroy`). */
  client(): Cluster;
  destroy(): Promise<void>;
}

/** Starts a three-master Redis Cluster and waits until it serves every slot. */
export async function startCluster(): Promise<PrivateCluster> {
  const nodes: PrivateRedis[] = [];
  for (let i = 0; i < 3; i++) nodes.push(await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
  const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
  execFileSync('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
  await waitFor('cluster ok', () => nodes.every((n) => execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info']).toString().includes('cluster_state:ok')), 20_000, 100);
  const clients: Cluster[] = [];
  return {
    nodes,
    addrs,
    client() {
      const c = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
      clients.push(c);
      return c;
    },
    async destroy() {
      for (const c of clients) c.disconnect();
      for (const n of nodes) await n.destroy();
    },
  };
}
