import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The embedded database at a path it cannot use, as an operator meets it on `npm start`: the server
 * (dist/, which test/global-setup.ts wrote) stops at once with one line naming DATABASE_URL and the
 * path, exit 1, and no libsql stack.
 */
const root = join(__dirname, '..', '..');

function startWith(databaseUrl: string): { status: number | null; stderr: string } {
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_FORMAT: 'json', DATABASE_URL: databaseUrl };
  // The timeout only keeps a hanging start from hanging the suite: such a start fails the test.
  const result = spawnSync(process.execPath, [join(root, 'dist', 'src', 'main.js')], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

function expectOneLine(stderr: string, expected: string): void {
  expect(stderr).toContain(`scancode: DATABASE_URL: ${expected}`);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('DATABASE_URL naming an embedded database that cannot be used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-sqlite-path-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a folder that cannot be made (file:/proc/nope/x.db) fails at once', () => {
    const started = startWith('file:/proc/nope/x.db');
    expect(started.status).toBe(1);
    expectOneLine(started.stderr, 'the embedded database /proc/nope/x.db cannot be created: its folder /proc/nope cannot be made (ENOENT)');
  });

  it('a path under a file names the path and the reason', () => {
    writeFileSync(join(dir, 'plain-file'), 'not a folder');
    const path = join(dir, 'plain-file', 'scancode.db');
    const started = startWith(`file:${path}`);
    expect(started.status).toBe(1);
    expectOneLine(started.stderr, `the embedded database ${path} cannot be opened for writing (ENOTDIR)`);
  });

  it('a path that is a folder says that it names the file', () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const started = startWith(`file:${folder}`);
    expect(started.status).toBe(1);
    expectOneLine(started.stderr, `the embedded database ${folder} is a folder`);
  });

  it('a file that is not a database is refused with the path', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'shopping list: milk, eggs, and a great many other things to fill a page\n'.repeat(20));
    const started = startWith(`sqlite:${path}`);
    expect(started.status).toBe(1);
    expectOneLine(started.stderr, `the embedded database ${path} cannot be opened (SQLITE_NOTADB)`);
  });

  it('a relative path is reported as the absolute path it means', () => {
    const started = spawnSync(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_FORMAT: 'json', DATABASE_URL: 'file:./a-folder' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(started.status).toBe(1);
    expectOneLine(started.stderr, `the embedded database ${join(dir, 'a-folder')} is a folder`);
  });
});
