/**
 * The one door from the SDK to the server's contract (src/contract). Shapes come in as types only, so
 * nothing of TypeBox reaches the compiled SDK; the few values the SDK needs at run time come from
 * constants.ts, which has no dependency at all. A test and the size script check both.
 */
import type { Static } from '@sinclair/typebox';
import type { ErrorBody } from '../../src/contract/errors';
import type { AckResults, ChangeFrame, DirectoryFrame, HelloFrame, RequestFrame, RequestType, ServerFrame, SnapshotFrame, UnsubscribedFrame, CountFrame, AlertFrame } from '../../src/contract/frames';
import type { api } from '../../src/contract/http';
import type { Change, CountLine, CountReportLine, CountSession, Directory, Goods, Invite, Member, ScanResult, SyncEvent, SyncResult, User } from '../../src/contract/models';
import type { OperationInput, OperationName, OperationResult } from '../../src/contract/operations';

export { CloseCode, EVENT_ID_PATTERN, INVITE_QR_PREFIX, MAX_EVENT_ID_LENGTH, MAX_SYNC_EVENTS, WEB_LOGIN_QR_PREFIX, type ErrorCode, type Role } from '../../src/contract/constants';
export type {
  AckResults,
  Change,
  ChangeFrame,
  CountLine,
  CountReportLine,
  CountSession,
  Directory,
  DirectoryFrame,
  ErrorBody,
  Goods,
  HelloFrame,
  Invite,
  Member,
  RequestFrame,
  RequestType,
  ScanResult,
  ServerFrame,
  SnapshotFrame,
  SyncEvent,
  SyncResult,
  UnsubscribedFrame,
  CountFrame,
  AlertFrame,
  User,
};

/** A `directory` push: created, renamed, deleted, and the membership events (shared, role, unshared); `directory` carries the user's role. */
export type DirectoryPush = DirectoryFrame;
export type DirectoryEvent = DirectoryFrame['event'];

type Routes = typeof api;
export type LoginRequest = Static<Routes['login']['schema']['body']>;
export type LoginResponse = Static<Routes['login']['schema']['response'][200]>;
export type SyncResponse = OperationResult<'sync'>;
export type DirectoryWithGoods = OperationResult<'getDirectory'>;
export type { OperationInput, OperationName, OperationResult };

/** `Omit` for each member of a union (a plain Omit would merge a tagged union into one shape). */
export type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A request frame of one type, without its id (the SDK gives ids). */
export type RequestOf<T extends RequestType> = OmitEach<Extract<RequestFrame, { type: T }>, 'id'>;

/** A scan as the app asks for it: a sync event without its event id, which the SDK gives. */
export type ScanRequest = OmitEach<SyncEvent, 'eventId'>;

/** A transfer as the app asks for it: from one directory to another, `qty` of a code. */
export type TransferRequest = Omit<OperationInput<'transfer'>, 'eventId'>;
/** A count session with its variance report (`getCount`, `finishCount`). */
export type CountReport = OperationResult<'getCount'>;
/** A goods below its minCount, with its directory (`alerts()`). */
export type LowStockAlert = OperationResult<'listAlerts'>['alerts'][number];
