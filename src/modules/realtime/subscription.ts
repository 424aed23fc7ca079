import type { Role } from '../../contract';
import type { Change } from '../inventory/views';
import { encode, type SharedFrame } from './protocol';
import type { SnapshotLease } from './snapshot';

/** Revisions read from the log per statement while replaying: what a socket's replay holds in memory at once. */
const REPLAY_BATCH = 50;
/** Where a subscription's chain rests when nothing is queued: one settled promise for every subscription. */
const SETTLED: Promise<void> = Promise.resolve();

/** What a subscription needs from its socket and from the database. */
export interface Outlet {
  /**
   * Sends one serialized frame (text, or a shared snapshot page's UTF-8 bytes); false when the socket is
   * gone (or was just closed for not reading).
   */
  send(frame: string | Buffer | SharedFrame): boolean;
  /**
   * Resolves true once little enough is queued for the client to send it more; false once the socket is
   * gone, or was closed (4408) because the client read nothing for too long.
   */
  writable(): Promise<boolean>;
  /** The changes of a directory with revisions in (after, upTo], in order, from the log. */
  readLog(directoryId: number, after: number, upTo: number): Promise<Change[]>;
  /** The directory's revision in the database now; null when there is no such directory. */
  readRevision(directoryId: number): Promise<number | null>;
  /** A change from the bus at a revision the database does not have (a bug, a forgery): ignored, to be counted and logged. */
  unfounded(directoryId: number, revision: number): void;
  /** The no-gap promise cannot be kept (the log could not be read): the socket must be closed. */
  broken(error: unknown): void;
}

/**
 * Where a subscription starts: the client's own revision (its `since`), resumed from the log, or a
 * snapshot (possibly shared, and a few changes behind), followed by the log from its revision.
 * `revision` is what the subscribe ack announces: where the client is once the start's frames are in.
 */
export type StartingPoint = { revision: number; since: number } | { revision: number; snapshot: SnapshotLease };

/**
 * One socket's interest in one directory, and the promise that it sees every revision after its
 * starting point exactly once, in order, with no gap.
 *
 * Each change is published after its own commit, so two concurrent transactions can reach the bus out
 * of revision order, and a subscriber joins while changes are in flight. Every delivery therefore goes
 * through one rule, run one at a time in a promise chain so that order holds: drop a revision already
 * sent, send the next one, and on a jump fill the gap from the log first. (The log has every revision
 * below a published one: a change locks its directory, so revision r+1 commits after r.)
 *
 * What the start sends (snapshot pages, a replay) and every read from the log go out as fast as the
 * client reads them and no faster: each frame waits until the socket's queue is under its low-water
 * mark, so a socket holds about that much whatever the size of the directory or of its history.
 */
export class Subscription {
  /** The last revision this socket has of the directory; null until the start has run. */
  private last: number | null = null;
  private chain: Promise<void> = SETTLED;
  /** Work queued on the chain and not yet finished: none, and a live change may go out at once. */
  private queued = 0;
  private open = true;

  /**
   * The socket's user's role in the directory, from the access seam when the subscription started,
   * refreshed by membership events and the periodic check: reads of the socket in this directory
   * need ask nothing more. Null until the start has asked.
   */
  role: Role | null = null;

  constructor(
    readonly directoryId: number,
    private readonly outlet: Outlet,
  ) {}

  setRole(role: Role): void {
    if (this.open) this.role = role;
  }

  /**
   * Reads the starting point and acks it, then sends the snapshot or replay behind the ack, before any
   * live delivery: the subscription is registered before the start reads the database, so changes
   * committed meanwhile queue behind it and the same last-revision rule dedupes them at the seam.
   * Resolves once acked, so that the socket's next requests do not wait for a slow phone to read its
   * snapshot; rejects (and closes the subscription) when the starting point cannot be read.
   */
  start(read: () => Promise<StartingPoint>, ack: (revision: number) => void): Promise<void> {
    this.queued += 1;
    const acked = this.chain.then(async () => {
      const point = await read();
      ack(point.revision);
      return point;
    });
    this.chain = acked
      .then(
        (point) => this.sendStart(point).catch((error: unknown) => this.break(error)),
        () => this.close(),
      )
      .finally(() => this.settle());
    return acked.then(() => undefined);
  }

  /**
   * A frame about the directory that is no change of it (a count's line), queued behind the start: a
   * push that arrives while an acked subscription still sends its snapshot is sent after the snapshot,
   * not dropped (and not wedged between its pages).
   */
  push(text: string | SharedFrame): void {
    if (this.queued === 0) {
      try {
        if (this.open && this.last !== null) this.outlet.send(text);
      } catch (error) {
        this.break(error);
      }
      return;
    }
    this.queue(async () => {
      if (this.open && this.last !== null) this.outlet.send(text);
    });
  }

