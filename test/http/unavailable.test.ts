import mysql from 'mysql2/promise';
import pino from 'pino';
import { DriverException } from '@mikro-orm/core';
import type { DatabaseTimeouts } from '../../src/config';
import { AcquireTimeoutError, QueryTimeoutError, openDatabase } from '../../src/db/orm';
import { toErrorBody } from '../../src/http/errors';
import { startServer, type TestServer } from '../helpers/app';
import { mysqlOnly, type TestDatabase } from '../helpers/db';
import { client, request } from '../helpers/http';
import { all, scan, signIn } from '../helpers/inventory';
import { startRelayFor, type Relay } from '../helpers/relay';
import { connect } from '../helpers/ws';

const [db] = mysqlOnly();

describe("the timeouts' errors", () => {
  const log = pino({ level: 'silent' });
  // MikroORM hands on a driver's error as a DriverException that copies its fields, without a cause.
  it.each([
    ['a statement unanswered within DB_QUERY_TIMEOUT_MS', new QueryTimeoutError(5000)],
    ['the same, as MikroORM passes it on', new DriverException(new QueryTimeoutError(5000))],
    ['no connection within DB_ACQUIRE_TIMEOUT_MS', new AcquireTimeoutError(5000)],
    ['the same, as MikroORM passes it on', new DriverException(new AcquireTimeoutError(5000))],
    ['a statement sent on a connection a timeout had just closed (mysql2 gives it no code)', Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true })],
  ])('%s is 503 unavailable', (_label, thrown) => {
    expect(toErrorBody(thrown, log)).toEqual({ status: 503, body: { code: 'unavailable', message: expect.any(String) } });
  });
});

/** The shared MariaDB, with the server given these timeouts. */
function withTimeouts(timeouts: DatabaseTimeouts): TestDatabase {
  return {
    ...db,
    async create() {
      const created = await db.create();
      if (created.config.kind !== 'mysql') throw new Error('mysql only');
      return { config: { ...created.config, timeouts }, drop: created.drop };
    },
  };
}

/** A connection of the test's own to the server's database, to hold the locks that keep the server's statements waiting. */
function adminOf(server: TestServer): Promise<mysql.Connection> {
  if (server.config.database.kind !== 'mysql') throw new Error('mysql only');
  return mysql.createConnection(server.config.database.url);
}

/** How many of the server's connections wait for a table lock the test holds. */
async function lockWaiters(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>("select count(*) as n from information_schema.processlist where db = database() and state = 'Waiting for table metadata lock'");
  return Number(rows[0].n);
}

/**
 * A statement that gets no answer (here: it waits for a lock the test holds, as it would wait on a
 * stalled server) fails after DB_QUERY_TIMEOUT_MS; its connection is destroyed, not reused. A request
 * that finds no free connection fails after DB_ACQUIRE_TIMEOUT_MS. Both are 503 `unavailable`.
 * (Skipped only when TEST_DATABASES leaves MariaDB out.)
 */
