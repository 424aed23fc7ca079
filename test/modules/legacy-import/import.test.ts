import type { DatabaseConfig } from '../../../src/config';
import { openDatabase, type Orm } from '../../../src/db/orm';
import { importFromDjango, type ImportResult } from '../../../src/modules/legacy-import/run';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { existingDatabase, loadDjangoSeed, type OldDatabase } from '../../helpers/django';
import { client, request } from '../../helpers/http';
import { directoryState, legacyPost, scan, type Api } from '../../helpers/inventory';
import { connect } from '../../helpers/ws';

/**
 * The old Django backend's dump imported into each database scancode runs on, then read back the way
 * clients read it: the HTTP API, a WebSocket subscriber replaying from revision 0, and the seed app's
 * own /login/ and /query/.
 */
describe.each(testDatabases())('importing the Django backend into $name', (db) => {
  let old: OldDatabase;
  let database: { config: DatabaseConfig; drop(): Promise<void> };
  let server: TestServer;
  let orm: Orm;

  beforeAll(async () => {
    old = await loadDjangoSeed();
    database = await db.create();
    // The server first: it applies the migrations, then the importer opens the same database.
    server = await startServer(existingDatabase(db.name, database.config));
    orm = await openDatabase(database.config);
  });
  afterAll(async () => {
    await orm.close();
    await server.close();
    await database.drop();
    await old.drop();
  });

  const run = () => importFromDjango(orm.em.fork(), { from: old.url });
  const rows = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(sql, params);
  const tables = async () => ({
    users: await rows('select * from users order by id'),
    directories: await rows('select * from directories order by id'),
    goods: await rows('select * from goods order by id'),
    logs: await rows('select * from logs order by id'),
    imports: await rows('select kind, old_id, new_id, fingerprint from legacy_imports order by id'),
  });
  const tallyOf = (result: ImportResult) => result.plan.tally;
  const anomaliesOf = (result: ImportResult) => result.plan.anomalies.map(({ table, oldId, problem }) => ({ table, oldId, problem }));

  /** Logs in as an imported user (the fake's `openid:` code) and returns an API client. */
  async function as(openid: string): Promise<Api> {
    const answer = await request(server.url, 'POST', '/api/login', { body: { code: `openid:${openid}#${Math.random()}` } });
    expect(answer.status).toBe(200);
    return client(server.url, answer.body.token);
  }

  async function directoriesOf(api: Api): Promise<Record<string, { id: number; freq: number; revision: number }>> {
    const list = (await api.get('/api/directories')).body.directories as { id: number; name: string; freq: number; revision: number }[];
    return Object.fromEntries(list.map(({ id, name, freq, revision }) => [name, { id, freq, revision }]));
  }

  /** `changes?since=0` replayed from nothing ends at the goods' counts, every delta adding up, revisions 1..n. */
  async function expectReplayAgrees(api: Api, directoryId: number): Promise<void> {
    const { directory, goods } = await directoryState(api, directoryId);
    const answer = (await api.get(`/api/directories/${directoryId}/changes?since=0`)).body;
    expect(answer.revision).toBe(directory.revision);
    expect(answer.changes.map((c: { revision: number }) => c.revision)).toEqual(Array.from({ length: directory.revision }, (_, i) => i + 1));
    const replayed = new Map<string, number>();
    for (const change of answer.changes) {
      if (!change.goods) continue;
      if (change.delta !== undefined) expect((replayed.get(change.code) ?? 0) + change.delta).toBe(change.goods.count);
      replayed.set(change.code, change.goods.count);
    }
    expect(Object.fromEntries(replayed)).toEqual(Object.fromEntries(goods.map((g: { code: string; count: number }) => [g.code, g.count])));
  }

  it('accounts for every row of the old tables and reports the rows the new rules refuse', async () => {
    const result = await run();
    const counts = { user: await old.count('mycode_profile'), directory: await old.count('mycode_directory'), goods: await old.count('mycode_goods'), log: await old.count('mycode_log') };
    expect(counts).toEqual({ user: 2, directory: 5, goods: 8, log: 18 });
    for (const [kind, count] of Object.entries(counts)) {
      expect(tallyOf(result)[kind as keyof typeof counts]).toEqual({ created: count, updated: 0, unchanged: 0, merged: 0, skipped: 0 });
    }
    expect(anomaliesOf(result)).toEqual([
      { table: 'mycode_directory', oldId: 3, problem: 'empty-name' },
      { table: 'mycode_directory', oldId: 4, problem: 'trimmed' },
    ]);
    expect(result.failures).toEqual([]);
  });

  it('gives each warehouse its name, freq and revision, and a log that replays to its counts', async () => {
    const alice = await as('o-alice');
    const mine = await directoriesOf(alice);
    expect(Object.keys(mine).sort()).toEqual(['仓库A', '仓库B', '未命名仓库3', '默认'].sort());
    expect(mine).toMatchObject({ 默认: { freq: 0, revision: 0 }, 仓库A: { freq: 17, revision: 14 }, 未命名仓库3: { freq: 0, revision: 0 }, 仓库B: { freq: 1, revision: 1 } });
    for (const { id } of Object.values(mine)) await expectReplayAgrees(alice, id);
    const me = (await alice.get('/api/me')).body.user;
    expect(me).toMatchObject({ nickname: 'Nick alice', gender: 1, city: 'Guangzhou', province: 'Guangdong' });

    const { goods } = await directoryState(alice, mine['仓库A'].id);
    expect(goods.map((g: { code: string; count: number }) => [g.code.slice(0, 20), g.count])).toEqual([
      ['6901234567892', 0],
      ['12345678901234567890', 1],
      ['WIFI:T:WPA;S:warehou', 1],
      ['1+1 A/Ω', 1],
      ['Case-Code', 2],
      ['PAD-1', 2],
      ['📦-0001', 1],
    ]);
    // 仓库A's log reads back in the old app's order: three in and three out of the cola, then one scan each.
    const logs = (await alice.get(`/api/directories/${mine['仓库A'].id}/logs?limit=100`)).body.logs.reverse();
    expect(
      logs.map((l: { revision: number; type: string; code: string | null; delta: number | null; countAfter: number | null }) => [
        l.revision,
        l.type,
        l.code?.slice(0, 9) ?? null,
        l.delta,
        l.countAfter,
      ]),
    ).toEqual([
      [0, 'create', null, null, null],
      [1, 'in', '690123456', 1, 1],
      [2, 'in', '690123456', 1, 2],
      [3, 'in', '690123456', 1, 3],
      [4, 'in', '123456789', 1, 1],
      [5, 'out', '690123456', -1, 2],
      [6, 'out', '690123456', -1, 1],
      [7, 'out', '690123456', -1, 0],
      [8, 'in', 'WIFI:T:WP', 1, 1],
      [9, 'in', '1+1 A/Ω', 1, 1],
      [10, 'in', 'Case-Code', 1, 1],
      [11, 'in', 'Case-Code', 1, 2],
      [12, 'in', 'PAD-1', 1, 1],
      [13, 'in', 'PAD-1', 1, 2],
      [14, 'in', '📦-0001', 1, 1],
    ]);
    expect(new Date(logs[1].at).toISOString()).toBe('2026-11-25T12:44:23.148Z');

    // A subscriber replaying from revision 0 sees the same changes.
    const token = (await request(server.url, 'POST', '/api/login', { body: { code: 'openid:o-alice#ws' } })).body.token;
    const socket = await connect(server.url, token);
    expect((await socket.request({ type: 'subscribe', directoryId: mine['仓库A'].id, since: 0 })).result).toEqual({ revision: 14 });
    const frames = await socket.changesUpTo(mine['仓库A'].id, 14);
    expect(frames.map((f) => [f.revision, f.change.type, f.change.goods?.count])).toEqual(
      logs.slice(1).map((l: { revision: number; type: string; countAfter: number }) => [l.revision, l.type, l.countAfter]),
    );
    await socket.close();

    const erin = await directoriesOf(await as('o-erin'));
    expect(erin).toEqual({ 默认: expect.objectContaining({ freq: 0, revision: 0 }) });
  });

  it('changes nothing when run again', async () => {
    const before = await tables();
    const again = await run();
    for (const kind of ['user', 'directory', 'goods', 'log'] as const) {
      expect(tallyOf(again)[kind]).toMatchObject({ created: 0, updated: 0, merged: 0, skipped: 0 });
    }
    expect(again.plan.anomalies).toEqual([]);
    expect(again.plan.directories).toEqual([]);
    expect(await tables()).toEqual(before);
  });

  it('brings across exactly what was added and changed in the old tables since, keeping what changed in scancode', async () => {
    const alice = await as('o-alice');
    const ids = await directoriesOf(alice);
    // Meanwhile in scancode: one more Case-Code.
    expect((await scan(alice, ids['仓库A'].id, { op: 'in', code: 'Case-Code' })).body.goods.count).toBe(3);
    const logsBefore = await rows<{ id: number }>('select id from logs order by id');
    const lastLogId = Number(logsBefore[logsBefore.length - 1].id);

    // Meanwhile in the old app, as it would have written it:
    const at = '2026-11-26 08:00:00';
    await old.query("insert into mycode_goods values (9, 4, '??胶带', 2, '6920000000099', '', ?, ?)", [at, at]); // a new goods, its emoji lost
    await old.query("insert into mycode_log values (19, 1, ?, '1', 4, 9), (20, 1, ?, '1', 4, 9)", [at, at]);
    await old.query('update mycode_goods set count = 2 where id = 3'); // one more in, logged
    await old.query("insert into mycode_log values (21, 1, ?, '1', 2, 3)", [at]);
    await old.query('update mycode_goods set count = 5 where id = 6'); // a stocktake the log does not show
    await old.query('update mycode_directory set freq = freq + 1 where id = 2');
    await old.query("update mycode_directory set name = '仓库C', freq = freq + 2 where id = 4"); // renamed
    await old.query("insert into mycode_log values (22, 1, ?, '4', 4, NULL)", [at]);
    await old.query("update mycode_directory set status = '0' where id = 3"); // deleted
    await old.query("insert into mycode_log values (23, 1, ?, '3', 3, NULL)", [at]);
    await old.query("insert into auth_user values (3, 'x', NULL, 0, 'o-frank', '', '', '', 0, 1, ?)", [at]); // a new user
    await old.query("insert into mycode_profile values (3, 3, 'Nick frank', 'o-frank', 'c', '2', 'Shenzhen', 'Guangdong')");
    await old.query("insert into mycode_directory values (6, 3, '默认', '1', 0, ?, ?)", [at, at]);
    await old.query("insert into mycode_goods values (10, 6, '螺丝', 4, 'M3', '', ?, ?)", [at, at]); // never scanned in or out
    await old.query("insert into mycode_log values (24, 3, ?, '0', 6, NULL)", [at]);

    const third = await run();
    expect(tallyOf(third)).toEqual({
      user: { created: 1, updated: 0, unchanged: 2, merged: 0, skipped: 0 },
      directory: { created: 1, updated: 3, unchanged: 2, merged: 0, skipped: 0 },
      goods: { created: 2, updated: 2, unchanged: 6, merged: 0, skipped: 0 },
      log: { created: 6, updated: 0, unchanged: 18, merged: 0, skipped: 0 },
    });
    expect(anomaliesOf(third)).toEqual([{ table: 'mycode_goods', oldId: 9, problem: 'suspect' }]);

    const added = await rows<{ directory_id: number; revision: number; type: string; code: string | null; delta: number | null; count_after: number | null; dir_name: string | null }>(
      'select directory_id, revision, type, code, delta, count_after, dir_name from logs where id > ? order by id',
      [lastLogId],
    );
    const frank = await as('o-frank');
    const frankDirectories = await directoriesOf(frank);
    const byId = new Map<number, string>([
      [ids['仓库A'].id, '仓库A'],
      [ids['仓库B'].id, '仓库C'],
      [ids['未命名仓库3'].id, '未命名仓库3'],
      [frankDirectories['默认'].id, 'frank默认'],
    ]);
    expect(added.map((l) => [byId.get(Number(l.directory_id)), Number(l.revision), l.type, l.code, l.delta, l.count_after, l.dir_name])).toEqual([
      ['仓库A', 16, 'in', '12345678901234567890', 1, 2, null],
      ['仓库A', 17, 'set', 'Case-Code', 3, 6, null],
      ['未命名仓库3', 1, 'delete', null, null, null, '未命名仓库3'],
      ['仓库C', 2, 'in', '6920000000099', 1, 1, null],
      ['仓库C', 3, 'in', '6920000000099', 1, 2, null],
      ['仓库C', 4, 'rename', null, null, null, '仓库C'],
      ['frank默认', 0, 'create', null, null, null, '默认'],
      ['frank默认', 1, 'set', 'M3', 4, 4, null],
    ]);

    const after = await directoriesOf(alice);
    expect(after).toEqual({
      默认: { id: ids['默认'].id, freq: 0, revision: 0 },
      仓库A: { id: ids['仓库A'].id, freq: 19, revision: 17 },
      仓库C: { id: ids['仓库B'].id, freq: 3, revision: 4 },
    });
    for (const { id } of Object.values(after)) await expectReplayAgrees(alice, id);
    await expectReplayAgrees(frank, frankDirectories['默认'].id);
    const [deleted] = await rows<{ live_name: string | null; deleted_at: unknown; revision: number }>('select live_name, deleted_at, revision from directories where id = ?', [ids['未命名仓库3'].id]);
    expect(deleted).toMatchObject({ live_name: null, revision: 1 });
    expect(deleted.deleted_at).not.toBeNull();
    expect((await frank.get('/api/me')).body.user).toMatchObject({ nickname: 'Nick frank', gender: 2, city: 'Shenzhen' });

    const fourth = await run();
    expect(fourth.plan.directories).toEqual([]);
    expect(fourth.plan.anomalies).toEqual([]);
  });

  it('lets an imported user log in with the seed app and see its warehouses and counts', async () => {
    // A server started afresh over the imported database, as after a migration day, in place of the
    // first one: on the embedded database a process runs one server per file (its writes go through
    // the server's writer thread, which another server's writes in the same process would wait on).
    await server.close();
    server = await startServer(existingDatabase(db.name, database.config));
    await seesImportedWarehouses(server);
  });

  async function seesImportedWarehouses(freshServer: TestServer): Promise<void> {
    const login = await legacyPost(freshServer, '/login/', { code: 'openid:o-alice' });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ dirs: ['默认', '仓库A', '仓库C'], status: '已登录', info: { nickName: 'Nick alice', city: 'Guangzhou' } });
    const query = await legacyPost(freshServer, '/query/', { cookie: login.body.info.cookie });
    const dirs = query.body.dirs as Record<string, { name: string; remark: string; count: number; code: string }[]>;
    expect(Object.keys(dirs)).toEqual(['默认', '仓库A', '仓库C']);
    expect(dirs['默认']).toEqual([]);
    expect(dirs['仓库A'].map((g) => [g.name, g.count])).toEqual([
      ['可口可乐', 0],
      ['1234567890123456', 2],
      ['WIFI:T:WPA;S:war', 1],
      ['sym', 1],
      ['upper', 6],
      ['pad-space', 2],
      ['📦箱', 1],
    ]);
    expect(dirs['仓库A'][0]).toEqual({ name: '可口可乐', remark: '330ml', count: 0, code: '6901234567892' });
    expect(dirs['仓库C']).toEqual([
      { name: '纸箱', remark: '', count: 1, code: '6920000000001' },
      { name: '??胶带', remark: '', count: 2, code: '6920000000099' },
    ]);
  }
});
