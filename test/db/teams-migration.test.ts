import { MikroORM as LibSqlORM, type Options as LibSqlOptions } from '@mikro-orm/libsql';
import { MikroORM as MySqlORM, type Options as MySqlOptions } from '@mikro-orm/mysql';
import type { DatabaseConfig } from '../../src/config';
import { openDatabase, ormOptions, type Orm } from '../../src/db/orm';
import { codeHash } from '../../src/modules/inventory/codes';
import { fakeOpenId } from '../../src/modules/wechat/fake-server';
import { startServer, TEST_APPID } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { countOf, legacyPost, scan, signIn } from '../helpers/inventory';

/**
 * A database of the last release (every migration before Teams) opened by the current code: every
 * directory gets exactly one member, its owner, with role owner, and nothing else changes. The seed
 * app's legacy journey on a fresh database is test/modules/inventory/seed-app.test.ts; the importer's
 * second run, test/modules/legacy-import/import.test.ts.
 */

const LAST_RELEASE = 'Migration20261125000100LegacyImports';
/** The tables the last release had, whose rows the upgrade must leave as they were. */
const TABLES = ['users', 'sessions', 'event_outcomes', 'directories', 'goods', 'logs', 'legacy_imports'];

async function lastReleaseDatabase(database: DatabaseConfig): Promise<Orm> {
  const options = ormOptions(database);
  const orm = database.kind === 'mysql' ? await MySqlORM.init(options as MySqlOptions) : await LibSqlORM.init(options as LibSqlOptions);
  await orm.getMigrator().up({ to: LAST_RELEASE });
  return orm as unknown as Orm;
}

async function rowsOf(orm: Orm): Promise<Record<string, unknown[]>> {
  const sql = orm.em.fork().getConnection();
  const rows: Record<string, unknown[]> = {};
  for (const table of TABLES) rows[table] = await sql.execute(`select * from ${table} order by id`);
  return rows;
}

