import type { CountLine, CountReportLine, CountSession, Role } from '../../contract';
import type { Em } from '../../db/orm';
import type { RawDatabase, Statements } from '../../db/raw';
import { AppError } from '../../errors';
import { decide, directoryNotFound } from '../inventory/access';
import { codeHash, goodsCode } from '../inventory/codes';
import type { Access } from '../inventory/directories';
import type { DomainEvents } from '../inventory/events';
import { outcomeRow, previousOutcome, resultOf, type Outcome } from '../inventory/mutate';
import { COUNT_SELECT, countRow, sqlStore, type CountRowRaw } from '../inventory/store';
import type { Actor } from '../inventory/views';
import { countClosed, countView } from './finish';

/**
 * Count sessions (a stocktake several phones work on at once): started on a directory, filled with
 * lines from any phone, exactly once by event id, finished (in the mutation queue: finish.ts) or
 * cancelled. All of it is in the database: a count survives a restart of any instance. A count is a
 * directory's for every access rule.
 */

export interface CountContext {
  em: Em;
  raw: RawDatabase;
  events: DomainEvents;
  now: () => Date;
}

/** The directory a count belongs to (its access rules are the directory's); directory_not_found for none. */
export async function directoryOfCount(em: Em, countId: number): Promise<number> {
  const [row] = await em.execute<{ directory_id: number }[]>('select directory_id from counts where id = ?', [countId]);
  if (!row) throw directoryNotFound();
  return row.directory_id;
}

/** The actor's role in a directory, read in the caller's transaction, through the access seam. */
async function roleIn(statements: Statements, actor: Actor, directoryId: number, required: Role, what: string): Promise<Role> {
  const [row] = await statements.all<{ deleted_at: unknown; role: Role | null }>(
    'select d.deleted_at, m.role from directories d left join members m on m.directory_id = d.id and m.user_id = ? where d.id = ?',
    [actor.userId, directoryId],
  );
  return decide(row ? { deleted: row.deleted_at !== null, role: row.role } : null, required, what);
}

/** Starts a count: one open count per directory (`count_open` with the open one's id otherwise). */
export async function startCount(
  ctx: CountContext,
  actor: Actor,
  directoryId: number,
  name: string | undefined,
  eventId: string | undefined,
  required: Role,
): Promise<{ count: CountSession; duplicate: boolean }> {
  const outcome = await ctx.raw.transaction(async (statements): Promise<Outcome> => {
    const store = sqlStore(statements, ctx.raw.dialect);
    const earlier = await previousOutcome(store, actor, eventId, 'startCount');
    if (earlier) return earlier;
    const at = ctx.now();
    let outcome: Outcome;
    try {
      // The directory's row first, as every write of the directory: two starts at once are serialized here.
      const directory = await store.lockDirectory(directoryId, [actor.userId]);
      decide(directory ? { deleted: directory.deleted, role: directory.members.get(actor.userId)?.role ?? null } : null, required, 'starting a count');
      const [open] = await statements.all<{ id: number }>('select id from counts where open_directory_id = ?', [directoryId]);
      if (open) throw new AppError('count_open', `this directory already has an open count session (${open.id})`, { countId: open.id });
      const countName = name?.trim() || `盘点 ${at.toISOString().slice(0, 10)}`;
      const inserted = await statements.run("insert into counts (directory_id, open_directory_id, name, status, started_by, started_at) values (?, ?, ?, 'open', ?, ?)", [
        directoryId,
        directoryId,
        countName,
        actor.userId,
        at,
      ]);
      const count = countView({ id: inserted.insertId, directoryId, name: countName, status: 'open', startedBy: actor.userId, startedAt: at, closedAt: null });
      outcome = { ok: true, value: { kind: 'startCount', count }, duplicate: false };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      outcome = { ok: false, error };
    }
    if (eventId !== undefined) await store.storeOutcomes([outcomeRow(actor, eventId, 'startCount', outcome, at)]);
    return outcome;
  });
  const { count } = resultOf(outcome, 'startCount');
  const duplicate = outcome.ok && outcome.duplicate;
  if (!duplicate) ctx.events.emit('count', { directoryId, countId: count.id, count });
  return { count, duplicate };
}

