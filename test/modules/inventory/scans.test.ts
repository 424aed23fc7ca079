import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { countOf, createDirectory, directoryState, revisionOf, scan, signIn } from '../../helpers/inventory';

describe.each(testDatabases())('scans over HTTP on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  describe('in, out and set', () => {
    it('`in` creates the goods with count qty (default 1), then adds; name and remarks replace only when given', async () => {
      const { api } = await signIn(server, 'scan-in');
      const id = await createDirectory(api, '入库');
      const first = await scan(api, id, { op: 'in', code: '6901', name: '可乐', remarks: '冰' });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        goods: { id: expect.any(Number), code: '6901', name: '可乐', remarks: '冰', count: 1 },
        delta: 1,
        revision: 1,
        created: true,
        duplicate: false,
      });
      const second = await scan(api, id, { op: 'in', code: '6901', qty: 1_000_000 });
      expect(second.body).toEqual({ goods: { ...first.body.goods, count: 1_000_001 }, delta: 1_000_000, revision: 2, created: false, duplicate: false });
      const renamed = await scan(api, id, { op: 'in', code: '6901', name: '百事', remarks: '' });
      expect(renamed.body.goods).toEqual({ ...first.body.goods, name: '百事', remarks: '', count: 1_000_002 });
      expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 3, freq: 3, goodsCount: 1, totalCount: 1_000_002 } });
    });

    it('`out` takes qty away, and refuses 409 insufficient_stock with the count, or 404 goods_not_found, changing nothing', async () => {
      const { api } = await signIn(server, 'scan-out');
      const id = await createDirectory(api, '出库');
      await scan(api, id, { op: 'in', code: 'A', qty: 5 });
      const out = await scan(api, id, { op: 'out', code: 'A', qty: 2 });
      expect(out.status).toBe(200);
      expect(out.body).toMatchObject({ goods: { code: 'A', count: 3 }, delta: -2, revision: 2, created: false, duplicate: false });
      const tooMany = await scan(api, id, { op: 'out', code: 'A', qty: 4 });
      expect(tooMany.status).toBe(409);
      expect(tooMany.body).toEqual({ error: { code: 'insufficient_stock', message: expect.any(String), count: 3 } });
      const unknown = await scan(api, id, { op: 'out', code: 'B' });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: { code: 'goods_not_found', message: expect.stringContaining('B') } });
      expect(await countOf(api, id, 'A')).toBe(3);
      expect(await countOf(api, id, 'B')).toBeNull();
      expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 2, freq: 2 } });
      const last = await scan(api, id, { op: 'out', code: 'A', qty: 3 });
      expect(last.body).toMatchObject({ goods: { count: 0 }, delta: -3, revision: 3 });
      expect((await scan(api, id, { op: 'out', code: 'A' })).body.error).toMatchObject({ code: 'insufficient_stock', count: 0 });
    });

    it('`set` makes the count qty (0 allowed), creating the goods when new', async () => {
      const { api } = await signIn(server, 'scan-set');
      const id = await createDirectory(api, '盘点');
      const created = await scan(api, id, { op: 'set', code: 'S', qty: 12, name: '螺丝' });
      expect(created.body).toMatchObject({ goods: { code: 'S', name: '螺丝', count: 12 }, delta: 12, revision: 1, created: true });
      const down = await scan(api, id, { op: 'set', code: 'S', qty: 4 });
      expect(down.body).toMatchObject({ goods: { name: '螺丝', count: 4 }, delta: -8, revision: 2, created: false });
      const zero = await scan(api, id, { op: 'set', code: 'S', qty: 0 });
      expect(zero.body).toMatchObject({ goods: { count: 0 }, delta: -4, revision: 3 });
      const fresh = await scan(api, id, { op: 'set', code: 'Z', qty: 0 });
      expect(fresh.body).toMatchObject({ goods: { code: 'Z', count: 0 }, delta: 0, created: true, revision: 4 });
    });

    it.each([
      ['a missing op', { code: 'c' }, 'op'],
      ['an unknown op', { op: 'steal', code: 'c' }, 'op'],
      ['a missing code', { op: 'in' }, 'code'],
      ['an empty code', { op: 'in', code: '' }, 'code'],
      ['a code over 7,089 characters', { op: 'in', code: 'c'.repeat(7090) }, 'code'],
      ['a numeric code', { op: 'in', code: 123 }, 'code'],
      ['qty 0 for in', { op: 'in', code: 'c', qty: 0 }, 'qty'],
      ['qty 0 for out', { op: 'out', code: 'c', qty: 0 }, 'qty'],
      ['qty over 1,000,000', { op: 'in', code: 'c', qty: 1_000_001 }, 'qty'],
      ['a negative qty for set', { op: 'set', code: 'c', qty: -1 }, 'qty'],
      ['a fractional qty', { op: 'in', code: 'c', qty: 1.5 }, 'qty'],
      ['a qty given as text', { op: 'in', code: 'c', qty: '2' }, 'qty'],
      ['set without qty', { op: 'set', code: 'c' }, 'qty'],
      ['a name over 140 characters', { op: 'in', code: 'c', name: 'n'.repeat(141) }, 'name'],
      ['remarks over 1000 characters', { op: 'in', code: 'c', remarks: 'r'.repeat(1001) }, 'remarks'],
      ['an event id with a space', { op: 'in', code: 'c', eventId: 'a b' }, 'eventId'],
      ['an event id over 64 characters', { op: 'in', code: 'c', eventId: 'e'.repeat(65) }, 'eventId'],
    ])('answers 400 bad_request naming the field for %s, and changes nothing', async (_case, body, field) => {
      const { api, defaultDirectoryId: id } = await signIn(server, 'scan-bad');
      const before = await revisionOf(api, id);
      const answer = await api.post(`/api/directories/${id}/scans`, { body });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining(field) });
      expect(await revisionOf(api, id)).toBe(before);
      expect(await countOf(api, id, 'c')).toBeNull();
    });

    it('answers 404 directory_not_found for a directory that does not exist', async () => {
      const { api } = await signIn(server, 'scan-nodir');
      const answer = await scan(api, 1_999_999_999, { op: 'in', code: 'c' });
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: { code: 'directory_not_found', message: expect.any(String) } });
    });

    it('answers 413 payload_too_large for a body over 1 MiB', async () => {
      const { api, defaultDirectoryId: id } = await signIn(server, 'scan-big');
      const answer = await api.post(`/api/directories/${id}/scans`, { body: { op: 'in', code: 'c', name: 'x'.repeat(1024 * 1024 + 1) } });
      expect(answer.status).toBe(413);
      expect(answer.body).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
      const sync = await api.post('/api/sync', { body: { events: [{ eventId: 'big', directoryId: id, op: 'in', code: 'c', remarks: '备'.repeat(400_000) }] } });
      expect(sync.status).toBe(413);
      expect(sync.body.error.code).toBe('payload_too_large');
      expect(await revisionOf(api, id)).toBe(0);
    });
  });

  describe('event ids (exactly once)', () => {
    it('a replayed success returns the stored outcome with duplicate: true and changes nothing', async () => {
      const { api } = await signIn(server, 'event-success');
      const id = await createDirectory(api, '幂等');
      const first = await scan(api, id, { op: 'in', code: 'E', qty: 3, eventId: 'phone1:0001' });
      expect(first.status).toBe(200);
      expect(first.body.duplicate).toBe(false);
      const again = await scan(api, id, { op: 'in', code: 'E', qty: 3, eventId: 'phone1:0001' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ ...first.body, duplicate: true });
      // The id names the mutation, whatever the replay carries: still the original outcome.
      const different = await scan(api, id, { op: 'out', code: 'E', qty: 1, eventId: 'phone1:0001' });
      expect(different.body).toEqual({ ...first.body, duplicate: true });
      expect(await countOf(api, id, 'E')).toBe(3);
      expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 1, freq: 1 } });
    });

    it('a replayed refusal stays refused, even after the stock has arrived', async () => {
      const { api } = await signIn(server, 'event-refusal');
      const id = await createDirectory(api, '拒绝');
      await scan(api, id, { op: 'in', code: 'R', qty: 1 });
      const refused = await scan(api, id, { op: 'out', code: 'R', qty: 2, eventId: 'out-1' });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toEqual({ code: 'insufficient_stock', message: expect.any(String), count: 1 });
      await scan(api, id, { op: 'in', code: 'R', qty: 10 });
      const replay = await scan(api, id, { op: 'out', code: 'R', qty: 2, eventId: 'out-1' });
      expect(replay.status).toBe(409);
      expect(replay.body.error).toEqual({ ...refused.body.error, duplicate: true });
      expect(await countOf(api, id, 'R')).toBe(11);

      const unknown = await scan(api, id, { op: 'out', code: 'nope', eventId: 'out-2' });
      expect(unknown.status).toBe(404);
      await scan(api, id, { op: 'in', code: 'nope' });
      const unknownAgain = await scan(api, id, { op: 'out', code: 'nope', eventId: 'out-2' });
      expect(unknownAgain.status).toBe(404);
      expect(unknownAgain.body.error).toEqual({ ...unknown.body.error, duplicate: true });
      expect(await countOf(api, id, 'nope')).toBe(1);
      expect(await revisionOf(api, id)).toBe(3);
    });

    it('event ids belong to one user: another user may use the same id', async () => {
      const alice = await signIn(server, 'event-alice');
      const bob = await signIn(server, 'event-bob');
      const a = await scan(alice.api, alice.defaultDirectoryId, { op: 'in', code: 'X', qty: 2, eventId: 'shared-id' });
      const b = await scan(bob.api, bob.defaultDirectoryId, { op: 'in', code: 'X', qty: 5, eventId: 'shared-id' });
      expect(a.body).toMatchObject({ duplicate: false, goods: { count: 2 } });
      expect(b.body).toMatchObject({ duplicate: false, goods: { count: 5 } });
      expect(await countOf(alice.api, alice.defaultDirectoryId, 'X')).toBe(2);
      expect(await countOf(bob.api, bob.defaultDirectoryId, 'X')).toBe(5);
      // And each user's replay is their own.
      expect((await scan(bob.api, bob.defaultDirectoryId, { op: 'in', code: 'X', qty: 5, eventId: 'shared-id' })).body).toEqual({ ...b.body, duplicate: true });
    });

    it('the same user on another device (another session) gets the stored outcome too', async () => {
      const phone = await signIn(server, 'event-devices');
      const tablet = await signIn(server, 'event-devices');
      expect(tablet.userId).toBe(phone.userId);
      const first = await scan(phone.api, phone.defaultDirectoryId, { op: 'set', code: 'D', qty: 9, eventId: 'dev-1' });
      const again = await scan(tablet.api, tablet.defaultDirectoryId, { op: 'set', code: 'D', qty: 9, eventId: 'dev-1' });
      expect(again.body).toEqual({ ...first.body, duplicate: true });
      expect(await revisionOf(phone.api, phone.defaultDirectoryId)).toBe(1);
    });
  });
});
