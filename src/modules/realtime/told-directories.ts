import type { Role } from '../../contract';
import type { BusMessage } from './bus';

export type DirectoryEvent = 'created' | 'renamed' | 'deleted' | 'shared' | 'role' | 'unshared';

/** What a user's sockets were last told of one directory (by the bus, or by the check). */
interface Told {
  name: string;
  role: Role;
  /** false: told it was deleted, or that they left it (kept until the database agrees). */
  live: boolean;
  /** The count of bus events when this was set: newer than a read of the database begun before it. */
  at: number;
}

/** A live membership, as the database has it now. */
export interface Membership {
  userId: number;
  directoryId: number;
  role: Role;
  name: string;
}

/** A user's sockets were told something the database no longer says. */
export interface Difference {
  userId: number;
  directoryId: number;
  /** The membership now; null when the user is no longer a live member (deleted, or removed). */
  now: { role: Role; name: string } | null;
  /** What they were told; null when they were told nothing of it. */
  told: { role: Role; name: string; live: boolean } | null;
}

/**
 * Per connected user, the directories their sockets were last told of: the `directory` frames the bus
 * carried, from a baseline read when the user's first socket authenticated (the client lists its
 * directories once it is authenticated). The periodic check compares it with the database, so that a
 * frame lost with the bus (Redis away) is sent within REVISION_CHECK_MS, as a lost change is replayed.
 *
 * A read of the database races with the bus: a rename may commit after the read and be announced
 * before the comparison. Every entry therefore records when it was set, and a comparison leaves alone
 * what the bus set after its read began.
 */
export class ToldDirectories {
  private readonly users = new Map<number, { baselined: boolean; told: Map<number, Told> }>();
  private events = 0;

  /** A mark to take before reading the database: what the bus sets after it is newer than the read. */
  get mark(): number {
    return this.events;
  }

  /** The user's first socket here: remembered until their last one leaves. */
  join(userId: number): void {
    if (!this.users.has(userId)) this.users.set(userId, { baselined: false, told: new Map() });
  }

  leave(userId: number): void {
    this.users.delete(userId);
  }

  /** Connected users, and those whose baseline is still to be read. */
  connected(): number[] {
    return [...this.users.keys()];
  }

  /** Whether the user's sockets here are connected and their baseline is read. */
  baselined(userId: number): boolean {
    return this.users.get(userId)?.baselined === true;
  }

  /** What the bus announced, as the sockets of each user concerned were told it. */
  heard(message: BusMessage): void {
    if (message.type === 'directory') {
      this.events += 1;
      for (const { userId, role } of message.audience) this.set(userId, message.directory.id, { name: message.directory.name, role, live: message.event !== 'deleted' });
    } else if (message.type === 'membership') {
      this.events += 1;
      this.set(message.userId, message.directory.id, { name: message.directory.name, role: message.directory.role, live: message.event !== 'unshared' });
    }
  }

  /** The check told the user this (a recovered frame), unless the bus told them something newer than `mark` meanwhile. */
  recovered(difference: Difference, told: { name: string; role: Role; live: boolean }, mark: number): boolean {
    const entry = this.users.get(difference.userId);
    if (!entry || (entry.told.get(difference.directoryId)?.at ?? -1) > mark) return false;
    entry.told.set(difference.directoryId, { ...told, at: mark });
    return true;
  }

  /**
   * Compares the live memberships of `userIds`, read after `mark`, with what each was told, and
   * returns where they differ. A user without a baseline takes the database's word, and is sent nothing.
   */
  compare(userIds: number[], memberships: Membership[], mark: number): Difference[] {
    const now = new Map<number, Map<number, Membership>>();
    for (const membership of memberships) {
      let mine = now.get(membership.userId);
      if (!mine) now.set(membership.userId, (mine = new Map()));
      mine.set(membership.directoryId, membership);
    }
    const differences: Difference[] = [];
    for (const userId of userIds) {
      const entry = this.users.get(userId);
      if (!entry) continue; // gone meanwhile
      const live = now.get(userId) ?? new Map<number, Membership>();
      const baseline = !entry.baselined;
      entry.baselined = true;
      for (const [directoryId, membership] of live) {
        const told = entry.told.get(directoryId);
        if (told && told.at > mark) continue;
        if (baseline) entry.told.set(directoryId, { name: membership.name, role: membership.role, live: true, at: mark });
        else if (!told || !told.live || told.role !== membership.role || told.name !== membership.name) {
          differences.push({ userId, directoryId, now: { role: membership.role, name: membership.name }, told: told ? { role: told.role, name: told.name, live: told.live } : null });
        }
      }
      for (const [directoryId, told] of entry.told) {
        if (live.has(directoryId) || told.at > mark) continue;
        // Told it was gone, and it is: nothing more to remember.
        if (baseline || !told.live) entry.told.delete(directoryId);
        else differences.push({ userId, directoryId, now: null, told: { role: told.role, name: told.name, live: true } });
      }
    }
    return differences;
  }

  private set(userId: number, directoryId: number, told: Omit<Told, 'at'>): void {
    this.users.get(userId)?.told.set(directoryId, { ...told, at: this.events });
  }
}
