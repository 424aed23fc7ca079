import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabases } from '../helpers/db';
import { placeOf } from '../../src/startup-summary';

/**
 * The first lines an operator reads: the server (dist/, which test/global-setup.ts wrote) says which
 * database and where, which migrations this start applied, which bus, which limits differ from their
 * defaults and whether the dev login is on, as one line and as fields; and production without
 * DATABASE_URL does not quietly make ./data/scancode.db.
 */
const entry = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const base = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_FORMAT: 'json' };

/** Starts the server, returns its start-up summary line once it listens, and stops it. */
async function summaryOf(env: Record<string, string>): Promise<Record<string, any>> {
  const server = spawn(process.execPath, [entry], { env: { ...base, ...env } });
  let output = '';
  const exited = new Promise((resolve) => server.on('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server listening at')) resolve();
      });
      void exited.then(() => reject(new Error(`the server ended: ${output}`)));
    });
  } finally {
    server.kill('SIGTERM');
    await exited;
  }
  const summary = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>)
    .find((line) => line.startup !== undefined);
  if (!summary) throw new Error(`no start-up summary in: ${output}`);
  return summary;
}

describe('the start-up summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the embedded database by its absolute path, the migrations applied, the bus, changed limits and the dev login', async () => {
    const path = join(dir, 'scancode.db');
    const first = await summaryOf({ DATABASE_URL: `file:${path}`, HTTP_RATE_LIMIT: '50', WS_FRAME_RATE: '500' });
    expect(first.startup).toEqual({
      database: { kind: 'sqlite', location: path },
      migrations: expect.arrayContaining([expect.stringMatching(/^Migration\d+Initial$/)]),
      bus: { kind: 'in-process' },
      // WS_FRAME_RATE=500 is its default: not a change.
      limits: { HTTP_RATE_LIMIT: 50 },
      devLogin: true,
    });
    expect(first.msg).toContain(`database sqlite ${path}; migrations applied: Migration`);
    expect(first.msg).toContain('bus in-process (one instance); limits: HTTP_RATE_LIMIT=50; dev login ON');

    // The next start finds nothing to apply.
    const again = await summaryOf({ DATABASE_URL: `file:${path}` });
    expect(again.startup).toMatchObject({ migrations: [], limits: {} });
    expect(again.msg).toContain('migrations: none to apply; bus in-process (one instance); limits: defaults; dev login ON');
  });

  it('in production, refuses to start without DATABASE_URL rather than make ./data/scancode.db in the working folder', () => {
    const env = { ...base, NODE_ENV: 'production', WECHAT_APPID: 'wxopsprobe0000000', WECHAT_SECRET: 'ops-secret' };
    const started = spawnSync(process.execPath, [entry], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
    expect(started.status).toBe(1);
    expect(started.stderr).toContain(`scancode: DATABASE_URL: is required when NODE_ENV=production`);
    expect(started.stderr).toContain(join(dir, 'data', 'scancode.db'));
  });

  it.each(testDatabases().filter((db) => db.name === 'mysql'))('names a MySQL database by server and name ($name)', async (db) => {
    const database = await db.create();
    try {
      if (database.config.kind !== 'mysql') throw new Error('not mysql');
      const summary = await summaryOf({ DATABASE_URL: database.config.url });
      expect(summary.startup.database).toEqual({ kind: 'mysql', location: placeOf(database.config.url) });
      expect(summary.startup.migrations.length).toBeGreaterThan(0);
    } finally {
      await database.drop();
    }
  });

  it('never shows a password of a database or Redis URL', () => {
    expect(placeOf('mysql://scancode:pa55-word@db.internal:3306/scancode')).toBe('scancode@db.internal:3306/scancode');
    expect(placeOf('redis://:s3cret@cache:6379/0')).toBe('cache:6379/0');
    expect(placeOf('rediss://default:s3cret@a:7000,b:7001')).toBe('default@a:7000,b:7001');
    expect(placeOf('redis://127.0.0.1:6379')).toBe('127.0.0.1:6379');
  });
});
