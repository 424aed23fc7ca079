import { changeFromLog, type LogRow } from './context';
import { findDirectory, type Access } from './directories';
import { directoryWithGoods } from './goods';
import { LogEntry } from './entities';
import { User } from '../auth/entities';
import type { Em } from '../../db/orm';
import type { LogEntry as LogEntryView } from '../../contract';
import type { Change, GoodsView } from './views';

export type ChangesAnswer = { revision: number; changes: Change[] } | { revision: number; reset: true; goods: GoodsView[] };

const LOG_FIELDS = [
  'revision',
  'type',
  'goodsId',
  'code',
  'name',
  'remarks',
  'countAfter',
  'delta',
  'dirName',
  'eventId',
  'user',
  'deviceId',
  'at',
  'directory',
  'transferId',
  'transferFrom',
  'transferTo',
  'undoes',
  'countId',
  'lowStock',
  'minCount',
] as const;

/**
 * Every change after revision `since`, in order, from the log. When the client is further behind than
 * `replayLimit` changes (or claims a revision the directory never had), a snapshot is cheaper and
 * safer: the answer is `reset` with the current goods.
 */
export async function changesSince(em: Em, userId: number, access: Access, since: number, replayLimit: number): Promise<ChangesAnswer> {
  const directory = await findDirectory(em, userId, access);
  const directoryId = access.directoryId;
  if (!canReplay(since, directory.revision, replayLimit)) {
    const snapshot = await directoryWithGoods(em, userId, access);
    return { revision: snapshot.directory.revision, reset: true, goods: snapshot.goods };
  }
  const changes = await logChanges(em, directoryId, since, directory.revision);
  return { revision: directory.revision, changes };
}

/** Whether a client at `since` is resumed from the log (else it gets a snapshot): the rule of `changes` and of a subscribe. */
export function canReplay(since: number, revision: number, replayLimit: number): boolean {
  return since <= revision && revision - since <= replayLimit;
}

/**
 * A directory's log rows with revisions in (after, upTo], in order, with who made each: one plain
 * statement (params: directory id, after, upTo), run on the ORM's connection (logChanges) or inside a
 * transaction (the webhook worker reads its pages with it).
 */
export const LOG_PAGE = `select l.revision, l.type, l.goods_id as goodsId, l.code, l.name, l.remarks, l.count_after as countAfter, l.delta,
  l.dir_name as dirName, l.event_id as eventId, l.user_id as user, u.nickname, l.device_id as deviceId, l.at, l.directory_id as directory,
  l.transfer_id as transferId, l.transfer_from as transferFrom, l.transfer_to as transferTo, l.undoes, l.count_id as countId, l.low_stock as lowStock,
  l.min_count as minCount
  from logs l left join users u on u.id = l.user_id where l.directory_id = ? and l.revision > ? and l.revision <= ? order by l.revision`;

/** The changes with revisions in (after, upTo], in order. */
export async function logChanges(em: Em, directoryId: number, after: number, upTo: number): Promise<Change[]> {
  return (await em.execute<LogRow[]>(LOG_PAGE, [directoryId, after, upTo])).map(changeFromLog);
}

/** The nicknames of these users (a Change names who made it), in one query. */
async function nicknamesOf(em: Em, userIds: number[]): Promise<Map<number, string>> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return new Map();
  const rows = await em
    .createQueryBuilder(User)
    .select(['id', 'nickname'])
    .where({ id: { $in: ids } })
    .execute<{ id: number; nickname: string }[]>('all');
  return new Map(rows.map((row) => [row.id, row.nickname]));
}

/** The history of a directory, newest first, `limit` at a time; `next` is the `before` of the next page. */
export async function directoryLogs(em: Em, access: Access, before: number | undefined, limit: number): Promise<{ logs: LogEntryView[]; next: number | null }> {
  const directoryId = access.directoryId;
  const rows = await em
    .createQueryBuilder(LogEntry)
    .select(['id', 'undoneBy', ...LOG_FIELDS])
    .where({ directory: directoryId, ...(before !== undefined ? { revision: { $lt: before } } : {}) })
    .orderBy({ revision: 'desc' })
    .limit(limit + 1)
    .execute<(LogRow & { id: number; undoneBy: number | null })[]>('all');
  const page = rows.slice(0, limit);
  const nicknames = await nicknamesOf(
    em,
    page.map((row) => row.user),
  );
  return {
    logs: page.map((row) => ({
      id: row.id,
      revision: row.revision,
      type: row.type,
      userId: row.user,
      nickname: nicknames.get(row.user) ?? '',
      deviceId: row.deviceId,
      code: row.code,
      name: row.name,
      delta: row.delta,
      countAfter: row.countAfter,
      directoryName: row.dirName,
      eventId: row.eventId,
      at: new Date(row.at).toISOString(),
      ...(row.undoes ? { undoes: row.undoes } : {}),
      ...(row.undoneBy ? { undoneBy: row.undoneBy } : {}),
      ...(row.transferId ? { transfer: { id: row.transferId, from: row.transferFrom ?? 0, to: row.transferTo ?? 0 } } : {}),
      ...(row.countId ? { countId: row.countId } : {}),
    })),
    next: rows.length > limit ? page[page.length - 1].revision : null,
  };
}
