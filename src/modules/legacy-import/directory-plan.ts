import { digest, Fixes, uniqueName } from './clean';
import { directoryPrint, goodsPrint, logPrint, parsePrint, serialize, type DirectoryPrint } from './fingerprint';
import { groupGoods, tallyGroup, type GoodsGroup } from './goods-plan';
import { replayLog, type Draft } from './history-plan';
import type { Ledger } from './ledger';
import type { OldDirectory, OldGoods, OldLog, Target } from './model';
import type { ChangePlan, DirectoryPlan, GoodsPlan, MappingPlan } from './plan-model';

export interface DirectoryInput {
  dir: OldDirectory;
  /** Its rows of mycode_goods and mycode_log (by id). */
  goods: readonly OldGoods[];
  logs: readonly OldLog[];
  ownerOpenid: string;
  /** The owner's live directory names so far; updated with this directory's. */
  liveNames: Set<string>;
  target: Target;
  ledger: Ledger;
}

const later = (a: Date, b: Date) => (a > b ? a : b);

/**
 * One old directory against what scancode has of it: the directory row, its goods, the changes (with
 * revisions) and the `legacy_imports` rows to write; null when there is nothing to write.
 */
export function planDirectory(input: DirectoryInput): DirectoryPlan | null {
  const { dir, target, ledger } = input;
  const prior = target.imported.directory.get(dir.id);
  const existing = prior?.newId != null ? target.directories.get(prior.newId) : undefined;
  const before = prior ? parsePrint<DirectoryPrint>(prior.fingerprint) : null;
  if (prior && (!existing || existing.deleted)) {
    leaveAlone(input, before, existing ? 'deleted in scancode' : 'no longer in scancode');
    return null;
  }

  const fixes = new Fixes('mycode_directory', dir.id);
  const deleting = dir.status === '0';
  if (existing) input.liveNames.delete(existing.name); // its own name is no collision
  let name = existing?.name ?? '';
  if (!existing || before?.name !== digest(dir.name)) {
    const cleaned = fixes.directoryName(dir.name);
    // A directory imported as deleted never held its name among the live ones.
    name = !existing && deleting ? cleaned : uniqueName(cleaned, input.liveNames);
    if (name !== cleaned) fixes.note('renamed', `name ${JSON.stringify(cleaned)} is taken by another live directory of the owner; named ${JSON.stringify(name)}`);
  }
  if (!deleting) input.liveNames.add(name);
  if (!existing || name !== existing.name) ledger.report(fixes.anomalies);

  const existingGoods = existing ? (target.goods.get(existing.id) ?? new Map()) : new Map();
  const groups = groupGoods(dir, input.goods, existingGoods, target, ledger);
  const history = replayLog({ dir, existing, name, deleting, logs: input.logs, groups, target, ledger });
  const drafts = history.drafts;
  const renamedByLog = drafts.some((d) => d.type === 'rename');
  const startAt = existing?.lastAt ?? dir.createdTime;
  const lastAt = () => drafts[drafts.length - 1]?.at ?? startAt;
  if (existing && name !== existing.name && !renamedByLog) drafts.push({ type: 'rename', dirName: name, at: later(lastAt(), dir.lastActiveTime), oldLog: null });
  // The delete comes last: a deleted directory takes no changes, so none may follow it in its log.
  if (deleting) drafts.push({ type: 'delete', dirName: name, at: history.deleteLog?.createdTime ?? later(lastAt(), dir.lastActiveTime), oldLog: history.deleteLog });

  const base = existing?.revision ?? 0;
  const changes: ChangePlan[] = drafts.map((d, i) => ({
    revision: base + 1 + i,
    type: d.type,
    goodsKey: d.goodsKey ?? null,
    code: d.code ?? null,
    name: d.name ?? null,
    remarks: d.remarks ?? null,
    delta: d.delta ?? null,
    countAfter: d.countAfter ?? null,
    dirName: d.dirName ?? null,
    at: d.at,
  }));
  if (!existing) changes.unshift({ revision: 0, type: 'create', goodsKey: null, code: null, name: null, remarks: null, delta: null, countAfter: null, dirName: name, at: dir.createdTime });

  const goods = goodsPlans(groups, drafts, ledger);
  const print = serialize(directoryPrint(dir));
  const freq = Math.max(0, existing ? existing.freq + dir.freq - (before?.freq ?? 0) : dir.freq);
  const mappings: MappingPlan[] = [...logMappings(history.createLog, drafts, base), ...goodsMappings(groups)];
  if (print !== prior?.fingerprint) mappings.push({ kind: 'directory', oldId: dir.id, target: { directory: true }, fingerprint: print, mapped: prior !== undefined });

  const writeDirectory = !existing || drafts.length > 0 || freq !== existing.freq;
  ledger.count('directory', !existing ? 'created' : writeDirectory || print !== prior?.fingerprint ? 'updated' : 'unchanged');
  if (!writeDirectory && mappings.length === 0) return null;
  const updatedAt = later(existing?.updatedAt ?? dir.lastActiveTime, changes[changes.length - 1]?.at ?? startAt);
  return {
    oldId: dir.id,
    ownerOpenid: input.ownerOpenid,
    existing: existing ? { id: existing.id, revision: existing.revision } : null,
    name,
    liveName: deleting ? null : name,
    freq,
    createdAt: dir.createdTime,
    updatedAt,
    deletedAt: deleting ? changes[changes.length - 1].at : null,
    writeDirectory,
    goods,
    changes,
    mappings,
  };
}

