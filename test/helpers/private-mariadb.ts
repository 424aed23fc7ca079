import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from './ports';

/**
 * A MariaDB server of the test's own, on a free port and its own data folder under the system's temp
 * folder: the test may stall it (SIGSTOP), kill it (-9) and start it again on the same data, without
 * touching the machine's shared MariaDB at 3306. Root has no password.
 */
export interface PrivateMariadb {
  port: number;
  /** `mysql://root@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  /** Creates a database (utf8mb4_bin, as the shared test databases are). */
  createDatabase(name: string): Promise<void>;
  /** Freezes the server; resolves once the kernel says it is stopped. */
  sigstop(): Promise<void>;
  /** Lets a frozen server run again. */
  sigcont(): Promise<void>;
  /** kill -9; resolves once it has exited. */
  kill(): Promise<void>;
  /** A clean shutdown (SIGTERM); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data folder (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Kills the server if it runs and deletes its folder (for afterAll). */
  cleanup(): Promise<void>;
}

const run = promisify(execFile);
const MARIADBD = '/usr/sbin/mariadbd';

/** Small and quick to start: a test's few tables need no more. */
const SERVER_OPTIONS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=4M', '--skip-name-resolve', '--skip-log-bin', '--performance-schema=OFF'];

/** The process's state letter in /proc (`T` when stopped), or null once it is gone. */
function processState(pid: number): string | null {
  try {
    // The command name is in parentheses and may hold spaces; the state follows the last `)`.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, attempts = 200, everyMs = 50): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`private mariadb: ${what} did not happen`);
}

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const folder = mkdtempSync(join(tmpdir(), 'scancode-mariadb-'));
  const datadir = join(folder, 'data');
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', ...SERVER_OPTIONS]);
  const port = await freePort();
  const admin = { host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 };
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  // Whatever happens to the test, the server does not outlive the jest worker.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const answers = async (): Promise<boolean> => {
    try {
      const connection = await mysql.createConnection(admin);
      await connection.query('select 1');
      await connection.end();
      return true;
    } catch {
      return false;
    }
  };

  const start = async (): Promise<void> => {
    const started = spawn(
      MARIADBD,
      [
        '--no-defaults',
        '--user=root',
        `--datadir=${datadir}`,
        `--socket=${join(folder, 'mariadb.sock')}`,
        `--pid-file=${join(folder, 'mariadb.pid')}`,
        `--log-error=${join(folder, 'error.log')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        ...SERVER_OPTIONS,
      ],
      { stdio: 'ignore' },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    await until(
      async () => {
        if (started.exitCode !== null) throw new Error(`private mariadb exited with ${started.exitCode}: ${readLog(folder)}`);
        return answers();
      },
      `a start on port ${port}`,
      300,
      50,
    );
  };

  const running = () => child !== null && child.exitCode === null && child.signalCode === null;
  const signal = async (name: NodeJS.Signals) => {
    if (!running()) return;
    child?.kill(name);
    await exited;
    child = null;
  };

  const stop = async () => {
    child?.kill('SIGCONT');
    await signal('SIGTERM');
  };

  await start();
  return {
    port,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      const connection = await mysql.createConnection(admin);
      await connection.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`);
      await connection.end();
    },
    async sigstop() {
      const pid = child?.pid as number;
      child?.kill('SIGSTOP');
      await until(() => processState(pid) === 'T', 'SIGSTOP');
    },
    async sigcont() {
      if (!running()) return;
      const pid = child?.pid as number;
      child?.kill('SIGCONT');
      await until(() => processState(pid) !== 'T', 'SIGCONT');
    },
    kill: () => signal('SIGKILL'),
    stop,
    async restart() {
      await stop();
      await start();
    },
    async cleanup() {
      child?.kill('SIGCONT');
      await signal('SIGKILL');
      process.removeListener('exit', killOnExit);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function readLog(folder: string): string {
  try {
    return readFileSync(join(folder, 'error.log'), 'utf8').slice(-2000);
  } catch {
    return '(no error log)';
  }
}
