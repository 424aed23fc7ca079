import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WEB_LOGIN_QR_PREFIX } from '../../contract/constants';
import type { Em } from '../../db/orm';
import { AppError } from '../../errors';
import { Session, User } from '../auth/entities';
import { hashToken, pruneSessions, userView, type AuthContext, type Principal, type UserView } from '../auth/service';
import { inTransaction } from '../inventory/transaction';
import { WebLogin } from './entities';

/** How long a page has to get its QR code scanned and approved. */
export const WEB_LOGIN_TTL_MS = 2 * 60_000;
/** The device id of the sessions it creates: the Changes made from the dashboard say `web`. */
export const WEB_DEVICE_ID = 'web';
/** Ended web logins are deleted this long after they expire (at the next creation), so the table stays small. */
const KEPT_AFTER_EXPIRY_MS = 10 * 60_000;

export type WebLoginContext = Pick<AuthContext, 'em' | 'bus' | 'now' | 'sessionTtlMs' | 'maxSessions' | 'log'>;

export type WebLoginAnswer = { status: 'pending' } | { status: 'approved'; token: string; expiresAt: string; user: UserView };

const notFound = () => new AppError('not_found', 'no such web login: unknown, expired or already used');

/** 128 bits or more, base64url. */
const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');

export async function createWebLogin(ctx: WebLoginContext): Promise<{ id: string; qr: string; pollToken: string; expiresAt: string }> {
  const now = ctx.now();
  const id = randomText(16);
  const pollToken = randomText(32);
  const expiresAt = new Date(now.getTime() + WEB_LOGIN_TTL_MS);
  const em = ctx.em.fork();
  await em.nativeDelete(WebLogin, { expiresAt: { $lt: new Date(now.getTime() - KEPT_AFTER_EXPIRY_MS) } });
  await em.insert(WebLogin, { id, pollTokenHash: hashToken(pollToken), createdAt: now, expiresAt, approvedBy: null, approvedAt: null, usedAt: null });
  return { id, qr: `${WEB_LOGIN_QR_PREFIX}${id}`, pollToken, expiresAt: expiresAt.toISOString() };
}

/** The login, if it is known, unexpired and unused (and, given a poll token, if it is its own). */
async function liveWebLogin(em: Em, id: string, now: Date, pollToken?: string): Promise<WebLogin> {
  const login = await em.fork().findOne(WebLogin, { id });
  if (!login || login.usedAt !== null || login.expiresAt <= now) throw notFound();
  if (pollToken !== undefined && !timingSafeEqual(Buffer.from(login.pollTokenHash), Buffer.from(hashToken(pollToken)))) throw notFound();
  return login;
}

/** The phone's approval, recorded in the database (any instance's poll finds it) and announced on the bus. */
export async function approveWebLogin(ctx: WebLoginContext, principal: Principal, id: string): Promise<void> {
  const now = ctx.now();
  await liveWebLogin(ctx.em, id, now);
  const approved = await ctx.em.fork().nativeUpdate(WebLogin, { id, approvedBy: null, usedAt: null, expiresAt: { $gt: now } }, { approvedBy: principal.userId, approvedAt: now });
  if (approved === 0) {
    // Approved a moment ago: by this user it is the same approval again; by another, it is taken.
    const login = await liveWebLogin(ctx.em, id, now);
    if (login.approvedBy !== principal.userId) throw notFound();
  }
  await ctx.bus.publish({ type: 'web-login-approved', id });
}

/**
 * One look at the login for its page: pending, or approved, in which case this look claims it. The
 * claim marks the login used and creates the session in one transaction, so that the session's token
 * is handed out once and never stored (only its hash, as for every session); of two polls at once, one
 * gets the token and the other `not_found`.
 */
export async function checkWebLogin(ctx: WebLoginContext, id: string, pollToken: string): Promise<WebLoginAnswer> {
  const now = ctx.now();
  const login = await liveWebLogin(ctx.em, id, now, pollToken);
  if (login.approvedBy === null) return { status: 'pending' };
  const userId = login.approvedBy;
  const token = randomText(32);
  const expiresAt = new Date(now.getTime() + ctx.sessionTtlMs);
  const user = await inTransaction(ctx.em.fork(), async (tx) => {
    const claimed = await tx.nativeUpdate(WebLogin, { id, usedAt: null, expiresAt: { $gt: now } }, { usedAt: now });
    if (claimed === 0) return null;
    const owner = await tx.findOne(User, userId);
    if (!owner) return null;
    tx.persist(Object.assign(new Session(), { user: owner, tokenHash: hashToken(token), deviceId: WEB_DEVICE_ID, sessionKey: '', createdAt: now, expiresAt }));
    await tx.flush();
    return owner;
  });
  if (!user) throw notFound();
  await pruneSessions(ctx.em.fork(), userId, now, ctx.maxSessions).catch((error: unknown) => ctx.log.warn({ err: error, userId }, 'could not prune old sessions; the next login will'));
  return { status: 'approved', token, expiresAt: expiresAt.toISOString(), user: userView(user) };
}
