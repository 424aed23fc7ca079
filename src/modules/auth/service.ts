import { createHash, randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Em } from '../../db/orm';
import { badRequest, unauthorized, AppError } from '../../errors';
import { isWebUrl } from '../../validation';
import { DEFAULT_DIRECTORY_NAME, insertDirectory, listDirectories } from '../inventory/directories';
import { emStatements } from '../../db/raw';
import { sqlStore } from '../inventory/store';
import { inTransaction, isSqlite } from '../inventory/transaction';
import type { DirectoryView } from '../inventory/views';
import type { Bus } from '../realtime/bus';
import { decryptUserData, verifyRawData, type WechatProfile } from '../wechat/crypto';
import type { WechatClient, WechatSession } from '../wechat/client';
import { Session, User } from './entities';

export interface AuthContext {
  em: Em;
  bus: Bus;
  wechat: WechatClient;
  now: () => Date;
  sessionTtlMs: number;
  /** Live sessions a user keeps at most (MAX_SESSIONS_PER_USER); older ones are pruned at login. */
  maxSessions: number;
  /** Logins go to the dev fake of WeChat, whose session keys cannot open a real app's profile. */
  devLogin: boolean;
  log: Pick<FastifyBaseLogger, 'warn'>;
}

export interface LoginInput {
  code: string;
  encryptedData?: string;
  iv?: string;
  rawData?: string;
  signature?: string;
  deviceId?: string;
}

export interface UserView {
  id: number;
  nickname: string;
  avatarUrl: string;
  gender: number;
  city: string;
  province: string;
  country: string;
}

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: UserView;
  directories: DirectoryView[];
  /** True when this login created the user (the legacy route says so in its `status`). */
  created: boolean;
  /** The profile WeChat sent with this login, if any (the legacy route echoes it in `info`). */
  profile: WechatProfile | null;
}

/** Who a valid token belongs to. */
export interface Principal {
  userId: number;
  sessionId: number;
  deviceId: string | null;
  expiresAt: Date;
}

export function userView(user: User): UserView {
  const { id, nickname, avatarUrl, gender, city, province, country } = user;
  // One stored before avatars were checked is not served.
  return { id, nickname, avatarUrl: isWebUrl(avatarUrl) ? avatarUrl : '', gender, city, province, country };
}

/** Only this hash is stored: a copy of the sessions table cannot be used to log in. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function profileFromLogin(input: LoginInput, sessionKey: string, appId: string, openid: string): WechatProfile | null {
  if (input.encryptedData !== undefined) {
    if (input.iv === undefined) throw badRequest('iv is required with encryptedData');
    const profile = decryptUserData(input.encryptedData, input.iv, sessionKey, appId);
    if (profile.openId !== undefined && profile.openId !== openid) throw new AppError('decrypt_failed', 'encryptedData belongs to another user');
    return profile;
  }
  if (input.rawData !== undefined) {
    if (input.signature === undefined) throw badRequest('signature is required with rawData');
    return verifyRawData(input.rawData, input.signature, sessionKey);
  }
  return null;
}

/**
 * The profile sent with the login, checked against the session key. In dev login the seed's app still
 * sends the encryptedData of the real WeChat, which the fake's session key cannot open: the user is
 * logged in with an empty profile, and the log says why. In production that is `decrypt_failed`.
 */
function checkedProfile(ctx: AuthContext, input: LoginInput, wechat: WechatSession): WechatProfile | null {
  try {
    return profileFromLogin(input, wechat.sessionKey, ctx.wechat.appId, wechat.openid);
  } catch (error) {
    if (!ctx.devLogin || !(error instanceof AppError) || error.code !== 'decrypt_failed') throw error;
    ctx.log.warn({ reason: error.message }, 'dev login: the profile does not open with the fake WeChat session key; logging in with an empty profile');
    return null;
  }
}

function applyProfile(user: User, profile: WechatProfile): void {
  const text = (value: unknown, max: number) => (typeof value === 'string' ? [...value].slice(0, max).join('') : undefined);
  user.nickname = text(profile.nickName, 100) ?? user.nickname;
  // A profile is the client's to write (rawData is signed by WeChat but filled in by the app): a
  // `javascript:` avatar from it is dropped like one sent to PATCH /api/me is refused.
  const avatarUrl = text(profile.avatarUrl, 1000);
  user.avatarUrl = avatarUrl !== undefined && isWebUrl(avatarUrl) ? avatarUrl : user.avatarUrl;
  user.gender = typeof profile.gender === 'number' && Number.isInteger(profile.gender) ? profile.gender : user.gender;
  user.city = text(profile.city, 100) ?? user.city;
  user.province = text(profile.province, 100) ?? user.province;
  user.country = text(profile.country, 100) ?? user.country;
  user.language = text(profile.language, 20) ?? user.language;
  user.unionid = text(profile.unionId, 64) ?? user.unionid;
}

/**
 * WeChat login: trades the code for openid + session_key, checks any signed or encrypted profile,
 * creates the user (with the directory 默认) on first login, and issues a new session token.
 */
