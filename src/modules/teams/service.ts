import { randomBytes } from 'node:crypto';
import { INVITE_QR_PREFIX, type Invite as InviteView, type Member as MemberView, type Role } from '../../contract';
import type { Em } from '../../db/orm';
import type { RawDatabase, Statements } from '../../db/raw';
import { AppError, badRequest } from '../../errors';
import { atLeast, decide, directoryNotFound, higher, requiredToManage } from '../inventory/access';
import { directoryViewFor, type Access } from '../inventory/directories';
import type { DomainEventMap, DomainEvents } from '../inventory/events';
import { sqlStore, type DirectoryRow } from '../inventory/store';
import type { Actor, DirectoryView } from '../inventory/views';
import type { TeamLimits } from '../../config';
import { isWebUrl } from '../../validation';

/**
 * Members, roles and invites (SPEC "Teams"). Every write locks the directory's row first, as every
 * mutation of the directory does, so a role read by a scan's transaction holds until it commits and a
 * member removed is refused by the very next batch. Membership takes no revision; what changed is
 * announced after commit as a `membership` event (the bus bridge tells the sockets of the user).
 */

export interface TeamContext {
  em: Em;
  raw: RawDatabase;
  events: DomainEvents;
  now: () => Date;
  limits: TeamLimits;
}

type MembershipEvent = DomainEventMap['membership'];

const inviteNotFound = () => new AppError('invite_not_found', 'no such open invite (unknown, expired, revoked or used up)');
const notAMember = (userId: number) => badRequest(`user ${userId} is not a member of this directory`);

/** The directory row locked, with the roles of these users; directory_not_found when it is gone. */
async function locked(statements: Statements, raw: RawDatabase, directoryId: number, userIds: number[]): Promise<DirectoryRow> {
  const row = await sqlStore(statements, raw.dialect).lockDirectory(directoryId, userIds);
  if (!row || row.deleted) throw directoryNotFound();
  return row;
}

const roleIn = (row: DirectoryRow, userId: number): Role | null => row.members.get(userId)?.role ?? null;

/** Runs the transaction, then announces its membership events (never before the commit, never for a rollback). */
async function announcing<T>(ctx: TeamContext, work: (statements: Statements, announce: (event: MembershipEvent) => void) => Promise<T>): Promise<T> {
  const events: MembershipEvent[] = [];
  const result = await ctx.raw.transaction((statements) => {
    events.length = 0; // a transaction run again (a deadlock victim) announces only its last run
    return work(statements, (event) => events.push(event));
  });
  for (const event of events) ctx.events.emit('membership', event);
  return result;
}

interface MemberRow {
  user_id: number;
  role: Role;
  created_at: Date | string | number;
  nickname: string | null;
  avatar_url: string | null;
}

const memberView = (row: MemberRow): MemberView => ({
  // An avatar stored before avatars were checked is not served (as for /api/me).
  user: { id: row.user_id, nickname: row.nickname ?? '', avatarUrl: isWebUrl(row.avatar_url ?? '') ? (row.avatar_url as string) : '' },
  role: row.role,
  since: new Date(row.created_at).toISOString(),
});

const MEMBER_SELECT = 'select m.user_id, m.role, m.created_at, u.nickname, u.avatar_url from members m join users u on u.id = m.user_id';

/** The members of a directory, the owner first, then by role and by when they joined. */
export async function listMembers(em: Em, access: Access): Promise<MemberView[]> {
  const rows = await em.execute<MemberRow[]>(`${MEMBER_SELECT} where m.directory_id = ? order by m.id`, [access.directoryId]);
  const rank = (role: Role) => ['owner', 'manager', 'editor', 'viewer'].indexOf(role);
  return rows.map(memberView).sort((a, b) => rank(a.role) - rank(b.role));
}

async function memberOf(statements: Statements, directoryId: number, userId: number): Promise<MemberView> {
  const [row] = await statements.all<MemberRow>(`${MEMBER_SELECT} where m.directory_id = ? and m.user_id = ?`, [directoryId, userId]);
  return memberView(row);
}

/**
 * Changes a member's role. Setting another member to `owner` hands ownership over (the owner only):
 * the directory becomes theirs and the old owner a manager. The owner's own role changes only that way.
 */
