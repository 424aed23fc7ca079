import { groupBy } from '../../collections';
import { Fixes, gender, MAX_PROFILE_TEXT } from './clean';
import { planDirectory } from './directory-plan';
import { parsePrint, serialize, userPrint, type UserPrint } from './fingerprint';
import { Ledger } from './ledger';
import type { Kind, OldLog, OldTables, OldUser, Target, TargetUser } from './model';
import type { DirectoryPlan, ImportPlan, OldTable, UserPlan } from './plan-model';

/**
 * The whole import as a pure function: the old tables and what scancode holds (including what earlier
 * runs imported) in, the writes to make and the anomalies out. Nothing here reads or writes a
 * database, so a dry run and the real run make the same plan, and tests can feed it any rows.
 */
export function planImport(old: OldTables, target: Target): ImportPlan {
  const ledger = new Ledger();
  for (const account of old.accountsWithoutProfile) {
    ledger.report([{ table: 'auth_user', oldId: account.id, problem: 'skipped', detail: `account ${JSON.stringify(account.username)} has no mycode_profile (not a mini-program user); not imported` }]);
  }
  const { plans: users, ownerOf } = planUsers(old.users, target, ledger);

  const directoryIds = new Set(old.directories.map((d) => d.id));
  const goodsBelong = new Map(old.goods.map((g) => [g.id, g.belongId]));
  const goodsOf = groupInIdOrder(
    old.goods.filter((g) => directoryIds.has(g.belongId)),
    (g) => g.belongId,
  );
  const orphans = old.goods.filter((g) => !directoryIds.has(g.belongId)).map((g) => g.id);
  ledger.skip('goods', 'mycode_goods', orphans, 'its directory is not in mycode_directory');
  // An entry without dir_id belongs where its goods is.
  const directoryOf = (log: OldLog) => log.dirId ?? (log.goodId === null ? null : (goodsBelong.get(log.goodId) ?? null));
  const logsOf = groupInIdOrder(
    old.logs.filter((l) => directoryIds.has(directoryOf(l) ?? -1)),
    (l) => directoryOf(l) as number,
  );
  ledger.skip(
    'log',
    'mycode_log',
    old.logs.filter((l) => !directoryIds.has(directoryOf(l) ?? -1)).map((l) => l.id),
    'names no directory of mycode_directory',
  );

  const liveNames = new Map<string, Set<string>>();
  const directories: DirectoryPlan[] = [];
  for (const dir of [...old.directories].sort((a, b) => a.id - b.id)) {
    const goods = goodsOf.get(dir.id) ?? [];
    const logs = logsOf.get(dir.id) ?? [];
    const owner = ownerOf.get(dir.ownerId);
    if (!owner) {
      const why = `its owner, profile ${dir.ownerId}, is not imported`;
      ledger.skip('directory', 'mycode_directory', [dir.id], why);
      ledger.skip(
        'goods',
        'mycode_goods',
        goods.map((g) => g.id),
        why,
      );
      ledger.skip(
        'log',
        'mycode_log',
        logs.map((l) => l.id),
        why,
      );
      continue;
    }
    if (!liveNames.has(owner.openid)) liveNames.set(owner.openid, new Set(owner.userId === null ? [] : target.liveNames.get(owner.userId)));
    const plan = planDirectory({ dir, goods, logs, ownerOpenid: owner.openid, liveNames: liveNames.get(owner.openid) as Set<string>, target, ledger });
    if (plan) directories.push(plan);
  }
  reportVanished(old, target, ledger);
  return { users, directories, anomalies: ledger.anomalies, tally: ledger.tally };
}

interface Owner {
  openid: string;
  /** The scancode user, when it exists before this run. */
  userId: number | null;
}

/**
 * Users by openid. A scancode user with the openid already is reused: a first import fills only its
 * empty fields, a later one writes the fields the old system changed since (a field changed in scancode
 * and not in the old table stays).
 */
