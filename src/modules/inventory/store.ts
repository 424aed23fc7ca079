import { groupBy } from '../../collections';
import type { Statements } from '../../db/raw';
import type { Role } from '../../contract/constants';
import type { LogType } from './entities';
import type { GoodsState } from './rules';

/**
 * The statements behind every mutation, each bound as parameters, on the connection of the caller's
 * transaction. Small on purpose: the mutation path (mutate.ts) decides, this only reads and writes.
 */

export interface DirectoryRow {
  id: number;
  ownerId: number;
  name: string;
  revision: number;
  deleted: boolean;
  /** How many goods it holds (kept by every mutation that adds or removes one). */
  goodsCount: number;
  /** The asked-for users who are members, with their role and nickname (the access seam decides with it). */
  members: Map<number, { role: Role; nickname: string }>;
}

export interface StoredGoods extends GoodsState {
  id: number;
  codeHash: string;
  /** The low-stock threshold (0: none). */
  minCount: number;
}

/** What a log row says of one change, for an undo: what it did, to what, by whom, and whether it was undone. */
export interface LoggedChange {
  revision: number;
  type: LogType;
  userId: number;
  goodsId: number | null;
  code: string | null;
  name: string | null;
  remarks: string | null;
  countAfter: number | null;
  delta: number | null;
  transferId: string | null;
  transferFrom: number | null;
  transferTo: number | null;
  undoes: number | null;
  undoneBy: number | null;
}

export interface CountRow {
  id: number;
  directoryId: number;
  name: string;
  status: 'open' | 'finished' | 'cancelled';
  startedBy: number;
  startedAt: Date;
  closedAt: Date | null;
}

export interface LogInsert {
  directoryId: number;
  userId: number;
  deviceId: string | null;
  type: LogType;
  goods: GoodsState | null;
  delta: number | null;
  dirName: string | null;
  revision: number;
  eventId: string | null;
  at: Date;
  transfer?: { id: string; from: number; to: number };
  undoes?: number;
  countId?: number;
  /** The change crossed the goods' minCount downwards. */
  lowStock?: boolean;
  /** The code when there is no goods after the change (an undo that takes a goods away again). */
  code?: string;
}

/** What a directory's row becomes at the end of a transaction that changed it. */
export interface DirectoryAdvance {
  id: number;
  revision: number;
  freqDelta: number;
  goodsDelta: number;
  at: Date;
  name?: string;
  deletedAt?: Date;
}

export interface StoredOutcome {
  ok: boolean;
  outcome: string;
}

export interface OutcomeInsert {
  userId: number;
  eventId: string;
  ok: boolean;
  outcome: string;
  at: Date;
}

/** A goods row to reserve: its directory, its code as it will be stored, and the code's hash. */
export interface GoodsReservation {
  directoryId: number;
  code: string;
  codeHash: string;
}

