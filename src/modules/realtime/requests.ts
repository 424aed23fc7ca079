import type { Services } from '../../services';
import type { Principal } from '../auth/service';
import { findDirectory } from '../inventory/directories';
import { lookupGoods } from '../inventory/goods';
import { canReplay } from '../inventory/history';
import { applyScan } from '../inventory/scan';
import type { Connection } from './connection';
import { readSnapshot, type SharedSnapshots } from './snapshot';
import type { StartingPoint } from './subscription';
import type { AckResult } from '../../contract';
import type { RequestFrame } from './protocol';
import type { ScanInput } from '../inventory/views';

type Reply = ReturnType<Connection['reply']>;

/**
 * The answer to one request frame: a few lines each over the same domain functions as HTTP. The ack is
 * sent by the caller with what this returns (a subscribe acks itself, before its replay or snapshot).
 * Each request gets its own EntityManager fork.
 */
export async function answer(services: Services, snapshots: SharedSnapshots, connection: Connection, principal: Principal, frame: RequestFrame, reply: Reply): Promise<AckResult | undefined> {
  switch (frame.type) {
    case 'ping':
      return { serverTime: services.now().toISOString() };
    case 'lookup':
      return { goods: await lookupGoods(services.em(), principal.userId, frame.directoryId, frame.code) };
    case 'scan': {
      // The frame's id is the event id: exactly once, over WebSocket and HTTP alike.
      const { type: _type, id, ...scan } = frame;
      // The rest of a tagged union loses its tag's narrowing in TypeScript; it is the same ScanInput.
      return applyScan(services.inventory(), { userId: principal.userId, deviceId: principal.deviceId }, { ...scan, eventId: id } as ScanInput);
    }
    case 'unsubscribe':
      connection.unsubscribe(frame.directoryId);
      return {};
    case 'subscribe':
      await subscribe(services, snapshots, connection, principal.userId, frame, reply);
      return undefined;
  }
}

/**
 * Registers the subscription first, then reads the starting point: whatever commits in between queues
 * behind the start and is deduped by revision, so the replay joins the live stream with neither a gap
 * nor a duplicate. Returns once acked; the snapshot or replay goes on behind the ack, paced by the
 * client's reading, without holding this socket's next requests.
 */
async function subscribe(services: Services, snapshots: SharedSnapshots, connection: Connection, ownerId: number, frame: Extract<RequestFrame, { type: 'subscribe' }>, reply: Reply): Promise<void> {
  const { directoryId, since } = frame;
  const subscription = connection.subscribe(directoryId);
  try {
    await subscription.start(
      () => startingPoint(services, snapshots, ownerId, directoryId, since),
      (revision) => reply.ok({ revision }),
    );
  } catch (error) {
    connection.unsubscribe(directoryId, subscription);
    throw error;
  }
}

/**
 * Every change after `since` from the log, or a snapshot (no `since`, `since` too old to replay, or
 * ahead of the directory): the one other sockets are being sent if it is recent enough, the changes
 * after it following from the log. Neither is read here beyond the directory's revision: the replay
 * is read a batch at a time as the client takes it.
 */
async function startingPoint(services: Services, snapshots: SharedSnapshots, ownerId: number, directoryId: number, since: number | undefined): Promise<StartingPoint> {
  const limit = services.config.changesReplayLimit;
  const { revision } = await findDirectory(services.em(), ownerId, directoryId);
  if (since !== undefined && canReplay(since, revision, limit)) return { revision, since };
  const snapshot = await snapshots.acquire(directoryId, revision, limit, () => readSnapshot(services.em(), ownerId, directoryId));
  return { revision: Math.max(revision, snapshot.revision), snapshot };
}
