import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ErrorBody } from './errors';
import { DirectoryId, RequestId, Revision, Timestamp } from './fields';
import { Change, CountLine, CountSession, Directory, Goods } from './models';
import { OPERATION_NAMES, operationFrame, operations, type OperationFrame, type OperationResult, type SocketOperationName } from './operations';

/**
 * The WebSocket protocol of `/ws`, both directions, each frame one schema tagged by `type`. Every
 * request carries an `id` and is answered by one ack; `ACK_RESULTS` gives the result of each request type.
 * Besides the socket's own requests (subscribe, unsubscribe, ping), every operation of the operation
 * table (operations.ts) is a request whose type is its name.
 */

const frame = <T extends Record<string, TSchema>>(title: string, properties: T, description: string) => Type.Object(properties, { additionalProperties: false, title, description });

// ---- client -> server ----

export const AuthFrame = frame(
  'auth',
  { type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 512 }) },
  'Authenticates a socket opened without an Authorization header; must be the first frame, within 10 s.',
);
export const SubscribeFrame = frame(
  'subscribe',
  { type: Type.Literal('subscribe'), id: RequestId, directoryId: DirectoryId, since: Type.Optional(Revision) },
  'Starts watching a directory: every change after `since` as change frames, or a snapshot; then live changes.',
);
export const UnsubscribeFrame = frame('unsubscribe', { type: Type.Literal('unsubscribe'), id: RequestId, directoryId: DirectoryId }, 'Stops watching a directory.');
export const PingFrame = frame('ping', { type: Type.Literal('ping'), id: RequestId }, 'An application-level ping, answered by an ack.');

const SOCKET_OPERATIONS = OPERATION_NAMES.filter((name): name is SocketOperationName => operations[name].socket);
/** Every operation that is a socket request, by its name: its frame's schema, derived from the operation table. */
export const OPERATION_FRAMES = Object.fromEntries(SOCKET_OPERATIONS.map((name) => [name, operationFrame(name)])) as unknown as Record<SocketOperationName, TSchema>;

/** Every client frame by its `type`: a frame is checked against its own schema, so an error names its field. */
export const CLIENT_FRAMES: Record<string, TSchema> = { auth: AuthFrame, subscribe: SubscribeFrame, unsubscribe: UnsubscribeFrame, ping: PingFrame, ...OPERATION_FRAMES };
type SocketFrames = { auth: Static<typeof AuthFrame>; subscribe: Static<typeof SubscribeFrame>; unsubscribe: Static<typeof UnsubscribeFrame>; ping: Static<typeof PingFrame> } & {
  [N in SocketOperationName]: OperationFrame<N>;
};
export type ClientFrameType = keyof SocketFrames;
export type ClientFrame = SocketFrames[ClientFrameType];
/** The frames that are requests: each carries an id and is answered by exactly one ack. */
export type RequestFrame = Exclude<ClientFrame, { type: 'auth' }>;
export type RequestType = RequestFrame['type'];
/** A request frame that runs an operation of the table. */
export type OperationRequestFrame = SocketFrames[SocketOperationName];

const SOCKET_ACK_RESULTS = {
  subscribe: Type.Object(
    { revision: Revision },
    {
      additionalProperties: false,
      title: 'subscribe result',
      description: 'the revision the client has once the replay or snapshot that follows has arrived (a snapshot may be older: the changes after it come next)',
    },
  ),
  unsubscribe: Type.Object({}, { additionalProperties: false, title: 'unsubscribe result' }),
  ping: Type.Object({ serverTime: Timestamp }, { additionalProperties: false, title: 'ping result' }),
};
/** The `result` of a successful ack, by the type of the request it answers (an operation's: its result). */
export const ACK_RESULTS: Record<RequestType, TSchema> = {
  ...SOCKET_ACK_RESULTS,
  ...(Object.fromEntries(SOCKET_OPERATIONS.map((name) => [name, operations[name].result])) as unknown as Record<SocketOperationName, TSchema>),
};
export type AckResults = { [K in keyof typeof SOCKET_ACK_RESULTS]: Static<(typeof SOCKET_ACK_RESULTS)[K]> } & { [N in SocketOperationName]: OperationResult<N> };
export type AckResult = AckResults[RequestType];

// ---- server -> client ----

