import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { freePort } from './ports';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A Redis Cluster of the test's own: three masters, no replicas, on free loopback ports, without
 * persistence, in a temporary folder. `cluster-node-timeout` is short so that the survivors mark a
 * killed master failed within a second or two, and `cluster-require-full-coverage no` lets them go on
 * serving their own slots meanwhile (as a deployment that prefers a partial bus to none would).
 */
export interface PrivateCluster {
  /** REDIS_URL naming every node: `redis://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`. */
  url: string;
  ports: number[];
  /** The port of the master that owns a channel's (or key's) slot. */
  ownerOf(channel: string): Promise<number>;
  /** SIGKILL a master: no replica takes over its slots. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Whether this machine can start one (redis-server and redis-cli installed). */
export function clusterToolsInstalled(): boolean {
  return ['redis-server', 'redis-cli'].every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
}

async function clusterInfo(port: number): Promise<string> {
  try {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'])).stdout;
  } catch {
    return '';
  }
}

export async function startPrivateCluster(masters = 3): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-cluster-'));
  const ports: number[] = [];
  const servers = new Map<number, ChildProcess>();
  const stopAll = async () => {
    const running = [...servers.values()].filter((child) => child.exitCode === null && child.signalCode === null);
    const exited = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // A port handed out free may be taken before redis-server binds it (other suites start servers
      // too): a server that exits is started again on another port.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
        args.push('--cluster-node-timeout', '1000', '--cluster-require-full-coverage', 'no', '--save', '', '--appendonly', 'no', '--dir', dir);
        const child = spawn('redis-server', args, { stdio: 'ignore' });
        servers.set(port, child);
        for (let wait = 0; wait < 100 && child.exitCode === null && (await clusterInfo(port)) === ''; wait++) await sleep(100);
        if (child.exitCode === null && (await clusterInfo(port)) !== '') {
          ports.push(port);
          break;
        }
        servers.delete(port);
        child.kill('SIGKILL');
        if (attempt === 5) throw new Error(`redis-server did not start for the private Redis Cluster (last port ${port})`);
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Every node must agree before a client asks for the slots: `cluster_state:ok` on each of them.
    for (let attempt = 0; attempt < 100; attempt++) {
      const states = await Promise.all(ports.map(clusterInfo));
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (attempt === 99) throw new Error(`the private Redis Cluster did not reach cluster_state:ok: ${states.join(' | ')}`);
      await sleep(100);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    url: `redis://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    async ownerOf(channel) {
      const alive = ports.find((port) => servers.get(port)?.exitCode === null && servers.get(port)?.signalCode === null) ?? ports[0];
      const client = new Redis(alive, '127.0.0.1', { lazyConnect: true });
      try {
        await client.connect();
        const slot = Number(await client.call('cluster', 'keyslot', channel));
        const ranges = (await client.call('cluster', 'slots')) as [number, number, [string, number]][];
        const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) throw new Error(`no master owns slot ${slot}`);
        return owner[2][1];
      } finally {
        client.disconnect();
      }
    },
    async kill(port) {
      const child = servers.get(port);
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    stop: stopAll,
  };
}
