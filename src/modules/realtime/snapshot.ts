import { SNAPSHOT_PAGE_BYTES } from '../../contract';
import type { Em } from '../../db/orm';
import { goodsAfter } from '../inventory/goods';
import type { GoodsView } from '../inventory/views';
import { encode } from './protocol';

/** Most goods read per statement (small goods: a page holds about 800 of them, read in a few statements). */
const MAX_ROWS_PER_READ = 200;
/** Goods asked for by a snapshot's first statement, before it knows how big its goods are. */
const FIRST_READ_ROWS = 16;
/** Room kept in each page for the frame around its goods (type, directoryId, revision, page, last). */
const FRAME_OVERHEAD_BYTES = 256;
const PAGE_BUDGET = SNAPSHOT_PAGE_BYTES - FRAME_OVERHEAD_BYTES;
/**
 * Pages a shared read keeps for its subscribers: the last ones it read. A subscriber may join it while
 * its first page is still among them, and one that falls further behind reads on by itself.
 */
export const SNAPSHOT_WINDOW_PAGES = 4;

/**
 * Bytes of snapshots this process holds: the pages in the windows of shared reads, and the goods read
 * for a page being cut. Bounded by the snapshots being sent times a few pages, never by the size of a
 * directory (what the tests watch).
 */
let heldBytes = 0;
export const snapshotBytesHeld = (): number => heldBytes;

/** Where a snapshot's goods come from: the directory's revision, then its goods in keyset reads. */
export interface SnapshotSource {
  /**
   * The directory's revision and the highest id of its goods, read by one statement: every goods the
   * directory holds at that revision has an id at most that (null: it holds none).
   */
  start(): Promise<{ revision: number; maxGoodsId: number | null }>;
  /** Up to `limit` goods with ids in (afterId, upToId], by id. */
  goods(afterId: number, upToId: number, limit: number): Promise<GoodsView[]>;
}

/** The database as a SnapshotSource: each statement on a fresh EntityManager, outside any transaction. */
export function databaseSource(em: () => Em, directoryId: number): SnapshotSource {
  return {
    async start() {
      const [row] = await em().execute<{ revision: number; max_goods_id: number | string | null }[]>(
        'select d.revision, (select max(g.id) from goods g where g.directory_id = d.id) as max_goods_id from directories d where d.id = ?',
        [directoryId],
      );
      return { revision: row?.revision ?? 0, maxGoodsId: row?.max_goods_id == null ? null : Number(row.max_goods_id) };
    },
    goods: (afterId, upToId, limit) => goodsAfter(em(), directoryId, afterId, limit, upToId),
  };
}

/**
 * One snapshot's goods cut into frames of at most SNAPSHOT_PAGE_BYTES (at least one goods each; an
 * empty directory is one empty page), read from the source a page at a time, when asked for the next.
 * Nothing is kept between pages: goods read past a full page are dropped and read again for the next,
 * and each statement asks for about a page's worth, from the sizes seen so far.
 *
 * Why pages read at different moments make one snapshot at `revision`: `revision` and `maxGoodsId` were
 * read before any page, so every change after `revision` is in the log, and the subscriber gets those
 * changes after the last page. A goods the pages show is as it was at `revision` or later; one changed
 * later shows its state after some change of the log, and the changes replayed after the pages end on its
 * last one (each carries the whole goods). A goods removed after `revision` may be missing from the pages:
 * its `remove` follows. One created after it has an id above `maxGoodsId` and is read only from the log
 * (MySQL may hand out a lower id to a transaction still running: such a goods shows in the pages ahead of
 * its change, which then sets it again). So pages plus the changes after `revision` are the directory exactly.
 */
