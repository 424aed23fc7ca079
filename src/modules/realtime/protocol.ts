import { Type, type Static, type TSchema } from '@sinclair/typebox';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ErrorBody } from '../../errors';
import { DirectoryId, EventId, GoodsCode, ScanFields } from '../inventory/schemas';

/**
 * The WebSocket protocol of `/ws` (SPEC: WebSocket), both directions, as one tagged union per
 * direction. The gateway, the tests and docs/protocol.md all follow this file.
 */

/** Any request but `scan` may use a string or an integer id; a scan's id is its event id. */
export const RequestId = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer()]);
export type RequestId = Static<typeof RequestId>;

// ---- client -> server ----

export const AuthFrame = Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 512 }) });
export const SubscribeFrame = Type.Object({ type: Type.Literal('subscribe'), id: RequestId, directoryId: DirectoryId, since: Type.Optional(Type.Integer({ minimum: 0 })) });
export const UnsubscribeFrame = Type.Object({ type: Type.Literal('unsubscribe'), id: RequestId, directoryId: DirectoryId });
export const ScanFrame = Type.Object({ type: Type.Literal('scan'), id: EventId, directoryId: DirectoryId, ...ScanFields });
export const LookupFrame = Type.Object({ type: Type.Literal('lookup'), id: RequestId, directoryId: DirectoryId, code: GoodsCode });
export const PingFrame = Type.Object({ type: Type.Literal('ping'), id: RequestId });

// By type, so that a frame is checked against its own schema and the error names its field rather than
// every branch of the union.
const CLIENT_FRAMES = { auth: AuthFrame, subscribe: SubscribeFrame, unsubscribe: UnsubscribeFrame, scan: ScanFrame, lookup: LookupFrame, ping: PingFrame };
export const ClientFrame = Type.Union([AuthFrame, SubscribeFrame, UnsubscribeFrame, ScanFrame, LookupFrame, PingFrame]);
export type ClientFrame = Static<typeof ClientFrame>;
/** The frames that are requests: each carries an id and is answered by exactly one ack. */
export type RequestFrame = Exclude<ClientFrame, { type: 'auth' }>;

// ---- server -> client ----

const GoodsSchema = Type.Object({ id: Type.Integer(), code: Type.String(), name: Type.String(), remarks: Type.String(), count: Type.Integer({ minimum: 0 }) });
const DirectorySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  freq: Type.Integer(),
  revision: Type.Integer(),
  goodsCount: Type.Integer(),
  totalCount: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const ChangeSchema = Type.Object({
  revision: Type.Integer(),
  type: Type.Union([Type.Literal('in'), Type.Literal('out'), Type.Literal('set'), Type.Literal('edit'), Type.Literal('remove'), Type.Literal('rename'), Type.Literal('delete')]),
  code: Type.Optional(Type.String()),
  goods: Type.Optional(GoodsSchema),
  delta: Type.Optional(Type.Integer()),
  directory: Type.Optional(Type.Object({ id: Type.Integer(), name: Type.String() })),
  eventId: Type.Optional(Type.String()),
  userId: Type.Integer(),
  deviceId: Type.Optional(Type.String()),
  at: Type.String(),
});
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true });

export const HelloFrame = Type.Object({ type: Type.Literal('hello'), userId: Type.Integer(), heartbeatMs: Type.Integer(), serverTime: Type.String() });
export const AckOkFrame = Type.Object({ type: Type.Literal('ack'), id: RequestId, ok: Type.Literal(true), result: Type.Unknown() });
export const AckErrorFrame = Type.Object({ type: Type.Literal('ack'), id: RequestId, ok: Type.Literal(false), error: ErrorSchema });
export const ChangeFrame = Type.Object({ type: Type.Literal('change'), directoryId: Type.Integer(), revision: Type.Integer(), change: ChangeSchema });
export const SnapshotFrame = Type.Object({ type: Type.Literal('snapshot'), directoryId: Type.Integer(), revision: Type.Integer(), goods: Type.Array(GoodsSchema) });
export const DirectoryFrame = Type.Object({
  type: Type.Literal('directory'),
  event: Type.Union([Type.Literal('created'), Type.Literal('renamed'), Type.Literal('deleted')]),
  directory: DirectorySchema,
});
export const ErrorFrame = Type.Object({ type: Type.Literal('error'), error: ErrorSchema });