(db ? describe : describe.skip)('database timeouts on mysql', () => {
  it('answers 503 unavailable to a statement left waiting past DB_QUERY_TIMEOUT_MS, on both paths, and its connections never serve again', async () => {
    const server = await startServer(withTimeouts({ queryMs: 500, acquireMs: 5000 }));
    const admin = await adminOf(server);
    try {
      const alice = await signIn(server, 'timeout-alice');
      const socket = await connect(server.url, alice.token);
      expect((await scan(alice.api, alice.defaultDirectoryId, { op: 'in', code: 'x', eventId: 't-1' })).status).toBe(200);

      // The mutation path (the driver's own connection) locks the directory row first.
      await admin.query('start transaction');
      await admin.query('select id from directories where id = ? for update', [alice.defaultDirectoryId]);
      const refused = await scan(alice.api, alice.defaultDirectoryId, { op: 'in', code: 'x', eventId: 't-2' });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toEqual({ code: 'unavailable', message: expect.any(String) });
      expect(await socket.request({ type: 'scan', id: 't-3', directoryId: alice.defaultDirectoryId, op: 'in', code: 'x' })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      await admin.query('rollback');

      // MikroORM's path: every authenticated request reads its session first.
      await admin.query('lock tables sessions write');
      const me = await alice.api.get('/api/me');
      expect(me.status).toBe(503);
      expect(me.body.error).toEqual({ code: 'unavailable', message: expect.any(String) });
      await admin.query('unlock tables');

      // More requests at once than the pool has connections: none is handed a connection that died waiting.
      const answers = await all(12, (i) => (i % 2 === 0 ? alice.api.get('/api/me') : scan(alice.api, alice.defaultDirectoryId, { op: 'in', code: 'x', eventId: `t-after-${i}` })));
      expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
      // The refused scan goes again under its event id, as a phone resends it: now it is applied.
      expect(await socket.request({ type: 'scan', id: 't-3', directoryId: alice.defaultDirectoryId, op: 'in', code: 'x' })).toMatchObject({ ok: true });
      await socket.close();
    } finally {
      await admin.end();
      await server.close();
    }
  });

  it('keeps a connection that rests in the pool for longer than DB_QUERY_TIMEOUT_MS: only a statement waiting for its answer is timed', async () => {
    const server = await startServer(withTimeouts({ queryMs: 200, acquireMs: 5000 }));
    try {
      const sql = () => server.app.services.orm.em.fork().getConnection();
      const first = (await sql().execute<{ id: number }[]>('select connection_id() as id'))[0].id;
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Still open on the server after resting three times the limit (the pool may hand out another
      // one meanwhile: the server's background work, webhooks and checks, borrows connections too).
      const alive = await sql().execute<{ n: number | string }[]>('select count(*) as n from information_schema.processlist where id = ?', [first]);
      expect(Number(alive[0].n)).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('lets the start-up migrations take longer than DB_QUERY_TIMEOUT_MS (an ALTER TABLE on a big table may take minutes)', async () => {
    const created = await db.create();
    if (created.config.kind !== 'mysql') throw new Error('mysql only');
    const config = { ...created.config, timeouts: { queryMs: 100, acquireMs: 5000 } };
    await (await openDatabase(config)).close();
    const admin = await mysql.createConnection(created.config.url);
    try {
      // The migrator's first look at its table waits for this lock, well past the limit.
      await admin.query('lock tables mikro_orm_migrations write');
      const opening = openDatabase(config);
      while ((await lockWaiters(admin)) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await admin.query('unlock tables');
      await (await opening).close();
    } finally {
      await admin.end();
      await created.drop();
    }
  });

  it('answers 503 unavailable when no connection is free within DB_ACQUIRE_TIMEOUT_MS, and serves the waiting requests once they can go on', async () => {
    const server = await startServer(withTimeouts({ queryMs: 60_000, acquireMs: 300 }));
    const admin = await adminOf(server);
    try {
      const bob = await signIn(server, 'timeout-bob');
      await admin.query('lock tables sessions write');
      // Ten requests take the pool's ten connections and wait for the lock.
      const waiting = all(10, () => bob.api.get('/api/me'));
      while ((await lockWaiters(admin)) < 10) await new Promise((resolve) => setTimeout(resolve, 20));
      const eleventh = await bob.api.get('/api/me');
      expect(eleventh.status).toBe(503);
      expect(eleventh.body.error).toEqual({ code: 'unavailable', message: expect.any(String) });
      await admin.query('unlock tables');
      expect((await waiting).map((answer) => answer.status)).toEqual(Array(10).fill(200));
    } finally {
      await admin.end();
      await server.close();
    }
  });
});

/**
 * MariaDB reached through a relay that the test cuts: clients get 503 `unavailable`, then service again.
 * (Skipped only when TEST_DATABASES leaves MariaDB out.)
 */
(db ? describe : describe.skip)('database unreachable on mysql', () => {
  let server: TestServer;
  let relay: Relay;

  beforeAll(async () => {
    const viaRelay = {
      ...db,
      async create() {
        const created = await db.create();
        if (created.config.kind !== 'mysql') throw new Error('mysql only');
        relay = await startRelayFor(created.config.url, 3306);
        return { config: { kind: 'mysql' as const, url: relay.rewrite(created.config.url) }, drop: created.drop };
      },
    };
    server = await startServer(viaRelay);
  });
  afterAll(async () => {
    await relay.restore();
    await server.close();
    await relay.close();
  });

  it('answers 503 unavailable while the database is unreachable, and recovers', async () => {
    const token = await server.login('alice');
    const api = client(server.url, token);
    const directories = (await api.get('/api/directories')).body.directories;
    expect(directories).toHaveLength(1);
    const socket = await connect(server.url, token);

    await relay.cut();
    const ready = await request(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ code: 'unavailable', database: 'unavailable', bus: 'ok' });
    const scan = await api.post(`/api/directories/${directories[0].id}/scans`, { body: { op: 'in', code: 'x' } });
    expect(scan.status).toBe(503);
    expect(scan.body.error).toEqual({ code: 'unavailable', message: expect.any(String) });
    // An authenticated socket's scan takes the mutation path straight to the pool: the same answer.
    const ack = await socket.request({ type: 'scan', id: 'cut-1', directoryId: directories[0].id, op: 'in', code: 'x' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    await socket.close();
    expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);

    await relay.restore();
    let recovered = await request(server.url, 'GET', '/readyz');
    for (let attempt = 0; attempt < 20 && recovered.status !== 200; attempt++) recovered = await request(server.url, 'GET', '/readyz');
    expect(recovered.status).toBe(200);
    expect((await api.post(`/api/directories/${directories[0].id}/scans`, { body: { op: 'in', code: 'x' } })).status).toBe(200);
  });
});
