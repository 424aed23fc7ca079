import { ScancodeError, type Directory, type ScancodeClient } from '../../client/src';
import type { TestServer } from '../helpers/app';
import { cutSockets, eventually, loggedEventIds, sdkSuite, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { fakeWx, type FakeWx } from '../helpers/wx';

describe.each(testDatabases())('the SDK in a team, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  async function loggedIn(user: string): Promise<{ wx: FakeWx; client: ScancodeClient; own: Directory }> {
    const wx = fakeWx(user);
    const client = suite.phone(wx);
    const own = (await client.login()).directories[0];
    await eventually(() => client.status === 'online', `${user} online`);
    return { wx, client, own };
  }

  it('joins from a scanned QR text or a bare code, keeps the directory list live with roles and owners, and types forbidden', async () => {
    const owner = await loggedIn('ivan');
    const member = await loggedIn('judy');
    const lists: Directory[][] = [];
    member.client.on('directories', (list) => lists.push(list));

    // Not an invite: refused here, before any request.
    const before = member.wx.requests.length;
    for (const text of ['https://example.com/x', 'scancode:weblogin:abc', '']) {
      await expect(member.client.acceptInvite(text)).rejects.toMatchObject({ code: 'not_an_invite' });
    }
    expect(member.wx.requests.length).toBe(before);

    const viewerInvite = await owner.client.createInvite(owner.own.id, { role: 'viewer' });
    expect(viewerInvite).toMatchObject({ role: 'viewer', uses: 0, maxUses: 1, qr: `scancode:join:${viewerInvite.code}` });
    expect(await member.client.acceptInvite(`  ${viewerInvite.qr}\n`)).toMatchObject({ role: 'viewer', directory: { id: owner.own.id, role: 'viewer', owner: { id: owner.client.user?.id } } });
    expect(member.client.directory(owner.own.id)).toMatchObject({ role: 'viewer', owner: { id: owner.client.user?.id } });
    expect(lists.length).toBeGreaterThan(0);

    // A viewer may read, not invite: a ScancodeError naming both roles.
    const refusal = await member.client.createInvite(owner.own.id, { role: 'editor' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ScancodeError);
    expect(refusal).toMatchObject({ code: 'forbidden', status: 403, role: 'viewer', required: 'manager' });
    expect((await member.client.members(owner.own.id)).map((entry) => entry.role).sort()).toEqual(['owner', 'viewer']);

    // The owner raises the role: the push keeps the member's list current.
    const memberId = member.client.user?.id ?? 0;
    await owner.client.setRole(owner.own.id, memberId, 'editor');
    await eventually(() => member.client.directory(owner.own.id)?.role === 'editor', 'the role push');

    // A bare code works too; a revoked one is not found; accepting a lower role keeps the higher.
    const managerInvite = await owner.client.createInvite(owner.own.id, { role: 'viewer', maxUses: 5 });
    expect(await member.client.acceptInvite(managerInvite.code)).toMatchObject({ role: 'editor' });
    const revoked = await owner.client.createInvite(owner.own.id, { role: 'editor' });
    expect((await owner.client.invites(owner.own.id)).map((invite) => invite.code)).toContain(revoked.code);
    await owner.client.revokeInvite(owner.own.id, revoked.code);
    await expect(member.client.acceptInvite(revoked.qr)).rejects.toMatchObject({ code: 'invite_not_found' });

    // A change missed while the socket was down is read again at the reconnection.
    member.wx.network.socket = 'blocked';
    cutSockets(server);
    await eventually(() => member.client.status !== 'online', 'the member offline');
    await owner.client.setRole(owner.own.id, memberId, 'manager');
    member.wx.network.socket = 'up';
    member.client.reconnectNow();
    await eventually(() => member.client.directory(owner.own.id)?.role === 'manager', 'the role read again after the reconnection');

    // Leaving: gone from the list at once.
    await member.client.leave(owner.own.id);
    expect(member.client.directory(owner.own.id)).toBeNull();
    expect(member.client.directories.map((directory) => directory.id)).toEqual([member.own.id]);
  });

  it('a removed member loses the view at once (marked, an event); scans of it still in the outbox are refused, none applied', async () => {
    const owner = await loggedIn('kate');
    const member = await loggedIn('leo');
    const directoryId = owner.own.id;
    await member.client.acceptInvite((await owner.client.createInvite(directoryId, { role: 'editor' })).qr);
    member.client.subscribe(directoryId);
    await eventually(() => member.client.view(directoryId)?.synced === true, 'the member watching');
    expect(await member.client.scan({ directoryId, op: 'in', code: 'T1' })).toMatchObject({ ok: true });
    const unsubscribed: { directoryId: number; reason: string }[] = [];
    member.client.on('unsubscribed', (event) => unsubscribed.push(event));

    // Scans queued while the member's socket is down; the owner removes them meanwhile.
    member.wx.network = { socket: 'blocked', http: 'down' };
    cutSockets(server);
    await eventually(() => member.client.status !== 'online', 'the member offline');
    const queued = [member.client.scan({ directoryId, op: 'in', code: 'T1' }), member.client.scan({ directoryId, op: 'in', code: 'T2' })];
    await owner.client.removeMember(directoryId, member.client.user?.id ?? 0);
    member.wx.network = { socket: 'up', http: 'up' };
    member.client.reconnectNow();

    const outcomes = await Promise.all(queued);
    expect(outcomes.map((outcome) => (outcome.ok ? 'applied' : outcome.error.code))).toEqual(['directory_not_found', 'directory_not_found']);
    await eventually(() => member.client.view(directoryId)?.lost !== null, 'the view marked');
    expect(member.client.view(directoryId)).toMatchObject({ deleted: true, lost: expect.stringMatching(/^(removed|not_found)$/) });
    expect(member.client.directory(directoryId)).toBeNull();
    expect(await loggedEventIds(server, storedToken(owner.wx.storage), directoryId)).toHaveLength(1);

    // Removed while watching: the server's `unsubscribed` push.
    const again = await owner.client.createInvite(directoryId, { role: 'editor' });
    await member.client.acceptInvite(again.qr);
    member.client.unsubscribe(directoryId);
    member.client.subscribe(directoryId);
    await eventually(() => member.client.view(directoryId)?.synced === true, 'watching again');
    await owner.client.removeMember(directoryId, member.client.user?.id ?? 0);
    await eventually(() => unsubscribed.length > 1, 'the unsubscribed event');
    expect(unsubscribed).toEqual([
      { directoryId, reason: expect.stringMatching(/^(removed|not_found)$/) },
      { directoryId, reason: 'removed' },
    ]);
    expect(member.client.view(directoryId)).toMatchObject({ deleted: true, lost: 'removed' });
  });

  it('a deleted directory: the watching member hears it once, and it leaves every list', async () => {
    const owner = await loggedIn('mia');
    const member = await loggedIn('ned');
    const token = storedToken(owner.wx.storage);
    const created = await request(server.url, 'POST', '/api/directories', { token, body: { name: '临时' } });
    const directoryId = created.body.directory.id as number;
    await eventually(() => owner.client.directory(directoryId)?.role === 'owner', "the owner's list to have it");
    await member.client.acceptInvite((await owner.client.createInvite(directoryId, { role: 'viewer' })).code);
    member.client.subscribe(directoryId);
    await eventually(() => member.client.view(directoryId)?.synced === true, 'the member watching');
    const unsubscribed: { directoryId: number; reason: string }[] = [];
    member.client.on('unsubscribed', (event) => unsubscribed.push(event));

    expect((await request(server.url, 'DELETE', `/api/directories/${directoryId}`, { token })).status).toBe(204);
    await eventually(() => member.client.view(directoryId)?.lost === 'deleted', 'the view lost');
    await eventually(() => owner.client.directory(directoryId) === null && member.client.directory(directoryId) === null, 'the directory gone from both lists');
    expect(unsubscribed).toEqual([{ directoryId, reason: 'deleted' }]);
  });
});
