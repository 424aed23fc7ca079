import { IsolationLevel } from '@mikro-orm/core';
import { SNAPSHOT_PAGE_BYTES } from '../../contract';
import type { Em } from '../../db/orm';
import { directoryRevisions } from '../inventory/directories';
import { goodsAfter } from '../inventory/goods';
import { isSqlite } from '../inventory/transaction';
import type { GoodsView } from '../inventory/views';
import { encode } from './protocol';

/** Goods read per statement while a snapshot is read: a few hundred rows in memory at a time. */
const ROWS_PER_READ = 500;
/** Room kept in each page for the frame around its goods (type, directoryId, revision, page, last). */
const FRAME_OVERHEAD_BYTES = 256;

/**
 * A directory's goods at one revision, as the snapshot frames that carry them. Each page is a whole
 * frame in UTF-8, encoded once and sent as it is to every socket that needs it: ws queues a Buffer
 * without copying it, so forty sockets waiting on the same page hold one copy of it between them.
 */
export interface Snapshot {
  readonly revision: number;
  readonly pages: readonly Buffer[];
}

/** A snapshot held for one socket until it has sent the last page (or given up): `release` once. */
export interface SnapshotLease extends Snapshot {
  release(): void;
}

/**
 * Reads the directory's revision and its goods in one transaction, so that the goods are exactly those
 * of that revision, and cuts them into pages. On MySQL the transaction asks for REPEATABLE READ: its
 * statements then share one read view, whereas a pool connection the write path used is in READ
 * COMMITTED, where each statement sees its own. (SQLite's one connection runs nothing in between.)
 * It only reads: nothing here waits for a client, and the connection is free before the first page goes.
 * The caller has authorized the read.
 */
export async function readSnapshot(em: Em, directoryId: number): Promise<Snapshot> {
  const options = isSqlite(em) ? {} : { isolationLevel: IsolationLevel.REPEATABLE_READ };
  return em.transactional(async (tx) => {
    const revision = (await directoryRevisions(tx as Em, [directoryId])).get(directoryId) ?? 0;
    const pages = new PageWriter(directoryId, revision);
    for (let afterId = 0; ; ) {
      const goods = await goodsAfter(tx as Em, directoryId, afterId, ROWS_PER_READ);
      for (const item of goods) pages.add(item);
      if (goods.length < ROWS_PER_READ) break;
      afterId = goods[goods.length - 1].id;
    }
    return { revision, pages: pages.finish() };
  }, options);
}

/** Cuts goods into snapshot frames of at most SNAPSHOT_PAGE_BYTES, at least one goods each (an empty directory: one empty page). */
class PageWriter {
  private readonly pages: Buffer[] = [];
  private goods: GoodsView[] = [];
  private bytes = 0;

  constructor(
    private readonly directoryId: number,
    private readonly revision: number,
  ) {}

  add(goods: GoodsView): void {
    const bytes = Buffer.byteLength(JSON.stringify(goods)) + 1; // and the comma before the next
    if (this.goods.length > 0 && this.bytes + bytes > SNAPSHOT_PAGE_BYTES - FRAME_OVERHEAD_BYTES) this.flush(false);
    this.goods.push(goods);
    this.bytes += bytes;
  }

  finish(): Buffer[] {
    this.flush(true);
    return this.pages;
  }

  private flush(last: boolean): void {
    const frame = { type: 'snapshot' as const, directoryId: this.directoryId, revision: this.revision, page: this.pages.length, last, goods: this.goods };
    this.pages.push(Buffer.from(encode(frame)));
    this.goods = [];
    this.bytes = 0;
  }
}

interface Held {
  /** Resolves to the snapshot once read; its revision is known from then on. */
  readonly ready: Promise<Snapshot>;
  revision: number | null;
  /** Sockets still sending it (or waiting for it to be read). */
  holders: number;
}

/**
 * The snapshots being sent right now, at most one per directory that new subscribers may join, so
 * that a crowd subscribing to one big directory (every phone of a shop reconnecting after a deploy)
 * costs one read and one copy of its pages, not one per socket. A snapshot is kept only while some
 * socket is still sending it.
 *
 * A snapshot a few changes behind is as good as a new one: the subscriber gets the changes after it
 * from the log, as it would after a `since`. So one is joined while it is at most `maxBehind` changes
 * (CHANGES_REPLAY_LIMIT) behind the directory, and read anew past that.
 */
export class SharedSnapshots {
  private readonly held = new Map<number, Held>();

  /**
   * A snapshot of the directory no more than `maxBehind` changes behind `revision` (its revision as the
   * caller just read it, access checked): the one other sockets are sending, or else `read()`'s.
   */
  async acquire(directoryId: number, revision: number, maxBehind: number, read: () => Promise<Snapshot>): Promise<SnapshotLease> {
    let held = this.held.get(directoryId);
    if (!held || (held.revision !== null && revision - held.revision > maxBehind)) held = this.start(directoryId, read);
    held.holders += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.holders -= 1;
      if (held.holders === 0 && this.held.get(directoryId) === held) this.held.delete(directoryId);
    };
    try {
      const snapshot = await held.ready;
      return { revision: snapshot.revision, pages: snapshot.pages, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private start(directoryId: number, read: () => Promise<Snapshot>): Held {
    const held: Held = { ready: read(), revision: null, holders: 0 };
    this.held.set(directoryId, held);
    held.ready.then(
      (snapshot) => {
        held.revision = snapshot.revision;
      },
      () => {
        // A failed read is not joined: the next subscriber reads again.
        if (this.held.get(directoryId) === held) this.held.delete(directoryId);
      },
    );
    return held;
  }
}
