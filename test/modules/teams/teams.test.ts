import { INVITE_QR_PREFIX, type Role } from '../../../src/contract';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { countOf, createDirectory, revisionOf, scan, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Teams": invites and accepting them, the members list, role changes, removal and leaving,
 * handing ownership over, directory lists with `role` and `owner`, who made a change, and the limits.
 */

const HOUR = 3_600_000;
let names = 0;

/** A user with a nickname of their own (so that a Change and a members list show who it was). */
async function person(server: TestServer, nickname: string): Promise<TestUser> {
  const user = await signIn(server, `teams-user-${++names}`);
  const patched = await user.api.patch('/api/me', { body: { nickname } });
  if (patched.status !== 200) throw new Error(`PATCH /api/me failed: ${patched.status} ${patched.text}`);
  return user;
}

async function invite(api: Api, directoryId: number, body: { role: Role; maxUses?: number; expiresInHours?: number }) {
  const answer = await api.post(`/api/directories/${directoryId}/invites`, { body });
  if (answer.status !== 201) throw new Error(`invite failed: ${answer.status} ${answer.text}`);
  return answer.body.invite as { code: string; role: Role; uses: number; maxUses: number; expiresAt: string; qr: string };
}

const accept = (api: Api, code: string) => api.post(`/api/invites/${code}/accept`);

/** Invites each user with their role and has them accept. */
async function addMembers(owner: TestUser, directoryId: number, members: [TestUser, Role][]): Promise<void> {
  for (const [user, role] of members) {
    const answer = await accept(user.api, (await invite(owner.api, directoryId, { role })).code);
    if (answer.status !== 200) throw new Error(`accept failed: ${answer.status} ${answer.text}`);
  }
}

const membersOf = async (api: Api, directoryId: number) =>
  (await api.get(`/api/directories/${directoryId}/members`)).body.members as { user: { id: number; nickname: string }; role: Role; since: string }[];
const rolesOf = async (api: Api, directoryId: number) => Object.fromEntries((await membersOf(api, directoryId)).map((m) => [m.user.nickname, m.role]));
const listed = async (api: Api, directoryId: number) =>
  ((await api.get('/api/directories')).body.directories as { id: number; role: Role; owner: { id: number; nickname: string } }[]).find((d) => d.id === directoryId);
const setRole = (api: Api, directoryId: number, userId: number, role: Role) => api.patch(`/api/directories/${directoryId}/members/${userId}`, { body: { role } });
const remove = (api: Api, directoryId: number, userId: number) => api.delete(`/api/directories/${directoryId}/members/${userId}`);
const errorOf = (answer: { status: number; body: any }) => ({ status: answer.status, ...answer.body.error, message: undefined });

describe.each(testDatabases())('teams on $name', (db) => {
  let server: TestServer;
  let clock = Date.now();
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db, { deps: { now: () => new Date(clock) } })));
  afterAll(() => server.close());
  afterEach(() => closeAll(sockets));

  describe('invites', () => {
    it('answers 201 with a code of at least 128 random bits, its QR text, 1 use and 72 hours by default, and lists it', async () => {
      const owner = await person(server, '店主');
      const directoryId = await createDirectory(owner.api, '总仓');
      const answer = await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role: 'editor' } });
      expect(answer.status).toBe(201);
      const { invite: created } = answer.body;
      expect(created).toEqual({ code: expect.any(String), role: 'editor', uses: 0, maxUses: 1, expiresAt: new Date(clock + 72 * HOUR).toISOString(), qr: `${INVITE_QR_PREFIX}${created.code}` });
      expect(Buffer.from(created.code, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
      const other = await invite(owner.api, directoryId, { role: 'viewer', maxUses: 5, expiresInHours: 2 });
      expect(other).toMatchObject({ role: 'viewer', uses: 0, maxUses: 5, expiresAt: new Date(clock + 2 * HOUR).toISOString() });
      expect(other.code).not.toBe(created.code);
      expect((await owner.api.get(`/api/directories/${directoryId}/invites`)).body.invites.map((i: { code: string }) => i.code).sort()).toEqual([created.code, other.code].sort());
    });

    it('a revoked invite is gone from the list and answers invite_not_found', async () => {
      const owner = await person(server, '店主');
      const staff = await person(server, '店员');
      const directoryId = await createDirectory(owner.api, '总仓');
      const { code } = await invite(owner.api, directoryId, { role: 'editor' });
      expect((await owner.api.delete(`/api/directories/${directoryId}/invites/${code}`)).status).toBe(204);
      expect((await owner.api.get(`/api/directories/${directoryId}/invites`)).body.invites).toEqual([]);
      expect(errorOf(await accept(staff.api, code))).toMatchObject({ status: 404, code: 'invite_not_found' });
      expect(errorOf(await owner.api.delete(`/api/directories/${directoryId}/invites/${code}`))).toMatchObject({ status: 404, code: 'invite_not_found' });
      expect(errorOf(await staff.api.get(`/api/directories/${directoryId}`))).toMatchObject({ status: 404, code: 'directory_not_found' });
    });

    it('an expired invite answers invite_not_found and leaves the list', async () => {
      const owner = await person(server, '店主');
      const staff = await person(server, '店员');
      const directoryId = await createDirectory(owner.api, '总仓');
      const { code } = await invite(owner.api, directoryId, { role: 'editor', expiresInHours: 1 });
      clock += HOUR + 1;
      expect((await owner.api.get(`/api/directories/${directoryId}/invites`)).body.invites).toEqual([]);
      expect(errorOf(await accept(staff.api, code))).toMatchObject({ status: 404, code: 'invite_not_found' });
      expect(await membersOf(owner.api, directoryId)).toHaveLength(1);
    });

    it('a used-up invite answers invite_not_found; an unknown code too', async () => {
      const owner = await person(server, '店主');
      const [first, second] = [await person(server, '甲'), await person(server, '乙')];
      const directoryId = await createDirectory(owner.api, '总仓');
      const { code } = await invite(owner.api, directoryId, { role: 'viewer' });
      expect((await accept(first.api, code)).status).toBe(200);
      expect(errorOf(await accept(second.api, code))).toMatchObject({ status: 404, code: 'invite_not_found' });
      expect(errorOf(await accept(second.api, 'A'.repeat(32)))).toMatchObject({ status: 404, code: 'invite_not_found' });
      expect(await rolesOf(owner.api, directoryId)).toEqual({ 店主: 'owner', 甲: 'viewer' });
    });
  });

  describe('accepting', () => {
    it('makes the user a member with the invite role; the same user again uses no second use and gets the same answer', async () => {
      const owner = await person(server, '店主');
      const [staff, later] = [await person(server, '店员'), await person(server, '后来')];
      const directoryId = await createDirectory(owner.api, '总仓');
      const { code } = await invite(owner.api, directoryId, { role: 'editor', maxUses: 2 });
      const first = await accept(staff.api, code);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ role: 'editor', directory: { id: directoryId, name: '总仓', role: 'editor', owner: { id: owner.userId, nickname: '店主' } } });
      const again = await accept(staff.api, code);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect((await owner.api.get(`/api/directories/${directoryId}/invites`)).body.invites).toMatchObject([{ code, uses: 1, maxUses: 2 }]);
      // The second use is still there for someone else.
      expect((await accept(later.api, code)).body).toMatchObject({ role: 'editor' });
      expect(await rolesOf(owner.api, directoryId)).toEqual({ 店主: 'owner', 店员: 'editor', 后来: 'editor' });
    });

    it('a member keeps the higher of their role and the invite role', async () => {
      const owner = await person(server, '店主');
      const [editor, viewer] = [await person(server, '编辑'), await person(server, '观察')];
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [
        [editor, 'editor'],
        [viewer, 'viewer'],
      ]);
      expect((await accept(editor.api, (await invite(owner.api, directoryId, { role: 'viewer' })).code)).body).toMatchObject({ role: 'editor', directory: { role: 'editor' } });
      expect((await accept(viewer.api, (await invite(owner.api, directoryId, { role: 'manager' })).code)).body).toMatchObject({ role: 'manager', directory: { role: 'manager' } });
      expect((await accept(owner.api, (await invite(owner.api, directoryId, { role: 'manager' })).code)).body).toMatchObject({ role: 'owner' });
      expect(await rolesOf(owner.api, directoryId)).toEqual({ 店主: 'owner', 编辑: 'editor', 观察: 'manager' });
    });
  });

  it('lists the members with user, role and since, the owner first', async () => {
    const joinedAt = clock;
    const owner = await person(server, '店主');
    const [manager, viewer] = [await person(server, '经理'), await person(server, '会计')];
    const directoryId = await createDirectory(owner.api, '总仓');
    await addMembers(owner, directoryId, [
      [viewer, 'viewer'],
      [manager, 'manager'],
    ]);
    const answer = await viewer.api.get(`/api/directories/${directoryId}/members`);
    expect(answer.status).toBe(200);
    expect(answer.body.members).toEqual([
      { user: { id: owner.userId, nickname: '店主', avatarUrl: '' }, role: 'owner', since: expect.any(String) },
      { user: { id: manager.userId, nickname: '经理', avatarUrl: '' }, role: 'manager', since: new Date(joinedAt).toISOString() },
      { user: { id: viewer.userId, nickname: '会计', avatarUrl: '' }, role: 'viewer', since: new Date(joinedAt).toISOString() },
    ]);
  });

  describe('roles', () => {
    it('a manager changes editors and viewers, not managers or the owner (forbidden, required owner)', async () => {
      const owner = await person(server, '店主');
      const [manager, other, editor, viewer] = [await person(server, '经理'), await person(server, '副经理'), await person(server, '编辑'), await person(server, '观察')];
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [
        [manager, 'manager'],
        [other, 'manager'],
        [editor, 'editor'],
        [viewer, 'viewer'],
      ]);

      const promoted = await setRole(manager.api, directoryId, viewer.userId, 'editor');
      expect(promoted.status).toBe(200);
      expect(promoted.body.member).toMatchObject({ user: { id: viewer.userId, nickname: '观察' }, role: 'editor' });
      expect((await setRole(manager.api, directoryId, editor.userId, 'viewer')).body.member).toMatchObject({ role: 'viewer' });

      const forbiddenOwner = { status: 403, code: 'forbidden', role: 'manager', required: 'owner' };
      expect(errorOf(await setRole(manager.api, directoryId, other.userId, 'editor'))).toMatchObject(forbiddenOwner);
      expect(errorOf(await setRole(manager.api, directoryId, owner.userId, 'viewer'))).toMatchObject(forbiddenOwner);
      expect(errorOf(await setRole(manager.api, directoryId, editor.userId, 'owner'))).toMatchObject(forbiddenOwner);
      // Below manager, no role changes at all.
      expect(errorOf(await setRole(viewer.api, directoryId, editor.userId, 'editor'))).toMatchObject({ status: 403, code: 'forbidden', role: 'editor', required: 'manager' });
      // The owner's own role changes only by handing ownership over.
      expect(errorOf(await setRole(owner.api, directoryId, owner.userId, 'manager'))).toMatchObject({ status: 400, code: 'bad_request' });
      // The owner changes anyone's, managers' too.
      expect((await setRole(owner.api, directoryId, other.userId, 'viewer')).body.member).toMatchObject({ role: 'viewer' });
      expect(await rolesOf(owner.api, directoryId)).toEqual({ 店主: 'owner', 经理: 'manager', 副经理: 'viewer', 编辑: 'viewer', 观察: 'editor' });
      // The directory lists follow.
      expect(await listed(viewer.api, directoryId)).toMatchObject({ role: 'editor' });
    });

    it('hands ownership over: the old owner becomes manager, lists show the new owner, who may delete', async () => {
      const owner = await person(server, '老板');
      const heir = await person(server, '接班人');
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [[heir, 'editor']]);
      expect(errorOf(await heir.api.delete(`/api/directories/${directoryId}`))).toMatchObject({ status: 403, code: 'forbidden', role: 'editor', required: 'owner' });

      const handed = await setRole(owner.api, directoryId, heir.userId, 'owner');
      expect(handed.status).toBe(200);
      expect(handed.body.member).toMatchObject({ user: { id: heir.userId }, role: 'owner' });
      expect(await rolesOf(heir.api, directoryId)).toEqual({ 接班人: 'owner', 老板: 'manager' });
      const newOwner = { id: heir.userId, nickname: '接班人' };
      expect(await listed(heir.api, directoryId)).toMatchObject({ role: 'owner', owner: newOwner });
      expect(await listed(owner.api, directoryId)).toMatchObject({ role: 'manager', owner: newOwner });
      expect((await owner.api.get('/api/me')).body.directories.find((d: { id: number }) => d.id === directoryId)).toMatchObject({ role: 'manager', owner: newOwner });

      expect(errorOf(await owner.api.delete(`/api/directories/${directoryId}`))).toMatchObject({ status: 403, code: 'forbidden', role: 'manager', required: 'owner' });
      expect((await heir.api.delete(`/api/directories/${directoryId}`)).status).toBe(204);
      expect(await listed(heir.api, directoryId)).toBeUndefined();
      expect(errorOf(await owner.api.get(`/api/directories/${directoryId}`))).toMatchObject({ status: 404, code: 'directory_not_found' });
    });
  });

  describe('removal and leaving', () => {
    it('any member may leave; the owner may not (400 bad_request); managers remove editors and viewers, the owner anyone', async () => {
      const owner = await person(server, '店主');
      const [manager, editor, viewer, leaver] = [await person(server, '经理'), await person(server, '编辑'), await person(server, '观察'), await person(server, '离开')];
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [
        [manager, 'manager'],
        [editor, 'editor'],
        [viewer, 'viewer'],
        [leaver, 'editor'],
      ]);

      expect(errorOf(await remove(owner.api, directoryId, owner.userId))).toMatchObject({ status: 400, code: 'bad_request' });
      expect(errorOf(await remove(editor.api, directoryId, viewer.userId))).toMatchObject({ status: 403, code: 'forbidden', role: 'editor', required: 'manager' });
      expect(errorOf(await remove(manager.api, directoryId, owner.userId))).toMatchObject({ status: 403, code: 'forbidden', role: 'manager', required: 'owner' });

      expect((await remove(leaver.api, directoryId, leaver.userId)).status).toBe(204);
      expect(await listed(leaver.api, directoryId)).toBeUndefined();
      expect(errorOf(await leaver.api.get(`/api/directories/${directoryId}`))).toMatchObject({ status: 404, code: 'directory_not_found' });
      expect((await remove(viewer.api, directoryId, viewer.userId)).status).toBe(204);
      await addMembers(owner, directoryId, [[viewer, 'viewer']]);
      expect((await remove(manager.api, directoryId, viewer.userId)).status).toBe(204);
      expect((await remove(manager.api, directoryId, editor.userId)).status).toBe(204);
      expect((await remove(owner.api, directoryId, manager.userId)).status).toBe(204);
      expect(await rolesOf(owner.api, directoryId)).toEqual({ 店主: 'owner' });
      // Membership takes no revision.
      expect(await revisionOf(owner.api, directoryId)).toBe(0);
    });

    it("a removed member's HTTP scans answer directory_not_found and apply nothing", async () => {
      const owner = await person(server, '店主');
      const gone = await person(server, '离职');
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [[gone, 'editor']]);
      expect((await scan(gone.api, directoryId, { op: 'in', code: 'A', qty: 3 })).status).toBe(200);
      expect((await remove(owner.api, directoryId, gone.userId)).status).toBe(204);

      expect(errorOf(await scan(gone.api, directoryId, { op: 'in', code: 'A', eventId: 'after-1' }))).toMatchObject({ status: 404, code: 'directory_not_found' });
      expect(errorOf(await scan(gone.api, directoryId, { op: 'out', code: 'A' }))).toMatchObject({ status: 404, code: 'directory_not_found' });
      const synced = await gone.api.post('/api/sync', { body: { events: [{ eventId: 'after-2', directoryId, op: 'set', code: 'A', qty: 0 }] } });
      expect(synced.body.results).toMatchObject([{ eventId: 'after-2', ok: false, error: { code: 'directory_not_found' } }]);
      expect(await countOf(owner.api, directoryId, 'A')).toBe(3);
      expect(await revisionOf(owner.api, directoryId)).toBe(1);
    });

    it("a viewer's scans are forbidden and apply nothing", async () => {
      const owner = await person(server, '店主');
      const viewer = await person(server, '会计');
      const directoryId = await createDirectory(owner.api, '总仓');
      await addMembers(owner, directoryId, [[viewer, 'viewer']]);
      await scan(owner.api, directoryId, { op: 'in', code: 'A', qty: 3 });
      const refused = { status: 403, code: 'forbidden', role: 'viewer', required: 'editor' };
      for (const body of [
        { op: 'in', code: 'A' },
        { op: 'out', code: 'A' },
        { op: 'set', code: 'A', qty: 0 },
        { op: 'in', code: 'NEW', eventId: 'v-1' },
      ]) {
        expect(errorOf(await scan(viewer.api, directoryId, body))).toMatchObject(refused);
      }
      const synced = await viewer.api.post('/api/sync', { body: { events: [{ eventId: 'v-2', directoryId, op: 'in', code: 'A' }] } });
      expect(synced.body.results).toMatchObject([{ ok: false, error: { code: 'forbidden', role: 'viewer', required: 'editor' } }]);
      expect(await countOf(owner.api, directoryId, 'A')).toBe(3);
      expect(await countOf(owner.api, directoryId, 'NEW')).toBeNull();
      expect(await revisionOf(owner.api, directoryId)).toBe(1);
      // What a viewer may: read.
      expect(await countOf(viewer.api, directoryId, 'A')).toBe(3);
    });
  });

  it('directory lists carry role and owner; a Change carries who made it, with nickname', async () => {
    const owner = await person(server, '店主');
    const editor = await person(server, '小王');
    const directoryId = await createDirectory(owner.api, '总仓');
    await addMembers(owner, directoryId, [[editor, 'editor']]);
    const owned = { role: 'owner', owner: { id: owner.userId, nickname: '店主' } };
    expect(await listed(owner.api, directoryId)).toMatchObject(owned);
    expect(await listed(editor.api, directoryId)).toMatchObject({ role: 'editor', owner: owned.owner });
    // Each user's own 默认 is theirs.
    expect((await editor.api.get('/api/me')).body.directories.find((d: { id: number }) => d.id === editor.defaultDirectoryId)).toMatchObject({
      role: 'owner',
      owner: { id: editor.userId, nickname: '小王' },
    });

    const watcher = await connect(server.url, owner.token);
    sockets.push(watcher);
    await watcher.request({ type: 'subscribe', directoryId, since: 0 });
    expect((await scan(editor.api, directoryId, { op: 'in', code: 'A' })).status).toBe(200);
    const [pushed] = await watcher.changesUpTo(directoryId, 1);
    expect(pushed.change).toMatchObject({ revision: 1, type: 'in', userId: editor.userId, nickname: '小王' });
    const { changes } = (await owner.api.get(`/api/directories/${directoryId}/changes?since=0`)).body;
    expect(changes).toMatchObject([{ revision: 1, type: 'in', userId: editor.userId, nickname: '小王' }]);
  });
});

