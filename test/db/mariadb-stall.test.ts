import { DEFAULT_DATABASE_TIMEOUTS } from '../../src/config';
import { startServer, type TestServer } from '../helpers/app';
import { mysqlOnly, type TestDatabase } from '../helpers/db';
import { request } from '../helpers/http';
import { allLogs, countOf, scan, signIn, type TestUser } from '../helpers/inventory';
import { startPrivateMariadb, type PrivateMariadb } from '../helpers/private-mariadb';
import { connect, TestSocket } from '../helpers/ws';

/**
 * The server against a MariaDB of the test's own, which the test freezes for 30 s (SIGSTOP), then kills
 * (-9) and starts again on the same data. Phones stream scans with event ids over HTTP and WebSocket
 * throughout. While the database cannot answer, every request that needs it is answered 503
 * `unavailable` (never 500, never left hanging); afterwards the server serves again by itself, and once
 * the phones have resent every scan they got no ack for, the count holds each scan exactly once.
 * The server runs with the default DB_QUERY_TIMEOUT_MS and DB_ACQUIRE_TIMEOUT_MS.
 */
const [shared] = mysqlOnly();

const STALL_MS = 30_000;
/** Requests keep starting during this first part of the stall; the rest leaves their answers time to come. */
const SENDING_MS = 12_000;
const CODE = 'stall-box';

/** What a request got: `ok`, or the error code; and whether it came while the database was still frozen or down. */
interface Outcome {
  what: string;
  status: number | 'ack';
  code: string;
  whileAway: boolean;
}

