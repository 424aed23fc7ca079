import { codeHash } from '../inventory/codes';
import { digest, Fixes, MAX_GOODS_NAME, MAX_REMARKS } from './clean';
import { parsePrint, type GoodsPrint } from './fingerprint';
import type { Ledger } from './ledger';
import type { OldDirectory, OldGoods, Target, TargetGoods } from './model';

/**
 * One scancode goods made of the old goods rows of a directory with the same code. The old table has
 * no unique key on (directory, code), so duplicates exist; they are merged into the lowest id, their
 * counts summed.
 */
export interface GoodsGroup {
  key: string;
  code: string;
  /** Lowest id first: the first gives the name and remarks. */
  rows: OldGoods[];
  /** What each row looked like when an earlier run imported it. */
  before: Map<number, GoodsPrint>;
  fixes: Fixes;
  name: string;
  remarks: string;
  /** The scancode goods with this code in the imported directory, if any. */
  existing: TargetGoods | undefined;
  /** The count scancode should end with: its own, plus what the old system added since the last run. */
  finalCount: number;
  /** Name or remarks changed in the old table since the last run: an `edit` change. */
  edited: boolean;
}

/**
 * The old goods of one directory, grouped by stored code. Rows whose code no scan could find, or that
 * the old system moved to another directory or recoded since they were imported, are skipped.
 */
export function groupGoods(dir: OldDirectory, rows: readonly OldGoods[], existingGoods: ReadonlyMap<string, TargetGoods>, target: Target, ledger: Ledger): Map<string, GoodsGroup> {
  const groups = new Map<string, GoodsGroup>();
  for (const row of rows) {
    const prior = target.imported.goods.get(row.id);
    const before = prior ? parsePrint<GoodsPrint>(prior.fingerprint) : undefined;
    if (before && before.directory !== dir.id) {
      ledger.skip('goods', 'mycode_goods', [row.id], `moved to directory ${dir.id} in the old tables after it was imported; not followed`, 'not-followed');
      continue;
    }
    if (before && before.code !== digest(row.code)) {
      ledger.skip('goods', 'mycode_goods', [row.id], 'its code changed in the old tables after it was imported; not followed', 'not-followed');
      continue;
    }
    const fixes = new Fixes('mycode_goods', row.id);
    const code = fixes.code(row.code);
    if (code === null) {
      ledger.count('goods', 'skipped');
      ledger.report(fixes.anomalies);
      continue;
    }
    const key = codeHash(code);
    const group = groups.get(key);
    if (group) {
      group.rows.push(row);
      if (before) group.before.set(row.id, before);
      continue;
    }
    const existing = existingGoods.get(key);
    groups.set(key, {
      key,
      code,
      rows: [row],
      before: new Map(before ? [[row.id, before]] : []),
      fixes,
      name: '',
      remarks: '',
      existing,
      finalCount: 0,
      edited: false,
    });
  }
  for (const group of groups.values()) settle(group);
  return groups;
}

/**
 * The count to end with and whether to edit. scancode's count moves by what the old count moved since
 * the last run, so that changes made in scancode since are kept; a goods seen for the first time
 * starts from 0, so it ends at the old count.
 */
function settle(group: GoodsGroup): void {
  let oldNow = 0;
  let oldBefore = 0;
  for (const row of group.rows) {
    if (row.count < 0) group.fixes.note('clamped', `goods ${row.id} has count ${row.count} in the old table; taken as 0`);
    oldNow += Math.max(0, row.count);
    oldBefore += Math.max(0, group.before.get(row.id)?.count ?? 0);
  }
  const count = (group.existing?.count ?? 0) + oldNow - oldBefore;
  if (count < 0) group.fixes.note('clamped', `count would end at ${count} (scancode's ${group.existing?.count ?? 0} plus the old change ${oldNow - oldBefore}); set to 0`);
  group.finalCount = Math.max(0, count);
  const [first] = group.rows;
  const before = group.before.get(first.id);
  group.edited = group.existing !== undefined && before !== undefined && (before.name !== digest(first.name) || before.remarks !== digest(first.remarks));
  if (group.existing && !group.edited) {
    // scancode's own name and remarks stay: the old ones did not change since they were imported.
    group.name = group.existing.name;
    group.remarks = group.existing.remarks;
  } else {
    group.name = group.fixes.text('name', first.name, MAX_GOODS_NAME);
    group.remarks = group.fixes.text('remarks', first.remarks, MAX_REMARKS);
  }
}

/** The outcome of each old row of a group, and the anomalies of merging it. */
export function tallyGroup(group: GoodsGroup, written: boolean, ledger: Ledger): void {
  const [first] = group.rows;
  for (const row of group.rows) {
    const before = group.before.get(row.id);
    if (before) {
      const same = before.count === row.count && before.name === digest(row.name) && before.remarks === digest(row.remarks);
      ledger.count('goods', same ? 'unchanged' : 'updated');
    } else if (row === first && !group.existing) {
      ledger.count('goods', 'created');
    } else {
      ledger.count('goods', 'merged');
      const into = row === first ? `the goods scancode already had with this code (id ${group.existing?.id})` : `goods ${first.id}`;
      ledger.report([{ table: 'mycode_goods', oldId: row.id, problem: 'merged', detail: `same code as ${into}: merged, counts summed` }]);
    }
  }
  if (written) ledger.report(group.fixes.anomalies);
}