export async function setMemberRole(ctx: TeamContext, actor: Actor, directoryId: number, userId: number, role: Role, required: Role): Promise<MemberView> {
  return announcing(ctx, async (statements, announce) => {
    const row = await locked(statements, ctx.raw, directoryId, [actor.userId, userId]);
    const actorRole = decide({ deleted: false, role: roleIn(row, actor.userId) }, required, 'changing roles');
    const target = roleIn(row, userId);
    if (target === null) throw notAMember(userId);
    // Whether the actor may act on this member comes first: a manager asking to change the owner's role is forbidden (required owner), not told how the owner's role changes.
    decide({ deleted: false, role: actorRole }, requiredToManage(target, { to: role }), `changing a ${target}'s role to ${role}`);
    if (target === 'owner') throw badRequest("the owner's role changes only by handing ownership over: set another member's role to owner");
    if (role === target) return memberOf(statements, directoryId, userId);
    if (role === 'owner') {
      // Names are unique among an owner's live directories: the new owner may already have one of this name.
      const holder = await sqlStore(statements, ctx.raw.dialect).liveDirectoryNamed(userId, row.name);
      if (holder !== null) throw new AppError('name_taken', `the new owner already has a directory named "${row.name}"`);
      await statements.run('update directories set owner_id = ? where id = ?', [userId, directoryId]);
      await statements.run("update members set role = 'manager' where directory_id = ? and user_id = ?", [directoryId, actor.userId]);
      announce({ directoryId, userId: actor.userId, event: 'role', role: 'manager' });
    }
    await statements.run('update members set role = ? where directory_id = ? and user_id = ?', [role, directoryId, userId]);
    announce({ directoryId, userId, event: 'role', role });
    return memberOf(statements, directoryId, userId);
  });
}

/** Removes a member, or the actor leaves (anyone but the owner, who hands ownership over first). */
export async function removeMember(ctx: TeamContext, actor: Actor, directoryId: number, userId: number, required: Role): Promise<void> {
  await announcing(ctx, async (statements, announce) => {
    const row = await locked(statements, ctx.raw, directoryId, [actor.userId, userId]);
    const actorRole = decide({ deleted: false, role: roleIn(row, actor.userId) }, required, 'removing members');
    const target = roleIn(row, userId);
    if (target === null) throw notAMember(userId);
    const removingSelf = userId === actor.userId;
    if (removingSelf && target === 'owner') throw badRequest("the owner cannot leave: hand ownership over first (set another member's role to owner)");
    decide({ deleted: false, role: actorRole }, requiredToManage(target, { removingSelf }), `removing a ${target}`);
    await statements.run('delete from members where directory_id = ? and user_id = ?', [directoryId, userId]);
    announce({ directoryId, userId, event: 'unshared', role: target });
  });
}

interface InviteRow {
  id: number;
  directory_id: number;
  code: string;
  role: Role;
  max_uses: number;
  uses: number;
  expires_at: Date | string | number;
  revoked_at: unknown;
}

const inviteView = (row: InviteRow): InviteView => ({
  code: row.code,
  role: row.role,
  uses: row.uses,
  maxUses: row.max_uses,
  expiresAt: new Date(row.expires_at).toISOString(),
  qr: `${INVITE_QR_PREFIX}${row.code}`,
});

const isOpen = (row: InviteRow, now: Date) => row.revoked_at === null && row.uses < row.max_uses && new Date(row.expires_at).getTime() > now.getTime();

const INVITE_SELECT = 'select id, directory_id, code, role, max_uses, uses, expires_at, revoked_at from invites';

export async function createInvite(ctx: TeamContext, actor: Actor, directoryId: number, input: { role: Role; maxUses?: number; expiresInHours?: number }, required: Role): Promise<InviteView> {
  return ctx.raw.transaction(async (statements) => {
    const row = await locked(statements, ctx.raw, directoryId, [actor.userId]);
    decide({ deleted: false, role: roleIn(row, actor.userId) }, required, 'inviting');
    const now = ctx.now();
    const open = (await statements.all<InviteRow>(`${INVITE_SELECT} where directory_id = ? and revoked_at is null`, [directoryId])).filter((invite) => isOpen(invite, now));
    const limit = ctx.limits.maxOpenInvitesPerDirectory;
    if (open.length >= limit) throw new AppError('quota_exceeded', `a directory has at most ${limit} open invites: revoke one first`, { limit });
    // 192 random bits, URL-safe: a QR code of it stays small enough for any phone to read.
    const code = randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + (input.expiresInHours ?? 72) * 3_600_000);
    const maxUses = input.maxUses ?? 1;
    await statements.run('insert into invites (directory_id, code, role, max_uses, uses, expires_at, created_by, created_at) values (?, ?, ?, ?, 0, ?, ?, ?)', [
      directoryId,
      code,
      input.role,
      maxUses,
      expiresAt,
      actor.userId,
      now,
    ]);
    return inviteView({ id: 0, directory_id: directoryId, code, role: input.role, max_uses: maxUses, uses: 0, expires_at: expiresAt, revoked_at: null });
  });
}

