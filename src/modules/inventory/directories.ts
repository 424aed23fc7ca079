import type { Em } from '../../db/orm';
import { AppError, badRequest } from '../../errors';
import { retryingLostRaces } from '../../db/raw';
import { decide, directoryNotFound, type Role } from './access';
import type { InventoryContext } from './context';
import { Directory } from './entities';
import { isReplay, outcomeRow, previousOutcome, resultOf, type Outcome } from './mutate';
import { sqlStore, type InventoryStore } from './store';
import type { Actor, DirectoryView } from './views';
import { isStorableText } from '../../validation';

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
  created_at: Date | string | number;
  updated_at: Date | string | number;
  role: Role;
  owner_id: number;
  owner_nickname: string | null;
  // Aggregates come back as strings from MySQL (DECIMAL sums) and as numbers from SQLite.
  goods_count: number | string | null;
  total_count: number | string | null;
}

/**
 * Directories as one user sees them (with their role and the owner), from the membership rows: a
 * directory the user is not a member of is never read here.
 */
const DIRECTORY_SELECT = `select d.id, d.name, d.freq, d.revision, d.created_at, d.updated_at, m.role, d.owner_id,
  (select o.nickname from users o where o.id = d.owner_id) as owner_nickname,
  (select count(*) from goods g where g.directory_id = d.id) as goods_count,
  (select coalesce(sum(g.count), 0) from goods g where g.directory_id = d.id) as total_count
  from members m join directories d on d.id = m.directory_id`;

function directoryView(row: DirectoryRow): DirectoryView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    owner: { id: row.owner_id, nickname: row.owner_nickname ?? '' },
    freq: row.freq,
    revision: row.revision,
    goodsCount: Number(row.goods_count ?? 0),
    totalCount: Number(row.total_count ?? 0),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** Every live directory the user is a member of, most used first. */
export async function listDirectories(em: Em, userId: number): Promise<DirectoryView[]> {
  const rows = await em.execute<DirectoryRow[]>(`${DIRECTORY_SELECT} where m.user_id = ? and d.deleted_at is null order by d.freq desc, d.id asc`, [userId]);
  return rows.map(directoryView);
}

/**
 * The directory as this member sees it, deleted or not (a `directory` event after a delete shows what
 * was deleted); null when they are not a member.
 */
export async function directoryViewFor(em: Em, userId: number, directoryId: number): Promise<DirectoryView | null> {
  const [row] = await em.execute<DirectoryRow[]>(`${DIRECTORY_SELECT} where m.user_id = ? and d.id = ?`, [userId, directoryId]);
  return row ? directoryView(row) : null;
}

/**
 * The directory (deleted or not) with every member and their role: the audience of its `directory`
 * events. The view is its owner's; each member is shown it with their own role.
 */
export async function directoryAudience(em: Em, directoryId: number): Promise<{ directory: DirectoryView; audience: { userId: number; role: Role }[] } | null> {
  const [row] = await em.execute<DirectoryRow[]>(`${DIRECTORY_SELECT} where m.role = 'owner' and d.id = ?`, [directoryId]);
  if (!row) return null;
  const members = await em.execute<{ user_id: number; role: Role }[]>('select user_id, role from members where directory_id = ?', [directoryId]);
  return { directory: directoryView(row), audience: members.map((member) => ({ userId: member.user_id, role: member.role })) };
}

/** What an authorized read knows: the directory, and the actor's role in it. */
export interface Access {
  directoryId: number;
  role: Role;
}

/**
 * Asks the access seam whether the user may do what needs `required` in this directory, with one
 * query: `directory_not_found` for a stranger or a missing or deleted directory, `forbidden` for too
 * low a role; the role otherwise.
 */
export async function authorize(em: Em, userId: number, directoryId: number, required: Role, what?: string): Promise<Access> {
  const [row] = await em.execute<{ deleted_at: unknown; role: Role | null }[]>(
    'select d.deleted_at, m.role from directories d left join members m on m.directory_id = d.id and m.user_id = ? where d.id = ?',
    [userId, directoryId],
  );
  const role = decide(row ? { deleted: row.deleted_at !== null, role: row.role } : null, required, what);
  return { directoryId, role };
}

