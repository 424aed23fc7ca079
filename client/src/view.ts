import type { Change, ChangeFrame, Goods, ScanResult, SnapshotFrame, SyncEvent } from './contract';

/** Why a view gets no more changes: the directory was deleted, this user was removed from it, or it was never found (or is not theirs). */
export type LostReason = 'deleted' | 'removed' | 'not_found';

/** One line of a directory as the app shows it: the server's goods, and this phone's scans not yet applied over them. */
export interface ViewItem {
  code: string;
  /** The goods as the server has it; null for a code only pending scans know yet. */
  goods: Goods | null;
  /** The server's count (0 for a code it does not know yet). */
  count: number;
  /** Scans of this code made here that the server has not confirmed into this view yet. */
  pending: number;
  /** The count once those scans are applied, as far as this phone can tell. */
  expected: number;
}

/** What the app renders for a directory. */
export interface DirectoryState {
  directoryId: number;
  /** The last revision applied; null before the first snapshot. */
  revision: number | null;
  /** The directory's name, once a rename has been seen (the list from login has it before). */
  name: string | null;
  /** No more changes will come: the directory was deleted, the user was removed from it, or it is not theirs (`lost` says which). */
  deleted: boolean;
  /** Why no more changes will come; null while the view is live. */
  lost: LostReason | null;
  /** The view has caught up with the revision the server announced when it (re)subscribed. */
  synced: boolean;
  items: ViewItem[];
}

/** A scan of this phone not yet seen in the view: still in the outbox, or acked at a revision the view has not reached. */
export interface PendingScan {
  event: SyncEvent;
  result?: ScanResult;
}

/**
 * What became of a pushed frame: applied, already had it, a revision is missing before it, or a
 * snapshot page kept until the snapshot's last page arrives.
 */
export type Applied = 'applied' | 'skipped' | 'gap' | 'partial';

/**
 * A live copy of one directory: a snapshot (in pages, taken whole once its last page is in), then each
 * change by revision, exactly once and in order.
 * A change is applied only on top of the revision just before it; an older one is skipped (a resume
 * overlapping the copy, the ack of this phone's own scan racing its change frame), a newer one is a
 * gap, which the client fills by subscribing again with `since`.
 */
export class DirectoryView {
  revision: number | null = null;
  name: string | null = null;
  deleted = false;
  lost: LostReason | null = null;
  /** The revision the last subscribe's ack announced. */
  target: number | null = null;
  private goods = new Map<string, Goods>();
  /** The pages of a snapshot so far, until its last: the copy shown meanwhile stays the one before. */
  private pages: { revision: number; next: number; goods: Goods[] } | null = null;

  constructor(readonly directoryId: number) {}

  applySnapshot(frame: SnapshotFrame): Applied {
    // Page 0 starts a snapshot, dropping the pages of one cut short (a socket that closed mid-way).
    if (frame.page === 0) this.pages = { revision: frame.revision, next: 0, goods: [] };
    const pages = this.pages;
    if (!pages || frame.page !== pages.next || frame.revision !== pages.revision) {
      // A page out of its snapshot's order: the server never sends one; subscribe again.
      this.pages = null;
      return 'gap';
    }
    for (const goods of frame.goods) pages.goods.push(goods);
    pages.next++;
    if (!frame.last) return 'partial';
    this.pages = null;
    // Always taken, even older than the copy: the server sends one for a copy ahead of the directory.
    this.goods = new Map(pages.goods.map((goods) => [goods.code, goods]));
    this.revision = frame.revision;
    return 'applied';
  }

  applyChange(frame: ChangeFrame): Applied {
    // No change comes between a snapshot's pages: pages still held are of a snapshot cut short (its
    // socket closed), and this change comes from the replay that resumed the copy instead.
    this.pages = null;
    if (this.revision === null) return 'gap';
    if (frame.revision <= this.revision) return 'skipped';
    if (frame.revision !== this.revision + 1) return 'gap';
    this.apply(frame.change);
    this.revision = frame.revision;
    return 'applied';
  }

  /** The copy with `pending` (in the order they were made) shown over it. */
  state(pending: PendingScan[]): DirectoryState {
    const items = new Map<string, ViewItem>();
    for (const goods of this.goods.values()) items.set(goods.code, { code: goods.code, goods, count: goods.count, pending: 0, expected: goods.count });
    const item = (code: string) => {
      let found = items.get(code);
      if (!found) items.set(code, (found = { code, goods: null, count: 0, pending: 0, expected: 0 }));
      return found;
    };
    // Acked scans the view has not reached: their result is the count at their revision, newer than the copy's.
    const acked = pending.filter((scan) => scan.result && scan.result.revision > (this.revision ?? -1)).sort((a, b) => (a.result?.revision ?? 0) - (b.result?.revision ?? 0));
    for (const { event, result } of acked) {
      const line = item(event.code);
      line.pending++;
      line.expected = result?.goods.count ?? line.expected;
    }
    for (const { event, result } of pending) {
      if (result) continue;
      const line = item(event.code);
      line.pending++;
      const qty = event.qty ?? 1;
      line.expected = event.op === 'set' ? qty : event.op === 'in' ? line.expected + qty : Math.max(0, line.expected - qty);
    }
    return {
      directoryId: this.directoryId,
      revision: this.revision,
      name: this.name,
      deleted: this.deleted,
      lost: this.lost,
      synced: this.revision !== null && this.target !== null && this.revision >= this.target,
      items: [...items.values()],
    };
  }

  /** No more changes will come, for this reason (the first one told is kept). */
  lose(reason: LostReason): void {
    this.deleted = true;
    this.lost ??= reason;
  }

  /** The goods with this code as the copy has it. */
  goodsOf(code: string): Goods | undefined {
    return this.goods.get(code);
  }

  /** The server's counts by code (what the simulator and tests compare with the server's). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const goods of this.goods.values()) counts[goods.code] = goods.count;
    return counts;
  }

  private apply(change: Change): void {
    switch (change.type) {
      case 'in':
      case 'out':
      case 'set':
      case 'edit':
        // The goods after the change: stored as it is, never added to.
        if (change.goods) this.goods.set(change.goods.code, change.goods);
        return;
      case 'remove':
        if (change.code !== undefined) this.goods.delete(change.code);
        return;
      case 'undo':
        // An undo carries the goods as it left it, or only the code when it took the goods away again.
        if (change.goods) this.goods.set(change.goods.code, change.goods);
        else if (change.code !== undefined) this.goods.delete(change.code);
        return;
      case 'rename':
        if (change.directory) this.name = change.directory.name;
        return;
      case 'delete':
        this.deleted = true; // and the client marks it lost, with its event
        return;
    }
  }
}
