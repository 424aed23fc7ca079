import type { StorageLike } from './adapters/types';
import type { ScanRequest, SyncEvent } from './contract';

/** A scan made on this phone and not yet answered by the server. */
export interface OutboxEntry {
  /** The scan with its event id, as `POST /api/sync` takes it (a `scan` frame carries the same fields). */
  event: SyncEvent;
  /** Whose scan it is: a phone shared by two users keeps each one's scans for their own session. */
  userId: number;
  /** When it was made (Date.now()). */
  createdAt: number;
}

/**
 * The scans waiting for their answer, in the order they were made, kept in storage: each is written
 * before it is sent, and removed only once the server has answered it (applied or refused), so a scan
 * survives a lost socket, a lost answer and an app that is killed. Its event id, made here once, makes
 * every resend safe.
 */
export class Outbox {
  private entries: OutboxEntry[];

  constructor(
    private readonly storage: StorageLike,
    private readonly key: string,
  ) {
    this.entries = read<OutboxEntry[]>(storage, `${key}:outbox`) ?? [];
  }

  /** Writes the scan, with a new event id `<deviceId>:<n>` (n counts per install), before anything is sent. */
  add(scan: ScanRequest, deviceId: string, userId: number): OutboxEntry {
    const sequence = (read<number>(this.storage, `${this.key}:sequence`) ?? 0) + 1;
    // The sequence is saved first: an id is never given twice, even if the app dies between the writes.
    this.storage.set(`${this.key}:sequence`, JSON.stringify(sequence));
    const entry: OutboxEntry = { event: { ...scan, eventId: `${deviceId}:${sequence.toString(36)}` } as SyncEvent, userId, createdAt: Date.now() };
    this.entries.push(entry);
    this.save();
    return entry;
  }

  /** Takes an answered scan out; undefined when it was not there (answered already, over another path). */
  remove(eventId: string): OutboxEntry | undefined {
    const index = this.entries.findIndex((entry) => entry.event.eventId === eventId);
    if (index < 0) return undefined;
    const [entry] = this.entries.splice(index, 1);
    this.save();
    return entry;
  }

  /** The waiting scans of one user, oldest first. */
  of(userId: number): OutboxEntry[] {
    return this.entries.filter((entry) => entry.userId === userId);
  }

  get size(): number {
    return this.entries.length;
  }

  private save(): void {
    this.storage.set(`${this.key}:outbox`, JSON.stringify(this.entries));
  }
}

/** A JSON value from storage; null when absent or unreadable. */
export function read<T>(storage: StorageLike, key: string): T | null {
  const text = storage.get(key);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
