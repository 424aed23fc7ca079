import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * scripts/start.js (`npm start`, `npm run import:django`) on a project of one file, compiled by the real
 * tsc: the first start builds, a start with nothing changed does not, an edited source builds again,
 * and the entry gets its arguments, its signals and sets the exit code as if node had started it.
 */
const root = join(__dirname, '..', '..');

/** A project of one TypeScript file (src/main.ts) with scripts/start.js, our node_modules and these package.json scripts. */
function smallProject(entrySource: string, scripts: Record<string, string> = {}): string {
  const project = mkdtempSync(join(tmpdir(), 'scancode-start-'));
  mkdirSync(join(project, 'scripts'));
  mkdirSync(join(project, 'src'));
  copyFileSync(join(root, 'scripts', 'start.js'), join(project, 'scripts', 'start.js'));
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
  const compilerOptions = { target: 'ES2022', module: 'commonjs', strict: true, types: ['node'], outDir: 'dist', rootDir: '.' };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions }));
  writeFileSync(join(project, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'] }));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'start-probe', version: '0.0.0', private: true, scripts }));
  writeFileSync(join(project, 'src', 'main.ts'), entrySource);
  return project;
}

describe('the start script', () => {
  const project = smallProject("const args: string[] = process.argv.slice(2);\nconsole.log(`ran with ${args.join(' ')}`);\nprocess.exitCode = args.length;\n");
  const source = join(project, 'src', 'main.ts');
  const entry = join(project, 'dist', 'src', 'main.js');
  const start = (...args: string[]) => {
    const result = spawnSync(process.execPath, [join(project, 'scripts', 'start.js'), ...args], { cwd: project, encoding: 'utf8' });
    return { status: result.status, output: result.stdout + result.stderr };
  };
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('builds when dist/ is missing, then runs the entry with its arguments and exit code', () => {
    const first = start('dist/src/main.js', 'a', 'b');
    expect(first.output).toContain('scancode: building dist/ (dist/src/main.js is missing)');
    expect(first.output).toContain('ran with a b');
    expect(first.status).toBe(2);
  });

  it('does not build when dist/ is newer than every source', () => {
    const builtAt = statSync(entry).mtimeMs;
    const again = start();
    expect(again.output).not.toContain('building');
    expect(again.output).toContain('ran with');
    expect(again.status).toBe(0);
    expect(statSync(entry).mtimeMs).toBe(builtAt);
  });

  it('builds again when a source changed after the build', () => {
    const later = new Date(statSync(entry).mtimeMs + 60_000);
    utimesSync(source, later, later);
    const rebuilt = start('dist/src/main.js', 'x');
    expect(rebuilt.output).toContain('scancode: building dist/ (src changed since the last build)');
    expect(rebuilt.output).toContain('ran with x');
  });
});

/** True once `pid` is no longer a process; false if it still is after a while (a guard, not a timing). */
async function gone(pid: number): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * `npm start &` then `kill <npm's pid>`, as an operator does: npm's SIGTERM must reach the server
 * (package.json's `exec`, since `sh -c` passes no signal on), and a server whose npm is gone altogether
 * must stop rather than run on re-parented to PID 1, holding its port.
 */
describe('npm start and signals', () => {
  // A server in miniature: listens on a port from the OS, stops gracefully on SIGTERM.
  const server = [
    "import { createServer } from 'node:http';",
    'const server = createServer((_request, response) => response.end());',
    "server.listen(0, '127.0.0.1', () => console.log(`listening as pid ${process.pid}`));",
    "process.on('SIGTERM', () => server.close(() => { console.log('stopped gracefully'); process.exit(0); }));",
  ].join('\n');
  // The real package.json's start command.
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const project = smallProject(server, { start: scripts.start });

  /** `npm start` in the project; resolves once the server listens, with its pid. */
  async function npmStart(): Promise<{ npm: ChildProcess; serverPid: number; output: () => string; exited: Promise<number | null> }> {
    const env = { PATH: process.env.PATH ?? '', HOME: project, npm_config_update_notifier: 'false' };
    const npm = spawn('npm', ['start'], { cwd: project, env });
    let output = '';
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const serverPid = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening as pid (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      };
      npm.stdout.on('data', onData);
      npm.stderr.on('data', onData);
      void exited.then(() => reject(new Error(`npm start ended before the server listened: ${output}`)));
    });
    return { npm, serverPid, output: () => output, exited };
  }

  beforeAll(() => {
    // Built once here, so that every start below runs the entry at once.
    const build = spawnSync(process.execPath, [join(project, 'scripts', 'start.js')], { cwd: project, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGTERM' });
    expect(build.stderr).toContain('building dist/');
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("stops the server gracefully on npm's SIGTERM, and npm exits 0 for it", async () => {
    const { npm, serverPid, output, exited } = await npmStart();
    npm.kill('SIGTERM');
    expect(await gone(serverPid)).toBe(true);
    expect(await exited).toBe(0);
    expect(output()).toContain('stopped gracefully');
  });

  it('stops the server when npm itself is killed outright', async () => {
    const { npm, serverPid, output } = await npmStart();
    npm.kill('SIGKILL');
    expect(await gone(serverPid)).toBe(true);
    expect(output()).toContain(`scancode: npm (pid ${npm.pid}) is gone; stopping`);
    expect(output()).toContain('stopped gracefully');
  });
});

/** The real server (dist/, which test/global-setup.ts wrote) on an address that another process holds. */
describe('a port already in use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-port-'));
  const holder = createServer();
  beforeAll(() => new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve)));
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one line naming PORT, HOST and the address, and a non-zero exit', () => {
    const { port } = holder.address() as AddressInfo;
    const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: `file:${join(dir, 'scancode.db')}`, LOG_FORMAT: 'json' };
    const result = spawnSync(process.execPath, [join(root, 'dist', 'src', 'main.js')], { env, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`scancode: PORT: 127.0.0.1:${port} (HOST:PORT) is already in use`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
