import type { Em } from '../../db/orm';
import { applyPlan, type ApplyResult } from './apply';
import type { OldTables } from './model';
import type { ImportPlan } from './plan-model';
import { planImport } from './plan';
import { readOldTables } from './source';
import { readTarget } from './target';

export interface ImportOptions {
  /** mysql://user:pass@host:3306/olddb of the old Django backend. */
  from: string;
  /** Plan and report, write nothing. */
  dryRun?: boolean;
  now?: () => Date;
  onStage?: (message: string) => void;
  onStep?: (step: 'users' | 'directories', done: number, total: number) => void;
}

export interface ImportResult {
  /** How many rows each old table has: the summary accounts for each of them. */
  rows: { users: number; directories: number; goods: number; logs: number };
  plan: ImportPlan;
  failures: ApplyResult['failures'];
  dryRun: boolean;
}

/**
 * The old Django backend's users and data into the scancode database behind `em`: read the old
 * tables (source.ts), read what scancode has (target.ts), plan (plan.ts, pure), write (apply.ts).
 *
 * First run:
 * - Users by openid, with nickname, gender ('1' → 1, '2' → 2, else 0), city, province. A scancode user
 *   with that openid already (someone logged in before the import) is reused: only its empty profile
 *   fields are filled. Two profiles with one openid become one user.
 * - Directories with their freq and created_time; status '0' → deleted (deleted_at, no live name).
 * - Each directory's history: revision 0 is its `create` entry (at created_time; the old '0' entry maps
 *   onto it), then its old log entries in id order: '1' `in` +1, '2' `out` −1 (replayed; an out below 0
 *   is recorded as delta 0 and reported), '4' `rename` (with the current name: the old log keeps no
 *   names). Then, per goods, one `set` for what the old count says that the log does not (and for a
 *   goods no entry mentions, so that a replay shows it). A deleted directory's `delete` (its '3' entry,
 *   or one made up) comes last. Changes are the owner's, with no device and no event id.
 *
 * Later runs compare each old row with the fingerprint `legacy_imports` kept of it, and bring across
 * only what the old system did since, on top of what scancode did since (which is never undone):
 * - new users, directories, goods: as on the first run; new log entries: appended as changes, the
 *   revisions going on, replayed from scancode's current counts;
 * - a count that moved more than its new log entries explain: one `set` for the remainder, added to
 *   scancode's current count (below 0 → 0, reported);
 * - a goods' name or remarks changed: one `edit`; a directory renamed: a `rename` (its '4' entry, or one
 *   made up); newly deleted: a `delete`, last; freq changed: scancode's freq moves by as much (freq is
 *   no change: no revision); a profile field changed: that field is written.
 * Not followed, and reported: rows gone from the old tables (scancode keeps them), a directory deleted
 * in scancode (it takes no more changes), an undeleted directory, a goods moved to another directory or
 * recoded, an edited old log entry. A goods removed in scancode comes back only if the old system
 * scanned it again (new log entries, or a count that moved).
 *
 * Rows the new rules refuse are fixed and reported, never dropped in silence (clean.ts): duplicate codes
 * merged into the lowest id; long names truncated; an empty directory name → 未命名仓库<id>; a taken one
 * → "<name> (2)"; NUL and lone surrogates → U+FFFD; a '?' (an emoji the old utf8 connection lost) kept
 * and reported. Rows no rule can save (an empty code, a user without an openid) are skipped, reported.
 *
 * The import writes straight to the database and publishes nothing: a phone watching a directory
 * catches up from the log at its next change or subscribe.
 */
export async function importFromDjango(em: Em, options: ImportOptions): Promise<ImportResult> {
  const stage = options.onStage ?? (() => {});
  stage('reading the old tables');
  const old: OldTables = await readOldTables(options.from);
  const rows = { users: old.users.length, directories: old.directories.length, goods: old.goods.length, logs: old.logs.length };
  stage(`read ${rows.users} users, ${rows.directories} directories, ${rows.goods} goods, ${rows.logs} log entries`);
  const plan = planImport(old, await readTarget(em.fork(), old));
  const dryRun = options.dryRun ?? false;
  if (dryRun) return { rows, plan, failures: [], dryRun };
  const { failures } = await applyPlan(em.fork(), plan, (options.now ?? (() => new Date()))(), options.onStep);
  return { rows, plan, failures, dryRun };
}