/**
 * Oldest first: the order the seed answered in (its `ordering = ['-freq']` sat in a lowercase
 * `class meta`, so Django never applied it), and its app takes `dirs[0]` as the current warehouse.
 */
export function inCreationOrder(directories: DirectoryView[]): DirectoryView[] {
  return [...directories].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
}

/** The directory as the member of an authorized read sees it. */
export async function findDirectory(em: Em, userId: number, access: Access): Promise<DirectoryView> {
  const directory = await directoryViewFor(em, userId, access.directoryId);
  if (!directory) throw directoryNotFound();
  return directory;
}

/**
 * Creates a directory at revision 0, logged as `create`, through the store of the caller's transaction
 * (login makes 默认 in its own, for a user who has none). Refused with quota_exceeded when the owner
 * already has `maxOwned` live ones (counted with their row locked, so two creates at the cap cannot
 * both pass), and with name_taken when they have a live one of that name.
 */
export async function insertDirectory(store: InventoryStore, actor: Actor, name: string, at: Date, maxOwned?: number): Promise<number> {
  if (maxOwned !== undefined && (await store.lockOwnedDirectories(actor.userId)) >= maxOwned) {
    throw new AppError('quota_exceeded', `a user owns at most ${maxOwned} directories: delete one first`, { limit: maxOwned });
  }
  if ((await store.liveDirectoryNamed(actor.userId, name)) !== null) throw nameTaken(name);
  const id = await store.insertDirectory(actor.userId, name, at);
  await store.appendLog([{ directoryId: id, userId: actor.userId, deviceId: actor.deviceId, type: 'create', goods: null, delta: null, dirName: name, revision: 0, eventId: null, at }]);
  return id;
}

/** A new directory, its creator its owner; with an event id, exactly once like every mutation. */
export async function createDirectory(ctx: InventoryContext, actor: Actor, rawName: string, eventId?: string): Promise<{ directory: DirectoryView; duplicate: boolean }> {
  const name = directoryName(rawName);
  const outcome = await createOnce(ctx, actor, name, eventId);
  const { directoryId } = resultOf(outcome, 'create');
  const directory = await directoryViewFor(ctx.em, actor.userId, directoryId);
  if (!directory) throw directoryNotFound();
  const duplicate = isReplay(outcome);
  if (!duplicate) ctx.events.emit('directory', { directoryId, event: 'created' });
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
        outcome = { ok: true, value: { kind: 'create', directoryId: await insertDirectory(store, actor, name, at, ctx.maxDirectoriesPerUser) }, duplicate: false };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        outcome = { ok: false, error };
      }
      if (eventId !== undefined) await store.storeOutcomes([outcomeRow(actor, eventId, 'create', outcome, at)]);
      return outcome;
    });
  return retryingLostRaces(create, 3);
}

export async function renameDirectory(
  ctx: InventoryContext,
  actor: Actor,
  directoryId: number,
  rawName: string,
  eventId: string | undefined,
  required: Role,
): Promise<{ directory: DirectoryView; duplicate: boolean }> {
  const name = directoryName(rawName);
  const outcome = await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'rename', name }, required });
  resultOf(outcome, 'rename');
  const directory = await directoryViewFor(ctx.em, actor.userId, directoryId);
  if (!directory) throw directoryNotFound();
  return { directory, duplicate: isReplay(outcome) };
}

/** Soft delete: the directory leaves every API and frees its name; its goods, members and history stay. */
export async function deleteDirectory(ctx: InventoryContext, actor: Actor, directoryId: number, eventId: string | undefined, required: Role): Promise<{ duplicate: boolean }> {
  const outcome = await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'delete' }, required });
  resultOf(outcome, 'delete');
  return { duplicate: isReplay(outcome) };
}