describe.each(testDatabases())('team limits on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db, { env: { MAX_MEMBERS_PER_DIRECTORY: '3', MAX_OPEN_INVITES_PER_DIRECTORY: '2', INVITE_ACCEPT_RATE_LIMIT: '3' } })));
  afterAll(() => server.close());

  it('MAX_MEMBERS_PER_DIRECTORY: one more member is quota_exceeded with limit, and uses nothing', async () => {
    const owner = await person(server, '店主');
    const users = [await person(server, '一'), await person(server, '二'), await person(server, '三')];
    const directoryId = await createDirectory(owner.api, '总仓');
    const { code } = await invite(owner.api, directoryId, { role: 'viewer', maxUses: 3 });
    expect((await accept(users[0].api, code)).status).toBe(200);
    expect((await accept(users[1].api, code)).status).toBe(200);
    expect(errorOf(await accept(users[2].api, code))).toMatchObject({ status: 409, code: 'quota_exceeded', limit: 3 });
    expect((await owner.api.get(`/api/directories/${directoryId}/invites`)).body.invites).toMatchObject([{ code, uses: 2 }]);
    // A member who leaves frees the place.
    expect((await remove(users[0].api, directoryId, users[0].userId)).status).toBe(204);
    expect((await accept(users[2].api, code)).status).toBe(200);
    expect(await membersOf(owner.api, directoryId)).toHaveLength(3);
  });

  it('MAX_OPEN_INVITES_PER_DIRECTORY: one more open invite is quota_exceeded with limit; a revoked one frees the place', async () => {
    const owner = await person(server, '店主');
    const directoryId = await createDirectory(owner.api, '总仓');
    const first = await invite(owner.api, directoryId, { role: 'viewer' });
    await invite(owner.api, directoryId, { role: 'editor' });
    expect(errorOf(await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role: 'viewer' } }))).toMatchObject({ status: 409, code: 'quota_exceeded', limit: 2 });
    expect((await owner.api.delete(`/api/directories/${directoryId}/invites/${first.code}`)).status).toBe(204);
    expect((await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role: 'viewer' } })).status).toBe(201);
  });

  it('INVITE_ACCEPT_RATE_LIMIT: past it, accepts answer rate_limited with retryAfter, good codes too', async () => {
    const owner = await person(server, '店主');
    const guesser = await person(server, '猜码');
    const directoryId = await createDirectory(owner.api, '总仓');
    const { code } = await invite(owner.api, directoryId, { role: 'viewer' });
    for (let i = 0; i < 3; i++) expect(errorOf(await accept(guesser.api, `guess${i}`.padEnd(22, 'x')))).toMatchObject({ status: 404, code: 'invite_not_found' });
    const limited = await accept(guesser.api, code);
    expect(errorOf(limited)).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: expect.any(Number) });
    expect(limited.body.error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(await membersOf(owner.api, directoryId)).toHaveLength(1);
    // Another user is not limited by the guesser.
    expect((await accept(owner.api, code)).status).toBe(200);
  });
});