export async function login(ctx: AuthContext, input: LoginInput): Promise<LoginResult> {
  const wechat = await ctx.wechat.code2Session(input.code);
  const profile = checkedProfile(ctx, input, wechat);
  const token = randomBytes(32).toString('base64url');
  // Two first logins of one user at once: the loser's insert fails on the unique openid, and its
  // second attempt finds the winner's row.
  const saved = await inTransaction(ctx.em, (tx) => saveLogin(tx, ctx, input, wechat, profile, token)).catch((error: unknown) => {
    if (error instanceof UniqueConstraintViolationException) return inTransaction(ctx.em, (tx) => saveLogin(tx, ctx, input, wechat, profile, token));
    throw error;
  });
  // After the login's own transaction, and never failing it: pruning is housekeeping, and many phones
  // of one account logging in at once would otherwise contend on the same rows.
  await pruneSessions(ctx.em.fork(), saved.user.id, ctx.now(), ctx.maxSessions).catch((error: unknown) =>
    ctx.log.warn({ err: error, userId: saved.user.id }, 'could not prune old sessions; the next login will'),
  );
  const { user, created, expiresAt } = saved;
  return {
    token,
    expiresAt: expiresAt.toISOString(),
    user: userView(user),
    directories: await listDirectories(ctx.em, user.id),
    created,
    profile,
  };
}

async function saveLogin(tx: Em, ctx: AuthContext, input: LoginInput, wechat: WechatSession, profile: WechatProfile | null, token: string) {
  const at = ctx.now();
  let user = await tx.findOne(User, { openid: wechat.openid });
  const created = user === null;
  if (user === null) {
    user = Object.assign(new User(), { openid: wechat.openid, unionid: wechat.unionid, createdAt: at, updatedAt: at });
    tx.persist(user);
  }
  if (profile) applyProfile(user, profile);
  await tx.flush();
  if (created) await insertDirectory(sqlStore(emStatements(tx), isSqlite(tx) ? 'sqlite' : 'mysql'), { userId: user.id, deviceId: input.deviceId ?? null }, DEFAULT_DIRECTORY_NAME, at);
  const expiresAt = new Date(at.getTime() + ctx.sessionTtlMs);
  const session = Object.assign(new Session(), { user, tokenHash: hashToken(token), deviceId: input.deviceId ?? null, sessionKey: wechat.sessionKey, createdAt: at, expiresAt });
  await tx.persist(session).flush();
  return { user, created, expiresAt };
}

/**
 * Sessions never pile up: at each login the user's ended ones (revoked, expired) are deleted, and of the
 * live ones only the newest `max` are kept (an account's fleet of scanners shares it; the oldest go
 * first). A socket of a deleted session is closed within REVISION_CHECK_MS on every instance.
 */
export async function pruneSessions(em: Em, userId: number, now: Date, max: number): Promise<void> {
  await em.nativeDelete(Session, { user: userId, $or: [{ revokedAt: { $ne: null } }, { expiresAt: { $lte: now } }] });
  const beyond = await em.find(Session, { user: userId }, { fields: ['id'], orderBy: { id: 'desc' }, offset: max, limit: 1_000_000 });
  if (beyond.length > 0) await em.nativeDelete(Session, { id: { $in: beyond.map((session) => session.id) } });
}

/** The session a bearer token names, if it is known, unexpired and not revoked. */
export async function authenticate(em: Em, token: string, now: Date): Promise<Principal> {
  if (token === '') throw unauthorized();
  const session = await em.fork().findOne(Session, { tokenHash: hashToken(token), revokedAt: null, expiresAt: { $gt: now } }, { fields: ['id', 'user', 'deviceId', 'expiresAt'] });
  if (!session) throw unauthorized();
  return { userId: session.user.id, sessionId: session.id, deviceId: session.deviceId, expiresAt: session.expiresAt };
}

/** Revokes the session at once; every socket of that session is closed through the bus. */
export async function logout(ctx: Pick<AuthContext, 'em' | 'bus' | 'now'>, principal: Principal): Promise<void> {
  await ctx.em.fork().nativeUpdate(Session, { id: principal.sessionId, revokedAt: null }, { revokedAt: ctx.now() });
  await ctx.bus.publish({ type: 'session-revoked', userId: principal.userId, sessionId: principal.sessionId });
}

export async function me(em: Em, userId: number): Promise<{ user: UserView; directories: DirectoryView[] }> {
  const user = await em.fork().findOneOrFail(User, userId);
  return { user: userView(user), directories: await listDirectories(em, userId) };
}

export async function updateMe(em: Em, userId: number, patch: { nickname?: string; avatarUrl?: string }, now: Date): Promise<UserView> {
  const fork = em.fork();
  const user = await fork.findOneOrFail(User, userId);
  if (patch.nickname !== undefined) user.nickname = patch.nickname.trim();
  if (patch.avatarUrl !== undefined) user.avatarUrl = patch.avatarUrl.trim();
  user.updatedAt = now;
  await fork.flush();
  return userView(user);
}

/** Of these sessions, those no longer live by `now`: revoked, expired or pruned (for sockets still open on them). */
export async function endedSessions(em: Em, sessionIds: number[], now: Date): Promise<number[]> {
  const rows = await em
    .createQueryBuilder(Session)
    .select('id')
    .where({ id: { $in: sessionIds }, revokedAt: null, expiresAt: { $gt: now } })
    .execute<{ id: number }[]>('all');
  const live = new Set(rows.map((row) => row.id));
  return sessionIds.filter((id) => !live.has(id));
}
