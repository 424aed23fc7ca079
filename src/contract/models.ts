import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { ErrorBody } from './errors';
import { DirectoryId, EventId, GoodsCode, GoodsName, MAX_QTY, Remarks, Revision, Timestamp } from './fields';
import { ROLES } from './constants';

/** What clients see of goods, directories, users, changes and scans. */

export const Goods = Type.Object(
  {
    id: Type.Integer(),
    code: Type.String(),
    name: Type.String(),
    remarks: Type.String(),
    count: Type.Integer({ minimum: 0 }),
    minCount: Type.Optional(Type.Integer({ minimum: 1, description: 'the low-stock threshold, when one is set (absent: none): a change taking `count` below it raises a low-stock alert' })),
  },
  { additionalProperties: false },
);
export type Goods = Static<typeof Goods>;

/** A member's role in a directory (SPEC "Teams"): owner, manager, editor, viewer. */
export const RoleSchema = Type.Union(
  ROLES.map((role) => Type.Literal(role)),
  { description: 'owner > manager > editor > viewer' },
);
/** Someone as other members see them. */
export const UserRef = Type.Object({ id: Type.Integer(), nickname: Type.String() }, { additionalProperties: false });

export const Directory = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    role: Type.Union(
      ROLES.map((role) => Type.Literal(role)),
      { description: 'the role of the user this directory is shown to' },
    ),
    owner: UserRef,
    freq: Type.Integer({ minimum: 0, description: 'successful scans in this directory' }),
    revision: Revision,
    goodsCount: Type.Integer({ minimum: 0 }),
    totalCount: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type Directory = Static<typeof Directory>;

export const User = Type.Object(
  {
    id: Type.Integer(),
    nickname: Type.String(),
    avatarUrl: Type.String(),
    gender: Type.Integer({ description: "WeChat's: 0 unknown, 1 male, 2 female" }),
    city: Type.String(),
    province: Type.String(),
    country: Type.String(),
  },
  { additionalProperties: false },
);
export type User = Static<typeof User>;

