import type { DatabaseConfig } from '../../../src/config';
import { startServer, type TestServer } from '../../helpers/app';
import { eventually } from '../../helpers/client';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { createDirectory, queryDatabase, scan } from '../../helpers/inventory';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process';
import { Receiver, validSignature } from './receiver';

/**
 * SPEC "Webhooks", at least once across a crash: the worker writes its progress (the cursor and the
 * delivery log) in batches, so a kill -9 in the middle of a batch loses the record of deliveries the
 * receiver already took. The server runs as `npm start` runs it (dist/, its own process) and is killed
 * while the receiver answers a change in the middle of a stream of 2xx; another server on the same
 * database takes the webhook over once the dead one's lease has run out. Every change is then delivered
 * at least once, the revisions never go back, and the delivery log says every change was delivered.
 */
const SECRET = 'a-receiver-secret-0123456789';
const WEBHOOK_ENV = { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_RETRY_BASE_MS: '20', HTTP_RATE_LIMIT: '0' };
const CHANGES = 40;
/** The change during whose delivery the server is killed: the ones before it were answered 200. */
const KILL_AT = 25;

const nonDecreasing = (revisions: number[]) => revisions.every((revision, k) => k === 0 || revision >= revisions[k - 1]);

describe.each(testDatabases())('webhooks across a kill -9 of the server on $name', (db) => {
  let database: { config: DatabaseConfig; drop(): Promise<void> };
  let receiver: Receiver;
  let running: ServerProcess | null = null;
  let server: TestServer | null = null;
  beforeAll(async () => {
    database = await db.create();
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGTERM');
      await running.exited;
    }
    await server?.close();
    await receiver.close();
    await database.drop();
  });

  it('delivers every change at least once and in order when the server dies in the middle of a batch', async () => {
    const config = database.config;
    running = await startServerProcess(config.kind === 'sqlite' ? `file:${config.path}` : config.url, WEBHOOK_ENV);
    const login = await request(running.url, 'POST', '/api/login', { body: { code: 'dev-hook-crash' } });
    expect(login.status).toBe(200);
    const api = client(running.url, login.body.token);
    const directoryId = await createDirectory(api, '崩溃');
    const created = await api.post(`/api/directories/${directoryId}/webhooks`, { body: { url: receiver.url, secret: SECRET } });
    expect(created.status).toBe(201);
    const webhookId: number = created.body.webhook.id;

    // Down while the changes are made, so that they then go out in one stream of 2xx once it is up.
    let up = false;
    let killed = false;
    const dying = running;
    const revisions: number[] = [];
    receiver.answer = (payload) => {
      if (!up) return 503;
      if (killed || payload.revision !== revisions[KILL_AT - 1]) return 200;
      killed = true;
      // Killed while this change is in flight: the 2xx before it may not be written yet.
      dying.child.kill('SIGKILL');
      return 500;
    };
    for (let k = 0; k < CHANGES; k++) {
      const answer = await scan(api, directoryId, { op: 'in', code: 'CRASH-HOOK' });
      expect(answer.status).toBe(200);
      revisions.push(answer.body.revision);
    }
    up = true;
    await dying.exited;
    running = null;
    expect(receiver.delivered()).toEqual(revisions.slice(0, KILL_AT - 1));

    // The same database, another server. The dead one's lease would run out after a minute: it is set
    // in the past here rather than waited for.
    server = await startServer(db, { env: WEBHOOK_ENV, config: { database: config } });
    await queryDatabase(server, 'update webhooks set lease_until = ? where id = ?', [new Date(0), webhookId]);
    await eventually(() => revisions.every((revision) => receiver.delivered().includes(revision)), 'every change delivered after the crash', 30_000);

    const received = receiver.received.map((r) => r.payload.revision);
    // After the crash the new server starts again from the cursor the dead one last wrote: a repeat, never a jump back past it.
    const afterCrash = received.slice(receiver.received.findIndex((r) => r.answered === 500) + 1);
    expect(nonDecreasing(afterCrash)).toBe(true);
    expect(nonDecreasing(received.slice(0, KILL_AT))).toBe(true);
    expect([...new Set(afterCrash)]).toEqual(revisions.slice(revisions.indexOf(afterCrash[0])));
    for (const r of receiver.received) expect(validSignature(r, SECRET)).toBe(true);

    // The progress is written in batches (at most 200 ms after a delivery): the cursor catches up.
    const cursorOf = async () => (await queryDatabase<{ delivered_revision: number }>(server!, 'select delivered_revision from webhooks where id = ?', [webhookId]))[0].delivered_revision;
    await eventually(async () => (await cursorOf()) === revisions.at(-1), 'the cursor written');
    const log = await queryDatabase<{ revision: number; status: string }>(server, 'select revision, status from webhook_deliveries where webhook_id = ? order by revision', [webhookId]);
    expect(log.map((row) => [row.revision, row.status])).toEqual(revisions.map((revision) => [revision, 'delivered']));
  });
});
