/**
 * @scancode/client: the scancode SDK for WeChat mini-programs (and browsers, and Node). One socket for
 * everything, a durable outbox of scans, live directory views, login. See docs/client.md.
 */
export { ScancodeClient, type ClientEvents, type ClientOptions, type ClientStatus } from './client';
export { ScancodeError, type ClientErrorCode } from './errors';
export type { DirectoryState, ViewItem } from './view';
export type { OutboxEntry } from './outbox';
export type { Via } from './delivery';
export { memoryStorage, type HttpAnswer, type HttpLike, type HttpRequest, type OpenSocket, type SocketEvents, type SocketLike, type StorageLike } from './adapters/types';
export { wxHttp, wxLoginCode, wxSocket, wxStorage, type WxApi, type WxSocketTask } from './adapters/wechat';
export { browserSocket, fetchHttp, webStorage, type FetchLike } from './adapters/web';
export { wsSocket } from './adapters/ws';
export type { Change, Directory, ErrorBody, ErrorCode, Goods, LoginResponse, ScanRequest, ScanResult, SyncResult, User } from './contract';