/** The directory's open invites, newest first. */
export async function listInvites(em: Em, access: Access, now: Date): Promise<InviteView[]> {
  const rows = await em.execute<InviteRow[]>(`${INVITE_SELECT} where directory_id = ? and revoked_at is null order by id desc`, [access.directoryId]);
  return rows.filter((row) => isOpen(row, now)).map(inviteView);
}

export async function revokeInvite(ctx: TeamContext, actor: Actor, directoryId: number, code: string, required: Role): Promise<void> {
  await ctx.raw.transaction(async (statements) => {
    const row = await locked(statements, ctx.raw, directoryId, [actor.userId]);
    decide({ deleted: false, role: roleIn(row, actor.userId) }, required, 'revoking invites');
    const revoked = await statements.run('update invites set revoked_at = ? where directory_id = ? and code = ? and revoked_at is null', [ctx.now(), directoryId, code]);
    if (revoked.affectedRows === 0) throw inviteNotFound();
  });
}

/**
 * The user joins with the invite's role (a member keeps the higher of the two). Accepting the same
 * invite again while a member uses no second use and answers the same; the lock order is the
 * directory's row, then the invite's, as every write of the directory.
 */
export async function acceptInvite(ctx: TeamContext, actor: Actor, code: string): Promise<{ directory: DirectoryView; role: Role }> {
  const [found] = await ctx.em.execute<InviteRow[]>(`${INVITE_SELECT} where code = ?`, [code]);
  if (!found) throw inviteNotFound();
  const directoryId = found.directory_id;
  const role = await announcing(ctx, async (statements, announce) => {
    const row = await sqlStore(statements, ctx.raw.dialect).lockDirectory(directoryId, [actor.userId]);
    if (!row || row.deleted) throw inviteNotFound();
    const forUpdate = ctx.raw.dialect === 'mysql' ? ' for update' : '';
    const [invite] = await statements.all<InviteRow>(`${INVITE_SELECT} where id = ?${forUpdate}`, [found.id]);
    const current = roleIn(row, actor.userId);
    const [accepted] = await statements.all<{ id: number }>('select id from invite_accepts where invite_id = ? and user_id = ?', [invite.id, actor.userId]);
    if (accepted && current !== null) return current;
    const now = ctx.now();
    if (!isOpen(invite, now)) throw inviteNotFound();
    if (current === null) {
      const [{ members }] = await statements.all<{ members: number | string }>('select count(*) as members from members where directory_id = ?', [directoryId]);
      const limit = ctx.limits.maxMembersPerDirectory;
      if (Number(members) >= limit) throw new AppError('quota_exceeded', `a directory has at most ${limit} members`, { limit });
      await statements.run('insert into members (directory_id, user_id, role, created_at) values (?, ?, ?, ?)', [directoryId, actor.userId, invite.role, now]);
      announce({ directoryId, userId: actor.userId, event: 'shared', role: invite.role });
    } else if (!atLeast(current, invite.role)) {
      await statements.run('update members set role = ? where directory_id = ? and user_id = ?', [invite.role, directoryId, actor.userId]);
      announce({ directoryId, userId: actor.userId, event: 'role', role: invite.role });
    }
    if (!accepted) await statements.run('insert into invite_accepts (invite_id, user_id, at) values (?, ?, ?)', [invite.id, actor.userId, now]);
    await statements.run('update invites set uses = uses + 1 where id = ?', [invite.id]);
    return current === null ? invite.role : higher(current, invite.role);
  });
  const directory = await directoryViewFor(ctx.em, actor.userId, directoryId);
  if (!directory) throw inviteNotFound();
  return { directory, role };
}
