import { EntitySchema } from '@mikro-orm/core';

/**
 * A login by scanning, from the page's request to the phone's approval and the page's one claim of a
 * session. The poll token is stored as its SHA-256 only; no session token is ever stored here (the
 * claim creates the session and hands its token out in the same answer).
 */
export class WebLogin {
  /** Random, 128 bits, base64url: the `<id>` of the QR text `scancode:weblogin:<id>`. */
  id!: string;
  pollTokenHash!: string;
  createdAt: Date = new Date();
  expiresAt!: Date;
  /** The user whose phone approved it, and when. */
  approvedBy: number | null = null;
  approvedAt: Date | null = null;
  /** When a poll claimed the session: a login is used once. */
  usedAt: Date | null = null;
}

export const WebLoginSchema = new EntitySchema<WebLogin>({
  class: WebLogin,
  tableName: 'web_logins',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    id: { type: 'string', length: 32, primary: true },
    pollTokenHash: { type: 'string', length: 64 },
    createdAt: { type: 'datetime', length: 3 },
    expiresAt: { type: 'datetime', length: 3 },
    approvedBy: { type: 'integer', nullable: true },
    approvedAt: { type: 'datetime', length: 3, nullable: true },
    usedAt: { type: 'datetime', length: 3, nullable: true },
  },
});
