import { EntitySchema } from '@mikro-orm/core';

/** One WeChat user of the mini-program, known by its openid. */
export class User {
  id!: number;
  openid!: string;
  unionid: string | null = null;
  nickname = '';
  avatarUrl = '';
  gender = 0;
  city = '';
  province = '';
  country = '';
  language = '';
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

/**
 * A login. Only the SHA-256 of the bearer token is stored, so a leaked table cannot be replayed.
 * WeChat's session_key is kept here (server side only) because it belongs to this login.
 */
export class Session {
  id!: number;
  user!: User;
  tokenHash!: string;
  deviceId: string | null = null;
  sessionKey!: string;
  createdAt: Date = new Date();
  expiresAt!: Date;
  revokedAt: Date | null = null;
}

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    openid: { type: 'string', length: 64, unique: true },
    unionid: { type: 'string', length: 64, nullable: true },
    nickname: { type: 'string', length: 100, default: '' },
    avatarUrl: { type: 'string', length: 1000, default: '' },
    gender: { type: 'integer', default: 0 },
    city: { type: 'string', length: 100, default: '' },
    province: { type: 'string', length: 100, default: '' },
    country: { type: 'string', length: 100, default: '' },
    language: { type: 'string', length: 20, default: '' },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3, onUpdate: () => new Date() },
  },
});

export const SessionSchema = new EntitySchema<Session>({
  class: Session,
  tableName: 'sessions',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    user: { kind: 'm:1', entity: () => User, deleteRule: 'cascade' },
    tokenHash: { type: 'string', length: 64, unique: true },
    deviceId: { type: 'string', length: 64, nullable: true },
    sessionKey: { type: 'string', length: 64, hidden: true },
    createdAt: { type: 'datetime', length: 3 },
    expiresAt: { type: 'datetime', length: 3 },
    revokedAt: { type: 'datetime', length: 3, nullable: true },
  },
});
