import mysql from 'mysql2/promise';
import { startServer } from '../helpers/app';
import { mysqlOnly } from '../helpers/db';
import { createDirectory, scan, signIn } from '../helpers/inventory';

/**
 * NO_BACKSLASH_ESCAPES in the server's sql_mode (a valid setting) turns MikroORM's backslash-escaped
 * values into an injection: every connection pins its own sql_mode. The server's global mode is set
 * for the few seconds of this test and restored; the app's connections are made inside that window.
 */
const [db] = mysqlOnly();

(db ? describe : describe.skip)('a server whose sql_mode has NO_BACKSLASH_ESCAPES', () => {
  it("changes nothing for scancode: its sessions pin their mode, and crafted searches find only the user's own goods", async () => {
    const admin = await mysql.createConnection((process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/scancode_test').replace(/\/[^/]*$/, '/'));
    const [[{ mode }]] = await admin.query<mysql.RowDataPacket[]>('select @@global.sql_mode as mode');
    await admin.query("set global sql_mode = concat(@@global.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    try {
      const server = await startServer(db);
      try {
        const alice = await signIn(server, 'sqlmode-alice');
        await scan(alice.api, alice.defaultDirectoryId, { op: 'in', code: "SECRET-of-alice' \\", name: 'alice only' });
        const bob = await signIn(server, 'sqlmode-bob');
        const bobs = await createDirectory(bob.api, '鲍勃');
        await scan(bob.api, bobs, { op: 'in', code: "bob's \\ item" });
        const sessions = await server.app.services.orm.em.fork().getConnection().execute<{ mode: string }[]>('select @@session.sql_mode as mode');
        expect(sessions[0].mode).not.toContain('NO_BACKSLASH_ESCAPES');
        for (const q of ["\\') or 1=1 -- ", "x\\' or '1'='1", "%' or directory_id <> 0 or '", '\\', "'", "bob's \\"]) {
          const answer = await bob.api.get(`/api/directories/${bobs}?q=${encodeURIComponent(q)}`);
          expect(answer.status).toBe(200);
          for (const goods of answer.body.goods) expect(goods.code).toBe("bob's \\ item");
        }
        expect((await bob.api.get(`/api/directories/${bobs}?q=${encodeURIComponent("bob's \\")}`)).body.goods).toHaveLength(1);
      } finally {
        await server.close();
      }
    } finally {
      await admin.query('set global sql_mode = ?', [mode]);
      await admin.end();
    }
  });
});
