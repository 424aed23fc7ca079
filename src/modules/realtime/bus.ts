import { Type } from '@sinclair/typebox';
import {
  Change as ChangeSchema,
  CountLine as CountLineSchema,
  CountSession as CountSessionSchema,
  Directory as DirectorySchema,
  Goods as GoodsSchema,
  RoleSchema,
  type CountLine,
  type CountSession,
  type Role,
} from '../../contract';
import type { Change, DirectoryView, GoodsView } from '../inventory/views';

/**
 * What instances tell each other, addressed by audience, never by owner: a change to the watchers of
 * its directory; a directory event and a membership event to every socket of the users concerned. The
 * bus is an interface with an in-process default; a Redis implementation fans the same messages out
 * across server instances (Socket.IO's adapter idea).
 */
export type BusMessage =
  | { type: 'change'; directoryId: number; revision: number; change: Change }
  /** To every socket of every member (each sees the directory with their own role). */
  | { type: 'directory'; event: 'created' | 'renamed' | 'deleted'; directory: DirectoryView; audience: { userId: number; role: Role }[] }
  /** To every socket of one user: their membership began, changed role, or ended (`directory.role`: the role now, or the one they had). */
  | { type: 'membership'; event: 'shared' | 'role' | 'unshared'; userId: number; directory: DirectoryView }
  /** To the subscribers of the directory: a count session's line, or its start, finish or cancel. */
  | { type: 'count'; directoryId: number; countId: number; line?: CountLine; count?: CountSession }
  /** To every socket of every member: a goods went below its minCount. */
  | { type: 'alert'; directoryId: number; goods: GoodsView; audience: number[] }
  | { type: 'session-revoked'; userId: number; sessionId: number }
  /** A login by scanning was approved: a page polling for it on any instance answers at once. */
  | { type: 'web-login-approved'; id: string }
  /**
   * Messages may have been lost (the Redis connection dropped and came back): every subscriber is to
   * read what it missed from the log now, rather than at the next change it hears.
   */
  | { type: 'resync' };

const Id = Type.Integer({ minimum: 1 });
/** The same messages as a schema: what arrives from another instance is checked against it. */
export const BusMessageSchema = Type.Union([
  Type.Object({ type: Type.Literal('change'), directoryId: Id, revision: Type.Integer({ minimum: 0 }), change: ChangeSchema }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('directory'),
      event: Type.Union([Type.Literal('created'), Type.Literal('renamed'), Type.Literal('deleted')]),
      directory: DirectorySchema,
      audience: Type.Array(Type.Object({ userId: Id, role: RoleSchema }, { additionalProperties: false }), { maxItems: 100_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('membership'), event: Type.Union([Type.Literal('shared'), Type.Literal('role'), Type.Literal('unshared')]), userId: Id, directory: DirectorySchema },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('count'), directoryId: Id, countId: Id, line: Type.Optional(CountLineSchema), count: Type.Optional(CountSessionSchema) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('alert'), directoryId: Id, goods: GoodsSchema, audience: Type.Array(Id, { maxItems: 100_000 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('session-revoked'), userId: Id, sessionId: Id }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('web-login-approved'), id: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('resync') }, { additionalProperties: false }),
]);

export type BusListener = (message: BusMessage) => void;

/**
 * What an instance's sockets may be interested in: a directory (its changes and counts, for its
 * watchers) or a user (directory, membership and alert pushes, for every socket of theirs).
 */
export type BusScope = 'directory' | 'user';

export interface Bus {
  /**
   * Delivers to every listener of this instance, and of every instance that watches the message's
   * directory or user (`watch`); resolves once handed over, never throws.
   */
  publish(message: BusMessage): Promise<void>;
  subscribe(listener: BusListener): () => void;
  /**
   * This instance now wants the messages of a directory or a user (the hub calls it for the first
   * socket that watches it, `unwatch` after the last). Resolves once the messages published from then
   * on reach this instance (Redis confirmed the subscription), or once the subscription failed (the
   * periodic check and the resync after a reconnect cover that); never rejects.
   */
  watch(scope: BusScope, id: number): Promise<void>;
  unwatch(scope: BusScope, id: number): void;
  /** Resolves as `watch` did: at once when not watched, or when the subscription is already active. */
  listening(scope: BusScope, id: number): Promise<void>;
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

  /** Every message of one process reaches every listener of it: interest changes nothing here. */
  async watch(_scope: BusScope, _id: number): Promise<void> {}

  unwatch(_scope: BusScope, _id: number): void {}

  async listening(_scope: BusScope, _id: number): Promise<void> {}

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