class PageCursor {
  /** The id of the last goods put in a page: the next page starts after it. */
  through: number;
  /** The number of the next page. */
  page: number;
  finished = false;
  private closed = false;
  /** The average size of the goods seen so far (bytes of JSON), to size each statement. */
  private averageBytes = 0;
  private seen = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly directoryId: number,
    readonly revision: number,
    readonly maxGoodsId: number,
    through = 0,
    page = 0,
  ) {
    this.through = through;
    this.page = page;
  }

  /** The next page as the bytes of its frame; null after the last one, or once closed. */
  async next(): Promise<Buffer | null> {
    if (this.finished || this.closed) return null;
    const goods: GoodsView[] = [];
    let bytes = 0;
    /** Bytes of the goods read for this page, kept until it is encoded (those past a full page too). */
    let read = 0;
    let full = false;
    let exhausted = false;
    try {
      while (!full && !exhausted) {
        const after = goods.length > 0 ? goods[goods.length - 1].id : this.through;
        const limit = this.rowsToRead(bytes);
        const rows = after >= this.maxGoodsId ? [] : await this.source.goods(after, this.maxGoodsId, limit);
        if (this.closed) return null;
        for (const row of rows) {
          const size = Buffer.byteLength(JSON.stringify(row)) + 1; // and the comma before the next
          read += size;
          heldBytes += size;
          this.seen += 1;
          this.averageBytes += (size - this.averageBytes) / this.seen;
          if (full || (goods.length > 0 && bytes + size > PAGE_BUDGET)) {
            full = true;
            continue;
          }
          goods.push(row);
          bytes += size;
        }
        exhausted = !full && rows.length < limit;
      }
      if (goods.length > 0) this.through = goods[goods.length - 1].id;
      this.finished = exhausted;
      const frame = { type: 'snapshot' as const, directoryId: this.directoryId, revision: this.revision, page: this.page, last: exhausted, goods };
      this.page += 1;
      return Buffer.from(encode(frame));
    } finally {
      heldBytes -= read;
    }
  }

  close(): void {
    this.closed = true;
  }

  /** About what fills the rest of the page, and one more to know it is full, within 1..MAX_ROWS_PER_READ. */
  private rowsToRead(bytesInPage: number): number {
    if (this.seen === 0) return FIRST_READ_ROWS;
    return Math.min(MAX_ROWS_PER_READ, Math.max(1, Math.ceil((PAGE_BUDGET - bytesInPage) / this.averageBytes) + 1));
  }
}

/** A snapshot being sent to one socket: its revision, and its pages one at a time. `release` once. */
export interface SnapshotLease {
  readonly revision: number;
  /** The next page's frame (UTF-8 JSON), read when asked for; null after the last. */
  next(): Promise<Buffer | null>;
  release(): void;
}

class Lease implements SnapshotLease {
  /** The next page this socket needs. */
  position = 0;
  /** Its own reader, once it fell behind the shared read's window. */
  own: PageCursor | null = null;
  released = false;

  constructor(private readonly read: SharedRead) {}

  get revision(): number {
    return this.read.revision as number;
  }

  next(): Promise<Buffer | null> {
    if (this.released) return Promise.resolve(null);
    return this.own ? this.own.next() : this.read.pageFor(this);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.own) this.own.close();
    else this.read.leave(this);
  }
}

/**
 * One read of a directory's snapshot, shared by the sockets that join it before it has gone past its
 * first pages: each page is read once, when the first of them needs it, and encoded once (ws queues a
 * Buffer without copying it, so the sockets sending it share one copy). It keeps its last
 * SNAPSHOT_WINDOW_PAGES pages; a socket further behind than that (a phone that reads slowly) gets a
 * reader of its own from where it is, at the same revision, so that a slow phone neither holds pages
 * for itself nor holds the others back.
 */
class SharedRead {
  revision: number | null = null;
  readonly ready: Promise<void>;
  private cursor: PageCursor | null = null;
  private readonly window = new Map<number, { frame: Buffer; through: number }>();
  private readonly holders = new Set<Lease>();
  private producing: Promise<void> | null = null;
  private produced = 0;
  private finished = false;
  private failed = false;
  private closed = false;

