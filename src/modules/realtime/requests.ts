import { operations, type OperationName, type Role } from '../../contract';
import { runOperation } from '../../operations';
import type { Services } from '../../services';
import type { Principal } from '../auth/service';
import { authorize, directoryRevisions } from '../inventory/directories';
import { canReplay } from '../inventory/history';
import type { Connection } from './connection';
import { databaseSource, type SharedSnapshots } from './snapshot';
import type { StartingPoint } from './subscription';
import type { AckResult } from '../../contract';
import type { RequestFrame } from './protocol';

type Reply = ReturnType<Connection['reply']>;

const isOperation = (type: string): type is OperationName => Object.hasOwn(operations, type);

/**
 * The answer to one request frame. The socket's own requests (ping, subscribe, unsubscribe) are
 * answered here; every other is an operation of the table, run as HTTP runs it: its input is the
 * frame without `type` and `id`, and a write's `id` is its event id. The ack is sent by the caller with
 * what this returns (a subscribe acks itself, before its replay or snapshot).
 */
export async function answer(services: Services, snapshots: SharedSnapshots, connection: Connection, principal: Principal, frame: RequestFrame, reply: Reply): Promise<AckResult | undefined> {
  // The socket's own requests; every other type is an operation of the table.
  if (frame.type === 'ping') return { serverTime: services.now().toISOString() };
  if (frame.type === 'unsubscribe') {
    connection.unsubscribe(frame.directoryId);
    return {};
  }
  if (frame.type === 'subscribe') {
    await subscribe(services, snapshots, connection, principal.userId, frame, reply);
    return undefined;
  }
  if (!isOperation(frame.type)) throw new Error(`no handler for frame type ${frame.type}`);
  const name = frame.type;
  const { type: _type, id, ...fields } = frame as { type: string; id: string | number } & Record<string, unknown>;
  const input = operations[name].eventId ? { ...fields, eventId: id } : fields;
  // A read of a directory this socket watches needs no query for access: its subscription holds the role.
  const directoryId = typeof fields.directoryId === 'number' ? fields.directoryId : undefined;
  const knownRole = directoryId === undefined ? undefined : (connection.subscriptions.get(directoryId)?.role ?? undefined);
  return (await runOperation(services, name, { userId: principal.userId, deviceId: principal.deviceId }, input as never, knownRole)) as AckResult;
}

/**
 * Registers the subscription first, then reads the starting point: whatever commits in between queues
 * behind the start and is deduped by revision, so the replay joins the live stream with neither a gap
 * nor a duplicate. Returns once acked; the snapshot or replay goes on behind the ack, paced by the
 * client's reading, without holding this socket's next requests.
 */
async function subscribe(services: Services, snapshots: SharedSnapshots, connection: Connection, userId: number, frame: Extract<RequestFrame, { type: 'subscribe' }>, reply: Reply): Promise<void> {
  const { directoryId, since } = frame;
  const subscription = connection.subscribe(directoryId);
  try {
    await subscription.start(
      async () => {
        // The bus listens to the directory's channel before its revision is read: a change committed
        // after the read is then heard (on a Redis bus, the SUBSCRIBE is confirmed first).
        const [{ role }] = await Promise.all([authorize(services.em(), userId, directoryId, 'viewer', 'subscribe'), services.bus.listening('directory', directoryId)]);
        subscription.setRole(role);
        return startingPoint(services, snapshots, directoryId, since);
      },
      (revision) => reply.ok({ revision }),
    );
  } catch (error) {
    connection.unsubscribe(directoryId, subscription);
    throw error;
  }
}

/**
 * Every change after `since` from the log, or a snapshot (no `since`, `since` too old to replay, or
 * ahead of the directory): the one other sockets are starting to be sent if it is recent enough, the
 * changes after it following from the log. Neither is read here beyond revisions: the snapshot's pages
 * and the replay are read a page or a batch at a time as the client takes them. The caller has
 * authorized the read.
 */
async function startingPoint(services: Services, snapshots: SharedSnapshots, directoryId: number, since: number | undefined): Promise<StartingPoint> {
  const limit = services.config.changesReplayLimit;
  const revision = (await directoryRevisions(services.em(), [directoryId])).get(directoryId) ?? 0;
  if (since !== undefined && canReplay(since, revision, limit)) return { revision, since };
  const snapshot = await snapshots.acquire(
    directoryId,
    revision,
    limit,
    databaseSource(() => services.em(), directoryId),
  );
  return { revision: Math.max(revision, snapshot.revision), snapshot };
}

export type { Role };