/**
 * Adds what a phone counted of a code: the code's counted total moves by `qty` (negative to correct a
 * miscount) and never below 0. The count's row is locked, so lines from many phones add up exactly;
 * the directory's is not, so counting never waits for scans. Exactly once by event id.
 */
export async function addCountLine(
  ctx: CountContext,
  actor: Actor,
  countId: number,
  scanned: string,
  qty: number,
  eventId: string | undefined,
  required: Role,
): Promise<{ line: CountLine; duplicate: boolean; directoryId: number }> {
  const code = goodsCode(scanned);
  const hash = codeHash(code);
  let directoryId = 0;
  const outcome = await ctx.raw.transaction(async (statements): Promise<Outcome> => {
    const store = sqlStore(statements, ctx.raw.dialect);
    const count = await store.lockCount(countId);
    if (!count) throw directoryNotFound();
    directoryId = count.directoryId;
    await roleIn(statements, actor, count.directoryId, required, 'counting');
    const earlier = await previousOutcome(store, actor, eventId, 'countLine');
    if (earlier) return earlier;
    const at = ctx.now();
    let outcome: Outcome;
    try {
      if (count.status !== 'open') throw countClosed(count.status);
      const [line] = await statements.all<{ id: number; counted: number }>('select id, counted from count_lines where count_id = ? and code_hash = ?', [countId, hash]);
      const counted = Math.max(0, (line?.counted ?? 0) + qty);
      if (line) await statements.run('update count_lines set counted = ?, updated_at = ? where id = ?', [counted, at, line.id]);
      else await statements.run('insert into count_lines (count_id, code, code_hash, counted, updated_at) values (?, ?, ?, ?, ?)', [countId, code, hash, counted, at]);
      const [goods] = await statements.all<{ count: number }>('select count from goods where directory_id = ? and code_hash = ?', [count.directoryId, hash]);
      outcome = { ok: true, value: { kind: 'countLine', line: { code, counted, expected: goods?.count ?? 0 } }, duplicate: false };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      outcome = { ok: false, error };
    }
    if (eventId !== undefined) await store.storeOutcomes([outcomeRow(actor, eventId, 'countLine', outcome, at)]);
    return outcome;
  });
  const { line } = resultOf(outcome, 'countLine');
  const duplicate = outcome.ok && outcome.duplicate;
  if (!duplicate) ctx.events.emit('count', { directoryId, countId, line });
  return { line, duplicate, directoryId };
}

/** The count and its variance report: every counted code, its counted total, its live count, and the difference. */
export async function countReport(em: Em, countId: number): Promise<{ count: CountSession; lines: CountReportLine[] }> {
  const [row] = await em.execute<CountRowRaw[]>(`${COUNT_SELECT} where id = ?`, [countId]);
  if (!row) throw directoryNotFound();
  const lines = await em.execute<{ code: string; counted: number; name: string | null; goods_count: number | null }[]>(
    'select l.code, l.counted, g.name, g.count as goods_count from count_lines l left join goods g on g.directory_id = ? and g.code_hash = l.code_hash where l.count_id = ? order by l.id',
    [row.directory_id, countId],
  );
  return {
    count: countView(countRow(row)),
    lines: lines.map((line) => {
      const expected = line.goods_count ?? 0;
      return { code: line.code, name: line.name ?? '', counted: line.counted, expected, variance: line.counted - expected };
    }),
  };
}

/** A directory's count sessions, newest first (the last 100). */
export async function listCounts(em: Em, access: Access): Promise<CountSession[]> {
  const rows = await em.execute<CountRowRaw[]>(`${COUNT_SELECT} where directory_id = ? order by id desc limit 100`, [access.directoryId]);
  return rows.map((row) => countView(countRow(row)));
}
