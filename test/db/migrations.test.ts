import { MikroORM as LibSqlORM, type Options as LibSqlOptions } from '@mikro-orm/libsql';
import { MikroORM as MySqlORM, type Options as MySqlOptions } from '@mikro-orm/mysql';
import type { DatabaseConfig } from '../../src/config';
import { ormOptions } from '../../src/db/orm';
import { fakeOpenId } from '../../src/modules/wechat/fake-server';
import { startServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { countOf, scan, signIn } from '../helpers/inventory';

/** A database as the first release left it: only the initial migration applied. */
async function firstReleaseDatabase(database: DatabaseConfig) {
  const options = ormOptions(database);
  const orm = database.kind === 'mysql' ? await MySqlORM.init(options as MySqlOptions) : await LibSqlORM.init(options as LibSqlOptions);
  await orm.getMigrator().up({ to: 'Migration20261124000000Initial' });
  return orm;
}

describe.each(testDatabases())('upgrading an existing database on $name', (db) => {
  it('re-keys existing goods by their code hash: each is found by its code, and codes that differ by trailing spaces become separate goods', async () => {
    const existing = await db.create();
    const orm = await firstReleaseDatabase(existing.config);
    const at = new Date('2026-11-24T08:00:00.000Z');
    const sql = orm.em.getConnection();
    // What login and scans wrote under the first schema (code varchar(512) with a unique key).
    const openid = 'o-upgrade';
    await sql.execute('insert into users (openid, nickname, created_at, updated_at) values (?, ?, ?, ?)', [openid, 'old', at, at]);
    const [{ id: userId }] = await sql.execute<{ id: number }[]>('select id from users where openid = ?', [openid]);
    await sql.execute("insert into directories (owner_id, name, live_name, freq, revision, created_at, updated_at) values (?, '默认', '默认', 2, 2, ?, ?)", [userId, at, at]);
    const [{ id: directoryId }] = await sql.execute<{ id: number }[]>('select id from directories where owner_id = ?', [userId]);
    for (const [code, count] of [
      ['PAD-1', 4],
      ['二维码📦', 7],
    ] as const) {
      await sql.execute("insert into goods (directory_id, code, name, remarks, count, created_at, updated_at) values (?, ?, 'n', '', ?, ?, ?)", [directoryId, code, count, at, at]);
    }
    await orm.close();

    // The server applies the remaining migrations at start-up.
    const server = await startServer(db, { config: { database: existing.config } });
    try {
      // The old user logs in: the fake WeChat gives the login code 'upgrader' this openid.
      const upgraderOpenId = fakeOpenId(server.config.wechat.appId, 'upgrader');
      await server.app.services.orm.em.fork().getConnection().execute('update users set openid = ? where openid = ?', [upgraderOpenId, openid]);
      const { api } = await signIn(server, 'upgrader');
      expect(await countOf(api, directoryId, 'PAD-1')).toBe(4);
      expect(await countOf(api, directoryId, '二维码📦')).toBe(7);
      expect((await scan(api, directoryId, { op: 'in', code: 'PAD-1 ' })).body).toMatchObject({ goods: { code: 'PAD-1 ', count: 1 }, created: true });
      expect((await scan(api, directoryId, { op: 'in', code: 'PAD-1' })).body).toMatchObject({ goods: { code: 'PAD-1', count: 5 }, created: false });
      expect((await scan(api, directoryId, { op: 'out', code: '二维码📦', qty: 7 })).body).toMatchObject({ goods: { count: 0 } });
      expect((await scan(api, directoryId, { op: 'in', code: 'Q'.repeat(7089), name: '名'.repeat(140) })).status).toBe(200);
    } finally {
      await server.close();
      await existing.drop();
    }
  });
});
