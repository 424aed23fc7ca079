import { Type } from '@sinclair/typebox';
import { Change as ChangeSchema, Directory as DirectorySchema } from '../../contract';
import type { Change, DirectoryView } from '../inventory/views';

/**
 * What the domain announces after a commit. The bus is an interface with an in-process default; a
 * Redis implementation fans the same messages out across server instances (Socket.IO's adapter idea).
 */
export type BusMessage =
  | { type: 'change'; ownerId: number; directoryId: number; revision: number; change: Change }
  | { type: 'directory'; ownerId: number; event: 'created' | 'renamed' | 'deleted'; directory: DirectoryView }
  | { type: 'session-revoked'; userId: number; sessionId: number }
  /**
   * Messages may have been lost (the Redis connection dropped and came back): every subscriber is to
   * read what it missed from the log now, rather than at the next change it hears.
   */
  | { type: 'resync' };

const Id = Type.Integer({ minimum: 1 });
/** The same messages as a schema: what arrives from another instance is checked against it. */
export const BusMessageSchema = Type.Union([
  Type.Object({ type: Type.Literal('change'), ownerId: Id, directoryId: Id, revision: Type.Integer({ minimum: 0 }), change: ChangeSchema }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('directory'), ownerId: Id, event: Type.Union([Type.Literal('created'), Type.Literal('renamed'), Type.Literal('deleted')]), directory: DirectorySchema }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('session-revoked'), userId: Id, sessionId: Id }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('resync') }, { additionalProperties: false }),
]);

export type BusListener = (message: BusMessage) => void;

export interface Bus {
  /** Delivers to every listener (of every instance); resolves once handed over, never throws. */
  publish(message: BusMessage): Promise<void>;
  subscribe(listener: BusListener): () => void;
  /** Whether messages reach the other instances right now (always, for the in-process bus). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * One process: listeners get every message in publish order, on the next turn of the event loop
 * rather than inside `publish`, so that the publisher (a scan about to be acked) never waits for a
 * fan-out to a thousand sockets.
 */
export class InProcessBus implements Bus {
  private readonly listeners = new Set<BusListener>();
  private outbox: BusMessage[] = [];

  async publish(message: BusMessage): Promise<void> {
    this.deliver(message);
  }

  /** Queues a message for this process's listeners, delivered in order at the next turn. */
  protected deliver(message: BusMessage): void {
    if (this.outbox.push(message) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const messages = this.outbox;
    this.outbox = [];
    for (const message of messages) this.hand(message);
  }

  /** A listener that throws does not stop the others. */
  private hand(message: BusMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch {
        // A listener's failure is its own (the gateway logs its errors); delivery goes on.
      }
    }
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