  constructor(
    private readonly directoryId: number,
    private readonly source: SnapshotSource,
    private readonly onClose: () => void,
  ) {
    this.ready = source.start().then(
      ({ revision, maxGoodsId }) => {
        this.revision = revision;
        this.cursor = new PageCursor(source, directoryId, revision, maxGoodsId ?? 0);
      },
      (error: unknown) => {
        // A failed read is not joined: the next subscriber reads again.
        this.failed = true;
        throw error;
      },
    );
  }

  /** Whether a subscriber whose directory is at `revision` may join: it starts at page 0, at most `maxBehind` changes behind. */
  joinable(revision: number, maxBehind: number): boolean {
    if (this.failed || this.closed || (this.produced > 0 && !this.window.has(0))) return false;
    return this.revision === null || revision - this.revision <= maxBehind;
  }

  async join(): Promise<SnapshotLease> {
    const lease = new Lease(this);
    this.holders.add(lease);
    try {
      await this.ready;
    } catch (error) {
      lease.release();
      throw error;
    }
    return lease;
  }

  async pageFor(lease: Lease): Promise<Buffer | null> {
    for (;;) {
      if (lease.released) return null;
      if (lease.own) return lease.own.next();
      const held = this.window.get(lease.position);
      if (held) {
        lease.position += 1;
        return held.frame;
      }
      if (this.finished || this.closed) return null;
      this.producing ??= this.produce().finally(() => (this.producing = null));
      await this.producing;
    }
  }

  leave(lease: Lease): void {
    this.holders.delete(lease);
    if (this.holders.size === 0) this.close();
  }

  private async produce(): Promise<void> {
    const cursor = this.cursor as PageCursor;
    const through = cursor.through;
    const frame = await cursor.next();
    if (this.closed || frame === null) return;
    this.window.set(this.produced, { frame, through });
    heldBytes += frame.length;
    this.produced += 1;
    this.finished = cursor.finished;
    const oldest = this.produced - SNAPSHOT_WINDOW_PAGES;
    for (const lease of this.holders) {
      if (lease.position >= oldest) continue;
      // Too far behind to be kept waiting for: on by itself, from its next page.
      const from = this.window.get(lease.position) as { through: number };
      lease.own = new PageCursor(this.source, this.directoryId, this.revision as number, cursor.maxGoodsId, from.through, lease.position);
      this.holders.delete(lease);
    }
    for (const [page, held] of this.window) {
      if (page >= oldest) continue;
      this.window.delete(page);
      heldBytes -= held.frame.length;
    }
    if (this.holders.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cursor?.close();
    for (const held of this.window.values()) heldBytes -= held.frame.length;
    this.window.clear();
    this.onClose();
  }
}

/**
 * The snapshots being read for this server's sockets, at most one per directory that new subscribers
 * may join, so that a crowd subscribing to one directory at once (every phone of a shop after a deploy)
 * costs one read and one copy of each page, not one per socket. A read lives while some socket is
 * still sending it.
 *
 * A snapshot a few changes behind is as good as a new one: the subscriber gets the changes after it
 * from the log, as it would after a `since`. So one is joined while it is at most `maxBehind` changes
 * (CHANGES_REPLAY_LIMIT) behind the directory, and read anew past that.
 */
export class SharedSnapshots {
  private readonly reads = new Map<number, SharedRead>();

  /**
   * A snapshot of the directory no more than `maxBehind` changes behind `revision` (its revision as the
   * caller just read it, access checked): the one other sockets are starting to be sent, or a new read
   * from `source`. Resolves once its revision is known; its pages are read as they are asked for.
   */
  acquire(directoryId: number, revision: number, maxBehind: number, source: SnapshotSource): Promise<SnapshotLease> {
    let read = this.reads.get(directoryId);
    if (!read || !read.joinable(revision, maxBehind)) {
      const started: SharedRead = new SharedRead(directoryId, source, () => {
        if (this.reads.get(directoryId) === started) this.reads.delete(directoryId);
      });
      started.ready.catch(() => {
        if (this.reads.get(directoryId) === started) this.reads.delete(directoryId);
      });
      this.reads.set(directoryId, started);
      read = started;
    }
    return read.join();
  }
}
