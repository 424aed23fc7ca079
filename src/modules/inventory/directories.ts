import { raw } from '@mikro-orm/core';
import type { Em } from '../../db/orm';
import { AppError, badRequest } from '../../errors';
import { directoryNotFound, lockLiveDirectory, recordChange, type InventoryContext } from './context';
import { Directory, LogEntry } from './entities';
import { inTransaction, isUniqueViolation } from './transaction';
import type { Actor, DirectoryView } from './views';

export const DEFAULT_DIRECTORY_NAME = '默认';

const nameTaken = (name: string) => new AppError('name_taken', `a directory named "${name}" already exists`);

/** Trimmed, 1–100 characters (code points, as MySQL counts them). */
export function directoryName(raw: string): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length < 1 || length > 100) throw badRequest('name must be 1 to 100 characters after trimming');
  return name;
}

interface DirectoryRow {
  id: number;
  name: string;
  freq: number;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
  // Aggregates come back as strings from MySQL (DECIMAL sums) and as numbers from SQLite.
  goods_count: number | string | null;
  total_count: number | string | null;
}

function directoryQuery(em: Em, ownerId: number) {
  return em
    .createQueryBuilder(Directory, 'd')
    .select([
      'd.id',
      'd.name',
      'd.freq',
      'd.revision',
      'd.createdAt',
      'd.updatedAt',
      raw('(select count(*) from goods g where g.directory_id = d.id) as goods_count'),
      raw('(select coalesce(sum(g.count), 0) from goods g where g.directory_id = d.id) as total_count'),
    ])
    .where({ owner: ownerId, deletedAt: null });
}

function directoryView(row: DirectoryRow): DirectoryView {
  return {
    id: row.id,
    name: row.name,
    freq: row.freq,
    revision: row.revision,
    goodsCount: Number(row.goods_count ?? 0),
    totalCount: Number(row.total_count ?? 0),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** The owner's live directories, most used first. */
export async function listDirectories(em: Em, ownerId: number): Promise<DirectoryView[]> {
  const rows = await directoryQuery(em, ownerId).orderBy({ freq: 'desc', id: 'asc' }).execute<DirectoryRow[]>('all');
  return rows.map(directoryView);
}

/**
 * Oldest first: the order the seed answered in (its `ordering = ['-freq']` sat in a lowercase
 * `class meta`, so Django never applied it), and its app takes `dirs[0]` as the current warehouse.
 */
export function inCreationOrder(directories: DirectoryView[]): DirectoryView[] {
  return [...directories].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
}

export async function findDirectory(em: Em, ownerId: number, directoryId: number): Promise<DirectoryView> {
  const row = await directoryQuery(em, ownerId).andWhere({ id: directoryId }).execute<DirectoryRow | undefined>('get');
  if (!row) throw directoryNotFound();
  return directoryView(row);
}

/** Creates a directory at revision 0 (logged as `create`) in the caller's transaction. */
export async function insertDirectory(tx: Em, actor: Actor, name: string, at: Date): Promise<number> {
  let id: number;
  try {
    const inserted = await tx
      .createQueryBuilder(Directory)
      .insert({ owner: actor.userId, name, liveName: name, freq: 0, revision: 0, createdAt: at, updatedAt: at })
      .execute('run');
    id = inserted.insertId;
  } catch (error) {
    if (isUniqueViolation(tx, error)) throw nameTaken(name);
    throw error;
  }
  await tx
    .createQueryBuilder(LogEntry)
    .insert({ directory: id, user: actor.userId, deviceId: actor.deviceId, type: 'create', dirName: name, revision: 0, at })
    .execute('run');
  return id;
}

export async function createDirectory(ctx: InventoryContext, actor: Actor, rawName: string): Promise<DirectoryView> {
  const name = directoryName(rawName);
  const id = await inTransaction(ctx.em, (tx) => insertDirectory(tx, actor, name, ctx.now()));
  const directory = await findDirectory(ctx.em, actor.userId, id);
  await ctx.bus.publish({ type: 'directory', ownerId: actor.userId, event: 'created', directory });
  return directory;
}

export async function renameDirectory(ctx: InventoryContext, actor: Actor, directoryId: number, rawName: string): Promise<DirectoryView> {
  const name = directoryName(rawName);
  const change = await inTransaction(ctx.em, async (tx) => {
    const directory = await lockLiveDirectory(tx, actor.userId, directoryId);
    if (directory.name === name) return null; // nothing changes, so no revision is spent
    try {
      await tx.createQueryBuilder(Directory).update({ name, liveName: name }).where({ id: directoryId }).execute('run');
    } catch (error) {
      if (isUniqueViolation(tx, error)) throw nameTaken(name);
      throw error;
    }
    return recordChange(tx, actor, directory, { type: 'rename', dirName: name }, ctx.now());
  });
  const directory = await findDirectory(ctx.em, actor.userId, directoryId);
  if (change) {
    await ctx.bus.publish({ type: 'change', ownerId: actor.userId, directoryId, revision: change.revision, change });
    await ctx.bus.publish({ type: 'directory', ownerId: actor.userId, event: 'renamed', directory });
  }
  return directory;
}

/** Soft delete: the directory leaves every API and frees its name; its goods and history stay. */
export async function deleteDirectory(ctx: InventoryContext, actor: Actor, directoryId: number): Promise<void> {
  const before = await findDirectory(ctx.em, actor.userId, directoryId);
  const change = await inTransaction(ctx.em, async (tx) => {
    const directory = await lockLiveDirectory(tx, actor.userId, directoryId);
    const at = ctx.now();
    await tx.createQueryBuilder(Directory).update({ liveName: null, deletedAt: at }).where({ id: directoryId }).execute('run');
    return recordChange(tx, actor, directory, { type: 'delete', dirName: directory.name }, at);
  });
  await ctx.bus.publish({ type: 'change', ownerId: actor.userId, directoryId, revision: change.revision, change });
  const directory = { ...before, revision: change.revision, updatedAt: change.at };
  await ctx.bus.publish({ type: 'directory', ownerId: actor.userId, event: 'deleted', directory });
}

/**
 * The live directory of this owner with that name (the legacy routes address directories by name).
 * Names are stored trimmed, so a name is found whether it is sent as typed (the seed's app keeps
 * " 仓库B " as the user typed it) or trimmed.
 */
export async function directoryIdByName(em: Em, ownerId: number, name: string): Promise<number | null> {
  const row = await em
    .createQueryBuilder(Directory)
    .select('id')
    .where({ owner: ownerId, liveName: name.trim() })
    .execute<{ id: number } | undefined>('get');
  return row?.id ?? null;
}