export interface InventoryStore {
  /**
   * The directory row with the memberships of these users, locked until commit on MySQL (SQLite's
   * single writer needs no row lock): one statement, so that the access check costs a scan nothing.
   * Every writer of a directory's members locks this row first, so a role read here holds until commit.
   */
  lockDirectory(directoryId: number, userIds: readonly number[]): Promise<DirectoryRow | null>;
  /**
   * The same for several directories at once (those that exist), locked in id order by one statement:
   * every writer that holds several directory rows takes them in this order, so none waits in a cycle.
   */
  lockDirectories(directoryIds: readonly number[], userIds: readonly number[]): Promise<Map<number, DirectoryRow>>;
  /** The stored outcomes of these event ids, by user then event id (one statement for every user). */
  outcomes(eventIds: ReadonlyMap<number, readonly string[]>): Promise<Map<number, Map<string, StoredOutcome>>>;
  /** The goods of these code hashes, by directory then code hash (one statement for every directory). */
  goodsOf(hashes: ReadonlyMap<number, readonly string[]>): Promise<Map<number, Map<string, StoredGoods>>>;
  insertGoods(directoryId: number, goods: GoodsState, codeHash: string, at: Date): Promise<number>;
  /**
   * Rows for goods a transaction may create (empty, count 0), by directory then code hash: one insert
   * and one read for all of them, where inserting each as it is created is a statement (a round trip)
   * per new goods. The transaction writes the ones it uses (updateGoods) and deletes the rest.
   */
  reserveGoods(rows: readonly GoodsReservation[], at: Date): Promise<Map<number, Map<string, number>>>;
  /** Writes the name, remarks, count and minCount of these goods (of any directories): one statement. */
  updateGoods(goods: readonly StoredGoods[], at: Date): Promise<void>;
  deleteGoods(id: number): Promise<void>;
  /** Deletes these goods rows (reservations left unused): one statement. */
  deleteGoodsRows(ids: readonly number[]): Promise<void>;
  appendLog(entries: LogInsert[]): Promise<void>;
  storeOutcomes(outcomes: OutcomeInsert[]): Promise<void>;
  /**
   * Each directory's new revision, freq and goods count, and for a rename or delete its new name or its
   * deletion: one statement for those that only advance.
   */
  advanceDirectories(advances: readonly DirectoryAdvance[]): Promise<void>;
  /** The live directory of this owner with that name, if any. */
  liveDirectoryNamed(ownerId: number, name: string): Promise<number | null>;
  /**
   * How many live directories the user owns, with the user's row locked until commit on MySQL (SQLite's
   * single writer needs none): two creates by one user wait for each other, so neither passes the cap
   * on a count the other is about to change.
   */
  lockOwnedDirectories(ownerId: number): Promise<number>;
  /** A new directory with its owner as its `owner` member. */
  insertDirectory(ownerId: number, name: string, at: Date): Promise<number>;
  /** The log rows of these revisions of a directory. */
  loggedChanges(directoryId: number, revisions: readonly number[]): Promise<Map<number, LoggedChange>>;
  /** The sides of a transfer, by directory. */
  transferSides(transferId: string): Promise<(LoggedChange & { directoryId: number })[]>;
  /** The goods' name and remarks as the last change before `revision` left them (null: it did not exist). */
  goodsBefore(directoryId: number, code: string, revision: number): Promise<{ name: string; remarks: string } | null>;
  markUndone(directoryId: number, revision: number, by: number): Promise<void>;
  /** The count session, locked until commit on MySQL. */
  lockCount(countId: number): Promise<CountRow | null>;
  countLines(countId: number): Promise<{ code: string; codeHash: string; counted: number }[]>;
  closeCount(countId: number, status: 'finished' | 'cancelled', at: Date): Promise<void>;
  /** Every goods of the directory (a count's zeroMissing). */
  allGoods(directoryId: number): Promise<StoredGoods[]>;
}

const placeholderLists: string[] = [];
/** `?, ?, ?` for n values (made once per n). */
function placeholders(n: number): string {
  return (placeholderLists[n] ??= Array.from({ length: n }, () => '?').join(', '));
}

interface GoodsRow {
  id: number;
  code: string;
  code_hash: string;
  name: string;
  remarks: string;
  count: number;
  min_count: number;
}
const GOODS_SELECT = 'select id, code, code_hash, name, remarks, count, min_count from goods';
const GOODS_SELECT_WITH_DIRECTORY = 'select directory_id, id, code, code_hash, name, remarks, count, min_count from goods';

interface DirectoryRowRaw {
  id: number;
  owner_id: number;
  name: string;
  revision: number;
  goods_count: number;
  deleted_at: unknown;
  user_id: number | null;
  role: Role | null;
  nickname: string | null;
}

