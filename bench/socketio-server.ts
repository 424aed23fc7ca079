/**
 * The Socket.IO baseline the issue compares scancode to: a Socket.IO 4.8 server on PORT doing, per scan,
 * the raw baseline's statements in one transaction of its own (mysql2 pool of 8 connections, or libsql),
 * then `to(room).emit` of the change to the directory's room. A room per directory; a client joins it
 * with `subscribe` (acked with the directory's revision). No authentication and no event ids kept
 * across requests beyond the outcome row: what a plain, competent Socket.IO server costs on the same driver.
 *
 * DATABASE_URL (mysql://… a fresh database, or file:…) and DIRECTORIES (created 1..N at start) set it up.
 */
import { createServer } from 'node:http';
import mysql from 'mysql2/promise';
import { Server } from 'socket.io';
import { libsqlDatabase, libsqlScanner, mysqlScan } from './baselines';
import { MYSQL_SCHEMA } from './raw-schema';

type Ack = (answer: { ok: boolean; revision?: number; error?: string }) => void;
interface Scan {
  directoryId: number;
  code: string;
  qty: number;
  id: string;
}
/** Applies one scan in a transaction of its own; resolves to the directory's new revision. */
type ApplyScan = (directoryId: number, eventId: string, n: number) => Promise<number>;
type ReadRevision = (directoryId: number) => Promise<number>;

const url = process.env.DATABASE_URL ?? '';
const directories = Number(process.env.DIRECTORIES ?? 50);
const POOL = 8;

async function mysqlStore(): Promise<{ apply: ApplyScan; revision: ReadRevision }> {
  const pool = mysql.createPool({ uri: url, timezone: 'Z', connectionLimit: POOL });
  for (const statement of MYSQL_SCHEMA) await pool.query(statement);
  const [user] = await pool.execute<mysql.ResultSetHeader>('insert into users (openid) values (?)', ['socketio']);
  for (let d = 0; d < directories; d++) {
    await pool.execute('insert into directories (owner_id, name, live_name, created_at, updated_at) values (?, ?, ?, now(3), now(3))', [user.insertId, `d${d}`, `d${d}`]);
  }
  pool.on('connection', (c) => void c.query('set session transaction isolation level read committed'));
  const apply: ApplyScan = async (directoryId, eventId, n) => {
    const c = await pool.getConnection();
    try {
      for (let attempt = 1; ; attempt++) {
        await c.beginTransaction();
        try {
          const revision = await mysqlScan(c, user.insertId, directoryId, `${eventId}.${attempt}`, n);
          await c.commit();
          return revision;
        } catch (error) {
          await c.rollback();
          if ((error as { errno?: number }).errno !== 1213 || attempt >= 5) throw error;
        }
      }
    } finally {
      c.release();
    }
  };
  const revision: ReadRevision = async (directoryId) => {
    const [rows] = await pool.execute<mysql.RowDataPacket[]>('select revision from directories where id = ?', [directoryId]);
    return Number(rows[0]?.revision ?? 0);
  };
  return { apply, revision };
}

function libsqlStore(): { apply: ApplyScan; revision: ReadRevision } {
  const db = libsqlDatabase(url.replace(/^file:/, ''));
  const userId = Number(db.prepare('insert into users (openid) values (?)').run('socketio').lastInsertRowid);
  const insert = db.prepare('insert into directories (owner_id, name, live_name, created_at, updated_at) values (?, ?, ?, ?, ?)');
  for (let d = 0; d < directories; d++) insert.run(userId, `d${d}`, `d${d}`, Date.now(), Date.now());
  const scan = libsqlScanner(db, userId);
  const read = db.prepare('select revision from directories where id = ?');
  return {
    apply: (directoryId, eventId, n) => Promise.resolve(scan(directoryId, eventId, n)),
    revision: (directoryId) => Promise.resolve(Number((read.get(directoryId) as { revision: number } | undefined)?.revision ?? 0)),
  };
}

async function main(): Promise<void> {
  const store = url.startsWith('mysql:') ? await mysqlStore() : libsqlStore();
  const http = createServer((request, response) => response.writeHead(request.url === '/healthz' ? 200 : 404).end());
  const io = new Server(http, { serveClient: false, transports: ['websocket'] });
  let scans = 0;
  io.on('connection', (socket) => {
    socket.on('subscribe', (request: { directoryId: number }, ack: Ack) => {
      void socket.join(`d${request.directoryId}`);
      store.revision(request.directoryId).then(
        (revision) => ack({ ok: true, revision }),
        (error: unknown) => ack({ ok: false, error: String(error) }),
      );
    });
    socket.on('scan', (request: Scan, ack: Ack) => {
      store.apply(request.directoryId, request.id, scans++).then(
        (revision) => {
          ack({ ok: true, revision });
          io.to(`d${request.directoryId}`).emit('change', { directoryId: request.directoryId, revision, eventId: request.id, code: request.code, delta: request.qty });
        },
        (error: unknown) => ack({ ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
    });
  });
  http.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
