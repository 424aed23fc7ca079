import { ROLES, type Role } from '../../contract/constants';
import { AppError } from '../../errors';

/**
 * The one place that answers "may this actor do this to this directory, and with what role"
 * (SPEC "Teams"). Every read and write asks `decide` with what it found of the directory and of the
 * actor's membership: a read through `authorize` (one query), the mutation path inside its
 * transaction (the directory row it locks already carries the batch's members' roles, so a scan costs
 * no extra statement), the socket's subscriptions when they start and whenever a membership event or
 * the periodic check says the role changed. Nothing else compares user ids with owners or roles.
 */

export type { Role } from '../../contract/constants';

/** owner 4, manager 3, editor 2, viewer 1: a role may do whatever a lower one may. */
const RANK: Record<Role, number> = Object.fromEntries(ROLES.map((role, index) => [role, ROLES.length - index])) as Record<Role, number>;

export function atLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

/** The higher of two roles (a member who accepts an invite keeps the higher one). */
export function higher(a: Role, b: Role): Role {
  return RANK[a] >= RANK[b] ? a : b;
}

export const directoryNotFound = () => new AppError('directory_not_found', 'no such directory');

export const forbidden = (role: Role, required: Role, what = 'this') => new AppError('forbidden', `a ${role} may not do ${what}: it needs ${required} or higher`, { role, required });

/** What a check needs to know of the directory: whether it is live, and the actor's role in it (null: not a member). */
export interface Membership {
  deleted: boolean;
  role: Role | null;
}

/**
 * The actor's role when it is at least `required`. A stranger, a missing or deleted directory:
 * `directory_not_found` (a stranger's directory looks exactly like a missing one). A member with too
 * low a role: `forbidden` with their role and the lowest one that may.
 */
export function decide(membership: Membership | null, required: Role, what?: string): Role {
  if (!membership || membership.deleted || membership.role === null) throw directoryNotFound();
  if (!atLeast(membership.role, required)) throw forbidden(membership.role, required, what);
  return membership.role;
}

/** Whether an actor may still watch the directory (the subscription's question, without throwing). */
export function mayRead(membership: Membership | null): boolean {
  return membership !== null && !membership.deleted && membership.role !== null;
}

/**
 * Who may change a member's role or remove them. The owner may act on anyone but themselves; a
 * manager on editors and viewers, and not make anyone owner; everyone may remove themselves, except
 * the owner, who hands ownership over first.
 */
export function requiredToManage(target: Role, change: { to?: Role; removingSelf?: boolean }): Role {
  if (change.removingSelf) return 'viewer';
  if (target === 'owner' || target === 'manager' || change.to === 'owner') return 'owner';
  return 'manager';
}
