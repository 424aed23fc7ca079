import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { eventually } from '../../helpers/client';
import { client, request } from '../../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { startRelayFor, type Relay } from '../../helpers/relay';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * `directory` frames whose bus message was lost: the first instance reaches Redis through a relay the
 * test cuts, and every write goes through it while Redis is away from it; the members' sockets are on
 * the second instance, whose periodic check (REVISION_CHECK_MS, short here) sends each frame they
 * missed — created, renamed, shared, role, unshared, deleted — with Redis still cut.
 */
describe.each(testDatabases())('directory frames lost with Redis, recovered by the check, on $name', (db) => {
  let first: TestServer;
  let second: TestServer;
  let relay: Relay;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    relay = await startRelayFor(TEST_REDIS_URL, 6379);
    const channel = testChannel();
    first = await startServer(db, { env: { REDIS_URL: relay.rewrite(TEST_REDIS_URL), REDIS_CHANNEL: channel, REVISION_CHECK_MS: '3600000' } });
    second = await startServer(db, { env: { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: channel, REVISION_CHECK_MS: '200' }, deps: { orm: first.app.services.orm } });
  });
  afterAll(async () => {
    await closeAll(sockets);
    await second.close();
    await first.close();
    await relay.close();
  });

  const checks = async () => Number(/^scancode_revision_checks_total (\d+)$/m.exec((await request(second.url, 'GET', '/metrics')).text)?.[1] ?? 0);

  it('sends every member the frames the bus lost, one change at a time, and nothing twice', async () => {
    const owner = await first.login('olga');
    const member = await first.login('mike');
    const memberId = (await client(first.url, member).get('/api/me')).body.user.id as number;
    const ownerSocket = await connect(second.url, owner);
    const memberSocket = await connect(second.url, member);
    sockets.push(ownerSocket, memberSocket);
    const api = client(first.url, owner);

    await relay.cut();
    const created = await api.post('/api/directories', { body: { name: '临时库' } });
    expect(created.status).toBe(201);
    const directoryId = created.body.directory.id as number;
    expect(await ownerSocket.next('directory')).toMatchObject({ event: 'created', directory: { id: directoryId, name: '临时库', role: 'owner' } });

    expect((await api.patch(`/api/directories/${directoryId}`, { body: { name: '二号库' } })).status).toBe(200);
    expect(await ownerSocket.next('directory')).toMatchObject({ event: 'renamed', directory: { id: directoryId, name: '二号库', role: 'owner' } });

    const { code } = (await api.post(`/api/directories/${directoryId}/invites`, { body: { role: 'viewer' } })).body.invite;
    expect((await client(first.url, member).post(`/api/invites/${code}/accept`)).status).toBe(200);
    expect(await memberSocket.next('directory')).toMatchObject({ event: 'shared', directory: { id: directoryId, name: '二号库', role: 'viewer', owner: { nickname: expect.any(String) } } });
    expect((await memberSocket.request({ type: 'subscribe', directoryId })).ok).toBe(true);

    expect((await api.patch(`/api/directories/${directoryId}/members/${memberId}`, { body: { role: 'editor' } })).status).toBe(200);
    expect(await memberSocket.next('directory')).toMatchObject({ event: 'role', directory: { id: directoryId, role: 'editor' } });

    expect((await api.delete(`/api/directories/${directoryId}/members/${memberId}`)).status).toBe(204);
    expect(await memberSocket.next('directory')).toMatchObject({ event: 'unshared', directory: { id: directoryId, role: 'editor' } });
    expect(await memberSocket.next('unsubscribed')).toMatchObject({ directoryId, reason: 'removed' });

    expect((await api.delete(`/api/directories/${directoryId}`)).status).toBe(204);
    expect(await ownerSocket.next('directory')).toMatchObject({ event: 'deleted', directory: { id: directoryId, role: 'owner' } });

    // Three more checks with nothing new: no frame is sent again.
    const before = await checks();
    await eventually(async () => (await checks()) >= before + 3, 'three more checks on the second instance');
    await relay.restore();
    const events = (socket: TestSocket) => socket.received.filter((f) => f.type === 'directory' && f.directory.id === directoryId).map((f) => f.event);
    expect(events(ownerSocket)).toEqual(['created', 'renamed', 'deleted']);
    expect(events(memberSocket)).toEqual(['shared', 'role', 'unshared']);
  });
});
