import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../../src/config';
import { openDatabase } from '../../../src/db/orm';
import { progressOn } from '../../../src/modules/legacy-import/report';
import { testDatabases } from '../../helpers/db';
import { loadDjangoSeed, type OldDatabase } from '../../helpers/django';

/**
 * `npm run import:django` as an operator runs it: compiled (dist/, written once before the suites by
 * test/global-setup.ts), in its own process, reading DATABASE_URL, in a working folder of its own.
 */
const root = join(__dirname, '..', '..', '..');
const workdir = mkdtempSync(join(tmpdir(), 'scancode-import-cli-'));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], databaseUrl: string): Promise<Exit> {
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'modules', 'legacy-import', 'cli.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
    cwd: workdir,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const urlOf = (config: DatabaseConfig) => (config.kind === 'mysql' ? config.url : `file:${config.path}`);
/** One row of the summary's table: label, then created, updated, unchanged, merged, skipped, total. */
const summaryRow = (label: string, counts: number[]) => new RegExp(`^${label}\\s+${counts.join('\\s+')}$`, 'm');

afterAll(() => rmSync(workdir, { recursive: true, force: true }));

describe.each(testDatabases())('npm run import:django into $name', (db) => {
  let old: OldDatabase;
  let database: { config: DatabaseConfig; drop(): Promise<void> };
  beforeAll(async () => {
    old = await loadDjangoSeed();
    database = await db.create();
  });
  afterAll(async () => {
    await database.drop();
    await old.drop();
  });

  it('imports the dump, with progress on stderr and a summary of every row and anomaly on stdout', async () => {
    const first = await cli(['--from', old.url], urlOf(database.config));
    expect(first).toMatchObject({ code: 0 });
    expect(first.stderr).toContain('reading the old tables');
    expect(first.stderr).toContain('read 2 users, 5 directories, 8 goods, 18 log entries');
    expect(first.stderr).toMatch(/^directories 5\/5$/m);
    expect(first.stdout).toContain(`import from ${old.url} into`);
    expect(first.stdout).toMatch(summaryRow('users', [2, 0, 0, 0, 0, 2]));
    expect(first.stdout).toMatch(summaryRow('directories', [5, 0, 0, 0, 0, 5]));
    expect(first.stdout).toMatch(summaryRow('goods', [8, 0, 0, 0, 0, 8]));
    expect(first.stdout).toMatch(summaryRow('log entries', [18, 0, 0, 0, 0, 18]));
    expect(first.stdout).toContain('changes written: 15 (and 5 create entries, revision 0)');
    expect(first.stdout).toContain('mycode_directory 3: empty-name: name "   " is empty after trimming; named 未命名仓库3');
    expect(first.stdout).toContain('mycode_directory 4: trimmed: name " 仓库B " stored trimmed as "仓库B"');

    const second = await cli(['--from', old.url], urlOf(database.config));
    expect(second).toMatchObject({ code: 0 });
    expect(second.stdout).toMatch(summaryRow('log entries', [0, 0, 18, 0, 0, 18]));
    expect(second.stdout).toContain('changes written: 0 (and 0 create entries, revision 0)');
    expect(second.stdout).toContain('anomalies: none');
  });
});

describe('npm run import:django, refusing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-import-target-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 naming the old database (never its password) when it cannot be reached', async () => {
    const unreachable = await cli(['--from', 'mysql://root:s3cret@127.0.0.1:1/olddb'], `file:${join(dir, 'a.db')}`);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot connect to the old database at mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/olddb: .*ECONNREFUSED/);
    expect(unreachable.stderr).not.toContain('s3cret');
    const missing = await cli(['--from', 'mysql://root@127.0.0.1:3306/no_such_old_database'], `file:${join(dir, 'a.db')}`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ER_BAD_DB_ERROR');
  });

  it('exits 2 with the usage when --from is missing or not MySQL', async () => {
    for (const args of [[], ['--from', 'file:old.db'], ['--frm', 'mysql://x@h/db']]) {
      const exit = await cli(args, `file:${join(dir, 'a.db')}`);
      expect({ args, code: exit.code }).toEqual({ args, code: 2 });
      expect(exit.stderr).toMatch(/--from|usage/);
    }
  });

  it('writes nothing on --dry-run, and says what it would write', async () => {
    const old = await loadDjangoSeed();
    try {
      const path = join(dir, 'dry.db');
      const exit = await cli(['--from', old.url, '--dry-run'], `file:${path}`);
      expect(exit.code).toBe(0);
      expect(exit.stdout).toContain('Dry run (nothing written)');
      expect(exit.stdout).toContain('changes to write: 15');
      const orm = await openDatabase({ kind: 'sqlite', path });
      const [counts] = await orm.em
        .fork()
        .execute<
          { users: number; logs: number; imports: number }[]
        >('select (select count(*) from users) as users, (select count(*) from logs) as logs, (select count(*) from legacy_imports) as imports');
      await orm.close();
      expect(counts).toEqual({ users: 0, logs: 0, imports: 0 });
    } finally {
      await old.drop();
    }
  });
});

describe('the progress display', () => {
  function stream(isTTY: boolean) {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
  }

  it('redraws one bar in place on a terminal, and writes a line per tenth elsewhere', () => {
    const tty = stream(true);
    const progress = progressOn(tty.stream);
    for (let i = 1; i <= 4; i++) progress.step('directories', i, 4);
    const bar = (filled: number, done: number) => `\rdirectories  [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${done}/4`;
    expect(tty.written.join('')).toBe(bar(8, 1) + bar(15, 2) + bar(23, 3) + bar(30, 4) + '\n');

    const file = stream(false);
    const lines = progressOn(file.stream);
    for (let i = 1; i <= 40; i++) lines.step('directories', i, 40);
    expect(file.written).toEqual(Array.from({ length: 10 }, (_, i) => `directories ${(i + 1) * 4}/40\n`));
  });
});
