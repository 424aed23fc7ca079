import { LockMode } from '@mikro-orm/core';
import type { Em } from '../../db/orm';
import { User } from '../auth/entities';
import { Directory, Goods, LogEntry } from '../inventory/entities';
import { inTransaction, isSqlite, isUniqueViolation } from '../inventory/transaction';
import type { Kind } from './model';
import type { DirectoryPlan, ImportPlan, MappingPlan, UserPlan } from './plan-model';

/**
 * The writes of a plan: each user in a transaction of its own, then each directory with its goods,
 * log entries and `legacy_imports` rows in one transaction, so that a directory is imported whole or
 * not at all and a second run can pick up where a failed one stopped.
 */

export interface ApplyProgress {
  (step: 'users' | 'directories', done: number, total: number): void;
}

export interface ApplyResult {
  /** Directories not written, with why; the others are. */
  failures: { oldId: number; message: string }[];
}

/** Someone changed the directory in scancode after the plan was made: its plan no longer holds. */
class StaleDirectory extends Error {}

export async function applyPlan(em: Em, plan: ImportPlan, now: Date, progress: ApplyProgress = () => {}): Promise<ApplyResult> {
  const userIds = new Map<string, number>();
  for (const [i, user] of plan.users.entries()) {
    userIds.set(user.openid, await inTransaction(em, (tx) => applyUser(tx, user, now)));
    progress('users', i + 1, plan.users.length);
  }
  const failures: ApplyResult['failures'] = [];
  for (const [i, directory] of plan.directories.entries()) {
    try {
      const ownerId = userIds.get(directory.ownerOpenid) as number;
      await inTransaction(em, (tx) => applyDirectory(tx, directory, ownerId, now));
    } catch (error) {
      failures.push({ oldId: directory.oldId, message: failureMessage(em, directory, error) });
    }
    progress('directories', i + 1, plan.directories.length);
  }
  return { failures };
}

function failureMessage(em: Em, plan: DirectoryPlan, error: unknown): string {
  if (error instanceof StaleDirectory) return 'changed in scancode while the import ran; run the import again';
  if (isUniqueViolation(em, error)) return `the name ${JSON.stringify(plan.name)} was taken in scancode while the import ran; run the import again`;
  return error instanceof Error ? error.message : String(error);
}

async function applyUser(tx: Em, plan: UserPlan, now: Date): Promise<number> {
  let id = plan.existingId;
  if (id === null) {
    const blank = { nickname: '', avatarUrl: '', gender: 0, city: '', province: '', country: '', language: '' };
    const inserted = await tx
      .createQueryBuilder(User)
      .insert({ ...blank, ...plan.fields, openid: plan.openid, createdAt: plan.createdAt, updatedAt: plan.createdAt })
      .execute('run');
    id = inserted.insertId;
  } else if (Object.keys(plan.fields).length > 0) {
    await tx
      .createQueryBuilder(User)
      .update({ ...plan.fields, updatedAt: now })
      .where({ id })
      .execute('run');
  }
  if (plan.writeMapping) await writeMapping(tx, 'user', plan.oldId, id, plan.fingerprint, plan.mapped, now);
  return id;
}

async function applyDirectory(tx: Em, plan: DirectoryPlan, ownerId: number, now: Date): Promise<void> {
  const revision = plan.changes[plan.changes.length - 1]?.revision ?? plan.existing?.revision ?? 0;
  const row = { name: plan.name, liveName: plan.liveName, freq: plan.freq, revision, updatedAt: plan.updatedAt, deletedAt: plan.deletedAt };
  let id: number;
  if (plan.existing) {
    id = plan.existing.id;
    // The same lock every scan takes first: no change can slip in between this check and the commit.
    const qb = tx.createQueryBuilder(Directory).select(['revision']).where({ id });
    if (!isSqlite(tx)) qb.setLockMode(LockMode.PESSIMISTIC_WRITE);
    const locked = await qb.execute<{ revision: number } | undefined>('get');
    if (locked?.revision !== plan.existing.revision) throw new StaleDirectory();
    if (plan.writeDirectory) await tx.createQueryBuilder(Directory).update(row).where({ id }).execute('run');
  } else {
    id = (
      await tx
        .createQueryBuilder(Directory)
        .insert({ ...row, owner: ownerId, goodsCount: 0, createdAt: plan.createdAt })
        .execute('run')
    ).insertId;
    // Its owner is its `owner` member, as for every directory made in scancode.
    await tx.execute("insert into members (directory_id, user_id, role, created_at) values (?, ?, 'owner', ?)", [id, ownerId, plan.createdAt], 'run');
  }

  const goodsIds = new Map<string, number | null>();
  for (const goods of plan.goods) {
    const { count, name, remarks, updatedAt } = goods;
    if (goods.write && goods.existingId !== null) await tx.createQueryBuilder(Goods).update({ count, name, remarks, updatedAt }).where({ id: goods.existingId }).execute('run');
    if (goods.write && goods.existingId === null) {
      const inserted = await tx
        .createQueryBuilder(Goods)
        .insert({ directory: id, code: goods.code, codeHash: goods.key, count, minCount: 0, name, remarks, createdAt: goods.createdAt, updatedAt })
        .execute('run');
      goodsIds.set(goods.key, inserted.insertId);
    } else goodsIds.set(goods.key, goods.existingId);
  }
  // The count MAX_GOODS_PER_DIRECTORY is checked against, kept as scans keep it (the import itself brings
  // the old backend's goods across whatever the cap: they were stored already).
  await tx.execute('update directories set goods_count = (select count(*) from goods where directory_id = ?) where id = ?', [id, id], 'run');

  const logIds = new Map<number, number>();
  for (const change of plan.changes) {
    const { revision: rev, type, code, name, remarks, delta, countAfter, dirName, at } = change;
    const goodsId = change.goodsKey === null ? null : (goodsIds.get(change.goodsKey) ?? null);
    const inserted = await tx
      .createQueryBuilder(LogEntry)
      .insert({ directory: id, user: ownerId, deviceId: null, type, goodsId, code, name, remarks, delta, countAfter, dirName, revision: rev, eventId: null, at })
      .execute('run');
    logIds.set(rev, inserted.insertId);
  }

  for (const mapping of plan.mappings) {
    await writeMapping(tx, mapping.kind, mapping.oldId, newIdOf(mapping, id, goodsIds, logIds), mapping.fingerprint, mapping.mapped, now);
  }
}

function newIdOf(mapping: MappingPlan, directoryId: number, goodsIds: Map<string, number | null>, logIds: Map<number, number>): number | null {
  const target = mapping.target;
  if ('directory' in target) return directoryId;
  if ('goodsKey' in target) return goodsIds.get(target.goodsKey) ?? null;
  return logIds.get(target.revision) ?? null;
}

async function writeMapping(tx: Em, kind: Kind, oldId: number, newId: number | null, fingerprint: string, mapped: boolean, now: Date): Promise<void> {
  // tx.execute, not the connection's: the statement must run in this transaction.
  if (mapped) {
    await tx.execute('update legacy_imports set new_id = ?, fingerprint = ?, imported_at = ? where kind = ? and old_id = ?', [newId, fingerprint, now, kind, oldId], 'run');
  } else {
    await tx.execute('insert into legacy_imports (kind, old_id, new_id, fingerprint, imported_at) values (?, ?, ?, ?, ?)', [kind, oldId, newId, fingerprint, now], 'run');
  }
}
