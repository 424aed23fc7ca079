import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 in base64url, without padding: always 43 characters. */
const MAC_LENGTH = 43;

/**
 * Signs and checks what instances tell each other through Redis. Whoever can publish on the channel
 * (a Redis without ACLs, a leaked password) could otherwise push a change to every watcher or close
 * every phone's socket; with a MAC only a holder of BUS_SECRET can.
 *
 * On the wire a message is `<mac>.<body>`: the MAC of the channel and the body under the first key.
 * The channel is in the MAC so that a message of one deployment cannot be replayed on another's
 * channel sharing the secret, nor one of a directory's channel on another's (each directory and user
 * has a channel of its own). Any key verifies, so that during a rotation (`new,old`) instances still
 * on the old secret and those already on the new one hear each other.
 */
export class BusSigner {
  private readonly keys: Buffer[];

  constructor(
    keys: readonly string[],
    private readonly channel: string,
  ) {
    if (keys.length === 0) throw new Error('the bus needs at least one secret');
    this.keys = keys.map((key) => Buffer.from(key, 'utf8'));
  }

  /** `channel`: the one it is published on (by default the signer's own). */
  sign(body: string, channel = this.channel): string {
    return `${this.mac(this.keys[0], channel, body)}.${body}`;
  }

  /**
   * The body of a message whose MAC one of the keys made, or null: the MAC is checked before anything
   * reads the body, so a forgery costs one HMAC per key and no JSON parse.
   */
  open(text: string, channel = this.channel): string | null {
    if (text.length <= MAC_LENGTH || text[MAC_LENGTH] !== '.') return null;
    const given = Buffer.from(text.slice(0, MAC_LENGTH), 'utf8');
    if (given.length !== MAC_LENGTH) return null; // not base64url (a multi-byte character)
    const body = text.slice(MAC_LENGTH + 1);
    for (const key of this.keys) {
      // Compared in constant time: how long a refusal takes says nothing of how close a guess was.
      if (timingSafeEqual(given, Buffer.from(this.mac(key, channel, body), 'utf8'))) return body;
    }
    return null;
  }

  private mac(key: Buffer, channel: string, body: string): string {
    return createHmac('sha256', key).update(channel).update('\n').update(body).digest('base64url');
  }
}
