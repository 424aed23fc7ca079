/**
 * @scancode/client: the scancode SDK for WeChat mini-programs (and browsers, and Node). One socket for
 * everything, a durable outbox of scans, count lines and transfers, live directory and count views,
 * login. See docs/client.md.
 */
export { ScancodeClient, type AnsweredEvent, type ClientEvents, type ClientOptions, type ClientStatus, type Connectivity, type InviteOptions } from './client';
export { ScancodeError, type ClientErrorCode } from './errors';
export { webLoginId } from './web-login';
export type { DirectoryState, LostReason, ViewItem } from './view';
export type { CountViewLine, CountViewState } from './count-view';
export type { OutboxEntry, Outcome, QueuedOperation } from './outbox';
export type { Via } from './delivery';
export { memoryStorage, type HttpAnswer, type HttpLike, type HttpRequest, type OpenSocket, type SocketEvents, type SocketLike, type StorageLike } from './adapters/types';
export { wxHttp, wxLoginCode, wxSocket, wxStorage, type WxApi, type WxSocketTask } from './adapters/wechat';
export { browserSocket, fetchHttp, webStorage, type FetchLike } from './adapters/web';
export { wsSocket } from './adapters/ws';
export type {
  AlertFrame,
  Change,
  CountFrame,
  CountReport,
  CountReportLine,
  CountSession,
  Directory,
  DirectoryPush,
  ErrorBody,
  ErrorCode,
  Goods,
  Invite,
  LoginResponse,
  LowStockAlert,
  Member,
  Role,
  ScanRequest,
  ScanResult,
  SyncResult,
  TransferRequest,
  UnsubscribedFrame,
  User,
} from './contract';
