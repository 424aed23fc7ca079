import { raw } from '@mikro-orm/core';
import type { Em } from '../../db/orm';
import { AppError, badRequest } from '../../errors';
import { retryingLostRaces } from '../../db/raw';
import { directoryNotFound, readableBy } from './access';
import type { InventoryContext } from './context';
import { Directory } from './entities';
import { isReplay, outcomeRow, previousOutcome, resultOf, type Outcome } from './mutate';
import { sqlStore, type InventoryStore } from './store';
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

function directoryQuery(em: Em) {
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
  const rows = await directoryQuery(em).where(readableBy(ownerId)).orderBy({ freq: 'desc', id: 'asc' }).execute<DirectoryRow[]>('all');
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
  const row = await directoryQuery(em).where({ ...readableBy(ownerId), id: directoryId }).execute<DirectoryRow | undefined>('get');
  if (!row) throw directoryNotFound();
  return directoryView(row);
}

/**
 * Creates a directory at revision 0, logged as `create`, through the store of the caller's transaction
 * (login makes 默认 in its own). Refused with name_taken when the owner has a live one of that name.
 */
export async function insertDirectory(store: InventoryStore, actor: Actor, name: string, at: Date): Promise<number> {
  if ((await store.liveDirectoryNamed(actor.userId, name)) !== null) throw nameTaken(name);
  const id = await store.insertDirectory(actor.userId, name, at);
  await store.appendLog([{ directoryId: id, userId: actor.userId, deviceId: actor.deviceId, type: 'create', goods: null, delta: null, dirName: name, revision: 0, eventId: null, at }]);
  return id;
}

/** A new directory; with an event id, exactly once like every mutation. */
export async function createDirectory(ctx: InventoryContext, actor: Actor, rawName: string, eventId?: string): Promise<{ directory: DirectoryView; duplicate: boolean }> {
  const name = directoryName(rawName);
  const outcome = await createOnce(ctx, actor, name, eventId);
  const { directoryId } = resultOf(outcome, 'create');
  const directory = await directoryViewById(ctx.em, directoryId);
  const duplicate = isReplay(outcome);
  if (!duplicate) await ctx.bus.publish({ type: 'directory', ownerId: actor.userId, event: 'created', directory });
  return { directory, duplicate };
}

/** Two creates of one name at once: the loser's insert fails on the unique live name; run again, it is refused. */
function createOnce(ctx: InventoryContext, actor: Actor, name: string, eventId: string | undefined): Promise<Outcome> {
  const create = () =>
    ctx.raw.transaction(async (statements) => {
      const store = sqlStore(statements, ctx.raw.dialect);
      const at = ctx.now();
      const earlier = await previousOutcome(store, actor, eventId, 'create');
      if (earlier) return earlier;
      let outcome: Outcome;
      try {
        outcome = { ok: true, value: { kind: 'create', directoryId: await insertDirectory(store, actor, name, at) }, duplicate: false };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        outcome = { ok: false, error };
      }
      if (eventId !== undefined) await store.storeOutcomes([outcomeRow(actor, eventId, 'create', outcome, at)]);
      return outcome;
    });
  return retryingLostRaces(create, 3);
}

export async function renameDirectory(ctx: InventoryContext, actor: Actor, directoryId: number, rawName: string, eventId?: string): Promise<{ directory: DirectoryView; duplicate: boolean }> {
  const name = directoryName(rawName);
  const outcome = await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'rename', name } });
  resultOf(outcome, 'rename');
  return { directory: await findDirectory(ctx.em, actor.userId, directoryId), duplicate: isReplay(outcome) };
}

/** Soft delete: the directory leaves every API and frees its name; its goods and history stay. */
export async function deleteDirectory(ctx: InventoryContext, actor: Actor, directoryId: number, eventId?: string): Promise<void> {
  resultOf(await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'delete' } }), 'delete');
}

/** A directory as its `directory` events show it, deleted or not (read after the commit that changed it). */
export async function directoryViewById(em: Em, directoryId: number): Promise<DirectoryView> {
  const row = await directoryQuery(em).where({ id: directoryId }).execute<DirectoryRow | undefined>('get');
  if (!row) throw directoryNotFound();
  return directoryView(row);
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

/** The current revision of each of these directories (live or not), by id. */
export async function directoryRevisions(em: Em, directoryIds: number[]): Promise<Map<number, number>> {
  const rows = await em.createQueryBuilder(Directory).select(['id', 'revision']).where({ id: { $in: directoryIds } }).execute<{ id: number; revision: number }[]>('all');
  return new Map(rows.map((row) => [row.id, row.revision]));
}
