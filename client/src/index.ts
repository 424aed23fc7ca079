/**
 * @scancode/client: the scancode SDK for WeChat mini-programs (and browsers, and Node). One socket for
 * everything, a durable outbox of scans, live directory views, login. See docs/client.md.
 */
export { ScancodeClient, type ClientEvents, type ClientOptions, type ClientStatus, type Connectivity, type InviteOptions } from './client';
export { ScancodeError, type ClientErrorCode } from './errors';
export type { DirectoryState, LostReason, ViewItem } from './view';
export type { OutboxEntry } from './outbox';
export type { Via } from './delivery';
export { memoryStorage, type HttpAnswer, type HttpLike, type HttpRequest, type OpenSocket, type SocketEvents, type SocketLike, type StorageLike } from './adapters/types';
export { wxHttp, wxLoginCode, wxSocket, wxStorage, type WxApi, type WxSocketTask } from './adapters/wechat';
export { browserSocket, fetchHttp, webStorage, type FetchLike } from './adapters/web';
export { wsSocket } from './adapters/ws';
export type { Change, Directory, DirectoryPush, ErrorBody, ErrorCode, Goods, Invite, LoginResponse, Member, Role, ScanRequest, ScanResult, SyncResult, UnsubscribedFrame, User } from './contract';
