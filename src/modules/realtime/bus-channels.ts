import type { BusMessage, BusScope } from './bus';

/** Where a message travels between instances: one directory's channel, one user's, or the deployment's one global channel. */
export type ChannelScope = BusScope | 'global';

export interface Addressed {
  scope: ChannelScope;
  channel: string;
  message: BusMessage;
}

/**
 * The channels of one deployment, named from its prefix (REDIS_CHANNEL, default `scancode:bus`):
 * `<prefix>:d:<directoryId>`, `<prefix>:u:<userId>`, and `<prefix>` itself for the few messages every
 * instance needs. On a Redis Cluster each name hashes to its own slot (no hash tag), so directories and
 * users spread over the shards.
 */
export class BusChannels {
  constructor(readonly prefix: string) {}

  get global(): string {
    return this.prefix;
  }

  of(scope: BusScope, id: number): string {
    return `${this.prefix}:${scope === 'directory' ? 'd' : 'u'}:${id}`;
  }

  /** The scope a channel of this deployment carries, for the metrics; null for another's. */
  scopeOf(channel: string): ChannelScope | null {
    if (channel === this.prefix) return 'global';
    if (!channel.startsWith(`${this.prefix}:`)) return null;
    const kind = channel.slice(this.prefix.length + 1, this.prefix.length + 3);
    return kind === 'd:' ? 'directory' : kind === 'u:' ? 'user' : null;
  }

  /**
   * The channels a message is published on, each with the message it carries there:
   * - a change or a count goes to its directory's channel (only its watchers want it);
   * - a directory event and a low-stock alert go to each member's channel, with that member alone as
   *   audience (every socket of a member wants it, watching the directory or not; an instance with
   *   sockets of three members hears it three times, each delivered to its own member's sockets);
   * - a membership event goes to its user's channel;
   * - a logout, a web login's approval and a resync go to the global channel: a logout must reach a
   *   socket still authenticating (its user is not known yet, so no instance watches its user), a web
   *   login's poll waits on whichever instance it reached, and a resync is for every instance. All
   *   three are rare.
   */
  addressed(message: BusMessage): Addressed[] {
    switch (message.type) {
      case 'change':
      case 'count':
        return [{ scope: 'directory', channel: this.of('directory', message.directoryId), message }];
      case 'directory':
        return message.audience.map((member) => ({ scope: 'user', channel: this.of('user', member.userId), message: { ...message, audience: [member] } }));
      case 'alert':
        return message.audience.map((userId) => ({ scope: 'user', channel: this.of('user', userId), message: { ...message, audience: [userId] } }));
      case 'membership':
        return [{ scope: 'user', channel: this.of('user', message.userId), message }];
      case 'session-revoked':
      case 'web-login-approved':
      case 'resync':
        return [{ scope: 'global', channel: this.global, message }];
    }
  }
}