(shared ? describe : describe.skip)('MariaDB stalled for 30 s, then killed -9 and restarted', () => {
  let mariadb: PrivateMariadb;
  let server: TestServer;
  let user: TestUser;
  let directoryId: number;
  let socket: TestSocket;
  /** Every event id a phone has sent, and those it got an ok for (an ack, 200, or a duplicate's answer). */
  const made = new Set<string>();
  const acked = new Set<string>();
  let away = false;
  let serial = 0;

  beforeAll(async () => {
    mariadb = await startPrivateMariadb();
    const privateDatabase: TestDatabase = {
      name: 'mysql',
      async create() {
        await mariadb.createDatabase('scancode');
        return { config: { kind: 'mysql', url: mariadb.url('scancode'), timeouts: DEFAULT_DATABASE_TIMEOUTS }, drop: async () => undefined };
      },
    };
    server = await startServer(privateDatabase);
    user = await signIn(server, 'keeper');
    directoryId = user.defaultDirectoryId;
    socket = await connect(server.url, user.token);
  }, 60_000);

  afterAll(async () => {
    await socket?.close();
    await mariadb?.sigcont();
    await server?.close();
    await mariadb?.cleanup();
  });

  const httpScan = async (eventId: string): Promise<Outcome> => {
    made.add(eventId);
    const answer = await scan(user.api, directoryId, { op: 'in', code: CODE, eventId });
    if (answer.status === 200) acked.add(eventId);
    return { what: `POST scan ${eventId}`, status: answer.status, code: answer.status === 200 ? 'ok' : answer.body.error?.code, whileAway: away };
  };
  const wsScan = async (eventId: string, over = socket): Promise<Outcome> => {
    made.add(eventId);
    const ack = await over.request({ type: 'scan', id: eventId, directoryId, op: 'in', code: CODE });
    if (ack.ok === true) acked.add(eventId);
    return { what: `ws scan ${eventId}`, status: 'ack', code: ack.ok === true ? 'ok' : ack.error?.code, whileAway: away };
  };
  const eventId = (phone: string) => `${phone}:${++serial}`;

  /** The same answer for every request made while the database was away: 503 `unavailable`, before it came back. */
  const unavailable = (outcome: Outcome): Outcome => ({ ...outcome, status: outcome.status === 'ack' ? 'ack' : 503, code: 'unavailable', whileAway: true });

  /** Polls /readyz until the database answers again: the server must recover without being restarted. */
  async function recovered(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await request(server.url, 'GET', '/readyz')).status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('/readyz never answered 200 again');
  }

  /** Every scan sent without an ok answer goes again under its event id, until answered, as a phone's outbox does. */
  async function resendUnacked(): Promise<void> {
    const pending = [...made].filter((id) => !acked.has(id));
    for (const [index, id] of pending.entries()) {
      const outcome = index % 2 === 0 ? await httpScan(id) : await wsScan(id);
      expect(outcome).toMatchObject({ code: 'ok' });
    }
  }

  /** The count and the log hold each event id ever sent exactly once. */
  async function expectEachScanOnce(): Promise<void> {
    expect(await countOf(user.api, directoryId, CODE)).toBe(made.size);
    const logged = (await allLogs(user.api, directoryId)).filter((entry) => entry.code === CODE).map((entry) => entry.eventId as string);
    expect(logged.sort()).toEqual([...made].sort());
  }

  it('answers 503 unavailable to every request while MariaDB is frozen, and serves again by itself once it thaws, each scan counted once', async () => {
    // Before: both phones scan.
    const before = await Promise.all([...Array.from({ length: 10 }, () => httpScan(eventId('http'))), ...Array.from({ length: 10 }, () => wsScan(eventId('ws')))]);
    expect(before.every((outcome) => outcome.code === 'ok')).toBe(true);

    await mariadb.sigstop();
    away = true;
    const outcomes: Promise<Outcome>[] = [];
    // A burst as the stall begins: scans from both phones, reads, a readiness check, a login, a new socket.
    for (let i = 0; i < 10; i++) outcomes.push(httpScan(eventId('http')), wsScan(eventId('ws')));
    outcomes.push(
      user.api.get(`/api/directories/${directoryId}`).then((answer) => ({ what: 'GET directory', status: answer.status, code: answer.body.error?.code, whileAway: away })),
      socket.request({ type: 'lookup', directoryId, code: CODE }).then((ack) => ({ what: 'ws lookup', status: 'ack' as const, code: ack.error?.code, whileAway: away })),
      socket.request({ type: 'subscribe', directoryId }).then((ack) => ({ what: 'ws subscribe', status: 'ack' as const, code: ack.error?.code, whileAway: away })),
      request(server.url, 'POST', '/api/login', { body: { code: 'keeper#stalled' } }).then((answer) => ({ what: 'POST login', status: answer.status, code: answer.body.error?.code, whileAway: away })),
    );
    const ready = request(server.url, 'GET', '/readyz');
    // A socket opened during the stall cannot check its token: it is told to try again (1011), not to log in again.
    const newcomer = TestSocket.open(server.url, { token: user.token }).then(async (opened) => ({ error: await opened.next('error'), closed: await opened.closed, whileAway: away }));
    // Then both phones keep scanning, one request after another, through the first part of the stall.
    const started = Date.now();
    const keepScanning = async (send: () => Promise<Outcome>) => {
      while (Date.now() - started < SENDING_MS) outcomes.push(Promise.resolve(await send()));
    };
    await Promise.all([keepScanning(() => httpScan(eventId('http'))), keepScanning(() => wsScan(eventId('ws')))]);
    // The process itself answers throughout.
    expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);

    const answered = await Promise.all(outcomes);
    expect((await ready).status).toBe(503);
    expect((await ready).body.error).toMatchObject({ code: 'unavailable', database: 'unavailable', bus: 'ok' });
    expect(await newcomer).toEqual({ error: expect.objectContaining({ error: expect.objectContaining({ code: 'unavailable' }) }), closed: expect.objectContaining({ code: 1011 }), whileAway: true });
    // Every request was answered before the database came back, each with 503 `unavailable`.
    expect(answered.length).toBeGreaterThan(24);
    expect(answered).toEqual(answered.map(unavailable));

    await new Promise((resolve) => setTimeout(resolve, STALL_MS - (Date.now() - started)));
    await mariadb.sigcont();
    away = false;

    // Recovery, with no restart of the server: the same socket and the same token serve again.
    await recovered();
    expect(await httpScan(eventId('http'))).toMatchObject({ status: 200, code: 'ok' });
    expect(await wsScan(eventId('ws'))).toMatchObject({ code: 'ok' });
    expect((await user.api.get(`/api/directories/${directoryId}`)).status).toBe(200);

    await resendUnacked();
    await expectEachScanOnce();
  }, 120_000);

  it('answers 503 unavailable while MariaDB is killed -9, and serves again once it is restarted on the same data, no acked scan lost or doubled', async () => {
    // Scans on their way when the server dies: some committed before the kill, some not; none may be doubled.
    const inFlight = [...Array.from({ length: 10 }, () => httpScan(eventId('http'))), ...Array.from({ length: 10 }, () => wsScan(eventId('ws')))];
    await mariadb.kill();
    away = true;
    const duringKill = await Promise.all(inFlight);
    expect(duringKill.every((outcome) => outcome.code === 'ok' || outcome.code === 'unavailable')).toBe(true);

    const whileDown = await Promise.all([httpScan(eventId('http')), wsScan(eventId('ws')), wsScan(eventId('ws'))]);
    expect(whileDown).toEqual(whileDown.map(unavailable));
    const ready = await request(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ code: 'unavailable', database: 'unavailable' });

    await mariadb.restart();
    away = false;
    await recovered();
    expect(await wsScan(eventId('ws'))).toMatchObject({ code: 'ok' });
    expect(await httpScan(eventId('http'))).toMatchObject({ status: 200, code: 'ok' });

    await resendUnacked();
    await expectEachScanOnce();
  }, 60_000);
});
