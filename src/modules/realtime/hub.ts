import type { Role } from '../../contract';
import type { DirectoryView } from '../inventory/views';
import type { BusMessage } from './bus';
import type { Connection } from './connection';
import { Interest, NOTHING_TO_WATCH, type Watchable } from './interest';
import { CloseCode, encode, SharedFrame } from './protocol';
import type { Subscription } from './subscription';
import { ToldDirectories, type DirectoryEvent } from './told-directories';

/** A subscription of this process, with its socket and the user it is for. */
export interface Watch {
  userId: number;
  connection: Connection;
  subscription: Subscription;
}

/**
 * This process's sockets, and the fan-out of what the bus announces to them. Every message is
 * serialized once, however many sockets receive it, and whichever transport made the change
 * (WebSocket, HTTP, a legacy form route, another server instance).
 */
export class Hub {
  /** Every open socket, authenticated or not (heartbeat and shutdown walk this). */
  readonly sockets = new Set<Connection>();
  /** Authenticated sockets by user: directory and membership events go to every socket of a user. */
  private readonly byUser = new Map<number, Set<Connection>>();
  /** Subscriptions by directory: a change costs as many sends as it has watchers, whoever else is connected. */
  private readonly byDirectory = new Map<number, Set<Subscription>>();
  private readonly authenticating = new Set<Connection>();
  /** The directories each connected user's sockets were told of: the periodic check sends what the bus lost. */
  readonly told = new ToldDirectories();
  /** What the bus is to deliver here: the directories watched and the users with a socket here. */
  private readonly interest: Interest;

  constructor(bus: Watchable = NOTHING_TO_WATCH) {
    this.interest = new Interest(bus);
  }

  add(connection: Connection): void {
    this.sockets.add(connection);
  }

  /**
   * Marks a socket as checking its token. A logout that lands between the token check and
   * `authenticated` is recorded on the socket, so that it is refused rather than left open.
   */
  startAuthenticating(connection: Connection): void {
    this.authenticating.add(connection);
  }

  /** The socket's principal is set: from now on it receives its user's messages. */
  authenticated(connection: Connection): void {
    this.authenticating.delete(connection);
    const userId = connection.principal?.userId;
    if (userId === undefined || !this.sockets.has(connection)) return;
    let sockets = this.byUser.get(userId);
    if (!sockets) {
      this.byUser.set(userId, (sockets = new Set()));
      void this.interest.hold('user', userId);
    }
    sockets.add(connection);
    this.told.join(userId);
  }

  remove(connection: Connection): void {
    this.sockets.delete(connection);
    this.authenticating.delete(connection);
    const userId = connection.principal?.userId;
    if (userId === undefined) return;
    const sockets = this.byUser.get(userId);
    sockets?.delete(connection);
    if (sockets?.size === 0) {
      this.byUser.delete(userId);
      this.told.leave(userId);
      this.interest.release('user', userId);
    }
  }

  /** Connection's `watching` callback: keeps the index by directory. */
  readonly watching = (subscription: Subscription, on: boolean): void => {
    const directoryId = subscription.directoryId;
    let watchers = this.byDirectory.get(directoryId);
    if (on) {
      if (!watchers) {
        this.byDirectory.set(directoryId, (watchers = new Set()));
        // The start awaits the bus's subscription (Bus.listening) before it reads its starting point.
        void this.interest.hold('directory', directoryId);
      }
      watchers.add(subscription);
      return;
    }
    watchers?.delete(subscription);
    if (watchers?.size === 0) {
      this.byDirectory.delete(directoryId);
      this.interest.release('directory', directoryId);
    }
  };

  /**
   * Listens to a user's channel while their socket authenticates: resolves once the bus listens, so
   * that the directories read for the socket's baseline after it miss no push published meanwhile.
   * `release` lets go (the hub holds the user itself once the socket joins it).
   */
  holdUser(userId: number): { listening: Promise<void>; release(): void } {
    const listening = this.interest.hold('user', userId);
    let released = false;
    return {
      listening,
      release: () => {
        if (!released) this.interest.release('user', userId);
        released = true;
      },
    };
  }

  /** Every directory some socket of this process watches. */
  watchedDirectories(): number[] {
    return [...this.byDirectory.keys()];
  }

  /**
   * Subscriptions behind their directory's revision read what they missed from the log: for changes
   * whose publish was lost (Redis stalled or away, an instance that died between commit and publish).
   */
  catchUpTo(revisions: Map<number, number>): void {
    for (const [directoryId, revision] of revisions) {
      for (const subscription of this.byDirectory.get(directoryId) ?? []) {
        const last = subscription.lastRevision;
        if (last !== null && last < revision) subscription.catchUp();
      }
    }
  }

