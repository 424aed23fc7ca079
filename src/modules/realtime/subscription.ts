import type { Change } from '../inventory/views';
import { encode } from './protocol';

/** What a subscription needs from its socket and from the database. */
export interface Outlet {
  /** Sends one serialized frame; false when the socket is gone (or was just closed for not reading). */
  send(text: string): boolean;
  /** The changes of a directory with revisions in (after, upTo], in order, from the log. */
  readLog(directoryId: number, after: number, upTo: number): Promise<Change[]>;
  /** The no-gap promise cannot be kept (the log could not be read): the socket must be closed. */
  broken(error: unknown): void;
}

/**
 * One socket's interest in one directory, and the promise that it sees every revision after its
 * starting point exactly once, in order, with no gap.
 *
 * Each change is published after its own commit, so two concurrent transactions can reach the bus out
 * of revision order, and a subscriber joins while changes are in flight. Every delivery therefore goes
 * through one rule, run one at a time in a promise chain so that order holds: drop a revision already
 * sent, send the next one, and on a jump fill the gap from the log first. (The log has every revision
 * below a published one: a change locks its directory, so revision r+1 commits after r.)
 */
export class Subscription {
  /** The last revision this socket has of the directory; null until the start has run. */
  private last: number | null = null;
  private chain: Promise<void> = Promise.resolve();
  private open = true;

  constructor(
    readonly directoryId: number,
    private readonly outlet: Outlet,
  ) {}

  /**
   * Runs the start (read the starting point, ack, send the replay or snapshot) before any live delivery:
   * the subscription is registered before the start reads the database, so changes committed meanwhile
   * queue behind it and the same last-revision rule dedupes them at the seam. Resolves to the revision
   * the start reached; a failed start closes the subscription.
   */
  start(catchUp: () => Promise<number>): Promise<void> {
    const started = this.chain.then(async () => {
      const revision = await catchUp();
      this.last = Math.max(this.last ?? revision, revision);
    });
    this.chain = started.catch(() => this.close());
    return started;
  }

  /** A change from the bus, serialized once for every subscriber (`text` is its change frame). */
  offer(revision: number, text: string): void {
    this.queue(() => this.deliver(revision, text));
  }

  /**
   * Reads from the log whatever came after the last revision sent, for when the bus may have lost
   * messages and no next change would reveal the gap.
   */
  catchUp(): void {
    this.queue(async () => {
      if (!this.open || this.last === null) return;
      for (const change of await this.outlet.readLog(this.directoryId, this.last, Number.MAX_SAFE_INTEGER)) this.sendChange(change);
    });
  }

  /** Sends a change read from the log (a replay or a gap fill), unless this socket already has it. */
  sendChange(change: Change): void {
    this.sendFrame(change.revision, encode({ type: 'change', directoryId: this.directoryId, revision: change.revision, change }));
  }

  close(): void {
    this.open = false;
  }

  /** The last revision this socket has (null until the start has run). */
  get lastRevision(): number | null {
    return this.last;
  }

  /** Runs `work` after everything queued before it; a failure breaks the no-gap promise and the socket. */
  private queue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.close();
      this.outlet.broken(error);
    });
  }

  private async deliver(revision: number, text: string): Promise<void> {
    if (!this.open || this.last === null || revision <= this.last) return;
    if (revision > this.last + 1) {
      for (const change of await this.outlet.readLog(this.directoryId, this.last, revision - 1)) this.sendChange(change);
      if (this.open && this.last !== revision - 1) throw new Error(`log of directory ${this.directoryId} lacks revisions before ${revision}`);
    }
    this.sendFrame(revision, text);
  }

  private sendFrame(revision: number, text: string): void {
    if (!this.open || (this.last !== null && revision <= this.last)) return;
    if (this.outlet.send(text)) this.last = revision;
    else this.close();
  }
}
