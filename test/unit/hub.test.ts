import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket } from 'ws';
import type { Role } from '../../src/contract/constants';
import type { BusMessage } from '../../src/modules/realtime/bus';
import { Connection } from '../../src/modules/realtime/connection';
import { Hub } from '../../src/modules/realtime/hub';
import type { Change, DirectoryView } from '../../src/modules/inventory/views';

/**
 * The hub's fan-out by directory and by user, and its revocations, over real Connections and
 * Subscriptions whose WebSocket is a small stand-in that records what is sent (no server, no port).
 */

/** What Connection uses of a ws WebSocket: its state, send, close (with its 'close' event), pause/resume. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  isPaused = false;
  readonly frames: Record<string, unknown>[] = [];
  closedWith: number | null = null;

  send(frame: string | Buffer): void {
    this.frames.push(JSON.parse(frame.toString()) as Record<string, unknown>);
  }

  close(code: number, reason: string): void {
    if (this.readyState !== WebSocket.OPEN) return;
    this.readyState = WebSocket.CLOSED;
    this.closedWith = code;
    this.emit('close', code, Buffer.from(reason));
  }

  terminate(): void {
    this.close(1006, '');
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  /** The frames of one type sent so far. */
  of(type: string): Record<string, unknown>[] {
    return this.frames.filter((frame) => frame.type === type);
  }
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as FastifyBaseLogger;
const turn = () => new Promise((resolve) => setImmediate(resolve));

let sessions = 0;

type ReadLog = (directoryId: number, after: number, upTo: number) => Promise<Change[]>;

/** A socket of `userId`, authenticated and known to the hub; `readLog` is the directory's log as the database would read it. */
function connect(hub: Hub, userId: number, readLog: ReadLog = async () => []): { connection: Connection; socket: FakeSocket } {
  const socket = new FakeSocket();
  const connection = new Connection(
    socket as unknown as WebSocket,
    silent,
    {
      maxQueuedBytes: 1 << 20,
      readTimeoutMs: 1_000,
      readLog,
      readRevision: async () => null,
      unfounded: () => undefined,
      gone: (gone) => hub.remove(gone),
      watching: hub.watching,
    },
    '127.0.0.1',
  );
  hub.add(connection);
  hub.startAuthenticating(connection);
  connection.principal = { userId, sessionId: ++sessions, deviceId: `phone-${sessions}`, expiresAt: new Date(Date.now() + 3_600_000) };
  hub.authenticated(connection);
  return { connection, socket };
}

/** Subscribes a socket to a directory at revision 0, with a role, as the gateway does after asking the access seam. */
async function watch(connection: Connection, directoryId: number, role: Role): Promise<void> {
  const subscription = connection.subscribe(directoryId);
  await subscription.start(
    async () => ({ revision: 0, since: 0 }),
    () => undefined,
  );
  subscription.setRole(role);
  await turn();
}

const change = (revision: number, userId = 1): Change => ({ revision, type: 'in', code: 'A', delta: 1, userId, nickname: '老板', at: '2024-05-01T08:00:00.000Z' });
const changeMessage = (directoryId: number, revision: number): BusMessage => ({ type: 'change', directoryId, revision, change: change(revision) });
const directory = (id: number, role: Role): DirectoryView => ({
  id,
  name: `dir ${id}`,
  role,
  owner: { id: 1, nickname: '老板' },
  freq: 0,
  revision: 0,
  goodsCount: 0,
  totalCount: 0,
  createdAt: '2024-05-01T08:00:00.000Z',
  updatedAt: '2024-05-01T08:00:00.000Z',
});

