import type { DatabaseConfig } from '../../../src/config';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { allLogs, countOf, createDirectory, scan, type Api } from '../../helpers/inventory';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process';
import { connect, type Frame, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Warehouse operations": both sides of a transfer commit together or not at all, and an event id
 * is applied once. The server runs as `npm start` runs it (dist/, its own process) and is killed -9 in
 * the middle of a stream of transfers; restarted on the same database, the client resends every
 * transfer it got no answer for, under the same event id. Every transfer is then in both directories
 * exactly once: the counts are what the sent transfers add up to, and each directory's log holds one
 * side per transfer.
 */

const CODE = 'CRASH-1';
const STOCK = 100_000;
/** Transfers planned; the stream is cut by the kill after KILL_AFTER answers. */
const PLANNED = 400;
const KILL_AFTER = 60;
/** Transfers in flight at once on the socket. */
const WINDOW = 40;
/** Pairs of directories transferred between. */
const PAIRS = 4;
/** The limits a stream of 400 transfers from one socket would meet, off. */
const LIMITS_OFF = { WS_FRAME_RATE: '0', HTTP_RATE_LIMIT: '0' };

interface Planned {
  eventId: string;
  from: number;
  to: number;
  qty: number;
}

describe.each(testDatabases())('transfers across a kill -9 of the server on $name', (db) => {
  let database: { config: DatabaseConfig; drop(): Promise<void> };
  let running: ServerProcess | null = null;
  beforeAll(async () => (database = await db.create()));
  afterAll(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGTERM');
      await running.exited;
    }
    await database.drop();
  });

  it('applies every transfer exactly once on both sides: acked before the kill, or resent after the restart', async () => {
    const config = database.config;
    const databaseUrl = config.kind === 'sqlite' ? `file:${config.path}` : config.url;
    running = await startServerProcess(databaseUrl, LIMITS_OFF);
    const login = await request(running.url, 'POST', '/api/login', { body: { code: 'dev-crash-owner' } });
    expect(login.status).toBe(200);
    const token: string = login.body.token;
    let api: Api = client(running.url, token);
    // Pairs of directories, so that on MariaDB several transfers commit at once (one pair's are serialized by its locks).
    const pairs: [number, number][] = [];
    for (let p = 0; p < PAIRS; p++) pairs.push([await createDirectory(api, `crash-A${p}`), await createDirectory(api, `crash-B${p}`)]);
    const directories = pairs.flat();
    for (const directoryId of directories) await scan(api, directoryId, { op: 'in', code: CODE, qty: STOCK });

    // Both directions, so that every directory is `from` and `to`; never short of stock.
    const plan: Planned[] = Array.from({ length: PLANNED }, (_, k) => {
      const [a, b] = pairs[k % PAIRS];
      const back = Math.floor(k / PAIRS) % 3 === 0;
      return { eventId: `crash-${k}`, from: back ? b : a, to: back ? a : b, qty: 1 + (k % 7) };
    });
    const frame = (t: Planned) => ({ type: 'transfer', id: t.eventId, from: t.from, to: t.to, code: CODE, qty: t.qty });

    const socket = await connect(running.url, token);
    const acked = new Map<string, Frame>();
    const sent: Planned[] = [];
    let next = 0;
    const server = running;
    // A window of transfers in flight; when KILL_AFTER have been answered, the server is killed -9 at
    // once, with the rest of the window and a last burst on their way or inside a transaction.
    await new Promise<void>((resolve) => {
      const sendOne = () => {
        if (next >= plan.length) return;
        const t = plan[next++];
        sent.push(t);
        void socket
          .next((f) => f.type === 'ack' && f.id === t.eventId)
          .then(
            (ack) => {
              acked.set(t.eventId, ack);
              if (acked.size === KILL_AFTER) {
                // A last burst on its way as the server dies: some read, some in a transaction, some never read.
                for (let k = 0; k < WINDOW; k++) sendOne();
                server.child.kill('SIGKILL');
                resolve();
              } else if (acked.size < KILL_AFTER) sendOne();
            },
            () => undefined, // the socket closed with the server: no answer
          );
        socket.send(frame(t));
      };
      for (let k = 0; k < WINDOW; k++) sendOne();
    });
    await server.exited;
    await socket.closed;
    for (const ack of acked.values()) expect(ack.ok).toBe(true);
    const unanswered = sent.filter((t) => !acked.has(t.eventId));
    expect(unanswered.length).toBeGreaterThan(0);

    // The same database, a new process; the same user logs in again (same code name: same openid).
    running = await startServerProcess(databaseUrl, LIMITS_OFF);
    const again = await request(running.url, 'POST', '/api/login', { body: { code: 'dev-crash-owner' } });
    expect(again.body.user.id).toBe(login.body.user.id);
    api = client(running.url, again.body.token);
    const resender: TestSocket = await connect(running.url, again.body.token);
    const resent = await Promise.all(unanswered.map((t) => resender.request(frame(t))));
    for (const ack of resent) expect(ack.ok).toBe(true);
    // The acked ones sent again are duplicates with their first answers (they survived the kill).
    const replays = await Promise.all(sent.filter((t) => acked.has(t.eventId)).map((t) => resender.request(frame(t))));
    for (const replay of replays) expect(replay.result).toMatchObject({ duplicate: true, transferId: (acked.get(replay.id) as Frame).result.transferId });
    await resender.close();

    // The counts are what every sent transfer adds up to, each once.
    const expected = new Map(directories.map((id) => [id, STOCK]));
    for (const t of sent) {
      expected.set(t.from, (expected.get(t.from) as number) - t.qty);
      expected.set(t.to, (expected.get(t.to) as number) + t.qty);
    }
    for (const directoryId of directories) expect([directoryId, await countOf(api, directoryId, CODE)]).toEqual([directoryId, expected.get(directoryId)]);

    // Each directory's log: one side per transfer, exactly the transfers answered (before or after).
    const transferIds = new Set([...acked.values(), ...resent].map((ack) => ack.result.transferId as string));
    expect(transferIds.size).toBe(sent.length);
    const logged: string[] = [];
    for (const directoryId of directories) {
      const sides = (await allLogs(api, directoryId)).filter((entry) => entry.transfer);
      const own = sent.filter((t) => t.from === directoryId || t.to === directoryId);
      expect(sides.length).toBe(own.length);
      logged.push(...sides.map((entry) => entry.transfer.id as string));
    }
    // Two sides per transfer (one in each of its directories), no other.
    expect(logged.length).toBe(2 * sent.length);
    expect(new Set(logged)).toEqual(transferIds);
  });
});
