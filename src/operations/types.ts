import type { OperationInput, OperationName, OperationResult, Role } from '../contract';
import type { Access } from '../modules/inventory/directories';
import type { Actor } from '../modules/inventory/views';
import type { Services } from '../services';

/** One run of an operation, whichever transport asked for it. */
export interface OperationCall<N extends OperationName> {
  services: Services;
  actor: Actor;
  input: OperationInput<N>;
  /** A read's authorization (the actor's role), asked before it runs; null for a write and for an operation of no directory. */
  access: Access | null;
  /** The operation's role (the table's): a write checks it in the transaction that applies it. */
  required: Role;
}

export type Handler<N extends OperationName> = (call: OperationCall<N>) => Promise<OperationResult<N>>;
/** The handlers of some operations: a missing one does not compile. */
export type Handlers<Names extends OperationName> = { [N in Names]: Handler<N> };