describe('Hub: changes go to the watchers of their directory', () => {
  it("reaches every subscription of that directory, whoever's, and no socket watching only another one", async () => {
    const hub = new Hub();
    const owner = connect(hub, 1);
    const editor = connect(hub, 2);
    const elsewhere = connect(hub, 3);
    await watch(owner.connection, 10, 'owner');
    await watch(owner.connection, 11, 'owner');
    await watch(editor.connection, 10, 'editor');
    await watch(elsewhere.connection, 11, 'owner');
    hub.receive(changeMessage(10, 1));
    hub.receive(changeMessage(10, 2));
    await turn();
    const revisions = (socket: FakeSocket) => socket.of('change').map((frame) => [frame.directoryId, frame.revision]);
    expect(revisions(owner.socket)).toEqual([
      [10, 1],
      [10, 2],
    ]);
    expect(revisions(editor.socket)).toEqual([
      [10, 1],
      [10, 2],
    ]);
    expect(revisions(elsewhere.socket)).toEqual([]);
    expect(hub.watchedDirectories().sort()).toEqual([10, 11]);
  });

  it('sends a revision once, in order, whatever order the bus brings them in', async () => {
    const hub = new Hub();
    // The log has revisions 1 and 2 (both committed); the bus brings 2 first, then 1, then 2 again.
    const log = [change(1), change(2)];
    const phone = connect(hub, 1, async (_directoryId, after, upTo) => log.filter((c) => c.revision > after && c.revision <= upTo));
    await watch(phone.connection, 10, 'owner');
    hub.receive(changeMessage(10, 2));
    hub.receive(changeMessage(10, 1));
    hub.receive(changeMessage(10, 2));
    await turn();
    expect(phone.socket.of('change').map((frame) => frame.revision)).toEqual([1, 2]);
  });
});

describe('Hub: directory and membership events go to users', () => {
  it('a directory event reaches every socket of each audience member, with their own role, and nobody else', async () => {
    const hub = new Hub();
    const owner = connect(hub, 1);
    const viewerPhone = connect(hub, 2);
    const viewerTablet = connect(hub, 2);
    const stranger = connect(hub, 3);
    hub.receive({
      type: 'directory',
      event: 'renamed',
      directory: directory(10, 'owner'),
      audience: [
        { userId: 1, role: 'owner' },
        { userId: 2, role: 'viewer' },
      ],
    });
    const roles = (socket: FakeSocket) => socket.of('directory').map((frame) => [frame.event, (frame.directory as DirectoryView).role]);
    expect(roles(owner.socket)).toEqual([['renamed', 'owner']]);
    expect(roles(viewerPhone.socket)).toEqual([['renamed', 'viewer']]);
    expect(roles(viewerTablet.socket)).toEqual([['renamed', 'viewer']]);
    expect(stranger.socket.frames).toEqual([]);
  });

  it("a deleted directory ends its members' subscriptions, each told `unsubscribed` (deleted) after the delete's own change", async () => {
    const hub = new Hub();
    const owner = connect(hub, 1);
    const editor = connect(hub, 2);
    await watch(owner.connection, 10, 'owner');
    await watch(editor.connection, 10, 'editor');
    await watch(editor.connection, 11, 'editor');
    hub.receive(changeMessage(10, 1));
    hub.receive({
      type: 'directory',
      event: 'deleted',
      directory: directory(10, 'owner'),
      audience: [
        { userId: 1, role: 'owner' },
        { userId: 2, role: 'editor' },
      ],
    });
    hub.receive(changeMessage(10, 2));
    await turn();
    for (const { socket, connection } of [owner, editor]) {
      expect(socket.frames.filter((frame) => frame.type !== 'directory').map((frame) => [frame.type, frame.revision ?? frame.reason])).toEqual([
        ['change', 1],
        ['unsubscribed', 'deleted'],
      ]);
      expect(socket.of('unsubscribed')).toEqual([{ type: 'unsubscribed', directoryId: 10, reason: 'deleted' }]);
      expect(connection.subscriptions.has(10)).toBe(false);
    }
    expect(editor.connection.subscriptions.has(11)).toBe(true);
    expect(hub.watchedDirectories()).toEqual([11]);
  });

  it("`unshared` revokes that user's subscription on each of their sockets (unsubscribed, removed); nothing more of the directory reaches them", async () => {
    const hub = new Hub();
    const owner = connect(hub, 1);
    const removedPhone = connect(hub, 2);
    const removedTablet = connect(hub, 2);
    await watch(owner.connection, 10, 'owner');
    await watch(removedPhone.connection, 10, 'editor');
    await watch(removedTablet.connection, 10, 'editor');
    await watch(removedTablet.connection, 12, 'owner');
    hub.receive({ type: 'membership', event: 'unshared', userId: 2, directory: directory(10, 'editor') });
    await turn();
    for (const { socket, connection } of [removedPhone, removedTablet]) {
      expect(socket.of('directory')).toEqual([{ type: 'directory', event: 'unshared', directory: directory(10, 'editor') }]);
      expect(socket.of('unsubscribed')).toEqual([{ type: 'unsubscribed', directoryId: 10, reason: 'removed' }]);
      expect(connection.subscriptions.has(10)).toBe(false);
    }
    expect(removedTablet.connection.subscriptions.has(12)).toBe(true);
    hub.receive(changeMessage(10, 1));
    await turn();
    expect(owner.socket.of('change').map((frame) => frame.revision)).toEqual([1]);
    expect(removedPhone.socket.of('change')).toEqual([]);
    expect(removedTablet.socket.of('change')).toEqual([]);
    expect(owner.socket.of('unsubscribed')).toEqual([]);
  });

  it("`shared` and `role` tell the user's sockets and carry the new role to a subscription", async () => {
    const hub = new Hub();
    const member = connect(hub, 2);
    await watch(member.connection, 10, 'viewer');
    hub.receive({ type: 'membership', event: 'role', userId: 2, directory: directory(10, 'editor') });
    expect(member.connection.subscriptions.get(10)?.role).toBe('editor');
    hub.receive({ type: 'membership', event: 'shared', userId: 2, directory: directory(20, 'viewer') });
    expect(member.socket.of('directory').map((frame) => frame.event)).toEqual(['role', 'shared']);
    expect(member.socket.of('unsubscribed')).toEqual([]);
  });

  it('a revoked session closes only that session’s sockets (4401)', () => {
    const hub = new Hub();
    const first = connect(hub, 2);
    const second = connect(hub, 2);
    hub.receive({ type: 'session-revoked', userId: 2, sessionId: first.connection.principal?.sessionId ?? 0 });
    expect(first.socket.closedWith).toBe(4401);
    expect(second.socket.closedWith).toBeNull();
    expect(hub.sockets.has(first.connection)).toBe(false);
  });
});

