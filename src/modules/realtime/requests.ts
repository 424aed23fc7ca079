import type { Em } from '../../db/orm';
import type { Services } from '../../services';
import type { Principal } from '../auth/service';
import { directoryWithGoods, lookupGoods } from '../inventory/goods';
import { changesSince, type ChangesAnswer } from '../inventory/history';
import { applyScan } from '../inventory/scan';
import type { Connection } from './connection';
import type { AckResult } from '../../contract';
import type { RequestFrame } from './protocol';
import type { ScanInput } from '../inventory/views';

type Reply = ReturnType<Connection['reply']>;

/**
 * The answer to one request frame: a few lines each over the same domain functions as HTTP. The ack is
 * sent by the caller with what this returns (a subscribe acks itself, before its replay or snapshot).
 * Each request gets its own EntityManager fork.
 */
export async function answer(services: Services, connection: Connection, principal: Principal, frame: RequestFrame, reply: Reply): Promise<AckResult | undefined> {
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
      await subscribe(services, connection, principal.userId, frame, reply);
      return undefined;
  }
}

/**
 * Registers the subscription first, then reads the starting point: whatever commits in between queues
 * behind the start and is deduped by revision, so the replay joins the live stream with neither a gap
 * nor a duplicate.
 */
async function subscribe(services: Services, connection: Connection, ownerId: number, frame: Extract<RequestFrame, { type: 'subscribe' }>, reply: Reply): Promise<void> {
  const { directoryId, since } = frame;
  const subscription = connection.subscribe(directoryId);
  try {
    await subscription.start(async () => {
      const start = await startingPoint(services.em(), ownerId, directoryId, since, services.config.changesReplayLimit);
      reply.ok({ revision: start.revision });
      if ('changes' in start) for (const change of start.changes) subscription.sendChange(change);
      else connection.sendFrame({ type: 'snapshot', directoryId, revision: start.revision, goods: start.goods });
      return start.revision;
    });
  } catch (error) {
    connection.unsubscribe(directoryId, subscription);
    throw error;
  }
}

/**
 * Every change after `since`, or a snapshot (no `since`, `since` too old to replay, or ahead of the
 * directory). Read in one transaction, so that a snapshot's goods are exactly those of its revision.
 */
function startingPoint(em: Em, ownerId: number, directoryId: number, since: number | undefined, replayLimit: number): Promise<ChangesAnswer> {
  return em.transactional(async (tx) => {
    if (since !== undefined) return changesSince(tx as Em, ownerId, directoryId, since, replayLimit);
    const { directory, goods } = await directoryWithGoods(tx as Em, ownerId, directoryId);
    return { revision: directory.revision, reset: true as const, goods };
  });
}
