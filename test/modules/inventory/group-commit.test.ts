import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { allLogs, countOf, createDirectory, goodsPath, revisionOf, scan, signIn, type TestUser } from '../../helpers/inventory';

/**
 * Group commit: the events of one `POST /api/sync` are submitted together, so those of one directory
 * share transactions (one `at` in the log per transaction), each with its own outcome and revision.
 */
describe.each(testDatabases())('group commit on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'batch');
  });
  afterAll(() => server.close());

  const sync = (events: object[]) => user.api.post('/api/sync', { body: { events } });

  it('200 outs of 1 against 100 units in one batch: exactly 100 succeed, in order, and none goes below zero', async () => {
    const id = await createDirectory(user.api, '一批');
    await scan(user.api, id, { op: 'set', code: 'LAST', qty: 100 });
    const answer = await sync(Array.from({ length: 200 }, (_, i) => ({ eventId: `b-out-${i}`, directoryId: id, op: 'out', code: 'LAST' })));
    expect(answer.status).toBe(200);
    const results = answer.body.results as any[];
    expect(results.slice(0, 100).map((r) => [r.ok, r.result.goods.count, r.result.revision])).toEqual(Array.from({ length: 100 }, (_, i) => [true, 99 - i, i + 2]));
    expect(results.slice(100).every((r) => !r.ok && r.error.code === 'insufficient_stock' && r.error.count === 0)).toBe(true);
    expect(await countOf(user.api, id, 'LAST')).toBe(0);
    const outs = (await allLogs(user.api, id)).filter((l) => l.type === 'out');
    expect(outs).toHaveLength(100);
    // One transaction on MariaDB; on the embedded database transactions hold at most 50 (so that the
    // event loop is shared), so the 100 that succeeded took two.
    expect(new Set(outs.map((l) => l.at)).size).toBeLessThanOrEqual(db.name === 'sqlite' ? 2 : 1);
  });

  it('an event id repeated inside one batch is applied once; the repeat answers the same outcome as a duplicate', async () => {
    const id = await createDirectory(user.api, '重复');
    const answer = await sync([
      { eventId: 'rep-1', directoryId: id, op: 'in', code: 'R', qty: 5 },
      { eventId: 'rep-2', directoryId: id, op: 'in', code: 'R', qty: 1 },
      { eventId: 'rep-1', directoryId: id, op: 'in', code: 'R', qty: 5 },
      { eventId: 'rep-3', directoryId: id, op: 'out', code: 'NONE' },
      { eventId: 'rep-3', directoryId: id, op: 'out', code: 'NONE' },
    ]);
    const [first, second, repeat, refused, refusedAgain] = answer.body.results;
    expect(first.result).toMatchObject({ goods: { count: 5 }, revision: 1, duplicate: false });
    expect(second.result).toMatchObject({ goods: { count: 6 }, revision: 2 });
    expect(repeat).toEqual({ eventId: 'rep-1', ok: true, result: { ...first.result, duplicate: true } });
    expect(refused.error).toMatchObject({ code: 'goods_not_found' });
    expect(refusedAgain.error).toMatchObject({ code: 'goods_not_found', duplicate: true });
    expect(await countOf(user.api, id, 'R')).toBe(6);
    expect(await revisionOf(user.api, id)).toBe(2);
  });

  it('a refused scan in the middle of a batch leaves its neighbours applied, with consecutive revisions', async () => {
    const id = await createDirectory(user.api, '中间');
    const answer = await sync([
      { eventId: 'mid-1', directoryId: id, op: 'in', code: 'A' },
      { eventId: 'mid-2', directoryId: id, op: 'out', code: 'A', qty: 2 },
      { eventId: 'mid-3', directoryId: id, op: 'in', code: 'B', qty: 3 },
    ]);
    expect(answer.body.results.map((r: any) => (r.ok ? r.result.revision : r.error.code))).toEqual([1, 'insufficient_stock', 2]);
    expect([await countOf(user.api, id, 'A'), await countOf(user.api, id, 'B')]).toEqual([1, 3]);
    expect((await allLogs(user.api, id)).map((l) => l.revision)).toEqual([2, 1, 0]);
  });

  it('a directory delete racing a batch: every scan lands before the delete or is refused after it', async () => {
    const id = await createDirectory(user.api, '竞态');
    await scan(user.api, id, { op: 'in', code: 'X', qty: 1 });
    const events = Array.from({ length: 150 }, (_, i) => ({ eventId: `race-${i}`, directoryId: id, op: 'in', code: 'X' }));
    const [synced, deleted] = await Promise.all([sync(events), user.api.delete(`/api/directories/${id}`)]);
    expect(deleted.status).toBe(204);
    const results = synced.body.results as any[];
    const applied = results.filter((r) => r.ok);
    expect(results.filter((r) => !r.ok).every((r) => r.error.code === 'directory_not_found')).toBe(true);
    // Applied ones all come before the delete, which is the last revision of the directory.
    const rows = await server.app.services.orm.em
      .fork()
      .getConnection()
      .execute<{ revision: number; type: string }[]>('select revision, type from logs where directory_id = ? order by revision', [id]);
    expect(rows.map((r) => r.type)).toEqual(['create', 'in', ...applied.map(() => 'in'), 'delete']);
    expect(rows.map((r) => r.revision)).toEqual(rows.map((_, i) => i));
    const [goods] = await server.app.services.orm.em.fork().getConnection().execute<{ count: number }[]>('select count from goods where directory_id = ?', [id]);
    expect(goods.count).toBe(1 + applied.length);
  });
});