describe('Hub.checkAccess: what the database says of the watched directories', () => {
  it('ends the subscriptions of users no longer members (removed) and of deleted directories (deleted); the others take the current role', async () => {
    const hub = new Hub();
    const owner = connect(hub, 1);
    const gone = connect(hub, 2);
    const demoted = connect(hub, 3);
    for (const { connection } of [owner, gone, demoted]) await watch(connection, 10, 'editor');
    await watch(owner.connection, 11, 'owner');
    await watch(owner.connection, 12, 'owner');
    const asked = [...hub.subscriptions()];
    // A phone that subscribed while the check's read ran: its user was not asked about, so it is left alone.
    const late = connect(hub, 4);
    await watch(late.connection, 10, 'editor');
    hub.checkAccess(
      new Map([
        [
          10,
          {
            deleted: false,
            roles: new Map<number, Role>([
              [1, 'owner'],
              [3, 'viewer'],
            ]),
          },
        ],
        [11, { deleted: true, roles: new Map<number, Role>([[1, 'owner']]) }],
        // 12 is not in this batch of the check: left as it is.
      ]),
      asked,
    );
    await turn();
    expect(late.socket.of('unsubscribed')).toEqual([]);
    expect(owner.connection.subscriptions.get(10)?.role).toBe('owner');
    expect(demoted.connection.subscriptions.get(10)?.role).toBe('viewer');
    expect(gone.socket.of('unsubscribed')).toEqual([{ type: 'unsubscribed', directoryId: 10, reason: 'removed' }]);
    expect(owner.socket.of('unsubscribed')).toEqual([{ type: 'unsubscribed', directoryId: 11, reason: 'deleted' }]);
    expect([...owner.connection.subscriptions.keys()]).toEqual([10, 12]);
    expect(hub.watchedDirectories().sort()).toEqual([10, 12]);
  });

  it('catchUpTo reads from the log for subscriptions behind their directory, and only those', async () => {
    const hub = new Hub();
    const reads: [number, number][] = [];
    const behind = connect(hub, 1, async (_directoryId, after, upTo) => {
      reads.push([after, upTo]);
      return after === 0 ? [change(1), change(2)] : [];
    });
    await watch(behind.connection, 10, 'owner');
    hub.catchUpTo(new Map([[10, 0]]));
    await turn();
    expect(reads).toEqual([]);
    hub.catchUpTo(
      new Map([
        [10, 2],
        [99, 5],
      ]),
    );
    await turn();
    expect(behind.socket.of('change').map((frame) => frame.revision)).toEqual([1, 2]);
  });
});
