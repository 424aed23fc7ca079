import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request, type Answer } from '../../helpers/http';
import { countOf, createDirectory, directoryState, goodsPath, queryDatabase, revisionOf, scan, signIn } from '../../helpers/inventory';

describe.each(testDatabases())('directories and goods over HTTP on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  describe('directories', () => {
    it('lists the new user 默认 and creates a directory with a trimmed name (201)', async () => {
      const { api } = await signIn(server, 'dir-create');
      const list = await api.get('/api/directories');
      expect(list.status).toBe(200);
      expect(list.body.directories).toEqual([
        {
          id: expect.any(Number),
          name: '默认',
          role: 'owner',
          owner: { id: expect.any(Number), nickname: '' },
          freq: 0,
          revision: 0,
          goodsCount: 0,
          totalCount: 0,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ]);
      const created = await api.post('/api/directories', { body: { name: '  仓库一  ' } });
      expect(created.status).toBe(201);
      expect(created.body.directory).toMatchObject({ name: '仓库一', freq: 0, revision: 0, goodsCount: 0, totalCount: 0 });
      expect(new Date(created.body.directory.createdAt).toISOString()).toBe(created.body.directory.createdAt);
      expect((await api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name)).toEqual(['默认', '仓库一']);
    });

    it('answers 400 bad_request naming `name` for a missing, blank, too long or wrong-typed name', async () => {
      const { api } = await signIn(server, 'dir-bad-name');
      for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 42 }]) {
        const answer = await api.post('/api/directories', { body });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('name') });
      }
      // 100 characters is the limit in characters, not bytes.
      expect((await api.post('/api/directories', { body: { name: '库'.repeat(100) } })).status).toBe(201);
      expect((await api.get('/api/directories')).body.directories).toHaveLength(2);
    });

    it('answers 409 name_taken for a name the user already has, while another user may use it', async () => {
      const alice = await signIn(server, 'dir-taken-a');
      const bob = await signIn(server, 'dir-taken-b');
      await createDirectory(alice.api, '冷库');
      const again = await alice.api.post('/api/directories', { body: { name: ' 冷库' } });
      expect(again.status).toBe(409);
      expect(again.body.error).toEqual({ code: 'name_taken', message: expect.any(String) });
      expect((await alice.api.post('/api/directories', { body: { name: '默认' } })).body.error.code).toBe('name_taken');
      expect((await bob.api.post('/api/directories', { body: { name: '冷库' } })).status).toBe(201);
    });

    it('orders the list by freq (successful scans) descending, then by id', async () => {
      const { api, defaultDirectoryId } = await signIn(server, 'dir-order');
      const a = await createDirectory(api, 'A');
      const b = await createDirectory(api, 'B');
      const c = await createDirectory(api, 'C');
      await scan(api, b, { op: 'in', code: 'x' });
      await scan(api, b, { op: 'in', code: 'x', qty: 4 });
      await scan(api, c, { op: 'in', code: 'y', qty: 2 });
      // A refused scan does not count as use.
      expect((await scan(api, a, { op: 'out', code: 'nothing' })).status).toBe(404);
      const list = (await api.get('/api/directories')).body.directories;
      expect(list.map((d: { id: number }) => d.id)).toEqual([b, c, defaultDirectoryId, a]);
      expect(list[0]).toMatchObject({ name: 'B', freq: 2, revision: 2, goodsCount: 1, totalCount: 5 });
      expect(list[1]).toMatchObject({ name: 'C', freq: 1, goodsCount: 1, totalCount: 2 });
      expect(list[3]).toMatchObject({ name: 'A', freq: 0, revision: 0 });
    });

    it('renames a directory: one revision, name_taken for a live name, nothing spent for the same name', async () => {
      const { api } = await signIn(server, 'dir-rename');
      const id = await createDirectory(api, '旧名');
      await createDirectory(api, '别的');
      const renamed = await api.patch(`/api/directories/${id}`, { body: { name: ' 新名 ' } });
      expect(renamed.status).toBe(200);
      expect(renamed.body.directory).toMatchObject({ id, name: '新名', revision: 1 });
      const same = await api.patch(`/api/directories/${id}`, { body: { name: '新名' } });
      expect(same.status).toBe(200);
      expect(same.body.directory.revision).toBe(1);
      const taken = await api.patch(`/api/directories/${id}`, { body: { name: '别的' } });
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe('name_taken');
      const blank = await api.patch(`/api/directories/${id}`, { body: { name: ' ' } });
      expect(blank.status).toBe(400);
      expect(blank.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('name') });
      const badId = await api.patch('/api/directories/abc', { body: { name: 'x' } });
      expect(badId.status).toBe(400);
      expect(badId.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('directoryId') });
      expect(await directoryState(api, id)).toMatchObject({ directory: { name: '新名', revision: 1 } });
    });

    it('deletes softly: 204, gone from every API, its name free again, its history kept', async () => {
      const { api } = await signIn(server, 'dir-delete');
      const id = await createDirectory(api, '要删的');
      await scan(api, id, { op: 'in', code: 'g1', qty: 3 });
      const deleted = await api.delete(`/api/directories/${id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expect((await api.get('/api/directories')).body.directories.map((d: { id: number }) => d.id)).not.toContain(id);
      for (const answer of [await api.get(`/api/directories/${id}`), await api.get(goodsPath(id, 'g1')), await scan(api, id, { op: 'in', code: 'g1' }), await api.delete(`/api/directories/${id}`)]) {
        expect(answer.status).toBe(404);
        expect(answer.body.error.code).toBe('directory_not_found');
      }
      // The name is free for a new directory, which starts over at revision 0.
      const again = await api.post('/api/directories', { body: { name: '要删的' } });
      expect(again.status).toBe(201);
      expect(again.body.directory).toMatchObject({ revision: 0, goodsCount: 0 });
      // The history stays, and the delete was a change like any other: one more revision.
      const logs = await queryDatabase<{ revision: number; type: string }>(server, 'select revision, type from logs where directory_id = ? order by revision', [id]);
      expect(logs.map((l) => [Number(l.revision), l.type])).toEqual([
        [0, 'create'],
        [1, 'in'],
        [2, 'delete'],
      ]);
    });
  });

  describe('a directory with its goods', () => {
    it('lists the goods, filtered by `q` on code or name (case-insensitive, % and _ literal)', async () => {
      const { api } = await signIn(server, 'dir-goods');
      const id = await createDirectory(api, '过滤');
      await scan(api, id, { op: 'in', code: '6901234567892', name: '可口可乐', qty: 2 });
      await scan(api, id, { op: 'in', code: 'ABC-100', name: 'Widget' });
      await scan(api, id, { op: 'in', code: 'X_1', name: '100% cotton' });
      await scan(api, id, { op: 'in', code: 'bang!', name: 'back\\slash' });
      const all = await api.get(`/api/directories/${id}`);
      expect(all.status).toBe(200);
      expect(all.body.directory).toMatchObject({ id, name: '过滤', goodsCount: 4, totalCount: 5, revision: 4, freq: 4 });
      expect(all.body.goods).toEqual([
        { id: expect.any(Number), code: '6901234567892', name: '可口可乐', remarks: '', count: 2 },
        { id: expect.any(Number), code: 'ABC-100', name: 'Widget', remarks: '', count: 1 },
        { id: expect.any(Number), code: 'X_1', name: '100% cotton', remarks: '', count: 1 },
        { id: expect.any(Number), code: 'bang!', name: 'back\\slash', remarks: '', count: 1 },
      ]);
      const codes = async (q: string) => (await api.get(`/api/directories/${id}?q=${encodeURIComponent(q)}`)).body.goods.map((g: { code: string }) => g.code);
      expect(await codes('可乐')).toEqual(['6901234567892']);
      expect(await codes('abc')).toEqual(['ABC-100']);
      expect(await codes('widg')).toEqual(['ABC-100']);
      expect(await codes('100')).toEqual(['ABC-100', 'X_1']);
      expect(await codes('%')).toEqual(['X_1']);
      expect(await codes('_')).toEqual(['X_1']);
      expect(await codes('!')).toEqual(['bang!']);
      expect(await codes('\\')).toEqual(['bang!']);
      expect(await codes('k\\s')).toEqual(['bang!']);
      expect(await codes('nothing')).toEqual([]);
      expect(await codes('')).toHaveLength(4);
      const tooLong = await api.get(`/api/directories/${id}?q=${'q'.repeat(513)}`);
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('q') });
      const badId = await api.get('/api/directories/0');
      expect(badId.status).toBe(400);
      expect(badId.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('directoryId') });
    });
  });

  describe('goods', () => {
    it('gets, edits and removes goods, each edit and removal one revision', async () => {
      const { api } = await signIn(server, 'goods-crud');
      const id = await createDirectory(api, '货');
      const code = 'https://example.com/p?id=1&x=中/文';
      const created = await scan(api, id, { op: 'in', code, name: '旧', remarks: 'r', qty: 5 });
      expect(created.status).toBe(200);

      const got = await api.get(goodsPath(id, code));
      expect(got.status).toBe(200);
      expect(got.body).toEqual({ goods: { id: created.body.goods.id, code, name: '旧', remarks: 'r', count: 5 } });

      const edited = await api.patch(goodsPath(id, code), { body: { name: '新' } });
      expect(edited.status).toBe(200);
      expect(edited.body).toEqual({ goods: { id: created.body.goods.id, code, name: '新', remarks: 'r', count: 5 } });
      expect(await revisionOf(api, id)).toBe(2);
      const remarks = await api.patch(goodsPath(id, code), { body: { remarks: '' } });
      expect(remarks.body.goods).toMatchObject({ name: '新', remarks: '' });
      expect(await revisionOf(api, id)).toBe(3);

      const removed = await api.delete(goodsPath(id, code));
      expect(removed.status).toBe(204);
      expect(await revisionOf(api, id)).toBe(4);
      expect(await countOf(api, id, code)).toBeNull();
      for (const answer of [await api.get(goodsPath(id, code)), await api.patch(goodsPath(id, code), { body: { name: 'x' } }), await api.delete(goodsPath(id, code))]) {
        expect(answer.status).toBe(404);
        expect(answer.body.error).toEqual({ code: 'goods_not_found', message: expect.any(String) });
      }
      expect(await revisionOf(api, id)).toBe(4);
    });

    it('spends no revision on an edit that changes nothing, as for a rename to the same name', async () => {
      const { api } = await signIn(server, 'goods-noop-edit');
      const id = await createDirectory(api, '无变化');
      await scan(api, id, { op: 'in', code: 'N', name: '名', remarks: '注' });
      for (const body of [{}, { name: '名' }, { name: '名', remarks: '注' }]) {
        const answer = await api.patch(goodsPath(id, 'N'), { body });
        expect(answer.status).toBe(200);
        expect(answer.body.goods).toMatchObject({ code: 'N', name: '名', remarks: '注', count: 1 });
      }
      expect(await revisionOf(api, id)).toBe(1);
      expect((await api.get(`/api/directories/${id}/changes?since=1`)).body).toEqual({ revision: 1, changes: [] });
      expect((await api.patch(goodsPath(id, 'N'), { body: { name: '名', remarks: '' } })).body.goods.remarks).toBe('');
      expect(await revisionOf(api, id)).toBe(2);
    });

    // The longest QR codes: 7,089 digits, or 2,953 bytes of text (984 CJK characters, 738 emoji).
    it('accepts the longest QR codes in the path, Chinese and emoji included', async () => {
      const { api, defaultDirectoryId: id } = await signIn(server, 'goods-long');
      for (const code of ['7'.repeat(7089), '码'.repeat(984), '📦'.repeat(738)]) {
        expect((await scan(api, id, { op: 'in', code })).status).toBe(200);
        const got = await api.get(goodsPath(id, code));
        expect(got.status).toBe(200);
        expect(got.body.goods.code).toBe(code);
        expect((await api.patch(goodsPath(id, code), { body: { name: 'long' } })).status).toBe(200);
        expect((await api.delete(goodsPath(id, code))).status).toBe(204);
      }
      const tooLong = await api.get(goodsPath(id, 'c'.repeat(7090)));
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('code') });
    });

    it('answers 400 bad_request naming the field of a bad edit', async () => {
      const { api, defaultDirectoryId: id } = await signIn(server, 'goods-bad-edit');
      await scan(api, id, { op: 'in', code: 'e1' });
      for (const [body, field] of [
        [{ name: 'n'.repeat(141) }, 'name'],
        [{ remarks: 'r'.repeat(1001) }, 'remarks'],
        [{ name: 3 }, 'name'],
      ] as const) {
        const answer = await api.patch(goodsPath(id, 'e1'), { body });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining(field) });
      }
      expect(await revisionOf(api, id)).toBe(1);
    });
  });

  describe('authentication', () => {
    it('answers 401 unauthorized on every inventory route without a valid token', async () => {
      const { defaultDirectoryId: id } = await signIn(server, 'auth-owner');
      const routes: [string, string, unknown?][] = [
        ['GET', '/api/directories'],
        ['POST', '/api/directories', { name: 'x' }],
        ['GET', `/api/directories/${id}`],
        ['PATCH', `/api/directories/${id}`, { name: 'x' }],
        ['DELETE', `/api/directories/${id}`],
        ['GET', goodsPath(id, 'c')],
        ['PATCH', goodsPath(id, 'c'), { name: 'x' }],
        ['DELETE', goodsPath(id, 'c')],
        ['POST', `/api/directories/${id}/scans`, { op: 'in', code: 'c' }],
        ['GET', `/api/directories/${id}/changes?since=0`],
        ['GET', `/api/directories/${id}/logs`],
        ['GET', `/api/directories/${id}/export.csv`],
        ['POST', '/api/sync', { events: [] }],
      ];
      for (const [method, path, body] of routes) {
        for (const token of [undefined, 'not-a-real-token']) {
          const answer = await request(server.url, method, path, { token, body });
          expect({ method, path, status: answer.status, code: answer.body.error?.code }).toEqual({ method, path, status: 401, code: 'unauthorized' });
        }
      }
    });
  });

  describe("another user's directory", () => {
    it('answers exactly like a missing one on every route, and is left untouched', async () => {
      const owner = await signIn(server, 'privacy-owner');
      const stranger = await signIn(server, 'privacy-stranger');
      const theirs = await createDirectory(owner.api, '私有');
      await scan(owner.api, theirs, { op: 'in', code: 'secret', qty: 7 });
      const missing = 2_000_000_000;

      const calls: [string, (dir: number) => Promise<Answer>][] = [
        ['GET directory', (dir) => stranger.api.get(`/api/directories/${dir}?q=secret`)],
        ['PATCH directory', (dir) => stranger.api.patch(`/api/directories/${dir}`, { body: { name: '抢' } })],
        ['GET goods', (dir) => stranger.api.get(goodsPath(dir, 'secret'))],
        ['PATCH goods', (dir) => stranger.api.patch(goodsPath(dir, 'secret'), { body: { name: 'x' } })],
        ['DELETE goods', (dir) => stranger.api.delete(goodsPath(dir, 'secret'))],
        ['scan in', (dir) => scan(stranger.api, dir, { op: 'in', code: 'secret' })],
        ['scan out', (dir) => scan(stranger.api, dir, { op: 'out', code: 'secret' })],
        ['scan set', (dir) => scan(stranger.api, dir, { op: 'set', code: 'secret', qty: 0 })],
        ['changes', (dir) => stranger.api.get(`/api/directories/${dir}/changes?since=0`)],
        ['logs', (dir) => stranger.api.get(`/api/directories/${dir}/logs`)],
        ['export', (dir) => stranger.api.get(`/api/directories/${dir}/export.csv`)],
        ['DELETE directory', (dir) => stranger.api.delete(`/api/directories/${dir}`)],
      ];
      for (const [name, call] of calls) {
        const foreign = await call(theirs);
        const absent = await call(missing);
        expect({ name, status: foreign.status, body: foreign.body }).toEqual({ name, status: absent.status, body: absent.body });
        expect({ name, status: foreign.status, code: foreign.body.error?.code }).toEqual({ name, status: 404, code: 'directory_not_found' });
      }
      // The same through POST /api/sync: the per-event error is the same too (apart from the event id).
      const sync = await stranger.api.post('/api/sync', {
        body: {
          events: [
            { eventId: 'p-1', directoryId: theirs, op: 'in', code: 'secret' },
            { eventId: 'p-2', directoryId: missing, op: 'in', code: 'secret' },
          ],
        },
      });
      expect(sync.status).toBe(200);
      expect(sync.body.results[0].error).toEqual(sync.body.results[1].error);
      expect(sync.body.results[0]).toMatchObject({ ok: false, error: { code: 'directory_not_found' } });
      // Nothing the stranger did reached the owner's directory.
      expect(await directoryState(owner.api, theirs)).toMatchObject({ directory: { name: '私有', revision: 1 }, goods: [{ code: 'secret', count: 7, name: '' }] });
      expect((await client(server.url, owner.token).get('/api/directories')).body.directories.map((d: { name: string }) => d.name)).toContain('私有');
    });
  });
});
