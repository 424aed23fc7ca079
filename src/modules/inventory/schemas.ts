import { Type, type Static } from '@sinclair/typebox';

/** Field schemas shared by HTTP routes, `POST /api/sync` and WebSocket frames (SPEC: Concepts). */
export const EventId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const GoodsCode = Type.String({ minLength: 1, maxLength: 512 });
export const GoodsName = Type.String({ maxLength: 100 });
export const Remarks = Type.String({ maxLength: 1000 });
export const DirectoryName = Type.String({ minLength: 1, maxLength: 100 });
export const Qty = Type.Integer({ minimum: 0, maximum: 1_000_000 });
export const DirectoryId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
export const ScanOp = Type.Union([Type.Literal('in'), Type.Literal('out'), Type.Literal('set')]);

/** The fields of one scan (qty 0 is only meaningful for `set`; the domain refuses it for in/out). */
export const ScanFields = {
  op: ScanOp,
  code: GoodsCode,
  qty: Type.Optional(Qty),
  name: Type.Optional(GoodsName),
  remarks: Type.Optional(Remarks),
};

export const ScanBody = Type.Object({ ...ScanFields, eventId: Type.Optional(EventId) });
export type ScanBody = Static<typeof ScanBody>;

export const SyncEvent = Type.Object({ eventId: EventId, directoryId: DirectoryId, ...ScanFields });
export const SyncBody = Type.Object({ events: Type.Array(SyncEvent, { maxItems: 500 }) });

export const DirectoryParams = Type.Object({ id: DirectoryId });
export const GoodsParams = Type.Object({ id: DirectoryId, code: GoodsCode });
export const NameBody = Type.Object({ name: DirectoryName });
export const GoodsEditBody = Type.Object({ name: Type.Optional(GoodsName), remarks: Type.Optional(Remarks) });
export const DirectoryQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 512 })) });
export const ChangesQuery = Type.Object({ since: Type.Integer({ minimum: 0 }) });
export const LogsQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
