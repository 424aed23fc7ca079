import type { StorageLike } from './adapters/types';
import type { ErrorBody, OperationInput, OperationResult, ScanResult, SyncEvent, TransferRequest } from './contract';

/**
 * The writes a phone makes while scanning, which go through the outbox: scans, count lines and
 * transfers. Each is made here with its event id, kept until the server answers it, and sent again
 * under that id whatever happens meanwhile.
 */
export type QueuedOperation = 'scan' | 'count' | 'transfer';

/** Each queued write's input with its event id: a scan as `POST /api/sync` takes it, the others as their own route does. */
export interface QueuedInputs {
  scan: SyncEvent;
  count: Omit<OperationInput<'count'>, 'eventId'> & { eventId: string };
  transfer: TransferRequest & { eventId: string };
}

/** What the server answers each queued write with, once applied. */
export interface QueuedResults {
  scan: ScanResult;
  count: OperationResult<'count'>;
  transfer: OperationResult<'transfer'>;
}

/** A write made on this phone and not yet answered by the server. */
export type OutboxEntry<N extends QueuedOperation = QueuedOperation> = N extends QueuedOperation
  ? {
      /** The operation: its socket request type. Entries stored before there were others have none: they are scans. */
      operation: N;
      /** Its input with its event id (the socket frame carries the same fields, the event id being the frame's id). */
      event: QueuedInputs[N];
      /** Whose write it is: a phone shared by two users keeps each one's writes for their own session. */
      userId: number;
      /** When it was made (Date.now()). */
      createdAt: number;
    }
  : never;

/** The server's final answer to a queued write: applied (`result`, with `duplicate` when it had been applied before) or refused for good. */
export type Outcome<N extends QueuedOperation = QueuedOperation> = N extends QueuedOperation
  ? { eventId: string; ok: true; result: QueuedResults[N] } | { eventId: string; ok: false; error: ErrorBody }
  : never;

/**
 * The writes waiting for their answer, in the order they were made, kept in storage: each is written
 * before it is sent, and removed only once the server has answered it (applied or refused), so a scan
 * or a count line survives a lost socket, a lost answer and an app that is killed. Its event id, made
 * here once, makes every resend safe.
 */
export class Outbox {
  private entries: OutboxEntry[];

  constructor(
    private readonly storage: StorageLike,
    private readonly key: string,
  ) {
    // An entry stored by an SDK that queued only scans has no `operation`.
    const stored = read<Array<Omit<OutboxEntry, 'operation'> & { operation?: QueuedOperation }>>(storage, `${key}:outbox`) ?? [];
    this.entries = stored.map((entry) => ({ ...entry, operation: entry.operation ?? 'scan' }) as OutboxEntry);
  }

  /** Writes the operation with a new event id, before anything is sent. */
  add<N extends QueuedOperation>(operation: N, input: Omit<QueuedInputs[N], 'eventId'>, deviceId: string, userId: number): OutboxEntry<N> {
    const entry = { operation, event: { ...input, eventId: this.nextEventId(deviceId) }, userId, createdAt: Date.now() } as OutboxEntry<N>;
    this.entries.push(entry);
    this.save();
    return entry;
  }

  /** A new event id `<deviceId>:<n>` (n counts per install): for the outbox's writes and the SDK's other writes alike. */
  nextEventId(deviceId: string): string {
    const sequence = (read<number>(this.storage, `${this.key}:sequence`) ?? 0) + 1;
    // The sequence is saved first: an id is never given twice, even if the app dies between the writes.
    this.storage.set(`${this.key}:sequence`, JSON.stringify(sequence));
    return `${deviceId}:${sequence.toString(36)}`;
  }

  /** Takes an answered write out; undefined when it was not there (answered already, over another path). */
  remove(eventId: string): OutboxEntry | undefined {
    const index = this.entries.findIndex((entry) => entry.event.eventId === eventId);
    if (index < 0) return undefined;
    const [entry] = this.entries.splice(index, 1);
    this.save();
    return entry;
  }

  /** The waiting writes of one user, oldest first. */
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
