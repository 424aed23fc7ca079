/**
 * What the plan is made from: the old Django tables as read (source.ts) and what the scancode database
 * already holds (target.ts). The plan itself is in plan-model.ts.
 */

// ---- the old tables (mycode_* and auth_user), as read ----

/** A `mycode_profile` row with its `auth_user`: one user of the old mini-program. */
export interface OldUser {
  id: number;
  username: string;
  openid: string;
  nickname: string;
  gender: string;
  city: string;
  province: string;
  dateJoined: Date;
}

export interface OldDirectory {
  id: number;
  ownerId: number;
  name: string;
  /** '1' live, '0' deleted. */
  status: string;
  freq: number;
  createdTime: Date;
  lastActiveTime: Date;
}

export interface OldGoods {
  id: number;
  belongId: number;
  name: string;
  count: number;
  code: string;
  remarks: string;
  createdTime: Date;
  lastActiveTime: Date;
}

/** type: '0' create directory, '1' in, '2' out, '3' delete directory, '4' rename directory. */
export interface OldLog {
  id: number;
  ownerId: number;
  createdTime: Date;
  type: string;
  dirId: number | null;
  goodId: number | null;
}

export interface OldTables {
  users: OldUser[];
  /** `auth_user` rows without a profile (an admin account): not users of the mini-program. */
  accountsWithoutProfile: { id: number; username: string }[];
  directories: OldDirectory[];
  goods: OldGoods[];
  logs: OldLog[];
}

// ---- what the scancode database holds ----

/** What `legacy_imports` calls each old table. */
export type Kind = 'user' | 'directory' | 'goods' | 'log';

/** One row of `legacy_imports`: an old row brought across earlier, and what it looked like then. */
export interface Imported {
  newId: number | null;
  fingerprint: string;
}

export interface TargetUser {
  id: number;
  openid: string;
  nickname: string;
  gender: number;
  city: string;
  province: string;
}

export interface TargetDirectory {
  id: number;
  ownerId: number;
  name: string;
  deleted: boolean;
  revision: number;
  freq: number;
  updatedAt: Date;
  /** The time of its latest log entry: a change made up by the import is never dated before it. */
  lastAt: Date;
}

export interface TargetGoods {
  id: number;
  count: number;
  name: string;
  remarks: string;
  updatedAt: Date;
}

export interface Target {
  imported: Record<Kind, Map<number, Imported>>;
  usersByOpenid: Map<string, TargetUser>;
  directories: Map<number, TargetDirectory>;
  /** Live directory names by owner (user id). */
  liveNames: Map<number, Set<string>>;
  /** Goods of the directories imported before, by directory id, then by code hash. */
  goods: Map<number, Map<string, TargetGoods>>;
}
