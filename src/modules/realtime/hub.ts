import type { BusMessage } from './bus';
import type { Connection } from './connection';
import { CloseCode, encode } from './protocol';

/**
 * This process's sockets, and the fan-out of what the bus announces to them. Every message is
 * serialized once, however many sockets receive it, and whichever transport made the change
 * (WebSocket, HTTP, a legacy form route, another server instance).
 */
export class Hub {
  /** Every open socket, authenticated or not (heartbeat and shutdown walk this). */
  readonly sockets = new Set<Connection>();
  private readonly byOwner = new Map<number, Set<Connection>>();
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

  /** The bus listener. Never throws: sending to one socket cannot fail another. */
  readonly receive = (message: BusMessage): void => {
    switch (message.type) {
      case 'change': {
        let text: string | undefined;
        for (const connection of this.byOwner.get(message.ownerId) ?? []) {
          const subscription = connection.subscriptions.get(message.directoryId);
          if (!subscription) continue;
          text ??= encode({ type: 'change', directoryId: message.directoryId, revision: message.revision, change: message.change });
          subscription.offer(message.revision, text);
        }
        return;
      }
      case 'directory': {
        const owned = this.byOwner.get(message.ownerId);
        if (!owned) return;
        const text = encode({ type: 'directory', event: message.event, directory: message.directory });
        for (const connection of owned) connection.send(text);
        return;
      }
      case 'resync': {
        for (const connection of this.sockets) for (const subscription of connection.subscriptions.values()) subscription.catchUp();
        return;
      }
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
