import { AppError } from '../../errors';
import type { Actor } from './views';

/**
 * The one place that answers "may this user read or write this directory". Today a directory is its
 * owner's alone; shared warehouses change this file and nothing else. Another user's directory looks
 * exactly like a missing one.
 */
export type AccessMode = 'read' | 'write';

export const directoryNotFound = () => new AppError('directory_not_found', 'no such directory');

export interface DirectoryAccess {
  ownerId: number;
  deleted: boolean;
}

export function mayAccess(userId: number, directory: DirectoryAccess | null, _mode: AccessMode): boolean {
  return directory !== null && !directory.deleted && directory.ownerId === userId;
}

/** The directory if the actor may use it this way; `directory_not_found` otherwise. */
export function requireDirectory<T extends DirectoryAccess>(actor: Pick<Actor, 'userId'>, directory: T | null, mode: AccessMode): T {
  if (!directory || !mayAccess(actor.userId, directory, mode)) throw directoryNotFound();
  return directory;
}

/**
 * The rows a query may show this user: the where-clause of every read of directories (it names the
 * columns of the `directories` row as MikroORM's entity properties).
 */
export function readableBy(userId: number): { owner: number; deletedAt: null } {
  return { owner: userId, deletedAt: null };
}
