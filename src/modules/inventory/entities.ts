import { EntitySchema, type Opt } from '@mikro-orm/core';
import { User } from '../auth/entities';

/**
 * A warehouse. `liveName` equals `name` while the directory is live and is NULL once it is deleted, so
 * the unique key (owner, liveName) enforces "unique among the owner's live directories" in the database
 * itself (both MySQL and SQLite allow many NULLs in a unique key).
 */
export class Directory {
  id!: number;
  owner!: User;
  name!: string;
  liveName: string | null = null;
  freq = 0;
  revision = 0;
  /** How many goods it holds: written with every goods added or removed, under the directory's lock (MAX_GOODS_PER_DIRECTORY). */
  goodsCount = 0;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
  deletedAt: Date | null = null;
}

export class Goods {
  id!: number;
  directory!: Directory;
  code!: string;
  /** SHA-256 of the code: the key goods are found by (see codes.ts). */
  codeHash!: string;
  name = '';
  remarks = '';
  count = 0;
  /** The low-stock threshold (0: none). */
  minCount = 0;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

import type { LogType } from '../../contract';
export { LOG_TYPES, type LogType } from '../../contract';

/**
 * Append-only history: one row per change. (directory, revision) is unique, so two changes can never
 * claim the same revision. The goods' state after the change is kept so that `changes?since=` can be
 * answered from this table alone.
 */
export class LogEntry {
  id!: number;
  directory!: Directory;
  user!: User;
  deviceId: string | null = null;
  type!: LogType;
  goodsId: number | null = null;
  code: string | null = null;
  name: string | null = null;
  remarks: string | null = null;
  delta: number | null = null;
  countAfter: number | null = null;
  dirName: string | null = null;
  revision!: number;
  eventId: string | null = null;
  at: Date = new Date();
  /** The transfer this is a side of, and its directories. */
  transferId: string | null = null;
  transferFrom: number | null = null;
  transferTo: number | null = null;
  /** An undo: the revision it compensates. */
  undoes: number | null = null;
  /** Undone by the change of this revision. */
  undoneBy: number | null = null;
  /** A `set` made by finishing this count session. */
  countId: number | null = null;
  /** The change took the goods' count from at least its minCount to below it (kept for reads of the log). */
  lowStock: Opt<boolean> = false;
  /** The goods' minCount as of the change (0: none). */
  minCount: Opt<number> = 0;
}

/**
 * The remembered outcome of one event id (the idempotency key of a mutation), per user. The unique key
 * (user, eventId) is what makes two concurrent sends of the same id apply once.
 */
export class EventOutcome {
  id!: number;
  user!: User;
  eventId!: string;
  ok!: boolean;
  outcome!: string;
  createdAt: Date = new Date();
}

export const DirectorySchema = new EntitySchema<Directory>({
  class: Directory,
  tableName: 'directories',
  uniques: [{ properties: ['owner', 'liveName'] }],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    owner: { kind: 'm:1', entity: () => User, deleteRule: 'cascade' },
    name: { type: 'string', length: 100 },
    liveName: { type: 'string', length: 100, nullable: true },
    freq: { type: 'integer', default: 0 },
    revision: { type: 'integer', default: 0 },
    goodsCount: { type: 'integer', default: 0 },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
    deletedAt: { type: 'datetime', length: 3, nullable: true },
  },
});

export const GoodsSchema = new EntitySchema<Goods>({
  class: Goods,
  tableName: 'goods',
  uniques: [{ properties: ['directory', 'codeHash'] }],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    directory: { kind: 'm:1', entity: () => Directory, deleteRule: 'cascade' },
    code: { type: 'text' },
    codeHash: { type: 'string', length: 64 },
    name: { type: 'string', length: 140, default: '' },
    remarks: { type: 'string', length: 1000, default: '' },
    count: { type: 'integer', default: 0 },
    minCount: { type: 'integer', default: 0 },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
  },
});

export const LogEntrySchema = new EntitySchema<LogEntry>({
  class: LogEntry,
  tableName: 'logs',
  uniques: [{ properties: ['directory', 'revision'] }],
  indexes: [{ properties: ['user', 'id'] }],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    directory: { kind: 'm:1', entity: () => Directory, deleteRule: 'cascade' },
    user: { kind: 'm:1', entity: () => User, deleteRule: 'cascade' },
    deviceId: { type: 'string', length: 64, nullable: true },
    type: { type: 'string', length: 16 },
    goodsId: { type: 'integer', nullable: true },
    code: { type: 'text', nullable: true },
    name: { type: 'string', length: 140, nullable: true },
    remarks: { type: 'string', length: 1000, nullable: true },
    delta: { type: 'integer', nullable: true },
    countAfter: { type: 'integer', nullable: true },
    dirName: { type: 'string', length: 100, nullable: true },
    revision: { type: 'integer' },
    eventId: { type: 'string', length: 64, nullable: true },
    at: { type: 'datetime', length: 3 },
    transferId: { type: 'string', length: 64, nullable: true },
    transferFrom: { type: 'integer', nullable: true },
    transferTo: { type: 'integer', nullable: true },
    undoes: { type: 'integer', nullable: true },
    undoneBy: { type: 'integer', nullable: true },
    countId: { type: 'integer', nullable: true },
    lowStock: { type: 'boolean', default: false },
    minCount: { type: 'integer', default: 0 },
  },
});

export const EventOutcomeSchema = new EntitySchema<EventOutcome>({
  class: EventOutcome,
  tableName: 'event_outcomes',
  uniques: [{ properties: ['user', 'eventId'] }],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    user: { kind: 'm:1', entity: () => User, deleteRule: 'cascade' },
    eventId: { type: 'string', length: 64 },
    ok: { type: 'boolean' },
    outcome: { type: 'text' },
    createdAt: { type: 'datetime', length: 3 },
  },
});