/** Branches of one `union all` at most (SQLite allows 500 in a compound select). */
const MAX_BRANCHES = 200;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  return parts;
}
const storedGoods = (row: GoodsRow): StoredGoods => ({ id: row.id, code: row.code, codeHash: row.code_hash, name: row.name, remarks: row.remarks, count: row.count, minCount: row.min_count });

interface LogRowRaw {
  revision: number;
  type: LogType;
  user_id: number;
  goods_id: number | null;
  code: string | null;
  name: string | null;
  remarks: string | null;
  count_after: number | null;
  delta: number | null;
  transfer_id: string | null;
  transfer_from: number | null;
  transfer_to: number | null;
  undoes: number | null;
  undone_by: number | null;
  directory_id: number;
}
const LOG_SELECT = 'select revision, type, user_id, goods_id, code, name, remarks, count_after, delta, transfer_id, transfer_from, transfer_to, undoes, undone_by, directory_id from logs';
const loggedChange = (row: LogRowRaw): LoggedChange & { directoryId: number } => ({
  revision: row.revision,
  type: row.type,
  userId: row.user_id,
  goodsId: row.goods_id,
  code: row.code,
  name: row.name,
  remarks: row.remarks,
  countAfter: row.count_after,
  delta: row.delta,
  transferId: row.transfer_id,
  transferFrom: row.transfer_from,
  transferTo: row.transfer_to,
  undoes: row.undoes,
  undoneBy: row.undone_by,
  directoryId: row.directory_id,
});

/** A count session's row as both databases answer it (times as Date, number or text). */
export interface CountRowRaw {
  id: number;
  directory_id: number;
  name: string;
  status: CountRow['status'];
  started_by: number;
  started_at: Date | number | string;
  closed_at: Date | number | string | null;
}

export const COUNT_SELECT = 'select id, directory_id, name, status, started_by, started_at, closed_at from counts';

export const countRow = (row: CountRowRaw): CountRow => ({
  id: row.id,
  directoryId: row.directory_id,
  name: row.name,
  status: row.status,
  startedBy: row.started_by,
  startedAt: new Date(row.started_at),
  closedAt: row.closed_at === null ? null : new Date(row.closed_at),
});