/** The kinds of change, each one revision of its directory: goods changes, then the directory's own. */
export const CHANGE_TYPES = ['in', 'out', 'set', 'edit', 'remove', 'undo', 'rename', 'delete'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const ChangeTypeSchema = Type.Union(CHANGE_TYPES.map((type) => Type.Literal(type)));

/** One change of a directory, as `changes?since=` lists it and `change` frames push it. */
export const Change = Type.Object(
  {
    revision: Revision,
    type: ChangeTypeSchema,
    code: Type.Optional(Type.String()),
    goods: Type.Optional(Goods),
    delta: Type.Optional(Type.Integer()),
    directory: Type.Optional(Type.Object({ id: Type.Integer(), name: Type.String() })),
    eventId: Type.Optional(Type.String()),
    userId: Type.Integer(),
    nickname: Type.String({ description: 'the nickname of the user who made the change' }),
    deviceId: Type.Optional(Type.String({ description: 'the deviceId given at login by the session that made the change' })),
    at: Timestamp,
    transfer: Type.Optional(
      Type.Object(
        { id: Type.String(), from: Type.Integer(), to: Type.Integer() },
        { additionalProperties: false, description: 'this side of a transfer between two directories (both sides committed together)' },
      ),
    ),
    undoes: Type.Optional(Type.Integer({ minimum: 1, description: 'an `undo`: the revision it compensates' })),
    countId: Type.Optional(Type.Integer({ description: 'a `set` made by finishing this count session' })),
    lowStock: Type.Optional(Type.Literal(true, { description: "this change took the count from at least the goods' minCount to below it" })),
  },
  { additionalProperties: false },
);
export type Change = Static<typeof Change>;

/** One entry of a directory's history (`GET .../logs`); `create` is the directory's revision 0. */
export const LOG_TYPES = ['create', ...CHANGE_TYPES] as const;
export type LogType = (typeof LOG_TYPES)[number];
export const LogEntry = Type.Object(
  {
    id: Type.Integer(),
    revision: Revision,
    type: Type.Union(LOG_TYPES.map((type) => Type.Literal(type))),
    userId: Type.Integer(),
    nickname: Type.String({ description: 'the nickname of the user who made the change' }),
    deviceId: Type.Union([Type.String(), Type.Null()]),
    code: Type.Union([Type.String(), Type.Null()]),
    name: Type.Union([Type.String(), Type.Null()]),
    delta: Type.Union([Type.Integer(), Type.Null()]),
    countAfter: Type.Union([Type.Integer(), Type.Null()]),
    directoryName: Type.Union([Type.String(), Type.Null()]),
    eventId: Type.Union([Type.String(), Type.Null()]),
    at: Timestamp,
    undoes: Type.Optional(Type.Integer({ description: 'an `undo`: the revision it compensates' })),
    undoneBy: Type.Optional(Type.Integer({ description: 'this change was undone by the change of that revision' })),
    transfer: Type.Optional(Type.Object({ id: Type.String(), from: Type.Integer(), to: Type.Integer() }, { additionalProperties: false })),
    countId: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type LogEntry = Static<typeof LogEntry>;

// ---- the scan operation ----

export const SCAN_OPS = ['in', 'out', 'set'] as const;
export type ScanOp = (typeof SCAN_OPS)[number];

/**
 * The fields of one scan, one schema per `op` so that each states its own `qty` rule: `in` and `out`
 * take 1–1,000,000 (default 1), `set` requires 0–1,000,000. `name` and `remarks` replace the stored
 * ones on `in` and `set`; `out` leaves them as they are.
 */
const countedQty = Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_QTY, default: 1 }));
const ScanInFields = { op: Type.Literal('in'), code: GoodsCode, qty: countedQty, name: Type.Optional(GoodsName), remarks: Type.Optional(Remarks) };
const ScanOutFields = { op: Type.Literal('out'), code: GoodsCode, qty: countedQty, name: Type.Optional(GoodsName), remarks: Type.Optional(Remarks) };
const ScanSetFields = {
  op: Type.Literal('set'),
  code: GoodsCode,
  qty: Type.Integer({ minimum: 0, maximum: MAX_QTY, description: 'the counted quantity' }),
  name: Type.Optional(GoodsName),
  remarks: Type.Optional(Remarks),
};

interface UnionOptions {
  title?: string;
  description?: string;
}

/**
 * One object schema per scan op, each with `extra` fields, tagged by `op`: validators check the branch
 * that `op` names, so an error names a field of that branch (OpenAPI's and Ajv's `discriminator`).
 */
export function scanSchema<P extends TProperties>(extra: P, options: UnionOptions = {}) {
  const branch = <F extends TProperties>(fields: F, op: ScanOp) =>
    Type.Object({ ...extra, ...fields }, { additionalProperties: false, ...(options.title ? { title: `${options.title} (${op})` } : {}) });
  const branches = [branch(ScanInFields, 'in'), branch(ScanOutFields, 'out'), branch(ScanSetFields, 'set')];
  type Scan = Static<TObject<P & typeof ScanInFields>> | Static<TObject<P & typeof ScanOutFields>> | Static<TObject<P & typeof ScanSetFields>>;
  return taggedUnion<Scan>('op', branches, options);
}

/** A oneOf whose branches are told apart by the value of `tag` (JSON Schema has no tagged union of its own). */
export function taggedUnion<T>(tag: string, branches: TSchema[], options: UnionOptions = {}) {
  return Type.Unsafe<T>({ ...options, type: 'object', required: [tag], discriminator: { propertyName: tag }, oneOf: branches });
}

export const ScanBody = scanSchema({ eventId: Type.Optional(EventId) }, { title: 'ScanRequest' });
export type ScanBody = Static<typeof ScanBody>;

