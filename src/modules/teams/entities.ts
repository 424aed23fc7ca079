import { EntitySchema } from '@mikro-orm/core';
import type { Role } from '../../contract';
import { User } from '../auth/entities';
import { Directory } from '../inventory/entities';

/** One user's membership of one directory; (directory, user) is unique. The owner is a member too. */
export class Member {
  id!: number;
  directory!: Directory;
  user!: User;
  role!: Role;
  createdAt: Date = new Date();
}

/** An invitation to join a directory with a role, open until it expires, is revoked or is used up. */
export class Invite {
  id!: number;
  directory!: Directory;
  code!: string;
  role!: Role;
  maxUses!: number;
  uses = 0;
  expiresAt!: Date;
  createdBy!: number;
  createdAt: Date = new Date();
  revokedAt: Date | null = null;
}

export const MemberSchema = new EntitySchema<Member>({
  class: Member,
  tableName: 'members',
  uniques: [{ properties: ['directory', 'user'] }],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    directory: { kind: 'm:1', entity: () => Directory, deleteRule: 'cascade' },
    user: { kind: 'm:1', entity: () => User, deleteRule: 'cascade' },
    role: { type: 'string', length: 16 },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export const InviteSchema = new EntitySchema<Invite>({
  class: Invite,
  tableName: 'invites',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    directory: { kind: 'm:1', entity: () => Directory, deleteRule: 'cascade' },
    code: { type: 'string', length: 64, unique: true },
    role: { type: 'string', length: 16 },
    maxUses: { type: 'integer' },
    uses: { type: 'integer', default: 0 },
    expiresAt: { type: 'datetime', length: 3 },
    createdBy: { type: 'integer' },
    createdAt: { type: 'datetime', length: 3 },
    revokedAt: { type: 'datetime', length: 3, nullable: true },
  },
});
