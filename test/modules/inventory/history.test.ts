import type { BusMessage } from '../../../src/modules/realtime/bus';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { allLogs, busDelivered, createDirectory, directoryState, goodsPath, revisionOf, scan, signIn } from '../../helpers/inventory';

/** Small, so that "too far behind" is a few changes away (and the six-change story below just fits). */
const REPLAY_LIMIT = 6;

describe.each(testDatabases())('revisions, changes and logs on $name', (db) => {
  let server: TestServer;
  const published: BusMessage[] = [];
  beforeAll(async () => {
    server = await startServer(db, { config: { changesReplayLimit: REPLAY_LIMIT } });
    server.app.services.bus.subscribe((message) => published.push(message));
  });
  afterAll(() => server.close());

  it('adds exactly 1 to the revision per change, and `changes?since=0` replays them in order', async () => {
    const token = await server.login('hist-revisions', { deviceId: 'phone-1' });
    const api = client(server.url, token);
    const me = (await api.get('/api/me')).body;
    const id = await createDirectory(api, '历史');
    expect(await revisionOf(api, id)).toBe(0);

    const steps: [string, () => Promise<unknown>][] = [
      ['in', () => scan(api, id, { op: 'in', code: 'G', qty: 5, name: '货', eventId: 'h-1' })],
      ['out', () => scan(api, id, { op: 'out', code: 'G', qty: 2 })],
      ['set', () => scan(api, id, { op: 'set', code: 'G', qty: 10 })],
      ['edit', () => api.patch(goodsPath(id, 'G'), { body: { remarks: '备注' } })],
      ['remove', () => api.delete(goodsPath(id, 'G'))],
      ['rename', () => api.patch(`/api/directories/${id}`, { body: { name: '历史二' } })],
    ];
    for (const [index, [, step]] of steps.entries()) {
      await step();
      expect(await revisionOf(api, id)).toBe(index + 1);
      // Refusals and no-ops spend no revision.
      await scan(api, id, { op: 'out', code: 'G', qty: 1_000_000 });
      await api.patch(`/api/directories/${id}`, { body: { name: index === steps.length - 1 ? '历史二' : '历史' } });
      expect(await revisionOf(api, id)).toBe(index + 1);
    }

    const answer = await api.get(`/api/directories/${id}/changes?since=0`);
    expect(answer.status).toBe(200);
    expect(answer.body.revision).toBe(6);
    const { changes } = answer.body;
    expect(changes.map((c: { revision: number; type: string }) => [c.revision, c.type])).toEqual(steps.map(([type], i) => [i + 1, type]));
    const goodsId = changes[0].goods.id;
    const common = { userId: me.user.id, nickname: '', deviceId: 'phone-1', at: expect.any(String) };
    expect(changes).toEqual([
      { revision: 1, type: 'in', code: 'G', goods: { id: goodsId, code: 'G', name: '货', remarks: '', count: 5 }, delta: 5, eventId: 'h-1', ...common },
      { revision: 2, type: 'out', code: 'G', goods: { id: goodsId, code: 'G', name: '货', remarks: '', count: 3 }, delta: -2, ...common },
      { revision: 3, type: 'set', code: 'G', goods: { id: goodsId, code: 'G', name: '货', remarks: '', count: 10 }, delta: 7, ...common },
      { revision: 4, type: 'edit', code: 'G', goods: { id: goodsId, code: 'G', name: '货', remarks: '备注', count: 10 }, ...common },
      { revision: 5, type: 'remove', code: 'G', goods: { id: goodsId, code: 'G', name: '货', remarks: '备注', count: 10 }, delta: -10, ...common },
      { revision: 6, type: 'rename', directory: { id, name: '历史二' }, ...common },
    ]);
    for (const change of changes) expect(new Date(change.at).toISOString()).toBe(change.at);

    // What was pushed live is exactly what a late client replays.
    await busDelivered();
    const pushed = published.filter((m) => m.type === 'change' && m.directoryId === id).map((m) => (m.type === 'change' ? m.change : null));
    expect(pushed).toEqual(changes);

    // Deleting is the last change: one more revision, pushed like the others.
    expect((await api.delete(`/api/directories/${id}`)).status).toBe(204);
    await busDelivered();
    const last = published.filter((m) => m.type === 'change' && m.directoryId === id).pop();
    expect(last).toMatchObject({ revision: 7, change: { revision: 7, type: 'delete', directory: { id, name: '历史二' }, userId: me.user.id } });
  });

  it('replays only what comes after `since`, and nothing when up to date', async () => {
    const { api } = await signIn(server, 'hist-since');
    const id = await createDirectory(api, '增量');
    for (let i = 1; i <= 4; i++) await scan(api, id, { op: 'in', code: `c${i}` });
    const tail = await api.get(`/api/directories/${id}/changes?since=2`);
    expect(tail.body).toEqual({ revision: 4, changes: [expect.objectContaining({ revision: 3, code: 'c3' }), expect.objectContaining({ revision: 4, code: 'c4' })] });
    expect((await api.get(`/api/directories/${id}/changes?since=4`)).body).toEqual({ revision: 4, changes: [] });
  });

  it(`answers reset with the goods when more than ${REPLAY_LIMIT} changes behind, or ahead of the directory`, async () => {
    const { api } = await signIn(server, 'hist-reset');
    const id = await createDirectory(api, '重置');
    const expected = new Map<string, number>();
    for (let i = 1; i <= REPLAY_LIMIT + 2; i++) {
      await scan(api, id, { op: 'in', code: `r${i % 3}`, qty: i });
      expected.set(`r${i % 3}`, (expected.get(`r${i % 3}`) ?? 0) + i);
    }
    const revision = REPLAY_LIMIT + 2;
    const { goods } = await directoryState(api, id);

    // Exactly the limit behind: still replayed.
    const atLimit = await api.get(`/api/directories/${id}/changes?since=${revision - REPLAY_LIMIT}`);
    expect(atLimit.body.reset).toBeUndefined();
    expect(atLimit.body.changes).toHaveLength(REPLAY_LIMIT);

    for (const since of [0, revision - REPLAY_LIMIT - 1, revision + 1, 1_000_000]) {
      const answer = await api.get(`/api/directories/${id}/changes?since=${since}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ revision, reset: true, goods });
    }
    expect(goods.map((g: { code: string; count: number }) => [g.code, g.count])).toEqual([...expected]);
  });

  it('answers 400 bad_request naming `since` when it is missing or not a whole number ≥ 0', async () => {
    const { api, defaultDirectoryId: id } = await signIn(server, 'hist-bad-since');
    for (const query of ['', '?since=', '?since=-1', '?since=abc', '?since=1.5']) {
      const answer = await api.get(`/api/directories/${id}/changes${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('since') });
    }
  });

  it('pages the log newest first with `before` and `limit`, from the create entry on', async () => {
    const { api, userId } = await signIn(server, 'hist-logs');
    const id = await createDirectory(api, '日志');
    for (let i = 1; i <= 6; i++) await scan(api, id, { op: 'in', code: 'L', eventId: `log-${i}` });
    await scan(api, id, { op: 'out', code: 'L', qty: 2 });

    const first = await api.get(`/api/directories/${id}/logs?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.logs.map((l: { revision: number }) => l.revision)).toEqual([7, 6, 5]);
    expect(first.body.next).toBe(5);
    expect(first.body.logs[0]).toEqual({
      id: expect.any(Number),
      revision: 7,
      type: 'out',
      userId,
      nickname: '',
      deviceId: null,
      code: 'L',
      name: '',
      delta: -2,
      countAfter: 4,
      directoryName: null,
      eventId: null,
      at: expect.any(String),
    });
    expect(first.body.logs[1]).toMatchObject({ type: 'in', delta: 1, countAfter: 6, eventId: 'log-6' });
    const second = await api.get(`/api/directories/${id}/logs?before=5&limit=3`);
    expect(second.body.logs.map((l: { revision: number }) => l.revision)).toEqual([4, 3, 2]);
    const third = await api.get(`/api/directories/${id}/logs?before=2&limit=3`);
    expect(third.body).toEqual({ logs: [expect.objectContaining({ revision: 1 }), expect.objectContaining({ revision: 0, type: 'create', directoryName: '日志', code: null })], next: null });

    // The default page holds them all; following `next` gives every revision once, without gaps.
    expect((await api.get(`/api/directories/${id}/logs`)).body.logs).toHaveLength(8);
    expect((await allLogs(api, id, 2)).map((l) => l.revision)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('answers 400 bad_request naming `limit` or `before` when out of range', async () => {
    const { api, defaultDirectoryId: id } = await signIn(server, 'hist-bad-logs');
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=x', 'limit'],
      ['before=0', 'before'],
      ['before=x', 'before'],
    ]) {
      const answer = await api.get(`/api/directories/${id}/logs?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining(field) });
    }
  });
});
