import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { allLogs, countOf, createDirectory, goodsPath, revisionOf, scan, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Warehouse operations", undo: a compensating change of type `undo` (`undoes`, the reverse delta),
 * never a deletion of history. Each kind of goods change, a transfer (both sides at once), an undo; the
 * refusals (`undo_conflict`); who may undo what; exactly once by event id; watchers see it live.
 */

type Role = 'manager' | 'editor' | 'viewer';

describe.each(testDatabases())('undo on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db)));
  afterAll(async () => server.close());
  afterEach(async () => closeAll(sockets));

  /** A directory of its own for each test, with the owner's watcher subscribed from its start. */
  async function setUp(prefix: string): Promise<{ owner: TestUser; d: number; watcher: TestSocket }> {
    const owner = await signIn(server, `${prefix}-owner`);
    const d = await createDirectory(owner.api, `${prefix}-D`);
    const watcher = await connect(server.url, owner.token);
    sockets.push(watcher);
    expect((await watcher.request({ type: 'subscribe', directoryId: d, since: 0 })).ok).toBe(true);
    return { owner, d, watcher };
  }

  /** POST …/undo: the answer's body and status. */
  const undo = (api: Api, d: number, revision: number, eventId?: string) => api.post(`/api/directories/${d}/undo`, { body: { revision, ...(eventId ? { eventId } : {}) } });

  /** A user who joined the directory with this role through an invite. */
  async function member(owner: TestUser, d: number, name: string, role: Role): Promise<TestUser> {
    const user = await signIn(server, name);
    const invite = await owner.api.post(`/api/directories/${d}/invites`, { body: { role } });
    expect(invite.status).toBe(201);
    const accepted = await user.api.post(`/api/invites/${invite.body.invite.code}/accept`);
    expect([accepted.status, accepted.body.role]).toEqual([200, role]);
    return user;
  }

  it('undoes in, out and set by the reverse delta; an `in` that created the goods leaves it at 0; the log keeps both entries', async () => {
    const { owner, d, watcher } = await setUp('counts');
    const created = await scan(owner.api, d, { op: 'in', code: 'C', qty: 5, name: '可乐' });
    const more = await scan(owner.api, d, { op: 'in', code: 'C', qty: 3 });
    const out = await scan(owner.api, d, { op: 'out', code: 'C', qty: 2 });
    const set = await scan(owner.api, d, { op: 'set', code: 'C', qty: 20 });
    expect(set.body.goods.count).toBe(20);

    const unset = await undo(owner.api, d, set.body.revision);
    expect(unset.status).toBe(200);
    expect(unset.body).toEqual({
      undone: set.body.revision,
      change: expect.objectContaining({ type: 'undo', undoes: set.body.revision, delta: -14, code: 'C', goods: expect.objectContaining({ count: 6 }) }),
    });
    expect(unset.body.change.revision).toBe(set.body.revision + 1);
    const unout = await undo(owner.api, d, out.body.revision);
    expect(unout.body.change).toMatchObject({ type: 'undo', undoes: out.body.revision, delta: 2, goods: { count: 8 } });
    const unin = await undo(owner.api, d, more.body.revision);
    expect(unin.body.change).toMatchObject({ type: 'undo', undoes: more.body.revision, delta: -3, goods: { count: 5 } });
    const uncreate = await undo(owner.api, d, created.body.revision);
    expect(uncreate.body.change).toMatchObject({ type: 'undo', undoes: created.body.revision, delta: -5, goods: { code: 'C', count: 0 } });
    expect((await owner.api.get(goodsPath(d, 'C'))).body.goods).toMatchObject({ code: 'C', count: 0, name: '可乐' });

    // The log: every original stays, marked with the revision that undid it; each undo names what it undid.
    const logs = await allLogs(owner.api, d);
    const at = (revision: number) => logs.find((entry) => entry.revision === revision);
    for (const [original, by] of [
      [set, unset],
      [out, unout],
      [more, unin],
      [created, uncreate],
    ]) {
      expect(at(original.body.revision)).toMatchObject({ undoneBy: by.body.change.revision });
      expect(at(by.body.change.revision)).toMatchObject({ type: 'undo', undoes: original.body.revision, code: 'C' });
    }
    expect(logs.filter((entry) => entry.type !== 'create')).toHaveLength(8);

    // The watcher saw each revision once, the undos among them as they happened.
    const last = uncreate.body.change.revision;
    await watcher.changesUpTo(d, last);
    expect(watcher.revisions(d)).toEqual(Array.from({ length: last }, (_, k) => k + 1));
    expect(
      watcher
        .changes(d)
        .filter((f) => f.change.type === 'undo')
        .map((f) => f.change.undoes),
    ).toEqual([set.body.revision, out.body.revision, more.body.revision, created.body.revision]);
  });

  it('undoes an edit (name and remarks back) and a remove (the goods back with its count, name and remarks); the undo of that undo removes it again', async () => {
    const { owner, d, watcher } = await setUp('edit');
    await scan(owner.api, d, { op: 'in', code: 'E', qty: 4, name: '旧名', remarks: '旧备注' });
    const edited = await owner.api.patch(goodsPath(d, 'E'), { body: { name: '新名', remarks: '新备注' } });
    expect(edited.body.goods).toMatchObject({ name: '新名', remarks: '新备注' });
    const editRevision = await revisionOf(owner.api, d);
    const unedit = await undo(owner.api, d, editRevision);
    expect(unedit.body.change).toMatchObject({ type: 'undo', undoes: editRevision, goods: { name: '旧名', remarks: '旧备注', count: 4 } });
    expect((await owner.api.get(goodsPath(d, 'E'))).body.goods).toMatchObject({ name: '旧名', remarks: '旧备注', count: 4 });

    await scan(owner.api, d, { op: 'in', code: 'R', qty: 9, name: '要删的', remarks: '备注R' });
    expect((await owner.api.delete(goodsPath(d, 'R'))).status).toBe(204);
    const removeRevision = await revisionOf(owner.api, d);
    expect(await countOf(owner.api, d, 'R')).toBeNull();
    const unremove = await undo(owner.api, d, removeRevision);
    expect(unremove.body.change).toMatchObject({ type: 'undo', undoes: removeRevision, code: 'R', goods: { code: 'R', count: 9, name: '要删的', remarks: '备注R' } });
    expect((await owner.api.get(goodsPath(d, 'R'))).body.goods).toMatchObject({ count: 9, name: '要删的', remarks: '备注R' });

    const reremove = await undo(owner.api, d, unremove.body.change.revision);
    expect(reremove.status).toBe(200);
    expect(reremove.body.change).toMatchObject({ type: 'undo', undoes: unremove.body.change.revision, code: 'R' });
    expect(reremove.body.change.goods).toBeUndefined();
    expect(await countOf(owner.api, d, 'R')).toBeNull();
    // ...and the undo of that brings it back once more.
    const back = await undo(owner.api, d, reremove.body.change.revision);
    expect(back.body.change).toMatchObject({ type: 'undo', goods: { count: 9, name: '要删的' } });

    const last = back.body.change.revision;
    await watcher.changesUpTo(d, last);
    const live = watcher.changes(d).filter((f) => f.revision === reremove.body.change.revision)[0].change;
    expect(live).toMatchObject({ type: 'undo', code: 'R', undoes: unremove.body.change.revision });
    expect(live.goods).toBeUndefined();
  });

  it('undoes an undo: the original change applies again, and the second undo can be undone too', async () => {
    const { owner, d } = await setUp('twice');
    const inn = await scan(owner.api, d, { op: 'in', code: 'U', qty: 10 });
    const out = await scan(owner.api, d, { op: 'out', code: 'U', qty: 4 });
    const first = await undo(owner.api, d, out.body.revision);
    expect(first.body.change.goods.count).toBe(10);
    const second = await undo(owner.api, d, first.body.change.revision);
    expect(second.body.change).toMatchObject({ type: 'undo', undoes: first.body.change.revision, delta: -4, goods: { count: 6 } });
    const third = await undo(owner.api, d, second.body.change.revision);
    expect(third.body.change).toMatchObject({ undoes: second.body.change.revision, delta: 4, goods: { count: 10 } });
    expect(inn.status).toBe(200);
  });

  it('undoes a transfer from either side: both sides at once, an undo Change in each directory with `undoes` and `transfer`', async () => {
    const { owner, d: a, watcher } = await setUp('transfer');
    const b = await createDirectory(owner.api, 'transfer-B');
    expect((await watcher.request({ type: 'subscribe', directoryId: b, since: 0 })).ok).toBe(true);
    await scan(owner.api, a, { op: 'in', code: 'T', qty: 10, name: '调拨' });

    for (const [side, qty] of [
      ['in', 3],
      ['out', 2],
    ] as const) {
      const before = [await countOf(owner.api, a, 'T'), (await countOf(owner.api, b, 'T')) ?? 0];
      const moved = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: 'T', qty } });
      expect(moved.status).toBe(200);
      const { transferId } = moved.body;
      const [directoryId, revision] = side === 'in' ? [b, moved.body.in.revision] : [a, moved.body.out.revision];
      // Over the socket for one side, HTTP for the other.
      const socket = await connect(server.url, owner.token);
      sockets.push(socket);
      const answer = side === 'in' ? (await socket.request({ type: 'undo', id: `tu-${side}`, directoryId, revision })).result : (await undo(owner.api, directoryId, revision)).body;
      expect(answer).toMatchObject({ undone: revision, change: { type: 'undo', undoes: revision, transfer: { id: transferId, from: a, to: b } } });
      expect([await countOf(owner.api, a, 'T'), await countOf(owner.api, b, 'T')]).toEqual(before);

      // Each directory got one undo of its own side, at the revision after the transfer's.
      const revA = await revisionOf(owner.api, a);
      const revB = await revisionOf(owner.api, b);
      expect([revA, revB]).toEqual([moved.body.out.revision + 1, moved.body.in.revision + 1]);
      await watcher.changesUpTo(a, revA);
      await watcher.changesUpTo(b, revB);
      const undoOf = (d: number, rev: number) => watcher.changes(d).find((f) => f.revision === rev)?.change;
      expect(undoOf(a, revA)).toMatchObject({ type: 'undo', undoes: moved.body.out.revision, delta: qty, transfer: { id: transferId, from: a, to: b } });
      expect(undoOf(b, revB)).toMatchObject({ type: 'undo', undoes: moved.body.in.revision, delta: -qty, transfer: { id: transferId, from: a, to: b } });

      // Undone already, from either side.
      for (const [d, rev] of [
        [a, moved.body.out.revision],
        [b, moved.body.in.revision],
      ]) {
        const twice = await undo(owner.api, d, rev);
        expect([twice.status, twice.body.error?.code]).toEqual([409, 'undo_conflict']);
      }
      const logsA = await allLogs(owner.api, a);
      expect(logsA.find((e) => e.revision === moved.body.out.revision)).toMatchObject({ undoneBy: revA, transfer: { id: transferId } });
      expect(logsA.find((e) => e.revision === revA)).toMatchObject({ type: 'undo', undoes: moved.body.out.revision, transfer: { id: transferId } });
    }
    expect(watcher.revisions(a)).toEqual(Array.from({ length: await revisionOf(owner.api, a) }, (_, k) => k + 1));
    expect(watcher.revisions(b)).toEqual(Array.from({ length: await revisionOf(owner.api, b) }, (_, k) => k + 1));
  });

  it('undoes the undo of a transfer: the transfer applies again on both sides', async () => {
    const { owner, d: a } = await setUp('retransfer');
    const b = await createDirectory(owner.api, 'retransfer-B');
    await scan(owner.api, a, { op: 'in', code: 'T', qty: 10 });
    const moved = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: 'T', qty: 4 } });
    const undone = await undo(owner.api, b, moved.body.in.revision);
    expect(undone.status).toBe(200);
    expect([await countOf(owner.api, a, 'T'), await countOf(owner.api, b, 'T')]).toEqual([10, 0]);
    // The undo's side in A is the revision after the transfer's out: undone from there, both sides again.
    expect(undone.body.change.revision).toBe(moved.body.in.revision + 1);
    const redo = await undo(owner.api, a, moved.body.out.revision + 1);
    expect(redo.status).toBe(200);
    expect(redo.body.change).toMatchObject({ type: 'undo', undoes: moved.body.out.revision + 1, transfer: { id: moved.body.transferId } });
    expect([await countOf(owner.api, a, 'T'), await countOf(owner.api, b, 'T')]).toEqual([6, 4]);
    expect([await revisionOf(owner.api, a), await revisionOf(owner.api, b)]).toEqual([moved.body.out.revision + 2, moved.body.in.revision + 2]);
  });

  it('refuses with undo_conflict: already undone, not undoable, unknown revision, a reverse that would go negative; revision 0 is a bad request', async () => {
    const { owner, d } = await setUp('refuse');
    const inn = await scan(owner.api, d, { op: 'in', code: 'N', qty: 10 });
    await scan(owner.api, d, { op: 'out', code: 'N', qty: 8 });
    const negative = await undo(owner.api, d, inn.body.revision);
    expect([negative.status, negative.body.error]).toEqual([409, expect.objectContaining({ code: 'undo_conflict', count: 2 })]);

    const out = await scan(owner.api, d, { op: 'out', code: 'N', qty: 1 });
    expect((await undo(owner.api, d, out.body.revision)).status).toBe(200);
    const again = await undo(owner.api, d, out.body.revision);
    expect([again.status, again.body.error.code]).toEqual([409, 'undo_conflict']);

    expect((await owner.api.patch(`/api/directories/${d}`, { body: { name: 'refuse-D2' } })).status).toBe(200);
    const rename = await revisionOf(owner.api, d);
    const renamed = await undo(owner.api, d, rename);
    expect([renamed.status, renamed.body.error.code]).toEqual([409, 'undo_conflict']);
    const future = await undo(owner.api, d, rename + 100);
    expect([future.status, future.body.error.code]).toEqual([409, 'undo_conflict']);
    const create = await undo(owner.api, d, 0);
    expect([create.status, create.body.error.code]).toEqual([400, 'bad_request']);

    // A removed goods whose code has come back cannot be brought back over it.
    await owner.api.delete(goodsPath(d, 'N'));
    const removed = await revisionOf(owner.api, d);
    await scan(owner.api, d, { op: 'in', code: 'N', qty: 1 });
    const over = await undo(owner.api, d, removed);
    expect([over.status, over.body.error.code]).toEqual([409, 'undo_conflict']);

    // None of the refusals took a revision or changed a count.
    const revision = await revisionOf(owner.api, d);
    expect(await countOf(owner.api, d, 'N')).toBe(1);
    expect((await allLogs(owner.api, d)).filter((e) => e.type === 'undo')).toHaveLength(1);
    expect(revision).toBe(removed + 1);
  });

  it("an editor undoes their own changes, not another's; a manager anyone's; a viewer nothing; a stranger sees no directory", async () => {
    const { owner, d } = await setUp('roles');
    const manager = await member(owner, d, 'roles-manager', 'manager');
    const editor = await member(owner, d, 'roles-editor', 'editor');
    const viewer = await member(owner, d, 'roles-viewer', 'viewer');
    const stranger = await signIn(server, 'roles-stranger');
    const mine = await scan(editor.api, d, { op: 'in', code: 'P', qty: 5 });
    const owners = await scan(owner.api, d, { op: 'in', code: 'P', qty: 2 });
    const editors2 = await scan(editor.api, d, { op: 'in', code: 'P', qty: 1 });

    const notTheirs = await undo(editor.api, d, owners.body.revision);
    expect([notTheirs.status, notTheirs.body.error]).toEqual([403, expect.objectContaining({ code: 'forbidden', role: 'editor', required: 'manager' })]);
    for (const revision of [mine.body.revision, owners.body.revision]) {
      const refused = await undo(viewer.api, d, revision);
      expect([refused.status, refused.body.error]).toEqual([403, expect.objectContaining({ code: 'forbidden', role: 'viewer' })]);
    }
    const hidden = await undo(stranger.api, d, mine.body.revision);
    expect([hidden.status, hidden.body.error.code]).toEqual([404, 'directory_not_found']);
    expect(await countOf(owner.api, d, 'P')).toBe(8);

    const own = await undo(editor.api, d, mine.body.revision);
    expect(own.status).toBe(200);
    expect(own.body.change).toMatchObject({ userId: editor.userId, undoes: mine.body.revision });
    const byManager = await undo(manager.api, d, owners.body.revision);
    expect(byManager.body.change).toMatchObject({ userId: manager.userId, undoes: owners.body.revision });
    const byOwner = await undo(owner.api, d, editors2.body.revision);
    expect(byOwner.status).toBe(200);
    expect(await countOf(owner.api, d, 'P')).toBe(0);

    // The manager's undo is not the editor's own: the editor may not undo it.
    const ofManagers = await undo(editor.api, d, byManager.body.change.revision);
    expect([ofManagers.status, ofManagers.body.error.code]).toEqual([403, 'forbidden']);
    // Over the socket, the same rule.
    const socket = await connect(server.url, editor.token);
    sockets.push(socket);
    const frame = await socket.request({ type: 'undo', id: 'roles-socket', directoryId: d, revision: byOwner.body.change.revision });
    expect([frame.ok, frame.error]).toEqual([false, expect.objectContaining({ code: 'forbidden', role: 'editor', required: 'manager' })]);
  });

  it('is exactly once by event id, over HTTP and the socket, refusals included', async () => {
    const { owner, d, watcher } = await setUp('once');
    const out = await scan(owner.api, d, { op: 'in', code: 'O', qty: 6 });
    const first = await undo(owner.api, d, out.body.revision, 'undo-once');
    expect(first.body.duplicate).toBeUndefined();
    const revision = await revisionOf(owner.api, d);
    const http = await undo(owner.api, d, out.body.revision, 'undo-once');
    expect(http.status).toBe(200);
    expect(http.body).toEqual({ ...first.body, duplicate: true });
    const socket = await connect(server.url, owner.token);
    sockets.push(socket);
    const frame = await socket.request({ type: 'undo', id: 'undo-once', directoryId: d, revision: out.body.revision });
    expect(frame.result).toEqual({ ...first.body, duplicate: true });
    expect(await revisionOf(owner.api, d)).toBe(revision);
    expect(await countOf(owner.api, d, 'O')).toBe(0);

    // A refusal is remembered too: the same event id answers it again, even once the undo could apply.
    const inn = await scan(owner.api, d, { op: 'in', code: 'Q', qty: 5 });
    await scan(owner.api, d, { op: 'out', code: 'Q', qty: 4 });
    const refused = await undo(owner.api, d, inn.body.revision, 'undo-refused');
    expect(refused.body.error).toMatchObject({ code: 'undo_conflict', count: 1 });
    await scan(owner.api, d, { op: 'in', code: 'Q', qty: 10 });
    const repeated = await undo(owner.api, d, inn.body.revision, 'undo-refused');
    expect(repeated.body.error).toMatchObject({ code: 'undo_conflict', count: 1, duplicate: true });
    expect(await countOf(owner.api, d, 'Q')).toBe(11);

    // The watcher saw the one undo once.
    const last = await revisionOf(owner.api, d);
    await watcher.changesUpTo(d, last);
    expect(watcher.changes(d).filter((f) => f.change.type === 'undo')).toHaveLength(1);
    expect(watcher.revisions(d)).toEqual(Array.from({ length: last }, (_, k) => k + 1));
  });
});
