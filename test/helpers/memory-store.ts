import type { RawDatabase, Statements } from '../../src/db/raw';
import type { Role } from '../../src/contract/constants';
import type { CountRow, DirectoryAdvance, DirectoryRow, GoodsReservation, InventoryStore, LoggedChange, LogInsert, OutcomeInsert, StoredGoods, StoredOutcome } from '../../src/modules/inventory/store';
import type { GoodsState } from '../../src/modules/inventory/rules';

/**
 * The InventoryStore the domain is written against, held in memory: tables as maps, with the
 * constraints the domain relies on (one outcome per user and event id, one live name per owner, one
 * goods per code of a directory). Not a mock of our database: the unit tier drives applyBatch and the
 * queue through it, in-process, with no SQL. A transaction of `memoryDatabase` is all or nothing.
 */

interface DirectoryTable {
  id: number;
  ownerId: number;
  name: string;
  liveName: string | null;
  revision: number;
  freq: number;
  goodsCount: number;
  deletedAt: Date | null;
  updatedAt: Date;
}

interface Tables {
  nextId: number;
  users: Map<number, { nickname: string }>;
  directories: Map<number, DirectoryTable>;
  /** `${directoryId}:${userId}` → role. */
  members: Map<string, Role>;
  goods: Map<number, StoredGoods & { directoryId: number }>;
  logs: LogInsert[];
  /** `${userId}:${eventId}` → the stored outcome. */
  outcomes: Map<string, OutcomeInsert>;
  /** `${directoryId}:${revision}` → the revision of the undo that undid it. */
  undone: Map<string, number>;
  counts: Map<number, CountRow>;
  countLines: Map<number, { code: string; codeHash: string; counted: number }[]>;
}

/** What the unique keys of the real schema raise (the mutation path retries on it). */
export class DuplicateKeyError extends Error {
  readonly code = 'ER_DUP_ENTRY';
  readonly errno = 1062;
}

export class MemoryInventory implements InventoryStore {
  private tables: Tables = {
    nextId: 1,
    users: new Map(),
    directories: new Map(),
    members: new Map(),
    goods: new Map(),
    logs: [],
    outcomes: new Map(),
    undone: new Map(),
    counts: new Map(),
    countLines: new Map(),
  };

  // ---- setting up (what other features' writes would have made) ----

  user(nickname: string): number {
    const id = this.tables.nextId++;
    this.tables.users.set(id, { nickname });
    return id;
  }

  /** A directory with its owner as its owner member (as insertDirectory makes it). */
  directory(ownerId: number, name = 'dir'): number {
    return this.insertDirectorySync(ownerId, name, new Date(0));
  }

  setMember(directoryId: number, userId: number, role: Role | null): void {
    const key = `${directoryId}:${userId}`;
    if (role === null) this.tables.members.delete(key);
    else this.tables.members.set(key, role);
  }

  // ---- reading back (what the tests assert on) ----

  revisionOf(directoryId: number): number {
    return this.row(directoryId).revision;
  }

  freqOf(directoryId: number): number {
    return this.row(directoryId).freq;
  }

  /** The goods count the directory row keeps (what MAX_GOODS_PER_DIRECTORY is checked against). */
  goodsCountOf(directoryId: number): number {
    return this.row(directoryId).goodsCount;
  }

  isDeleted(directoryId: number): boolean {
    return this.row(directoryId).deletedAt !== null;
  }

  nameOf(directoryId: number): string {
    return this.row(directoryId).name;
  }

