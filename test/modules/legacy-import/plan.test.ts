import { codeHash } from '../../../src/modules/inventory/codes';
import { goodsPrint, directoryPrint, serialize } from '../../../src/modules/legacy-import/fingerprint';
import type { OldDirectory, OldGoods, OldLog, OldTables, Target } from '../../../src/modules/legacy-import/model';
import type { DirectoryPlan, ImportPlan } from '../../../src/modules/legacy-import/plan-model';
import { planImport } from '../../../src/modules/legacy-import/plan';

/**
 * The rules for rows the new server would refuse, on rows the fixture does not have: the plan is a pure
 * function, so each rule is shown on a few made-up old rows.
 */

const T0 = new Date('2025-01-01T00:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

const user = { id: 1, username: 'o-u', openid: 'o-u', nickname: 'U', gender: '2', city: '', province: '', dateJoined: T0 };
const directory = (id: number, name: string, status = '1'): OldDirectory => ({ id, ownerId: 1, name, status, freq: 0, createdTime: at(id), lastActiveTime: at(id) });
const goods = (id: number, belongId: number, code: string, count: number, name = `g${id}`, remarks = ''): OldGoods => ({
  id,
  belongId,
  code,
  count,
  name,
  remarks,
  createdTime: at(10 + id),
  lastActiveTime: at(10 + id),
});
const log = (id: number, type: string, dirId: number | null, goodId: number | null = null): OldLog => ({ id, ownerId: 1, type, dirId, goodId, createdTime: at(100 + id) });

function tables(parts: Partial<OldTables>): OldTables {
  return { users: [user], accountsWithoutProfile: [], directories: [], goods: [], logs: [], ...parts };
}

function emptyTarget(): Target {
  return { imported: { user: new Map(), directory: new Map(), goods: new Map(), log: new Map() }, usersByOpenid: new Map(), directories: new Map(), liveNames: new Map(), goods: new Map() };
}

const anomalies = (plan: ImportPlan) => plan.anomalies.map(({ table, oldId, problem }) => `${table} ${oldId} ${problem}`);
const history = (plan: DirectoryPlan) => plan.changes.map((c) => [c.revision, c.type, c.code, c.delta, c.countAfter]);
const only = (plan: ImportPlan) => {
  expect(plan.directories).toHaveLength(1);
  return plan.directories[0];
};

describe('planning the import of old rows', () => {
  it('merges goods whose codes are equal after dropping a trailing CR/LF into the lowest id, counts summed', () => {
    const plan = planImport(
      tables({
        directories: [directory(1, 'D')],
        goods: [goods(5, 1, 'A\r\n', 1), goods(2, 1, 'A', 2), goods(3, 1, 'a', 1)],
        logs: [log(1, '1', 1, 2), log(2, '1', 1, 2), log(3, '1', 1, 5), log(4, '1', 1, 3)],
      }),
      emptyTarget(),
    );
    const dir = only(plan);
    expect(dir.goods.map((g) => [g.code, g.count, g.name])).toEqual([
      ['A', 3, 'g2'],
      ['a', 1, 'g3'],
    ]);
    expect(history(dir)).toEqual([
      [0, 'create', null, null, null],
      [1, 'in', 'A', 1, 1],
      [2, 'in', 'A', 1, 2],
      [3, 'in', 'A', 1, 3],
      [4, 'in', 'a', 1, 1],
    ]);
    expect(anomalies(plan)).toEqual(['mycode_goods 5 merged']);
    expect(plan.tally.goods).toMatchObject({ created: 2, merged: 1 });
  });

  it('truncates long names, names empty ones, suffixes names that collide after trimming', () => {
    const plan = planImport(
      tables({
        directories: [directory(1, ' X '), directory(2, 'X'), directory(3, 'X', '0'), directory(4, '   '), directory(5, 'd'.repeat(120))],
        goods: [goods(1, 1, 'C', 0, 'n'.repeat(150), 'r'.repeat(1200))],
      }),
      emptyTarget(),
    );
    expect(plan.directories.map((d) => [d.oldId, d.name, d.liveName])).toEqual([
      [1, 'X', 'X'],
      [2, 'X (2)', 'X (2)'],
      [3, 'X', null],
      [4, '未命名仓库4', '未命名仓库4'],
      [5, 'd'.repeat(100), 'd'.repeat(100)],
    ]);
    expect(plan.directories[0].goods[0]).toMatchObject({ name: 'n'.repeat(140), remarks: 'r'.repeat(1000) });
    expect(anomalies(plan)).toEqual([
      'mycode_directory 1 trimmed',
      'mycode_goods 1 truncated',
      'mycode_goods 1 truncated',
      'mycode_directory 2 renamed',
      'mycode_directory 4 empty-name',
      'mycode_directory 5 truncated',
    ]);
  });

  it('replaces NUL and unpaired surrogates with U+FFFD, and keeps a lost emoji ("?") but reports it', () => {
    const plan = planImport(
      tables({
        directories: [directory(1, 'D\u0000')],
        goods: [goods(1, 1, 'A\uD800', 1, 'x\u0000y', '\uDC00'), goods(2, 1, '?-0001', 1, '??箱'), goods(3, 1, 'https://shop.example/p?id=7', 1, 'url')],
      }),
      emptyTarget(),
    );
    const dir = only(plan);
    expect(dir.name).toBe('D\uFFFD');
    expect(dir.goods.map((g) => [g.code, g.name, g.remarks])).toEqual([
      ['A\uFFFD', 'x\uFFFDy', '\uFFFD'],
      ['?-0001', '??箱', ''],
      ['https://shop.example/p?id=7', 'url', ''],
    ]);
    expect(anomalies(plan)).toEqual([
      'mycode_directory 1 replaced',
      'mycode_goods 1 replaced',
      'mycode_goods 1 replaced',
      'mycode_goods 1 replaced',
      'mycode_goods 2 suspect',
      'mycode_goods 2 suspect',
    ]);
  });

  it('clamps an out below zero at 0 and reports it; a stocktake the log does not show becomes one set', () => {
    const plan = planImport(
      tables({
        directories: [directory(1, 'D')],
        goods: [goods(1, 1, 'A', 5), goods(2, 1, 'B', 0), goods(3, 1, 'C', 0)],
        logs: [log(1, '0', 1), log(2, '2', 1, 1), log(3, '1', 1, 1), log(4, '1', 1, 3), log(5, '2', 1, 3)],
      }),
      emptyTarget(),
    );
    const dir = only(plan);
    expect(history(dir)).toEqual([
      [0, 'create', null, null, null],
      [1, 'out', 'A', 0, 0],
      [2, 'in', 'A', 1, 1],
      [3, 'in', 'C', 1, 1],
      [4, 'out', 'C', -1, 0],
      // A: the old count is 5, the log explains 1; B: in no log entry, so a set shows it exists.
      [5, 'set', 'A', 4, 5],
      [6, 'set', 'B', 0, 0],
    ]);
    expect(anomalies(plan)).toEqual(['mycode_log 2 clamped']);
    expect(plan.tally.log).toMatchObject({ created: 5 });
    expect(dir.mappings.filter((m) => m.kind === 'log').map((m) => [m.oldId, m.target])).toEqual([
      [1, { revision: 0 }],
      [2, { revision: 1 }],
      [3, { revision: 2 }],
      [4, { revision: 3 }],
      [5, { revision: 4 }],
    ]);
  });

  it('ends a deleted directory with its delete, after every other change', () => {
    const plan = planImport(
      tables({
        directories: [directory(1, 'Gone', '0'), directory(2, 'Also gone', '0')],
        goods: [goods(1, 1, 'A', 2), goods(2, 2, 'B', 1)],
        logs: [log(1, '1', 1, 1), log(2, '3', 1), log(3, '1', 1, 1), log(4, '4', 1)],
      }),
      emptyTarget(),
    );
    const [first, second] = plan.directories;
    expect(history(first).map(([rev, type, code]) => [rev, type, code])).toEqual([
      [0, 'create', null],
      [1, 'in', 'A'],
      [2, 'in', 'A'],
      [3, 'rename', null],
      [4, 'delete', null],
    ]);
    expect(first.changes[4].at).toEqual(at(102));
    expect(first).toMatchObject({ liveName: null, deletedAt: at(102) });
    expect(history(second).map(([rev, type]) => [rev, type])).toEqual([
      [0, 'create'],
      [1, 'set'],
      [2, 'delete'],
    ]);
    expect(second.liveName).toBeNull();
  });

  it('skips what no rule can bring across, and says so for each row', () => {
    const plan = planImport(
      tables({
        users: [user, { ...user, id: 2, openid: '' }],
        accountsWithoutProfile: [{ id: 9, username: 'admin' }],
        directories: [directory(1, 'D'), { ...directory(2, 'E'), ownerId: 2 }],
        goods: [goods(1, 1, '\r\n', 3), goods(2, 2, 'B', 1)],
        logs: [log(1, '1', 1, 1), log(2, '7', 1), log(3, '1', 1, 2), log(4, '1', 2, 2), log(5, '1', null, null)],
      }),
      emptyTarget(),
    );
    expect(anomalies(plan)).toEqual([
      'auth_user 9 skipped',
      'mycode_profile 2 skipped',
      'mycode_log 5 skipped',
      'mycode_goods 1 skipped',
      'mycode_log 1 skipped',
      'mycode_log 2 skipped',
      'mycode_log 3 skipped',
      'mycode_directory 2 skipped',
      'mycode_goods 2 skipped',
      'mycode_log 4 skipped',
    ]);
    expect(plan.tally).toMatchObject({
      user: { created: 1, skipped: 1 },
      directory: { created: 1, skipped: 1 },
      goods: { skipped: 2 },
      log: { skipped: 5 },
    });
  });

  it("moves scancode's own count by what the old count moved since the last run", () => {
    const dir = directory(1, 'D');
    const row = goods(1, 1, 'A', 3);
    const target = emptyTarget();
    target.usersByOpenid.set('o-u', { id: 7, openid: 'o-u', nickname: 'U', gender: 2, city: '', province: '' });
    target.imported.user.set(1, { newId: 7, fingerprint: serialize({ nickname: 'x', gender: '2', city: 'x', province: 'x' }) });
    target.imported.directory.set(1, { newId: 10, fingerprint: serialize(directoryPrint(dir)) });
    target.imported.goods.set(1, { newId: 20, fingerprint: serialize(goodsPrint(row)) });
    target.directories.set(10, { id: 10, ownerId: 7, name: 'D', deleted: false, revision: 5, freq: 0, updatedAt: at(50), lastAt: at(50) });
    target.liveNames.set(7, new Set(['D']));
    // In scancode meanwhile: 2 of the 3 taken out. In the old app: one more in, and a stocktake to 10.
    target.goods.set(10, new Map([[codeHash('A'), { id: 20, count: 1, name: 'g1', remarks: '', updatedAt: at(50) }]]));
    const plan = planImport(tables({ directories: [dir], goods: [{ ...row, count: 10 }], logs: [log(1, '1', 1, 1)] }), target);
    const planned = only(plan);
    expect(history(planned)).toEqual([
      [6, 'in', 'A', 1, 2],
      [7, 'set', 'A', 6, 8],
    ]);
    expect(planned.goods[0]).toMatchObject({ existingId: 20, count: 8, write: true });
    expect(planned.existing).toEqual({ id: 10, revision: 5 });
    expect(plan.tally.goods).toMatchObject({ updated: 1 });
  });
});