describe.each(testDatabases())('event ids on every mutation on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'every-mutation');
  });
  afterAll(() => server.close());

  it('directory create, rename and delete: a replay answers the first outcome, marked, and changes nothing', async () => {
    const created = await user.api.post('/api/directories', { body: { name: '一次', eventId: 'dir-create-1' } });
    expect(created.status).toBe(201);
    expect(created.body.duplicate).toBeUndefined();
    const again = await user.api.post('/api/directories', { body: { name: '一次', eventId: 'dir-create-1' } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ ...created.body, duplicate: true });
    const id = created.body.directory.id;
    const renamed = await user.api.patch(`/api/directories/${id}`, { body: { name: '两次', eventId: 'dir-rename-1' } });
    expect(renamed.body.directory).toMatchObject({ name: '两次', revision: 1 });
    // Sent again after a second rename: the event has no second effect (the name stays 三次).
    await user.api.patch(`/api/directories/${id}`, { body: { name: '三次' } });
    const replayed = await user.api.patch(`/api/directories/${id}`, { body: { name: '两次', eventId: 'dir-rename-1' } });
    expect(replayed.body).toMatchObject({ directory: { name: '三次', revision: 2 }, duplicate: true });
    const deleted = await user.api.delete(`/api/directories/${id}`, { body: { eventId: 'dir-delete-1' } });
    expect(deleted.status).toBe(204);
    expect((await user.api.delete(`/api/directories/${id}`, { body: { eventId: 'dir-delete-1' } })).status).toBe(204);
    expect((await user.api.delete(`/api/directories/${id}`)).status).toBe(404);
    const names = (await user.api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name);
    expect(names.filter((n: string) => n === '一次' || n === '三次')).toEqual([]);
    // A refusal is remembered too: a create refused as name_taken stays refused for that id.
    await createDirectory(user.api, '占用');
    const taken = await user.api.post('/api/directories', { body: { name: '占用', eventId: 'dir-create-2' } });
    expect(taken.status).toBe(409);
    expect((await user.api.post('/api/directories', { body: { name: '占用', eventId: 'dir-create-2' } })).body.error).toMatchObject({ code: 'name_taken', duplicate: true });
  });

  it('goods edit and remove: a replay answers the first outcome and spends no revision', async () => {
    const id = await createDirectory(user.api, '货');
    await scan(user.api, id, { op: 'in', code: 'G', qty: 2 });
    const edited = await user.api.patch(goodsPath(id, 'G'), { body: { name: '新名', eventId: 'goods-edit-1' } });
    expect(edited.body).toEqual({ goods: expect.objectContaining({ name: '新名', count: 2 }) });
    const replay = await user.api.patch(goodsPath(id, 'G'), { body: { name: '新名', eventId: 'goods-edit-1' } });
    expect(replay.body).toEqual({ ...edited.body, duplicate: true });
    expect(await revisionOf(user.api, id)).toBe(2);
    expect((await user.api.delete(goodsPath(id, 'G'), { body: { eventId: 'goods-remove-1' } })).status).toBe(204);
    // The goods is gone, yet the replay answers as the removal did, not goods_not_found.
    expect((await user.api.delete(goodsPath(id, 'G'), { body: { eventId: 'goods-remove-1' } })).status).toBe(204);
    expect(await revisionOf(user.api, id)).toBe(3);
    // An event id names one mutation: reused for another kind, it is refused and applies nothing.
    const reused = await user.api.patch(`/api/directories/${id}`, { body: { name: '别名', eventId: 'goods-remove-1' } });
    expect(reused.status).toBe(400);
    expect(reused.body.error.message).toContain('already used for a remove');
    expect(reused.body.error.duplicate).toBeUndefined();
    expect(await revisionOf(user.api, id)).toBe(3);
  });
});