/**
 * The live directory of this owner with that name: the legacy routes address directories by name and
 * see only the user's own (the seed's app knows no other). Access is still the seam's to decide.
 * Names are stored trimmed, so a name is found whether it is sent as typed (the seed's app keeps
 * " 仓库B " as the user typed it) or trimmed.
 */
export async function directoryIdByName(em: Em, ownerId: number, name: string): Promise<number | null> {
  // No stored name holds a NUL, and SQLite could not even be asked: the ORM writes the value into the statement, which a NUL cuts short.
  if (!isStorableText(name)) return null;
  const row = await em.createQueryBuilder(Directory).select('id').where({ owner: ownerId, liveName: name.trim() }).execute<{ id: number } | undefined>('get');
  return row?.id ?? null;
}

/** The current revision of each of these directories (live or not), by id. */
export async function directoryRevisions(em: Em, directoryIds: number[]): Promise<Map<number, number>> {
  const rows = await em
    .createQueryBuilder(Directory)
    .select(['id', 'revision'])
    .where({ id: { $in: directoryIds } })
    .execute<{ id: number; revision: number }[]>('all');
  return new Map(rows.map((row) => [row.id, row.revision]));
}

/**
 * For the periodic check of what sockets watch: each directory's liveness and the roles of its members
 * (those of `userIds`), so that a membership or delete whose bus message was lost still ends the
 * subscriptions of whoever lost access, within REVISION_CHECK_MS.
 */
export async function watchedAccess(em: Em, directoryIds: number[], userIds: number[]): Promise<Map<number, { deleted: boolean; roles: Map<number, Role> }>> {
  const found = new Map<number, { deleted: boolean; roles: Map<number, Role> }>();
  if (directoryIds.length === 0) return found;
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  const rows = await em.execute<{ id: number; deleted_at: unknown; user_id: number | null; role: Role | null }[]>(
    `select d.id, d.deleted_at, m.user_id, m.role from directories d left join members m on m.directory_id = d.id and m.user_id in (${marks(Math.max(userIds.length, 1))}) where d.id in (${marks(directoryIds.length)})`,
    [...(userIds.length > 0 ? userIds : [0]), ...directoryIds],
  );
  for (const row of rows) {
    const entry = found.get(row.id) ?? { deleted: row.deleted_at !== null, roles: new Map<number, Role>() };
    if (row.user_id !== null && row.role !== null) entry.roles.set(row.user_id, row.role);
    found.set(row.id, entry);
  }
  return found;
}

/**
 * The live memberships of these users, with each directory's name: what the periodic check compares
 * with the `directory` frames their sockets were sent, so that one lost on the bus is sent again.
 */
export async function liveMemberships(em: Em, userIds: number[]): Promise<{ userId: number; directoryId: number; role: Role; name: string }[]> {
  if (userIds.length === 0) return [];
  const rows = await em.execute<{ user_id: number; directory_id: number; role: Role; name: string }[]>(
    `select m.user_id, m.directory_id, m.role, d.name from members m join directories d on d.id = m.directory_id where d.deleted_at is null and m.user_id in (${userIds.map(() => '?').join(', ')})`,
    userIds,
  );
  return rows.map((row) => ({ userId: row.user_id, directoryId: row.directory_id, role: row.role, name: row.name }));
}

/** These directories as their owner sees them, deleted or not, and whether they are: what a recovered `directory` frame shows. */
export async function directoryStates(em: Em, directoryIds: number[]): Promise<Map<number, { directory: DirectoryView; deleted: boolean }>> {
  if (directoryIds.length === 0) return new Map();
  const rows = await em.execute<(DirectoryRow & { deleted_at: unknown })[]>(
    `${DIRECTORY_SELECT.replace(/^select /, 'select d.deleted_at, ')} where m.role = 'owner' and d.id in (${directoryIds.map(() => '?').join(', ')})`,
    directoryIds,
  );
  return new Map(rows.map((row) => [row.id, { directory: directoryView(row), deleted: row.deleted_at !== null }]));
}