export const HelloFrame = frame(
  'hello',
  { type: Type.Literal('hello'), userId: Type.Integer(), heartbeatMs: Type.Integer(), serverTime: Timestamp },
  "The server's first frame once the socket is authenticated.",
);
export const AckOkFrame = frame(
  'ack (ok)',
  { type: Type.Literal('ack'), id: RequestId, ok: Type.Literal(true), result: Type.Union(Object.values(ACK_RESULTS)) },
  "A request's success; `result` is the result of that request's type.",
);
export const AckErrorFrame = frame('ack (error)', { type: Type.Literal('ack'), id: RequestId, ok: Type.Literal(false), error: ErrorBody }, "A request's refusal, with one of the error codes.");
export const ChangeFrame = frame(
  'change',
  { type: Type.Literal('change'), directoryId: DirectoryId, revision: Revision, change: Change },
  'One change of a watched directory: every revision exactly once, in order.',
);
export const SnapshotFrame = frame(
  'snapshot',
  {
    type: Type.Literal('snapshot'),
    directoryId: DirectoryId,
    revision: Revision,
    page: Type.Integer({ minimum: 0, description: "this page's place in the snapshot, from 0" }),
    last: Type.Boolean({ description: 'true on the final page: the snapshot is whole, and changes after its revision follow' }),
    goods: Type.Array(Goods),
  },
  'One page of the goods of a directory at a revision (a subscribe without a usable `since`): pages 0, 1, ... of at most 64 KiB each, the last one with `last: true`, all with the same revision; no change frame of the directory comes between them.',
);
export const DIRECTORY_EVENTS = ['created', 'renamed', 'deleted', 'shared', 'role', 'unshared'] as const;
export const DirectoryFrame = frame(
  'directory',
  { type: Type.Literal('directory'), event: Type.Union(DIRECTORY_EVENTS.map((event) => Type.Literal(event))), directory: Directory },
  "A directory the user is a member of was created, renamed or deleted, or the user's membership began (`shared`), changed role (`role`) or ended (`unshared`): to every socket of the user, subscribed or not. `directory.role` is the user's role now (after `unshared`, the role they had).",
);
export const UNSUBSCRIBE_REASONS = ['removed', 'deleted'] as const;
export const UnsubscribedFrame = frame(
  'unsubscribed',
  {
    type: Type.Literal('unsubscribed'),
    directoryId: DirectoryId,
    reason: Type.Union(
      UNSUBSCRIBE_REASONS.map((reason) => Type.Literal(reason)),
      { description: 'removed: the user is no longer a member; deleted: the directory was deleted' },
    ),
  },
  'The server ended a subscription: the user lost access to the directory. From now on every request about it answers directory_not_found.',
);
export const CountFrame = frame(
  'count',
  {
    type: Type.Literal('count'),
    countId: Type.Integer(),
    directoryId: DirectoryId,
    line: Type.Optional(CountLine),
    count: Type.Optional(CountSession),
  },
  "A count session of a watched directory moved: a phone's line (`line`: the code's counted total and live count), or the session started, finished or was cancelled (`count`). To every subscriber of the directory.",
);
export const AlertFrame = frame(
  'alert',
  { type: Type.Literal('alert'), kind: Type.Literal('low_stock'), directoryId: DirectoryId, goods: Goods },
  "A change took a goods' count from at least its minCount to below it: to every socket of every member of the directory, subscribed or not. Once per crossing.",
);
export const ErrorFrame = frame('error', { type: Type.Literal('error'), error: ErrorBody }, 'A refusal of a frame that had no usable id.');

export const SERVER_FRAMES = {
  hello: HelloFrame,
  ackOk: AckOkFrame,
  ackError: AckErrorFrame,
  change: ChangeFrame,
  snapshot: SnapshotFrame,
  directory: DirectoryFrame,
  unsubscribed: UnsubscribedFrame,
  count: CountFrame,
  alert: AlertFrame,
  error: ErrorFrame,
};
export const ServerFrame = Type.Union(Object.values(SERVER_FRAMES));
export type ServerFrame = Static<typeof ServerFrame>;
export type HelloFrame = Static<typeof HelloFrame>;
export type ChangeFrame = Static<typeof ChangeFrame>;
export type SnapshotFrame = Static<typeof SnapshotFrame>;
export type DirectoryFrame = Static<typeof DirectoryFrame>;
export type UnsubscribedFrame = Static<typeof UnsubscribedFrame>;
export type CountFrame = Static<typeof CountFrame>;
export type AlertFrame = Static<typeof AlertFrame>;

/** SPEC limits of the socket. */
export const MAX_FRAME_BYTES = 64 * 1024;
/**
 * A snapshot frame's size at most (UTF-8 bytes): its goods are cut into pages, each sent when the client
 * has read the ones before, so that a big directory never sits whole in the server's queue for a socket.
 * Every goods fits in one page (a 7,089-character code escaped six bytes a character is 42 KB).
 */
export const SNAPSHOT_PAGE_BYTES = 64 * 1024;
