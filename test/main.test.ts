import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from './helpers/http';

/**
 * The entry point as `npm start` runs it: compiled, in its own process, with no configuration but a
 * database path, so the dev login (the fake WeChat on loopback) must work on its own.
 */
const root = join(__dirname, '..');
const entry = join(root, 'dist', 'src', 'main.js');

function run(env: Record<string, string>): { child: ChildProcess; output: () => string; listening: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env }, cwd: root });
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

describe('the server process (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-main-'));
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on the embedded default with a dev login, and stops cleanly on SIGTERM', async () => {
    const server = run({ DATABASE_URL: `file:${join(dir, 'scancode.db')}` });
    const url = await server.listening;
    const login = await request(url, 'POST', '/api/login', { body: { code: 'dev-alice' } });
    expect(login.status).toBe(200);
    const me = await request(url, 'GET', '/api/me', { token: login.body.token });
    expect(me.body.directories.map((d: { name: string }) => d.name)).toEqual(['默认']);
    expect(server.output()).toContain('DEV LOGIN');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start in production without WeChat credentials, naming the variable', async () => {
    const server = run({ NODE_ENV: 'production', DATABASE_URL: `file:${join(dir, 'prod.db')}` });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('WECHAT_APPID');
  });
});
