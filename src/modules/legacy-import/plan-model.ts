import type { LogType } from '../inventory/entities';
import type { Kind, TargetUser } from './model';

/**
 * The plan of writes made from the old tables and the target (plan.ts), which apply.ts carries out and
 * report.ts prints.
 */

/** What became of one old row: every row of the old tables gets exactly one. */
export type Outcome = 'created' | 'updated' | 'unchanged' | 'merged' | 'skipped';
export const OUTCOMES: readonly Outcome[] = ['created', 'updated', 'unchanged', 'merged', 'skipped'];
export type Tally = Record<Kind, Record<Outcome, number>>;

export type OldTable = 'auth_user' | 'mycode_profile' | 'mycode_directory' | 'mycode_goods' | 'mycode_log';

/**
 * A row the new rules refuse or change, or an old change the import does not follow: reported with
 * the old table and id, never dropped in silence.
 */
export interface Anomaly {
  table: OldTable;
  oldId: number;
  problem: 'empty-name' | 'trimmed' | 'renamed' | 'truncated' | 'replaced' | 'suspect' | 'merged' | 'clamped' | 'skipped' | 'not-followed';
  detail: string;
}

export interface UserPlan {
  oldId: number;
  openid: string;
  /** The scancode user, when one has this openid already. */
  existingId: number | null;
  /** The fields to write: all of them for a new user, the changed ones otherwise. */
  fields: Partial<Pick<TargetUser, 'nickname' | 'gender' | 'city' | 'province'>>;
  createdAt: Date;
  fingerprint: string;
  /** Whether `legacy_imports` has a row for it already (else one is inserted). */
  mapped: boolean;
  writeMapping: boolean;
}

export interface GoodsPlan {
  key: string;
  existingId: number | null;
  code: string;
  name: string;
  remarks: string;
  count: number;
  createdAt: Date;
  updatedAt: Date;
  /** False when only the log mentions it (nothing about the row itself changes). */
  write: boolean;
}

export interface ChangePlan {
  revision: number;
  type: LogType;
  /** The goods (by code hash) a goods change is about. */
  goodsKey: string | null;
  code: string | null;
  name: string | null;
  remarks: string | null;
  delta: number | null;
  countAfter: number | null;
  dirName: string | null;
  at: Date;
}

/** A `legacy_imports` row to write: `newId` names a goods by code hash or a change by revision. */
export interface MappingPlan {
  kind: Kind;
  oldId: number;
  target: { directory: true } | { goodsKey: string } | { revision: number };
  fingerprint: string;
  mapped: boolean;
}

export interface DirectoryPlan {
  oldId: number;
  ownerOpenid: string;
  /** The scancode directory imported before, and the revision it had when the plan was made. */
  existing: { id: number; revision: number } | null;
  name: string;
  liveName: string | null;
  freq: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** False when the directory row itself is left as it is. */
  writeDirectory: boolean;
  goods: GoodsPlan[];
  changes: ChangePlan[];
  mappings: MappingPlan[];
}

export interface ImportPlan {
  users: UserPlan[];
  directories: DirectoryPlan[];
  anomalies: Anomaly[];
  tally: Tally;
}