function planUsers(rows: readonly OldUser[], target: Target, ledger: Ledger): { plans: UserPlan[]; ownerOf: Map<number, Owner> } {
  const plans: UserPlan[] = [];
  const ownerOf = new Map<number, Owner>();
  const firstWithOpenid = new Map<string, number>();
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    const openid = row.openid;
    if (openid === '' || [...openid].length > 64 || /[\u0000\uD800-\uDFFF]/.test(openid)) {
      ledger.skip('user', 'mycode_profile', [row.id], `openid ${JSON.stringify(openid)} is not a WeChat openid (empty, over 64 characters or unstorable)`);
      continue;
    }
    const existing = target.usersByOpenid.get(openid);
    ownerOf.set(row.id, { openid, userId: existing?.id ?? null });
    const first = firstWithOpenid.get(openid);
    if (first !== undefined) {
      ledger.count('user', 'merged');
      ledger.report([{ table: 'mycode_profile', oldId: row.id, problem: 'merged', detail: `same openid as profile ${first}: its directories go to the same user` }]);
      continue;
    }
    firstWithOpenid.set(openid, row.id);
    plans.push(planUser(row, existing, target.imported.user.get(row.id)?.fingerprint, ledger));
  }
  return { plans, ownerOf };
}

function planUser(row: OldUser, existing: TargetUser | undefined, priorPrint: string | undefined, ledger: Ledger): UserPlan {
  const fixes = new Fixes('mycode_profile', row.id);
  const now = userPrint(row);
  const before = priorPrint === undefined ? undefined : parsePrint<UserPrint>(priorPrint);
  const all = {
    nickname: fixes.text('nickname', row.nickname, MAX_PROFILE_TEXT),
    gender: gender(row.gender),
    city: fixes.text('city', row.city, MAX_PROFILE_TEXT),
    province: fixes.text('province', row.province, MAX_PROFILE_TEXT),
  };
  let fields: UserPlan['fields'] = {};
  if (!existing) {
    fields = all;
    ledger.count('user', 'created');
  } else if (!before) {
    // Someone already logged in to scancode with this openid: what they have there is newer.
    const empty = { nickname: existing.nickname === '', gender: existing.gender === 0, city: existing.city === '', province: existing.province === '' };
    fields = Object.fromEntries(Object.entries(all).filter(([field]) => empty[field as keyof typeof empty]));
    ledger.count('user', 'merged');
    ledger.report([
      { table: 'mycode_profile', oldId: row.id, problem: 'merged', detail: `openid ${row.openid} is already scancode user ${existing.id}: reused, only its empty profile fields filled` },
    ]);
  } else {
    for (const field of ['nickname', 'gender', 'city', 'province'] as const) {
      if (before[field] !== now[field]) Object.assign(fields, { [field]: all[field] });
    }
    ledger.count('user', serialize(before) === serialize(now) ? 'unchanged' : 'updated');
  }
  if (Object.keys(fields).length > 0) ledger.report(fixes.anomalies);
  return {
    oldId: row.id,
    openid: row.openid,
    existingId: existing?.id ?? null,
    fields,
    createdAt: row.dateJoined,
    fingerprint: serialize(now),
    mapped: before !== undefined,
    writeMapping: priorPrint !== serialize(now),
  };
}

/** Rows an earlier run imported that the old tables no longer have: scancode keeps what it has. */
function reportVanished(old: OldTables, target: Target, ledger: Ledger): void {
  const present: Record<Kind, Set<number>> = {
    user: new Set(old.users.map((r) => r.id)),
    directory: new Set(old.directories.map((r) => r.id)),
    goods: new Set(old.goods.map((r) => r.id)),
    log: new Set(old.logs.map((r) => r.id)),
  };
  const tables: Record<Kind, OldTable> = { user: 'mycode_profile', directory: 'mycode_directory', goods: 'mycode_goods', log: 'mycode_log' };
  for (const kind of Object.keys(present) as Kind[]) {
    for (const oldId of target.imported[kind].keys()) {
      if (!present[kind].has(oldId)) ledger.report([{ table: tables[kind], oldId, problem: 'not-followed', detail: 'imported before, no longer in the old table; scancode keeps it' }]);
    }
  }
}

/** Rows by `key`, each list in id order (the order the old app wrote them). */
function groupInIdOrder<T extends { id: number }>(rows: readonly T[], key: (row: T) => number): Map<number, T[]> {
  return groupBy(
    [...rows].sort((a, b) => a.id - b.id),
    key,
  );
}