  /** A change from the bus, serialized once for every subscriber (`text` is its change frame). */
  offer(revision: number, text: string | SharedFrame): void {
    // The common case of a fan-out: nothing queued and the next revision; sent now, without a
    // promise per watcher. Anything else (a start still running, a gap to fill) waits its turn.
    if (this.queued === 0) {
      if (!this.open || this.last === null || revision <= this.last) return;
      if (revision === this.last + 1) {
        // In the hub's loop over the watchers: a failure here is this socket's alone, as on the chain.
        try {
          return this.sendFrame(revision, text);
        } catch (error) {
          return this.break(error);
        }
      }
    }
    this.queue(() => this.deliver(revision, text));
  }

  /**
   * Reads from the log whatever came after the last revision sent, for when the bus may have lost
   * messages and no next change would reveal the gap.
   */
  catchUp(): void {
    this.queue(async () => {
      if (this.open && this.last !== null) await this.replay(this.last, Number.MAX_SAFE_INTEGER);
    });
  }

  close(): void {
    this.open = false;
  }

  /**
   * Ends the subscription once what is already queued has gone (a directory's last change, its
   * delete, comes before the word that the subscription is over), then calls `then`.
   */
  end(then: () => void): void {
    this.queued += 1;
    this.chain = this.chain
      .then(
        () => {
          this.close();
          then();
        },
        () => undefined,
      )
      .finally(() => this.settle());
  }

  /** The last revision this socket has (null until the start has run). */
  get lastRevision(): number | null {
    return this.last;
  }

  /** Runs `work` after everything queued before it; a failure breaks the no-gap promise and the socket. */
  private queue(work: () => Promise<void>): void {
    this.queued += 1;
    this.chain = this.chain
      .then(work)
      .catch((error: unknown) => this.break(error))
      .finally(() => this.settle());
  }

  /** One piece of queued work is done; with none left, the chain rests on the shared settled promise. */
  private settle(): void {
    if (--this.queued === 0) this.chain = SETTLED;
  }

  private break(error: unknown): void {
    this.close();
    this.outlet.broken(error);
  }

  private async sendStart(point: StartingPoint): Promise<void> {
    let from: number;
    if ('snapshot' in point) {
      const snapshot = point.snapshot;
      try {
        // Each page is read only once the client has room for it: a phone that stops reading holds
        // no page of its own, and its snapshot costs the database nothing more until it reads again.
        for (;;) {
          if (!(await this.writable())) return;
          const page = await snapshot.next();
          if (page === null) break;
          if (!this.outlet.send(page)) return this.close();
        }
      } finally {
        snapshot.release();
      }
      from = snapshot.revision;
    } else {
      from = point.since;
    }
    this.last = from;
    await this.replay(from, point.revision);
  }

  private async deliver(revision: number, text: string | SharedFrame): Promise<void> {
    if (!this.open || this.last === null || revision <= this.last) return;
    if (revision > this.last + 1) {
      await this.replay(this.last, revision - 1);
      if (this.open && this.last !== revision - 1) {
        // The log ends before the gap does. A change is published after its commit, so the database
        // has its revision; if it does not, the message is not one of ours (a bug, a forgery): ignored,
        // rather than every watcher of the directory closed for a gap that is not there.
        const stored = await this.outlet.readRevision(this.directoryId);
        if (stored === null || stored < revision) return this.outlet.unfounded(this.directoryId, revision);
        throw new Error(`log of directory ${this.directoryId} lacks revisions before ${revision}`);
      }
    }
    this.sendFrame(revision, text);
  }

  /**
   * Sends the changes in (after, upTo] from the log, a batch of revisions per read and each frame paced
   * by the client's reading; stops at the end of the log (a catch-up does not know where that is).
   */
  private async replay(after: number, upTo: number): Promise<void> {
    for (let from = after; from < upTo && this.open; ) {
      const to = Math.min(from + REPLAY_BATCH, upTo);
      const changes = await this.outlet.readLog(this.directoryId, from, to);
      for (const change of changes) {
        if (!(await this.writable())) return;
        this.sendFrame(change.revision, encode({ type: 'change', directoryId: this.directoryId, revision: change.revision, change }));
      }
      if (changes.length < to - from) return;
      from = to;
    }
  }

  /** Waits until the client has room; false when the subscription ended meanwhile or the socket is gone. */
  private async writable(): Promise<boolean> {
    if (this.open && (await this.outlet.writable()) && this.open) return true;
    this.close();
    return false;
  }

  private sendFrame(revision: number, text: string | SharedFrame): void {
    if (!this.open || (this.last !== null && revision <= this.last)) return;
    if (this.outlet.send(text)) this.last = revision;
    else this.close();
  }
}
