import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** A server started as `npm start` starts it: dist/src/main.js (test/global-setup.ts writes it) in a process of its own. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

const root = join(__dirname, '..', '..');
const entry = join(root, 'dist', 'src', 'main.js');

/**
 * The server process on this database (dev login, 127.0.0.1, port 0, `env` added), once it listens;
 * rejects with what it printed when it ends before. The crash tests kill it with SIGKILL.
 */
export async function startServerProcess(databaseUrl: string, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, ...env }, cwd: root });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`the server ended before listening: ${output}`)));
  });
  return { child, url, exited };
}
