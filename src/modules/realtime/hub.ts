import type { BusMessage } from './bus';
import type { Connection } from './connection';
import { CloseCode, encode } from './protocol';
import type { Subscription } from './subscription';

/**
 * This process's sockets, and the fan-out of what the bus announces to them. Every message is
 * serialized once, however many sockets receive it, and whichever transport made the change
 * (WebSocket, HTTP, a legacy form route, another server instance).
 */
export class Hub {
  /** Every open socket, authenticated or not (heartbeat and shutdown walk this). */
  readonly sockets = new Set<Connection>();
  private readonly byOwner = new Map<number, Set<Connection>>();
  /** Subscriptions by directory: a change costs as many sends as it has watchers, whoever else is connected. */
  private readonly byDirectory = new Map<number, Set<Subscription>>();
  private readonly authenticating = new Set<Connection>();

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

  /** The socket's principal is set: from now on it receives its owner's messages. */
  authenticated(connection: Connection): void {
    this.authenticating.delete(connection);
    const userId = connection.principal?.userId;
    if (userId === undefined || !this.sockets.has(connection)) return;
    let owned = this.byOwner.get(userId);
    if (!owned) this.byOwner.set(userId, (owned = new Set()));
    owned.add(connection);
  }

  remove(connection: Connection): void {
    this.sockets.delete(connection);
    this.authenticating.delete(connection);
    const userId = connection.principal?.userId;
    if (userId === undefined) return;
    const owned = this.byOwner.get(userId);
    owned?.delete(connection);
    if (owned?.size === 0) this.byOwner.delete(userId);
  }

  /** Connection's `watching` callback: keeps the index by directory. */
  readonly watching = (subscription: Subscription, on: boolean): void => {
    let watchers = this.byDirectory.get(subscription.directoryId);
    if (on) {
      if (!watchers) this.byDirectory.set(subscription.directoryId, (watchers = new Set()));
      watchers.add(subscription);
      return;
    }
    watchers?.delete(subscription);
    if (watchers?.size === 0) this.byDirectory.delete(subscription.directoryId);
  };

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

  /** The bus listener. Never throws: sending to one socket cannot fail another. */
  readonly receive = (message: BusMessage): void => {
    switch (message.type) {
      case 'change': {
        // A subscription exists only for a socket that was allowed to read the directory (its start
        // checks access, and nothing is sent before the start).
        const watchers = this.byDirectory.get(message.directoryId);
        if (!watchers) return;
        const text = encode({ type: 'change', directoryId: message.directoryId, revision: message.revision, change: message.change });
        for (const subscription of watchers) subscription.offer(message.revision, text);
        return;
      }
      case 'directory': {
        const owned = this.byOwner.get(message.ownerId);
        if (!owned) return;
        const text = encode({ type: 'directory', event: message.event, directory: message.directory });
        for (const connection of owned) connection.send(text);
        return;
      }
      case 'resync':
        // The gateway answers it: one check of every watched directory's revision and every open
        // socket's session against the database (RealtimeGateway.checkWithDatabase).
        return;
      case 'session-revoked': {
        for (const connection of this.authenticating) connection.revokedWhileAuthenticating.add(message.sessionId);
        for (const connection of [...(this.byOwner.get(message.userId) ?? [])]) {
          if (connection.principal?.sessionId === message.sessionId) connection.close(CloseCode.unauthorized, 'session revoked');
        }
        return;
      }
    }
  };
}
