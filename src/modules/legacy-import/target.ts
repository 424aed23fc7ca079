import type { Em } from '../../db/orm';
import type { Imported, Kind, OldTables, Target, TargetDirectory, TargetGoods, TargetUser } from './model';

/**
 * What the scancode database holds that the plan depends on: the rows earlier runs imported (with
 * their fingerprints), the users with the old openids, their directories (live names, revisions) and
 * the goods of the directories imported before. Read with bound parameters only.
 */
export async function readTarget(em: Em, old: OldTables): Promise<Target> {
  const imported: Record<Kind, Map<number, Imported>> = { user: new Map(), directory: new Map(), goods: new Map(), log: new Map() };
  const rows = await em.execute<{ kind: Kind; old_id: number; new_id: number | null; fingerprint: string }[]>('select kind, old_id, new_id, fingerprint from legacy_imports');
  for (const row of rows) imported[row.kind]?.set(Number(row.old_id), { newId: row.new_id === null ? null : Number(row.new_id), fingerprint: row.fingerprint });

  const openids = [...new Set(old.users.map((u) => u.openid))];
  const users = await inChunks(openids, (chunk) => em.execute<TargetUser[]>(`select id, openid, nickname, gender, city, province from users where openid in (${marks(chunk)})`, chunk));
  const usersByOpenid = new Map(users.map((u) => [u.openid, { ...u, id: Number(u.id), gender: Number(u.gender) }]));

  type DirectoryRow = { id: number; owner_id: number; name: string; live_name: string | null; deleted_at: unknown; revision: number; freq: number; updated_at: unknown };
  const directorySql = 'select id, owner_id, name, live_name, deleted_at, revision, freq, updated_at from directories where';
  const ownerIds = [...usersByOpenid.values()].map((u) => u.id);
  const importedIds = [...imported.directory.values()].flatMap((i) => (i.newId === null ? [] : [i.newId]));
  const directoryRows = [
    ...(await inChunks(ownerIds, (chunk) => em.execute<DirectoryRow[]>(`${directorySql} owner_id in (${marks(chunk)})`, chunk))),
    ...(await inChunks(importedIds, (chunk) => em.execute<DirectoryRow[]>(`${directorySql} id in (${marks(chunk)})`, chunk))),
  ];
  const lastAt = new Map<number, Date>();
  const lastRows = await inChunks(importedIds, (chunk) =>
    em.execute<{ directory_id: number; last_at: unknown }[]>(`select directory_id, max(at) as last_at from logs where directory_id in (${marks(chunk)}) group by directory_id`, chunk),
  );
  for (const row of lastRows) lastAt.set(Number(row.directory_id), toDate(row.last_at));

  const directories = new Map<number, TargetDirectory>();
  const liveNames = new Map<number, Set<string>>();
  for (const row of directoryRows) {
    const id = Number(row.id);
    const ownerId = Number(row.owner_id);
    const updatedAt = toDate(row.updated_at);
    directories.set(id, { id, ownerId, name: row.name, deleted: row.deleted_at !== null, revision: Number(row.revision), freq: Number(row.freq), updatedAt, lastAt: lastAt.get(id) ?? updatedAt });
    if (row.live_name !== null) liveNames.set(ownerId, (liveNames.get(ownerId) ?? new Set()).add(row.live_name));
  }

  const goods = new Map<number, Map<string, TargetGoods>>();
  const goodsRows = await inChunks(importedIds, (chunk) =>
    em.execute<{ id: number; directory_id: number; code_hash: string; count: number; name: string; remarks: string; updated_at: unknown }[]>(
      `select id, directory_id, code_hash, count, name, remarks, updated_at from goods where directory_id in (${marks(chunk)})`,
      chunk,
    ),
  );
  for (const row of goodsRows) {
    const byCode = goods.get(Number(row.directory_id)) ?? new Map<string, TargetGoods>();
    byCode.set(row.code_hash, { id: Number(row.id), count: Number(row.count), name: row.name, remarks: row.remarks, updatedAt: toDate(row.updated_at) });
    goods.set(Number(row.directory_id), byCode);
  }
  return { imported, usersByOpenid, directories, liveNames, goods };
}

/** Dates come back as Date from MySQL and as epoch milliseconds from SQLite. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === 'number' || typeof value === 'bigint' ? Number(value) : String(value));
}

const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ');

/** One statement per 500 values: `in (...)` lists stay far below either database's parameter limit. */
async function inChunks<V, R>(values: readonly V[], query: (chunk: V[]) => Promise<R[]>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < values.length; i += 500) results.push(...(await query(values.slice(i, i + 500))));
  return results;
}