  /** Counts by code of a directory's goods. */
  counts(directoryId: number): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const goods of this.tables.goods.values()) if (goods.directoryId === directoryId) counts[goods.code] = goods.count;
    return counts;
  }

  log(directoryId: number): LogInsert[] {
    return this.tables.logs.filter((entry) => entry.directoryId === directoryId);
  }

  // ---- transactions ----

  /** A copy of every table, to put back when a transaction fails. */
  snapshot(): Tables {
    return structuredClone(this.tables);
  }

  restore(tables: Tables): void {
    this.tables = tables;
  }

  // ---- InventoryStore ----

  async lockDirectory(directoryId: number, userIds: readonly number[]): Promise<DirectoryRow | null> {
    const row = this.tables.directories.get(directoryId);
    if (!row) return null;
    const members = new Map<number, { role: Role; nickname: string }>();
    for (const userId of userIds) {
      const role = this.tables.members.get(`${directoryId}:${userId}`);
      if (role) members.set(userId, { role, nickname: this.tables.users.get(userId)?.nickname ?? '' });
    }
    return { id: row.id, ownerId: row.ownerId, name: row.name, revision: row.revision, deleted: row.deletedAt !== null, goodsCount: row.goodsCount, members };
  }

  async lockDirectories(directoryIds: readonly number[], userIds: readonly number[]): Promise<Map<number, DirectoryRow>> {
    const found = new Map<number, DirectoryRow>();
    for (const id of [...directoryIds].sort((a, b) => a - b)) {
      const row = await this.lockDirectory(id, userIds);
      if (row) found.set(id, row);
    }
    return found;
  }

  async outcomes(eventIds: ReadonlyMap<number, readonly string[]>): Promise<Map<number, Map<string, StoredOutcome>>> {
    const found = new Map<number, Map<string, StoredOutcome>>();
    for (const [userId, ids] of eventIds) {
      for (const eventId of ids) {
        const row = this.tables.outcomes.get(`${userId}:${eventId}`);
        if (!row) continue;
        if (!found.has(userId)) found.set(userId, new Map());
        found.get(userId)?.set(eventId, { ok: row.ok, outcome: row.outcome });
      }
    }
    return found;
  }

  async goodsOf(hashes: ReadonlyMap<number, readonly string[]>): Promise<Map<number, Map<string, StoredGoods>>> {
    const found = new Map<number, Map<string, StoredGoods>>();
    for (const { directoryId, ...goods } of this.tables.goods.values()) {
      if (!hashes.get(directoryId)?.includes(goods.codeHash)) continue;
      if (!found.has(directoryId)) found.set(directoryId, new Map());
      found.get(directoryId)?.set(goods.codeHash, { ...goods });
    }
    return found;
  }

  async insertGoods(directoryId: number, goods: GoodsState, codeHash: string): Promise<number> {
    for (const row of this.tables.goods.values()) if (row.directoryId === directoryId && row.codeHash === codeHash) throw new DuplicateKeyError(`goods ${goods.code} exists`);
    const id = this.tables.nextId++;
    this.tables.goods.set(id, { id, directoryId, code: goods.code, codeHash, name: goods.name, remarks: goods.remarks, count: goods.count, minCount: goods.minCount ?? 0 });
    return id;
  }

  async updateGoods(goods: readonly StoredGoods[]): Promise<void> {
    for (const each of goods) {
      const row = this.tables.goods.get(each.id);
      if (row) Object.assign(row, { name: each.name, remarks: each.remarks, count: each.count, minCount: each.minCount });
    }
  }

  async deleteGoods(id: number): Promise<void> {
    this.tables.goods.delete(id);
  }

  async reserveGoods(rows: readonly GoodsReservation[]): Promise<Map<number, Map<string, number>>> {
    const found = new Map<number, Map<string, number>>();
    for (const row of rows) {
      const id = await this.insertGoods(row.directoryId, { id: null, code: row.code, name: '', remarks: '', count: 0 }, row.codeHash);
      found.set(row.directoryId, (found.get(row.directoryId) ?? new Map()).set(row.codeHash, id));
    }
    return found;
  }

  async deleteGoodsRows(ids: readonly number[]): Promise<void> {
    for (const id of ids) this.tables.goods.delete(id);
  }

  async appendLog(entries: LogInsert[]): Promise<void> {
    this.tables.logs.push(...entries.map((entry) => structuredClone(entry)));
  }

  async storeOutcomes(outcomes: OutcomeInsert[]): Promise<void> {
    for (const outcome of outcomes) {
      const key = `${outcome.userId}:${outcome.eventId}`;
      if (this.tables.outcomes.has(key)) throw new DuplicateKeyError(`event ${key} has an outcome`);
      this.tables.outcomes.set(key, outcome);
    }
  }

  async advanceDirectories(advances: readonly DirectoryAdvance[]): Promise<void> {
    for (const change of advances) {
      const row = this.row(change.id);
      row.revision = change.revision;
      row.freq += change.freqDelta;
      row.goodsCount += change.goodsDelta;
      row.updatedAt = change.at;
      if (change.name !== undefined) row.name = row.liveName = change.name;
      if (change.deletedAt !== undefined) {
        row.liveName = null;
        row.deletedAt = change.deletedAt;
      }
    }
  }

  async liveDirectoryNamed(ownerId: number, name: string): Promise<number | null> {
    for (const row of this.tables.directories.values()) if (row.ownerId === ownerId && row.liveName === name) return row.id;
    return null;
  }

  async lockOwnedDirectories(ownerId: number): Promise<number> {
    let owned = 0;
    for (const row of this.tables.directories.values()) if (row.ownerId === ownerId && row.deletedAt === null) owned += 1;
    return owned;
  }

  async insertDirectory(ownerId: number, name: string, at: Date): Promise<number> {
    return this.insertDirectorySync(ownerId, name, at);
  }

  async loggedChanges(directoryId: number, revisions: readonly number[]): Promise<Map<number, LoggedChange>> {
    const found = new Map<number, LoggedChange>();
    for (const entry of this.tables.logs) if (entry.directoryId === directoryId && revisions.includes(entry.revision)) found.set(entry.revision, this.logged(entry));
    return found;
  }

  async transferSides(transferId: string): Promise<(LoggedChange & { directoryId: number })[]> {
    return this.tables.logs
      .filter((entry) => entry.transfer?.id === transferId)
      .sort((a, b) => a.directoryId - b.directoryId)
      .map((entry) => ({ ...this.logged(entry), directoryId: entry.directoryId }));
  }

  async goodsBefore(directoryId: number, code: string, revision: number): Promise<{ name: string; remarks: string } | null> {
    const earlier = this.tables.logs
      .filter((entry) => entry.directoryId === directoryId && entry.revision < revision && (entry.goods?.code ?? entry.code) === code)
      .sort((a, b) => b.revision - a.revision)[0];
    if (!earlier || earlier.type === 'remove' || !earlier.goods) return null;
    return { name: earlier.goods.name, remarks: earlier.goods.remarks };
  }

  async markUndone(directoryId: number, revision: number, by: number): Promise<void> {
    this.tables.undone.set(`${directoryId}:${revision}`, by);
  }

  async lockCount(countId: number): Promise<CountRow | null> {
    const row = this.tables.counts.get(countId);
    return row ? { ...row } : null;
  }

  async countLines(countId: number): Promise<{ code: string; codeHash: string; counted: number }[]> {
    return (this.tables.countLines.get(countId) ?? []).map((line) => ({ ...line }));
  }

  async closeCount(countId: number, status: 'finished' | 'cancelled', at: Date): Promise<void> {
    const row = this.tables.counts.get(countId);
    if (row) Object.assign(row, { status, closedAt: at });
  }

  async allGoods(directoryId: number): Promise<StoredGoods[]> {
    return [...this.tables.goods.values()].filter((row) => row.directoryId === directoryId).map(({ directoryId: _directoryId, ...goods }) => ({ ...goods }));
  }

  /** A count session with lines (what the counts module's own writes would have made). */
  count(directoryId: number, startedBy: number, lines: { code: string; codeHash: string; counted: number }[]): number {
    const id = this.tables.nextId++;
    this.tables.counts.set(id, { id, directoryId, name: 'count', status: 'open', startedBy, startedAt: new Date(0), closedAt: null });
    this.tables.countLines.set(id, lines);
    return id;
  }

  private logged(entry: LogInsert): LoggedChange {
    return {
      revision: entry.revision,
      type: entry.type,
      userId: entry.userId,
      goodsId: entry.goods?.id ?? null,
      code: entry.goods?.code ?? entry.code ?? null,
      name: entry.goods?.name ?? null,
      remarks: entry.goods?.remarks ?? null,
      countAfter: entry.goods?.count ?? null,
      delta: entry.delta,
      transferId: entry.transfer?.id ?? null,
      transferFrom: entry.transfer?.from ?? null,
      transferTo: entry.transfer?.to ?? null,
      undoes: entry.undoes ?? null,
      undoneBy: this.tables.undone.get(`${entry.directoryId}:${entry.revision}`) ?? null,
    };
  }

  private insertDirectorySync(ownerId: number, name: string, at: Date): number {
    for (const row of this.tables.directories.values()) if (row.ownerId === ownerId && row.liveName === name) throw new DuplicateKeyError(`directory ${name} exists`);
    const id = this.tables.nextId++;
    this.tables.directories.set(id, { id, ownerId, name, liveName: name, revision: 0, freq: 0, goodsCount: 0, deletedAt: null, updatedAt: at });
    this.tables.members.set(`${id}:${ownerId}`, 'owner');
    return id;
  }

  private row(directoryId: number): DirectoryTable {
    const row = this.tables.directories.get(directoryId);
    if (!row) throw new Error(`no directory ${directoryId} in the memory store`);
    return row;
  }
}

