import type { FastifyBaseLogger } from 'fastify';
import type { Em } from '../../db/orm';
import { directoryAudience } from '../inventory/directories';
import type { DomainEvents } from '../inventory/events';
import type { Bus } from './bus';

/**
 * The bus's hook on the domain: what commits is told to every instance, addressed by audience. A
 * batch's changes go out synchronously, in revision order, before its callers are answered; directory
 * and membership events read the directory as it now is first (after the commit that changed it).
 */
export function publishDomainEvents(events: DomainEvents, bus: Bus, em: () => Em, log: FastifyBaseLogger): () => void {
  const offs = [
    events.on('changes', ({ directoryId, changes }) => {
      for (const change of changes) void bus.publish({ type: 'change', directoryId, revision: change.revision, change });
    }),
    events.on('directory', ({ directoryId, event }) => {
      directoryAudience(em(), directoryId)
        .then(async (found) => {
          if (found) await bus.publish({ type: 'directory', event, directory: found.directory, audience: found.audience });
        })
        .catch((error: unknown) => log.error({ err: error, directoryId }, 'could not announce a directory event'));
    }),
    events.on('membership', ({ directoryId, userId, event, role }) => {
      directoryAudience(em(), directoryId)
        .then(async (found) => {
          if (found) await bus.publish({ type: 'membership', event, userId, directory: { ...found.directory, role } });
        })
        .catch((error: unknown) => log.error({ err: error, directoryId, userId }, 'could not announce a membership event'));
    }),
    events.on('count', (event) => void bus.publish({ type: 'count', ...event })),
    events.on('alert', ({ directoryId, goods }) => {
      directoryAudience(em(), directoryId)
        .then(async (found) => {
          if (found) await bus.publish({ type: 'alert', directoryId, goods, audience: found.audience.map((member) => member.userId) });
        })
        .catch((error: unknown) => log.error({ err: error, directoryId }, 'could not announce a low-stock alert'));
    }),
  ];
  return () => offs.forEach((off) => off());
}
