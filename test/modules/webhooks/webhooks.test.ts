import type { DatabaseConfig } from '../../../src/config';
import { startServer, type TestServer } from '../../helpers/app';
import { eventually } from '../../helpers/client';
import { testDatabases } from '../../helpers/db';
import { createDirectory, scan, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { Receiver, validSignature } from './receiver';

/**
 * SPEC "Webhooks" against a real server and a real receiver on loopback (so WEBHOOK_ALLOW_PRIVATE=1,
 * and retries 20 ms apart rather than seconds): every change arrives signed, in revision order, at
 * least once, through an outage of the receiver and a restart of the server; the delivery log says what
 * happened; registration refuses private targets without the flag; managers only.
 */
const SECRET = 'a-receiver-secret-0123456789';
const WEBHOOK_ENV = { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_RETRY_BASE_MS: '20', HTTP_RATE_LIMIT: '0' };

async function register(api: Api, directoryId: number, url: string, secret = SECRET): Promise<number> {
  const answer = await api.post(`/api/directories/${directoryId}/webhooks`, { body: { url, secret } });
  if (answer.status !== 201) throw new Error(`createWebhook failed: ${answer.status} ${answer.text}`);
  return answer.body.webhook.id;
}

async function scans(api: Api, directoryId: number, n: number, code = 'HOOK-1'): Promise<number[]> {
  const revisions: number[] = [];
  for (let k = 0; k < n; k++) {
    const answer = await scan(api, directoryId, { op: 'in', code });
    expect(answer.status).toBe(200);
    revisions.push(answer.body.revision);
  }
  return revisions;
}

/** Whether the revisions never go back: retries repeat one, a restart may repeat the last, nothing comes out of order. */
const nonDecreasing = (revisions: number[]) => revisions.every((revision, k) => k === 0 || revision >= revisions[k - 1]);

describe.each(testDatabases())('webhooks on $name', (db) => {
  let receiver: Receiver;
  beforeEach(async () => (receiver = await Receiver.start()));
  afterEach(async () => receiver.close());

  it('delivers every change signed and in order through an outage of the receiver, and logs the retries', async () => {
    const server = await startServer(db, { env: WEBHOOK_ENV });
    try {
      const owner = await signIn(server, 'hook-owner');
      const directoryId = await createDirectory(owner.api, '出货');
      await scans(owner.api, directoryId, 1); // before the webhook: not sent
      const webhookId = await register(owner.api, directoryId, receiver.url);
      // Down for its first 6 requests, then up again.
      let requests = 0;
      receiver.answer = () => (++requests <= 6 ? 500 : 200);
      const revisions = await scans(owner.api, directoryId, 8);

      await eventually(() => revisions.every((revision) => receiver.delivered().includes(revision)), 'every change delivered');
      const all = receiver.received.map((r) => r.payload.revision);
      expect(nonDecreasing(all)).toBe(true);
      expect([...new Set(receiver.delivered())]).toEqual(revisions);
      expect(all).not.toContain(revisions[0] - 1);
      for (const received of receiver.received) {
        expect(validSignature(received, SECRET)).toBe(true);
        expect(received.delivery).toBe(`${directoryId}:${received.payload.revision}`);
        expect(received.payload).toMatchObject({ directoryId, change: { revision: received.payload.revision, code: 'HOOK-1' } });
      }
      // Each body's change is the Change every client sees for that revision, to the field.
      const changes = await owner.api.get(`/api/directories/${directoryId}/changes?since=${revisions[0] - 1}`);
      const sent = new Map(receiver.received.map((r) => [r.payload.revision, r.payload.change]));
      expect(changes.body.changes.map((change: { revision: number }) => sent.get(change.revision))).toEqual(changes.body.changes);

      // The worker writes its progress in batches (at most 200 ms after a delivery): the log catches up.
      const readLog = () => owner.api.get(`/api/directories/${directoryId}/webhooks/${webhookId}/deliveries`);
      await eventually(async () => (await readLog()).body.deliveries.every((d: { status: string }) => d.status === 'delivered'), 'the log written');
      const log = await readLog();
      expect(log.status).toBe(200);
      expect(log.body.deliveries.map((d: { revision: number }) => d.revision)).toEqual([...revisions].reverse());
      // The first change took the outage: 6 failed attempts and the one that got through.
      const first = log.body.deliveries.at(-1);
      expect(first).toMatchObject({ delivery: `${directoryId}:${revisions[0]}`, attempts: 7, lastStatus: 200 });
      expect(log.body.deliveries.slice(0, -1).every((d: { attempts: number }) => d.attempts === 1)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('shows pending deliveries with their attempts and last error while the receiver is down', async () => {
    const server = await startServer(db, { env: WEBHOOK_ENV });
    try {
      const owner = await signIn(server, 'hook-pending');
      const directoryId = await createDirectory(owner.api, '等待');
      const webhookId = await register(owner.api, directoryId, receiver.url);
      receiver.answer = () => 503;
      const revisions = await scans(owner.api, directoryId, 3);
      await eventually(() => receiver.received.length >= 3, 'a few failed attempts');
      const log = await owner.api.get(`/api/directories/${directoryId}/webhooks/${webhookId}/deliveries`);
      const [third, second, first] = log.body.deliveries;
      expect(third).toEqual({ delivery: `${directoryId}:${revisions[2]}`, revision: revisions[2], attempts: 0, status: 'pending' });
      expect(second).toMatchObject({ revision: revisions[1], attempts: 0, status: 'pending' });
      expect(first).toMatchObject({ revision: revisions[0], status: 'pending', lastStatus: 503, lastError: 'the receiver answered 503' });
      expect(first.attempts).toBeGreaterThanOrEqual(3);
      // Only the first change was tried: the later ones wait for it (order per webhook).
      expect(new Set(receiver.received.map((r) => r.payload.revision))).toEqual(new Set([revisions[0]]));
      expect(await owner.api.delete(`/api/directories/${directoryId}/webhooks/${webhookId}`)).toMatchObject({ status: 204 });
      expect((await owner.api.get(`/api/directories/${directoryId}/webhooks`)).body).toEqual({ webhooks: [] });
    } finally {
      await server.close();
    }
  });

  describe('across a restart and beside a second instance', () => {
    let database: { config: DatabaseConfig; drop(): Promise<void> };
    beforeEach(async () => (database = await db.create()));
    afterEach(async () => database.drop());
    const onDatabase = () => startServer(db, { env: WEBHOOK_ENV, config: { database: database.config } });

    it('loses no change when the server stops in the middle of an outage and another starts on the same database', async () => {
      let server: TestServer = await onDatabase();
      let owner: TestUser;
      let directoryId: number;
      const revisions: number[] = [];
      try {
        owner = await signIn(server, 'hook-restart');
        directoryId = await createDirectory(owner.api, '重启');
        await register(owner.api, directoryId, receiver.url);
        // Takes the first three, then is down until told otherwise.
        let up = false;
        receiver.answer = (payload) => (up || payload.revision <= revisions[2] ? 200 : 500);
        revisions.push(...(await scans(owner.api, directoryId, 6)));
        await eventually(() => receiver.received.filter((r) => r.answered === 500).length >= 2, 'the fourth change failing');
        await server.close();
        const beforeRestart = receiver.received.length;

        server = await onDatabase();
        owner = await signIn(server, 'hook-restart');
        revisions.push(...(await scans(owner.api, directoryId, 2)));
        up = true;
        await eventually(() => revisions.every((revision) => receiver.delivered().includes(revision)), 'every change delivered after the restart');
        expect(receiver.received.length).toBeGreaterThan(beforeRestart);
        expect(nonDecreasing(receiver.received.map((r) => r.payload.revision))).toBe(true);
        expect([...new Set(receiver.delivered())]).toEqual(revisions);
        for (const received of receiver.received) expect(validSignature(received, SECRET)).toBe(true);
      } finally {
        await server.close();
      }
    });

    // Two instances on one database are a MariaDB deployment: the embedded database is one server per
    // file, and two in one process on one file can stall each other (README, the embedded database).
    const onSharedDatabase = db.name === 'mysql' ? it : it.skip;
    onSharedDatabase('has one instance at a time deliver a webhook while two run on the same database', async () => {
      const first = await onDatabase();
      const second = await onDatabase();
      try {
        const a = await signIn(first, 'hook-two');
        const b = await signIn(second, 'hook-two');
        const directoryId = await createDirectory(a.api, '两台');
        await register(a.api, directoryId, receiver.url);
        let requests = 0;
        receiver.answer = () => (++requests % 3 === 0 ? 500 : 200);
        const revisions: number[] = [];
        for (let k = 0; k < 6; k++) {
          revisions.push(...(await scans(a.api, directoryId, 1, 'A')));
          revisions.push(...(await scans(b.api, directoryId, 1, 'B')));
        }
        await eventually(() => revisions.every((revision) => receiver.delivered().includes(revision)), 'every change of both instances delivered');
        expect(receiver.maxInFlight).toBe(1);
        expect(nonDecreasing(receiver.received.map((r) => r.payload.revision))).toBe(true);
        expect([...new Set(receiver.delivered())]).toEqual(revisions);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });

  describe('registration', () => {
    let server: TestServer;
    let owner: TestUser;
    let directoryId: number;
    const members = {} as Record<'manager' | 'editor' | 'viewer' | 'stranger', TestUser>;
    beforeAll(async () => {
      // No WEBHOOK_ALLOW_PRIVATE: private targets are refused.
      server = await startServer(db, { env: { HTTP_RATE_LIMIT: '0' } });
      owner = await signIn(server, 'reg-owner');
      directoryId = await createDirectory(owner.api, '登记');
      for (const role of ['manager', 'editor', 'viewer', 'stranger'] as const) {
        members[role] = await signIn(server, `reg-${role}`);
        if (role === 'stranger') continue;
        const invite = await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role } });
        expect((await members[role].api.post(`/api/invites/${invite.body.invite.code}/accept`)).status).toBe(200);
      }
    });
    afterAll(async () => server.close());

    it.each(['http://127.0.0.1/hook', 'http://10.0.0.1/hook', 'http://localhost:8080/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data', 'http://192.168.1.10/hook'])(
      'refuses %s with bad_request unless WEBHOOK_ALLOW_PRIVATE=1',
      async (url) => {
        const answer = await owner.api.post(`/api/directories/${directoryId}/webhooks`, { body: { url, secret: SECRET } });
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 400, code: 'bad_request' });
      },
    );

    it('refuses a secret shorter than 16 or longer than 256 characters, and a URL that is not http(s)', async () => {
      for (const body of [
        { url: 'https://93.184.216.34/hook', secret: 'short' },
        { url: 'https://93.184.216.34/hook', secret: 'x'.repeat(257) },
        { url: 'ftp://93.184.216.34/hook', secret: SECRET },
        { url: 'https://93.184.216.34/hook' },
      ]) {
        const answer = await owner.api.post(`/api/directories/${directoryId}/webhooks`, { body });
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 400, code: 'bad_request' });
      }
    });

    it('lets managers and up register, read and delete; an editor or viewer is forbidden, a stranger told the directory does not exist', async () => {
      const created = await members.manager.api.post(`/api/directories/${directoryId}/webhooks`, { body: { url: 'https://93.184.216.34/hook', secret: SECRET } });
      expect(created.status).toBe(201);
      const webhook = created.body.webhook;
      expect(webhook).toEqual({ id: expect.any(Number), url: 'https://93.184.216.34/hook' });
      expect((await owner.api.get(`/api/directories/${directoryId}/webhooks`)).body).toEqual({ webhooks: [webhook] });
      expect((await members.manager.api.get(`/api/directories/${directoryId}/webhooks/${webhook.id}`)).body).toEqual({ webhook });
      expect((await owner.api.get(`/api/directories/${directoryId}/webhooks/${webhook.id}/deliveries`)).body).toEqual({ deliveries: [] });

      const paths: [method: 'get' | 'post' | 'delete', path: string][] = [
        ['post', `/api/directories/${directoryId}/webhooks`],
        ['get', `/api/directories/${directoryId}/webhooks`],
        ['get', `/api/directories/${directoryId}/webhooks/${webhook.id}`],
        ['get', `/api/directories/${directoryId}/webhooks/${webhook.id}/deliveries`],
        ['delete', `/api/directories/${directoryId}/webhooks/${webhook.id}`],
      ];
      for (const [method, path] of paths) {
        const options = method === 'post' ? { body: { url: 'https://93.184.216.34/other', secret: SECRET } } : {};
        for (const role of ['editor', 'viewer'] as const) {
          const answer = await members[role].api[method](path, options);
          expect({ path, role, status: answer.status, error: answer.body.error }).toMatchObject({ path, role, status: 403, error: { code: 'forbidden', role, required: 'manager' } });
        }
        const stranger = await members.stranger.api[method](path, options);
        expect({ path, status: stranger.status, code: stranger.body.error.code }).toEqual({ path, status: 404, code: 'directory_not_found' });
      }
      // A webhook of another directory is not found through this one.
      const elsewhere = await createDirectory(owner.api, '别处');
      expect((await owner.api.get(`/api/directories/${elsewhere}/webhooks/${webhook.id}`)).body.error.code).toBe('not_found');

      expect((await members.manager.api.delete(`/api/directories/${directoryId}/webhooks/${webhook.id}`)).status).toBe(204);
      expect((await owner.api.get(`/api/directories/${directoryId}/webhooks/${webhook.id}`)).status).toBe(404);
    });
  });
});