export const ServerFrame = Type.Union([HelloFrame, AckOkFrame, AckErrorFrame, ChangeFrame, SnapshotFrame, DirectoryFrame, ErrorFrame]);
export type ServerFrame = Static<typeof ServerFrame>;
export type HelloFrame = Static<typeof HelloFrame>;
export type ChangeFrame = Static<typeof ChangeFrame>;
export type SnapshotFrame = Static<typeof SnapshotFrame>;
export type DirectoryFrame = Static<typeof DirectoryFrame>;

/** Close codes (SPEC: WebSocket). */
export const CloseCode = {
  /** Shutdown: reconnect (to another instance) and resume with `since`. */
  goingAway: 1001,
  /** A frame over the size limit. */
  tooBig: 1009,
  /** The server could not keep its no-gap promise (the database failed mid-delivery): reconnect and resume. */
  internalError: 1011,
  /** No, bad, expired or revoked token: log in again. */
  unauthorized: 4401,
  /** The client did not read its frames: reconnect and resume with `since`. */
  tooSlow: 4408,
} as const;

// ---- parsing ----

// Frames are never coerced: `"directoryId": "7"` is refused naming the field, as over HTTP.
// `verbose` keeps the failing schema on each error, to name the allowed values of a union.
const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false, allErrors: false, verbose: true });
const validators = new Map<string, ValidateFunction>(Object.entries(CLIENT_FRAMES).map(([type, schema]) => [type, ajv.compile(schema as TSchema)]));

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  /** `id` is the frame's id when it had a usable one, so the refusal can be an ack. */
  | { ok: false; id: RequestId | null; error: ErrorBody };

function usableId(value: unknown): RequestId | null {
  if (typeof value === 'string' && value.length > 0 && value.length <= 256) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return null;
}

/** "qty must be <= 1000000", "directoryId is required", "op must be one of ...": the message names the field. */
function describe(errors: ErrorObject[]): string {
  // A failed union reports each branch and then itself; the union's own error reads best.
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  if (!error) return 'frame is invalid';
  if (error.keyword === 'required') return `${(error.params as { missingProperty: string }).missingProperty} is required`;
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'frame';
  if (error.keyword === 'anyOf' && Array.isArray(error.schema)) {
    const branches = error.schema as { const?: unknown; type?: string }[];
    if (branches.every((b) => b.const !== undefined)) return `${field} must be one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
    return `${field} must be ${branches.map((b) => `a${b.type === 'integer' ? 'n' : ''} ${b.type}`).join(' or ')}`;
  }
  return `${field} ${error.message ?? 'is invalid'}`;
}

const badRequest = (message: string): ErrorBody => ({ code: 'bad_request', message });

/** Parses and validates one incoming text frame. Never throws. */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: badRequest('frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, id: null, error: badRequest('frame must be a JSON object') };
  const record = value as Record<string, unknown>;
  const id = usableId(record.id);
  if (typeof record.type !== 'string') return { ok: false, id, error: badRequest('type is required and must be a string') };
  const validate = validators.get(record.type);
  if (!validate) return { ok: false, id, error: badRequest(`type "${record.type.slice(0, 64)}" is not a known frame type`) };
  if (!validate(value)) return { ok: false, id, error: badRequest(describe(validate.errors ?? [])) };
  return { ok: true, frame: value as ClientFrame };
}

/** Server frames are serialized here, once per frame however many sockets receive it. */
export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