function goodsPlans(groups: Map<string, GoodsGroup>, drafts: readonly Draft[], ledger: Ledger): GoodsPlan[] {
  return [...groups.values()].map((group) => {
    const touching = drafts.filter((d) => d.goodsKey === group.key);
    const write = touching.length > 0;
    tallyGroup(group, write, ledger);
    const [first] = group.rows;
    const lastTouch = touching[touching.length - 1]?.at ?? first.lastActiveTime;
    return {
      key: group.key,
      existingId: group.existing?.id ?? null,
      code: group.code,
      name: group.name,
      remarks: group.remarks,
      count: group.finalCount,
      createdAt: first.createdTime,
      updatedAt: later(group.existing?.updatedAt ?? first.lastActiveTime, lastTouch),
      write,
    };
  });
}

function logMappings(createLog: OldLog | null, drafts: readonly Draft[], base: number): MappingPlan[] {
  const mappings: MappingPlan[] = [];
  if (createLog) mappings.push({ kind: 'log', oldId: createLog.id, target: { revision: 0 }, fingerprint: serialize(logPrint(createLog)), mapped: false });
  drafts.forEach((draft, i) => {
    if (draft.oldLog) mappings.push({ kind: 'log', oldId: draft.oldLog.id, target: { revision: base + 1 + i }, fingerprint: serialize(logPrint(draft.oldLog)), mapped: false });
  });
  return mappings;
}

function goodsMappings(groups: Map<string, GoodsGroup>): MappingPlan[] {
  const mappings: MappingPlan[] = [];
  for (const group of groups.values()) {
    for (const row of group.rows) {
      const print = serialize(goodsPrint(row));
      const before = group.before.get(row.id);
      if (before && serialize(before) === print) continue;
      mappings.push({ kind: 'goods', oldId: row.id, target: { goodsKey: group.key }, fingerprint: print, mapped: before !== undefined });
    }
  }
  return mappings;
}

/**
 * A directory scancode no longer takes changes for (deleted there, or gone): what the old tables
 * changed since the last run is reported, not brought across.
 */
function leaveAlone(input: DirectoryInput, before: DirectoryPrint | null, why: string): void {
  const { dir, target, ledger } = input;
  const changedDirectory = before === null || serialize(before) !== serialize(directoryPrint(dir));
  if (changedDirectory) ledger.skip('directory', 'mycode_directory', [dir.id], `${why}: its changes in the old tables since the last run are not brought across`, 'not-followed');
  else ledger.count('directory', 'unchanged');
  for (const row of input.goods) {
    const prior = target.imported.goods.get(row.id);
    const same = prior !== undefined && prior.fingerprint === serialize(goodsPrint(row));
    if (same) ledger.count('goods', 'unchanged');
    else ledger.skip('goods', 'mycode_goods', [row.id], `its directory ${dir.id} is ${why}; not brought across`, 'not-followed');
  }
  for (const log of input.logs) {
    if (target.imported.log.has(log.id)) ledger.count('log', 'unchanged');
    else ledger.skip('log', 'mycode_log', [log.id], `its directory ${dir.id} is ${why}; not brought across`, 'not-followed');
  }
}