  /** Every subscription of this process, with the user it is for (the periodic access check walks them). */
  *subscriptions(): Generator<Watch> {
    for (const [userId, sockets] of this.byUser) {
      for (const connection of sockets) for (const subscription of connection.subscriptions.values()) yield { userId, connection, subscription };
    }
  }

  /**
   * Ends a subscription the user lost access to, on this socket: the client is told
   * (`unsubscribed`), and nothing more of the directory reaches it.
   */
  revoke(connection: Connection, directoryId: number, reason: 'removed' | 'deleted'): void {
    const subscription = connection.subscriptions.get(directoryId);
    if (!subscription) return;
    // Out of every index now (nothing new reaches it), told after what was already queued for it. A
    // deleted directory's last changes (its delete) are read from the log first: the periodic check can
    // see the delete before this instance's own bus has handed its change over.
    connection.detach(directoryId, subscription);
    if (reason === 'deleted') subscription.catchUp();
    subscription.end(() => connection.sendFrame({ type: 'unsubscribed', directoryId, reason }));
  }

  /**
   * What the database says of the watched directories (the periodic check), for the subscriptions its
   * read was about (`asked`, taken before the read): one whose user is no longer a member, or whose
   * directory was deleted, ends now; the others take the current role. A subscription started while
   * the read ran (a phone that reconnected, a user who just joined) is not among them, and one that
   * ended meanwhile is left alone, so neither can look removed.
   */
  checkAccess(access: Map<number, { deleted: boolean; roles: Map<number, Role> }>, asked: Iterable<Watch>): void {
    for (const { userId, connection, subscription } of asked) {
      const directory = access.get(subscription.directoryId);
      if (!directory) continue; // not in this batch of the check
      if (connection.subscriptions.get(subscription.directoryId) !== subscription) continue;
      const role = directory.roles.get(userId);
      if (directory.deleted) this.revoke(connection, subscription.directoryId, 'deleted');
      else if (role === undefined) this.revoke(connection, subscription.directoryId, 'removed');
      else subscription.setRole(role);
    }
  }

  /**
   * A `directory` frame to every socket of a user (`directory.role`: theirs, or the one they had), from
   * the bus or recovered by the periodic check. A directory deleted or left loses its subscriptions;
   * a membership shared or changed gives them its role.
   */
  tell(userId: number, event: DirectoryEvent, directory: DirectoryView): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    const text = encode({ type: 'directory', event, directory });
    for (const connection of [...sockets]) {
      connection.send(text);
      if (event === 'deleted') this.revoke(connection, directory.id, 'deleted');
      else if (event === 'unshared') this.revoke(connection, directory.id, 'removed');
      else if (event === 'shared' || event === 'role') connection.subscriptions.get(directory.id)?.setRole(directory.role);
    }
  }

  /** The bus listener. Never throws: sending to one socket cannot fail another. */
  readonly receive = (message: BusMessage): void => {
    switch (message.type) {
      case 'change': {
        // A subscription exists only for a socket that was allowed to read the directory (its start
        // asks the access seam, and nothing is sent before the start); one that lost access is gone.
        const watchers = this.byDirectory.get(message.directoryId);
        if (!watchers) return;
        const text = new SharedFrame({ type: 'change', directoryId: message.directoryId, revision: message.revision, change: message.change });
        for (const subscription of watchers) subscription.offer(message.revision, text);
        return;
      }
      case 'directory': {
        this.told.heard(message);
        for (const { userId, role } of message.audience) this.tell(userId, message.event, { ...message.directory, role });
        return;
      }
      case 'membership': {
        this.told.heard(message);
        this.tell(message.userId, message.event, message.directory);
        return;
      }
      case 'count': {
        // Counting is not a change of the directory (no revision): sent as it comes to its watchers.
        const watchers = this.byDirectory.get(message.directoryId);
        if (!watchers) return;
        const { type: _type, ...count } = message;
        const text = new SharedFrame({ type: 'count', ...count });
        for (const subscription of watchers) subscription.push(text);
        return;
      }
      case 'alert': {
        const text = encode({ type: 'alert', kind: 'low_stock', directoryId: message.directoryId, goods: message.goods });
        for (const userId of message.audience) for (const connection of this.byUser.get(userId) ?? []) connection.send(text);
        return;
      }
      case 'resync':
        // The gateway answers it: one check of every watched directory's revision and members, and of
        // every open socket's session, against the database (RealtimeGateway.checkWithDatabase).
        return;
      case 'web-login-approved':
        // For the web login's waiting polls (weblogin/waiters.ts), not for sockets.
        return;
      case 'session-revoked': {
        for (const connection of this.authenticating) connection.revokedWhileAuthenticating.add(message.sessionId);
        for (const connection of [...(this.byUser.get(message.userId) ?? [])]) {
          if (connection.principal?.sessionId === message.sessionId) connection.close(CloseCode.unauthorized, 'session revoked');
        }
        return;
      }
    }
  };
}
