import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');
/** The entry point as `npm start` runs it, compiled (test/global-setup.ts writes dist/). */
export const entry = join(root, 'dist', 'src', 'main.js');

/** A server process and what it printed so far; `listening` resolves with its URL once it listens. */
export interface SpawnedServer {
  child: ChildProcess;
  output(): string;
  listening: Promise<string>;
  exited: Promise<number | null>;
}

/** Runs `command` (the compiled server by default) with only PATH, HOST=127.0.0.1, PORT=0 and `env`. */
export function spawnServer(env: Record<string, string>, command: string[] = [entry]): SpawnedServer {
  const child = spawn(process.execPath, command, { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env }, cwd: root });
  let output = '';
  const listening = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, listening, exited };
}

/** A server started as `npm start` starts it, in a process of its own, listening. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/**
 * The server process on this database (dev login, `env` added), once it listens; rejects with what it
 * printed when it ends before. The crash tests kill it with SIGKILL.
 */
export async function startServerProcess(databaseUrl: string, env: Record<string, string>): Promise<ServerProcess> {
  const server = spawnServer({ DATABASE_URL: databaseUrl, ...env });
  const ended = server.exited.then(() => Promise.reject(new Error(`the server ended before listening: ${server.output()}`)));
  const url = await Promise.race([server.listening, ended]);
  return { child: server.child, url, exited: server.exited };
}