/** The scan operation as the domain takes it, whichever transport it came from. */
export type ScanInput = ScanBody & { directoryId: number };

export const ScanResult = Type.Object(
  {
    goods: Goods,
    delta: Type.Integer({ description: 'how much the count changed' }),
    revision: Revision,
    created: Type.Boolean({ description: 'this scan created the goods' }),
    duplicate: Type.Boolean({ description: 'this event id was applied before; this is its original outcome' }),
  },
  { additionalProperties: false },
);
export type ScanResult = Static<typeof ScanResult>;

export const SyncEvent = scanSchema({ eventId: EventId, directoryId: DirectoryId }, { title: 'SyncEvent' });
export type SyncEvent = Static<typeof SyncEvent>;

export const SyncResult = Type.Union([
  Type.Object({ eventId: Type.String(), ok: Type.Literal(true), result: ScanResult }, { additionalProperties: false }),
  Type.Object({ eventId: Type.String(), ok: Type.Literal(false), error: ErrorBody }, { additionalProperties: false }),
]);
export type SyncResult = Static<typeof SyncResult>;

/** `changes?since=` and a subscribe's start: every change after `since`, or a snapshot when that is too old. */
export const ChangesAnswer = Type.Union([
  Type.Object({ revision: Revision, changes: Type.Array(Change) }, { additionalProperties: false }),
  Type.Object({ revision: Revision, reset: Type.Literal(true), goods: Type.Array(Goods) }, { additionalProperties: false }),
]);
export type ChangesAnswer = Static<typeof ChangesAnswer>;

// ---- teams ----

export const Member = Type.Object(
  {
    user: Type.Object({ id: Type.Integer(), nickname: Type.String(), avatarUrl: Type.String() }, { additionalProperties: false }),
    role: RoleSchema,
    since: Timestamp,
  },
  { additionalProperties: false },
);
export type Member = Static<typeof Member>;

export const Invite = Type.Object(
  {
    code: Type.String({ description: 'at least 128 random bits; whoever has it may join while it is open' }),
    role: RoleSchema,
    uses: Type.Integer({ minimum: 0 }),
    maxUses: Type.Integer({ minimum: 1 }),
    expiresAt: Timestamp,
    qr: Type.String({ description: 'the text to show as a QR code: `scancode:join:<code>`' }),
  },
  { additionalProperties: false },
);
export type Invite = Static<typeof Invite>;

// ---- warehouse operations ----

export const COUNT_STATUSES = ['open', 'finished', 'cancelled'] as const;
export const CountSession = Type.Object(
  {
    id: Type.Integer(),
    directoryId: Type.Integer(),
    name: Type.String(),
    status: Type.Union(COUNT_STATUSES.map((status) => Type.Literal(status))),
    startedBy: Type.Integer({ description: 'the user who started it' }),
    startedAt: Timestamp,
    closedAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false, description: 'a stocktake that several phones add their counts to' },
);
export type CountSession = Static<typeof CountSession>;

/** What a phone's count line answers: the code's counted total so far and its live count. */
export const CountLine = Type.Object(
  {
    code: Type.String(),
    counted: Type.Integer({ minimum: 0 }),
    expected: Type.Integer({ minimum: 0, description: "the goods' live count (0 for a code that is not a goods yet)" }),
  },
  { additionalProperties: false },
);
export type CountLine = Static<typeof CountLine>;

/** One line of the variance report. */
export const CountReportLine = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    counted: Type.Integer({ minimum: 0 }),
    expected: Type.Integer({ minimum: 0 }),
    variance: Type.Integer({ description: 'counted − expected' }),
  },
  { additionalProperties: false },
);
export type CountReportLine = Static<typeof CountReportLine>;

export const CountReport = Type.Object({ count: CountSession, lines: Type.Array(CountReportLine) }, { additionalProperties: false });

export const LowStockAlert = Type.Object({ directoryId: Type.Integer(), goods: Goods }, { additionalProperties: false });