export function sqlStore(sql: Statements, dialect: 'mysql' | 'sqlite'): InventoryStore {
  const forUpdate = dialect === 'mysql' ? ' for update' : '';
  const advanceOne = async (change: DirectoryAdvance): Promise<void> => {
    const sets = ['revision = ?', 'freq = freq + ?', 'goods_count = goods_count + ?', 'updated_at = ?'];
    const params: unknown[] = [change.revision, change.freqDelta, change.goodsDelta, change.at];
    if (change.name !== undefined) {
      sets.push('name = ?', 'live_name = ?');
      params.push(change.name, change.name);
    }
    if (change.deletedAt !== undefined) {
      sets.push('live_name = null', 'deleted_at = ?');
      params.push(change.deletedAt);
    }
    await sql.run(`update directories set ${sets.join(', ')} where id = ?`, [...params, change.id]);
  };
  const lockDirectories = async (directoryIds: readonly number[], userIds: readonly number[]): Promise<Map<number, DirectoryRow>> => {
    const ids = [...new Set(directoryIds)];
    const users = userIds.length > 0 ? [...new Set(userIds)] : [0];
    // The nickname through a subquery: a locking read locks the rows of its joins but not those of its
    // subqueries, and a user's row must not wait for (or hold up) every directory they scan into.
    // The primary key read in id order is the order the rows are locked in (see the interface).
    const rows = await sql.all<DirectoryRowRaw>(
      `select d.id, d.owner_id, d.name, d.revision, d.goods_count, d.deleted_at, m.user_id, m.role, (select u.nickname from users u where u.id = m.user_id) as nickname
       from directories d left join members m on m.directory_id = d.id and m.user_id in (${placeholders(users.length)}) where d.id ${ids.length === 1 ? '= ?' : `in (${placeholders(ids.length)})`} order by d.id${forUpdate}`,
      [...users, ...ids],
    );
    const found = new Map<number, DirectoryRow>();
    for (const row of rows) {
      let directory = found.get(row.id);
      if (!directory) {
        directory = { id: row.id, ownerId: row.owner_id, name: row.name, revision: row.revision, deleted: row.deleted_at !== null, goodsCount: Number(row.goods_count), members: new Map() };
        found.set(row.id, directory);
      }
      if (row.user_id !== null && row.role !== null) directory.members.set(row.user_id, { role: row.role, nickname: row.nickname ?? '' });
    }
    return found;
  };
  return {
    lockDirectories,

    async lockDirectory(directoryId, userIds) {
      return (await lockDirectories([directoryId], userIds)).get(directoryId) ?? null;
    },

    async outcomes(eventIds) {
      const found = new Map<number, Map<string, StoredOutcome>>();
      const users = [...eventIds].filter(([, ids]) => ids.length > 0);
      // One branch per user, each a range of the (user_id, event_id) key; one round trip for all.
      for (const part of chunks(users, MAX_BRANCHES)) {
        const rows = await sql.all<{ user_id: number; event_id: string; ok: number | boolean; outcome: string }>(
          part.map(([, ids]) => `select user_id, event_id, ok, outcome from event_outcomes where user_id = ? and event_id in (${placeholders(ids.length)})`).join(' union all '),
          part.flatMap(([userId, ids]) => [userId, ...ids]),
        );
        for (const row of rows) {
          let own = found.get(row.user_id);
          if (!own) found.set(row.user_id, (own = new Map()));
          own.set(row.event_id, { ok: Boolean(row.ok), outcome: row.outcome });
        }
      }
      return found;
    },

    async goodsOf(hashes) {
      const found = new Map<number, Map<string, StoredGoods>>();
      const directories = [...hashes].filter(([, own]) => own.length > 0);
      // One branch per directory, each a range of the (directory_id, code_hash) key.
      for (const part of chunks(directories, MAX_BRANCHES)) {
        const rows = await sql.all<GoodsRow & { directory_id: number }>(
          part.map(([, own]) => `${GOODS_SELECT_WITH_DIRECTORY} where directory_id = ? and code_hash in (${placeholders(own.length)})`).join(' union all '),
          part.flatMap(([directoryId, own]) => [directoryId, ...own]),
        );
        for (const row of rows) {
          let own = found.get(row.directory_id);
          if (!own) found.set(row.directory_id, (own = new Map()));
          own.set(row.code_hash, storedGoods(row));
        }
      }
      return found;
    },

    async insertGoods(directoryId, goods, codeHash, at) {
      const inserted = await sql.run('insert into goods (directory_id, code, code_hash, name, remarks, count, min_count, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        directoryId,
        goods.code,
        codeHash,
        goods.name,
        goods.remarks,
        goods.count,
        goods.minCount ?? 0,
        at,
        at,
      ]);
      return inserted.insertId;
    },

    async updateGoods(goods, at) {
      if (goods.length === 0) return;
      if (goods.length === 1) {
        const [one] = goods;
        await sql.run('update goods set name = ?, remarks = ?, count = ?, min_count = ?, updated_at = ? where id = ?', [one.name, one.remarks, one.count, one.minCount, at, one.id]);
        return;
      }
      // Many rows, each its own values: one statement, a CASE on the primary key per column.
      const column = (name: string) => `${name} = case id ${goods.map(() => 'when ? then ?').join(' ')} end`;
      const values = (of: (g: StoredGoods) => unknown) => goods.flatMap((g) => [g.id, of(g)]);
      await sql.run(`update goods set ${column('name')}, ${column('remarks')}, ${column('count')}, ${column('min_count')}, updated_at = ? where id in (${placeholders(goods.length)})`, [
        ...values((g) => g.name),
        ...values((g) => g.remarks),
        ...values((g) => g.count),
        ...values((g) => g.minCount),
        at,
        ...goods.map((g) => g.id),
      ]);
    },

    async deleteGoods(id) {
      await sql.run('delete from goods where id = ?', [id]);
    },

    async reserveGoods(rows, at) {
      const found = new Map<number, Map<string, number>>();
      if (rows.length === 0) return found;
      const byDirectory = groupBy(
        rows,
        (row) => row.directoryId,
        (row) => row.codeHash,
      );
      // The insert and the reads of the ids it made, issued together: one connection runs them in order,
      // and the embedded database's writer thread gets them as one message.
      const inserted = sql.run(
        `insert into goods (directory_id, code, code_hash, name, remarks, count, min_count, created_at, updated_at) values ${rows.map(() => "(?, ?, ?, '', '', 0, 0, ?, ?)").join(', ')}`,
        rows.flatMap((row) => [row.directoryId, row.code, row.codeHash, at, at]),
      );
      const reads = chunks([...byDirectory], MAX_BRANCHES).map((part) =>
        sql.all<{ id: number; directory_id: number; code_hash: string }>(
          part.map(([, own]) => `select id, directory_id, code_hash from goods where directory_id = ? and code_hash in (${placeholders(own.length)})`).join(' union all '),
          part.flatMap(([directoryId, own]) => [directoryId, ...own]),
        ),
      );
      const [, ...read] = await Promise.all([inserted, ...reads]);
      for (const row of read.flat()) {
        let own = found.get(row.directory_id);
        if (!own) found.set(row.directory_id, (own = new Map()));
        own.set(row.code_hash, row.id);
      }
      return found;
    },

    async deleteGoodsRows(ids) {
      if (ids.length > 0) await sql.run(`delete from goods where id in (${placeholders(ids.length)})`, ids);
    },

    async appendLog(entries) {
      if (entries.length === 0) return;
      const columns =
        '(directory_id, user_id, device_id, type, goods_id, code, name, remarks, delta, count_after, dir_name, revision, event_id, at, transfer_id, transfer_from, transfer_to, undoes, count_id, low_stock, min_count)';
      const values = entries.flatMap((e) => [
        e.directoryId,
        e.userId,
        e.deviceId,
        e.type,
        e.goods?.id ?? null,
        e.goods?.code ?? e.code ?? null,
        e.goods?.name ?? null,
        e.goods?.remarks ?? null,
        e.delta,
        e.goods?.count ?? null,
        e.dirName,
        e.revision,
        e.eventId,
        e.at,
        e.transfer?.id ?? null,
        e.transfer?.from ?? null,
        e.transfer?.to ?? null,
        e.undoes ?? null,
        e.countId ?? null,
        e.lowStock ? 1 : 0,
        e.goods?.minCount ?? 0,
      ]);
      await sql.run(`insert into logs ${columns} values ${entries.map(() => `(${placeholders(21)})`).join(', ')}`, values);
    },

    async storeOutcomes(outcomes) {
      if (outcomes.length === 0) return;
      const values = outcomes.flatMap((o) => [o.userId, o.eventId, o.ok, o.outcome, o.at]);
      await sql.run(`insert into event_outcomes (user_id, event_id, ok, outcome, created_at) values ${outcomes.map(() => `(${placeholders(5)})`).join(', ')}`, values);
    },

    async advanceDirectories(advances) {
      // A rename or a delete (rare) writes its own row; the rest advance together.
      const plain = advances.filter((a) => a.name === undefined && a.deletedAt === undefined);
      for (const advance of plain.length > 1 ? advances.filter((a) => !plain.includes(a)) : advances) await advanceOne(advance);
      if (plain.length <= 1) return;
      const column = (of: (a: DirectoryAdvance) => unknown) => [`case id ${plain.map(() => 'when ? then ?').join(' ')} end`, plain.flatMap((a) => [a.id, of(a)])] as const;
      const [revision, revisions] = column((a) => a.revision);
      const [freq, freqs] = column((a) => a.freqDelta);
      const [goodsCount, goodsCounts] = column((a) => a.goodsDelta);
      const at = plain.reduce((latest, a) => (a.at > latest ? a.at : latest), plain[0].at);
      await sql.run(`update directories set revision = ${revision}, freq = freq + ${freq}, goods_count = goods_count + ${goodsCount}, updated_at = ? where id in (${placeholders(plain.length)})`, [
        ...revisions,
        ...freqs,
        ...goodsCounts,
        at,
        ...plain.map((a) => a.id),
      ]);
    },

    async liveDirectoryNamed(ownerId, name) {
      const [row] = await sql.all<{ id: number }>('select id from directories where owner_id = ? and live_name = ?', [ownerId, name]);
      return row?.id ?? null;
    },

    async lockOwnedDirectories(ownerId) {
      await sql.all(`select id from users where id = ?${forUpdate}`, [ownerId]);
      // live_name is null exactly when deleted: the unique key (owner_id, live_name) answers it alone.
      const [row] = await sql.all<{ owned: number | string }>('select count(*) as owned from directories where owner_id = ? and live_name is not null', [ownerId]);
      return Number(row.owned);
    },

    async insertDirectory(ownerId, name, at) {
      const inserted = await sql.run('insert into directories (owner_id, name, live_name, freq, revision, created_at, updated_at) values (?, ?, ?, 0, 0, ?, ?)', [ownerId, name, name, at, at]);
      await sql.run("insert into members (directory_id, user_id, role, created_at) values (?, ?, 'owner', ?)", [inserted.insertId, ownerId, at]);
      return inserted.insertId;
    },

    async loggedChanges(directoryId, revisions) {
      const found = new Map<number, LoggedChange>();
      if (revisions.length === 0) return found;
      const rows = await sql.all<LogRowRaw>(`${LOG_SELECT} where directory_id = ? and revision in (${placeholders(revisions.length)})`, [directoryId, ...revisions]);
      for (const row of rows) found.set(row.revision, loggedChange(row));
      return found;
    },

    async transferSides(transferId) {
      return (await sql.all<LogRowRaw>(`${LOG_SELECT} where transfer_id = ? order by directory_id`, [transferId])).map(loggedChange);
    },

    async goodsBefore(directoryId, code, revision) {
      // The code in the log is text (up to a QR code's 7,089 characters): compared as such, within one directory's rows.
      const [row] = await sql.all<{ name: string | null; remarks: string | null; type: LogType }>(
        'select name, remarks, type from logs where directory_id = ? and revision < ? and code = ? order by revision desc limit 1',
        [directoryId, revision, code],
      );
      if (!row || row.type === 'remove') return null;
      return { name: row.name ?? '', remarks: row.remarks ?? '' };
    },

    async markUndone(directoryId, revision, by) {
      await sql.run('update logs set undone_by = ? where directory_id = ? and revision = ?', [by, directoryId, revision]);
    },

    async lockCount(countId) {
      const [row] = await sql.all<CountRowRaw>(`${COUNT_SELECT} where id = ?${forUpdate}`, [countId]);
      return row ? countRow(row) : null;
    },

    async countLines(countId) {
      const rows = await sql.all<{ code: string; code_hash: string; counted: number }>('select code, code_hash, counted from count_lines where count_id = ? order by id', [countId]);
      return rows.map((row) => ({ code: row.code, codeHash: row.code_hash, counted: row.counted }));
    },

    async closeCount(countId, status, at) {
      await sql.run('update counts set status = ?, open_directory_id = null, closed_at = ? where id = ?', [status, at, countId]);
    },

    async allGoods(directoryId) {
      return (await sql.all<GoodsRow>(`${GOODS_SELECT} where directory_id = ? order by id`, [directoryId])).map(storedGoods);
    },
  };
}