/** Statements that no memory transaction should ever run: the domain reaches the memory store only through the InventoryStore. */
const NO_SQL: Statements = {
  all: () => Promise.reject(new Error('the memory database runs no SQL')),
  run: () => Promise.reject(new Error('the memory database runs no SQL')),
};

export interface MemoryDatabase extends RawDatabase {
  /** The store a transaction's statements reach (the queue's `store` option). */
  storeOf(statements: Statements): InventoryStore;
  /** The next transaction fails with this error after its work ran (as a commit would), rolled back. */
  failNext(error: unknown): void;
  /** Transactions begun so far (committed or not). */
  readonly transactions: number;
  /** The next transaction begins, then waits until the returned function is called (to hold a batch open). */
  hold(): () => void;
}

/**
 * A RawDatabase over a MemoryInventory: one transaction at a time (like SQLite's single writer), all
 * or nothing. Its Statements run no SQL; `storeOf` hands the memory store to whoever asks with them.
 */
export function memoryDatabase(inventory: MemoryInventory): MemoryDatabase {
  let failing: unknown[] = [];
  let running: Promise<unknown> = Promise.resolve();
  let transactions = 0;
  let held: Promise<void> | null = null;
  return {
    dialect: 'mysql',
    get transactions() {
      return transactions;
    },
    storeOf: (statements) => {
      if (statements !== NO_SQL) throw new Error('statements of another database');
      return inventory;
    },
    failNext(error) {
      failing.push(error);
    },
    hold() {
      let release = () => undefined as void;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => release();
    },
    transaction<T>(work: (statements: Statements) => Promise<T>): Promise<T> {
      const run = running.then(async () => {
        transactions += 1;
        const gate = held;
        held = null;
        if (gate) await gate;
        const before = inventory.snapshot();
        try {
          const result = await work(NO_SQL);
          if (failing.length > 0) {
            const [error, ...rest] = failing;
            failing = rest;
            throw error;
          }
          return result;
        } catch (error) {
          inventory.restore(before);
          throw error;
        }
      });
      running = run.catch(() => undefined);
      return run;
    },
  };
}
