import { operations, type OperationDef, type OperationInput, type OperationName, type OperationResult, type Role } from '../contract';
import { decide } from '../modules/inventory/access';
import { authorize, type Access } from '../modules/inventory/directories';
import { inventoryHandlers } from '../modules/inventory/operations';
import type { Actor } from '../modules/inventory/views';
import { teamHandlers } from '../modules/teams/operations';
import { countHandlers } from '../modules/counts/operations';
import { webhookHandlers } from '../modules/webhooks/operations';
import { directoryOfCount } from '../modules/counts/service';
import type { Services } from '../services';
import type { Handler, Handlers } from './types';

export type { OperationCall, Handler, Handlers } from './types';

/** Every operation's handler: an operation of the table without one does not compile. */
export const handlers: Handlers<OperationName> = { ...inventoryHandlers, ...teamHandlers, ...countHandlers, ...webhookHandlers };

/**
 * Runs one operation for an actor, whichever transport asked: the one path from a wire to the domain.
 * A read of a directory asks the access seam first (one query), unless the socket already holds the
 * actor's role in it (its subscription, kept current by membership events); a write passes the
 * operation's role to the transaction that applies it, which asks the same seam.
 */
export async function runOperation<N extends OperationName>(services: Services, name: N, actor: Actor, input: OperationInput<N>, knownRole?: Role): Promise<OperationResult<N>> {
  const def: OperationDef = operations[name];
  const required: Role = def.role ?? 'viewer';
  let access: Access | null = null;
  if (def.kind === 'read' && def.role !== null) {
    // A count's reads are its directory's (SPEC: a count refers to its directory for every access rule).
    const directoryId = def.scope === 'count' ? await directoryOfCount(services.em(), (input as { countId: number }).countId) : (input as { directoryId: number }).directoryId;
    // The role the socket holds is decided on like a fresh one: the seam, not the caller, says whether it is enough.
    access = knownRole !== undefined ? { directoryId, role: decide({ deleted: false, role: knownRole }, def.role, name) } : await authorize(services.em(), actor.userId, directoryId, def.role, name);
  }
  const handler = handlers[name] as Handler<N>;
  return handler({ services, actor, input, access, required });
}
