import type { LogType } from '../inventory/entities';
import { logPrint, serialize } from './fingerprint';
import type { GoodsGroup } from './goods-plan';
import type { Ledger } from './ledger';
import type { OldDirectory, OldLog, Target, TargetDirectory } from './model';

/** A change before it gets its revision. */
export interface Draft {
  type: Exclude<LogType, 'create'>;
  goodsKey?: string;
  code?: string;
  name?: string;
  remarks?: string;
  delta?: number;
  countAfter?: number;
  dirName?: string;
  at: Date;
  /** The old log entry it comes from; null for a change the import makes up (set, edit, rename, delete). */
  oldLog: OldLog | null;
}

export interface ReplayInput {
  dir: OldDirectory;
  existing: TargetDirectory | undefined;
  /** The directory's name once this run is done. */
  name: string;
  deleting: boolean;
  logs: readonly OldLog[];
  groups: ReadonlyMap<string, GoodsGroup>;
  target: Target;
  ledger: Ledger;
}

export interface Replayed {
  drafts: Draft[];
  /** The old '0' entry that becomes revision 0 (a new directory only). */
  createLog: OldLog | null;
  /** The old '3' entry that becomes the `delete` change, which the caller puts last. */
  deleteLog: OldLog | null;
}

const later = (a: Date, b: Date) => (a > b ? a : b);

/**
 * The old log entries not imported yet become changes, in id order, replayed from scancode's current
 * counts: '1' in +1, '2' out −1 (an out below 0 is recorded as delta 0 and reported), '4' rename
 * (carrying the directory's current name: the old log does not keep names). Then, per goods, an `edit`
 * if the old name or remarks changed, and a `set` for whatever the old count moved that the log does
 * not explain, so that replaying the changes ends at the counts scancode stores.
 */
export function replayLog(input: ReplayInput): Replayed {
  const { ledger, groups } = input;
  const startAt = input.existing?.lastAt ?? input.dir.createdTime;
  const keyOf = new Map<number, string>();
  const running = new Map<string, number>();
  const shown = new Map<string, { name: string; remarks: string }>();
  for (const group of groups.values()) {
    for (const row of group.rows) keyOf.set(row.id, group.key);
    running.set(group.key, group.existing?.count ?? 0);
    shown.set(group.key, group.existing ? { name: group.existing.name, remarks: group.existing.remarks } : { name: group.name, remarks: group.remarks });
  }
  const drafts: Draft[] = [];
  let createLog: OldLog | null = null;
  let deleteLog: OldLog | null = null;
  const skip = (log: OldLog, why: string) => ledger.skip('log', 'mycode_log', [log.id], why);

  for (const log of input.logs) {
    const prior = input.target.imported.log.get(log.id);
    if (prior) {
      ledger.count('log', 'unchanged');
      if (prior.fingerprint !== serialize(logPrint(log)))
        ledger.report([{ table: 'mycode_log', oldId: log.id, problem: 'not-followed', detail: 'changed in the old table after it was imported; the log is append-only, not followed' }]);
      continue;
    }
    switch (log.type) {
      case '0':
        if (input.existing || createLog) skip(log, 'a create entry for a directory already created');
        else createLog = log;
        break;
      case '1':
      case '2': {
        const key = log.goodId === null ? undefined : keyOf.get(log.goodId);
        if (key === undefined) {
          skip(log, log.goodId === null ? 'an in/out entry without a goods' : `its goods ${log.goodId} is not imported into directory ${input.dir.id}`);
          break;
        }
        const group = groups.get(key) as GoodsGroup;
        const before = running.get(key) ?? 0;
        let delta = log.type === '1' ? 1 : -1;
        if (before + delta < 0) {
          delta = 0;
          ledger.report([{ table: 'mycode_log', oldId: log.id, problem: 'clamped', detail: `out of goods ${log.goodId} at count 0 (the replay would go below 0): recorded with delta 0` }]);
        }
        running.set(key, before + delta);
        drafts.push({ type: log.type === '1' ? 'in' : 'out', goodsKey: key, code: group.code, ...shown.get(key), delta, countAfter: before + delta, at: log.createdTime, oldLog: log });
        break;
      }
      case '3':
        if (input.deleting && !deleteLog) deleteLog = log;
        else skip(log, input.deleting ? 'a second delete entry' : `a delete entry, but directory ${input.dir.id} is live in the old table`);
        break;
      case '4':
        drafts.push({ type: 'rename', dirName: input.name, at: log.createdTime, oldLog: log });
        break;
      default:
        skip(log, `unknown log type ${JSON.stringify(log.type)}`);
    }
  }
  ledger.count('log', 'created', drafts.length + (createLog ? 1 : 0) + (deleteLog ? 1 : 0));

  for (const group of groups.values()) {
    const previous = () => drafts[drafts.length - 1]?.at ?? startAt;
    const lastActive = group.rows.reduce((at, row) => later(at, row.lastActiveTime), group.rows[0].lastActiveTime);
    const count = running.get(group.key) ?? 0;
    if (group.edited) {
      drafts.push({ type: 'edit', goodsKey: group.key, code: group.code, name: group.name, remarks: group.remarks, countAfter: count, at: later(previous(), lastActive), oldLog: null });
    }
    const touched = drafts.some((d) => d.goodsKey === group.key);
    const isNew = !group.existing && group.rows.some((row) => !group.before.has(row.id));
    // A new goods nothing in the log mentions still gets one change, or a replay would never show it.
    if (group.finalCount !== count || (isNew && !touched)) {
      drafts.push({
        type: 'set',
        goodsKey: group.key,
        code: group.code,
        name: group.name,
        remarks: group.remarks,
        delta: group.finalCount - count,
        countAfter: group.finalCount,
        at: later(previous(), lastActive),
        oldLog: null,
      });
    }
  }
  return { drafts, createLog, deleteLog };
}