describe.each(testDatabases())('upgrading a database of the last release to teams on $name', (db) => {
  it('makes every directory owned by its owner as before, as its only member, and changes nothing else', async () => {
    const existing = await db.create();
    const old = await lastReleaseDatabase(existing.config);
    const sql = old.em.fork().getConnection();
    const at = new Date('2026-12-01T08:00:00.000Z');
    const ids: Record<string, number> = {};
    // What login, directories, scans and a delete wrote under the last release's schema.
    for (const name of ['alice', 'bob']) {
      await sql.execute('insert into users (openid, nickname, created_at, updated_at) values (?, ?, ?, ?)', [fakeOpenId(TEST_APPID, `upgrade-${name}`), name, at, at]);
      [{ id: ids[name] }] = await sql.execute<{ id: number }[]>('select id from users where openid = ?', [fakeOpenId(TEST_APPID, `upgrade-${name}`)]);
    }
    const directory = async (owner: string, name: string, deleted: boolean) => {
      await sql.execute('insert into directories (owner_id, name, live_name, freq, revision, created_at, updated_at, deleted_at) values (?, ?, ?, 2, 2, ?, ?, ?)', [
        ids[owner],
        name,
        deleted ? null : name,
        at,
        at,
        deleted ? at : null,
      ]);
      const [{ id }] = await sql.execute<{ id: number }[]>('select max(id) as id from directories');
      await sql.execute("insert into logs (directory_id, user_id, type, dir_name, revision, at) values (?, ?, 'create', ?, 0, ?)", [id, ids[owner], name, at]);
      for (const [revision, code] of [
        [1, 'A-1'],
        [2, '二维码📦'],
      ] as const) {
        await sql.execute("insert into goods (directory_id, code, code_hash, name, remarks, count, created_at, updated_at) values (?, ?, ?, '货', '', 3, ?, ?)", [id, code, codeHash(code), at, at]);
        await sql.execute("insert into logs (directory_id, user_id, device_id, type, code, delta, count_after, revision, event_id, at) values (?, ?, 'phone', 'in', ?, 3, 3, ?, ?, ?)", [
          id,
          ids[owner],
          code,
          revision,
          `e-${id}-${revision}`,
          at,
        ]);
      }
      return id;
    };
    const aliceDefault = await directory('alice', '默认', false);
    const aliceShop = await directory('alice', '小卖部', false);
    const aliceGone = await directory('alice', '旧仓', true);
    const bobDefault = await directory('bob', '默认', false);
    const before = await rowsOf(old);
    expect([before.users.length, before.directories.length, before.goods.length, before.logs.length]).toEqual([2, 4, 8, 12]);
    await old.close();

    // The current code opens it: the migrations that are left run.
    const upgraded = await openDatabase(existing.config);
    try {
      // The rows as they were, column for column; the columns later migrations added hold what those
      // migrations give existing rows: each directory's goods count (two each), no low-stock threshold,
      // and log rows that are no transfer, undo or count.
      const after = await rowsOf(upgraded);
      const added: Record<string, Record<string, unknown>> = {
        directories: { goods_count: 2 },
        goods: { min_count: 0 },
        logs: { transfer_id: null, transfer_from: null, transfer_to: null, undoes: null, undone_by: null, count_id: null, low_stock: 0, min_count: 0 },
      };
      for (const [table, rows] of Object.entries(before)) {
        const extra = added[table] ?? {};
        const expected = rows.map((row) => ({ ...(row as object), ...extra }));
        const got = after[table].map((row) => ({ ...(row as Record<string, unknown>), ...(table === 'logs' ? { low_stock: Number((row as { low_stock: unknown }).low_stock) } : {}) }));
        expect({ table, rows: got }).toEqual({ table, rows: expected });
      }
      const members = await upgraded.em
        .fork()
        .getConnection()
        .execute<{ directory_id: number; user_id: number; role: string }[]>('select directory_id, user_id, role from members order by directory_id, user_id');
      expect(members.map((m) => ({ directory: Number(m.directory_id), user: Number(m.user_id), role: m.role }))).toEqual([
        { directory: aliceDefault, user: ids.alice, role: 'owner' },
        { directory: aliceShop, user: ids.alice, role: 'owner' },
        { directory: aliceGone, user: ids.alice, role: 'owner' },
        { directory: bobDefault, user: ids.bob, role: 'owner' },
      ]);
    } finally {
      await upgraded.close();
    }

    // And the server on it: each user sees their directories as before, owned by them, and no one else's.
    // The server is handed the upgraded database as its orm (startServer opens the fresh database it makes, whatever config.database says).
    const orm = await openDatabase(existing.config);
    const server = await startServer(db, { config: { database: existing.config }, deps: { orm } });
    try {
      const alice = await signIn(server, 'upgrade-alice');
      const bob = await signIn(server, 'upgrade-bob');
      expect(alice.userId).toBe(ids.alice);
      const listed = (await alice.api.get('/api/directories')).body.directories;
      expect(listed.map((d: { id: number }) => d.id).sort()).toEqual([aliceDefault, aliceShop].sort());
      for (const d of listed) expect(d).toMatchObject({ role: 'owner', owner: { id: ids.alice, nickname: 'alice' }, revision: 2, freq: 2, goodsCount: 2, totalCount: 6 });
      expect(await countOf(alice.api, aliceShop, '二维码📦')).toBe(3);
      expect((await bob.api.get(`/api/directories/${aliceShop}`)).body.error.code).toBe('directory_not_found');
      expect((await alice.api.get(`/api/directories/${aliceGone}`)).body.error.code).toBe('directory_not_found');
      expect((await scan(alice.api, aliceShop, { op: 'out', code: 'A-1' })).body).toMatchObject({ goods: { count: 2 }, revision: 3 });
      // The seed's app finds its directories by name, as before.
      expect((await legacyPost(server, '/checkqr/', { code: 'A-1', cookie: alice.token, dir: '小卖部' })).body).toEqual({ name: '货', remarks: '', count: 2 });
      expect((await legacyPost(server, '/datain/', { code: 'A-1', name: '', remarks: '', cookie: bob.token, dir: '小卖部' })).body).toEqual({ error: '不存在此仓库' });
    } finally {
      await server.close();
      await orm.close();
      await existing.drop();
    }
  });
});
