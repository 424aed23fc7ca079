import type { HttpLike, OpenSocket, StorageLike } from './types';

/**
 * Adapters for a WeChat mini-program: pass `wx` itself. Only the members used are typed here, so the
 * SDK needs no WeChat typings.
 */

interface WxError {
  errMsg: string;
}

export interface WxSocketTask {
  send(options: { data: string; fail?: (error: WxError) => void }): void;
  close(options: { code?: number; reason?: string }): void;
  onOpen(listener: () => void): void;
  onMessage(listener: (message: { data: string | ArrayBuffer }) => void): void;
  onClose(listener: (event: { code: number; reason: string }) => void): void;
  onError(listener: (error: WxError) => void): void;
}

export interface WxApi {
  connectSocket(options: { url: string; fail?: (error: WxError) => void }): WxSocketTask;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: string): void;
  removeStorageSync(key: string): void;
  request(options: {
    url: string;
    method: string;
    header: Record<string, string>;
    data?: unknown;
    timeout: number;
    success(answer: { statusCode: number; data: unknown }): void;
    fail(error: WxError): void;
  }): void;
  login(options: { success(answer: { code: string }): void; fail(error: WxError): void }): void;
}

/** `wx.connectSocket`'s SocketTask. (The token goes in the first frame, so no `header` is needed.) */
export function wxSocket(wx: Pick<WxApi, 'connectSocket'>): OpenSocket {
  return (url, events) => {
    const task = wx.connectSocket({ url, fail: (error) => events.error(error.errMsg) });
    task.onOpen(() => events.open());
    // The server sends text frames only.
    task.onMessage(({ data }) => typeof data === 'string' && events.message(data));
    task.onClose(({ code, reason }) => events.close(code, reason));
    task.onError((error) => events.error(error.errMsg));
    return {
      send: (text) => task.send({ data: text, fail: (error) => events.error(error.errMsg) }),
      close: (code, reason) => task.close({ code, reason }),
    };
  };
}

/** `wx.getStorageSync`/`setStorageSync` (at most 1 MB per key, 10 MB per mini-program). */
export function wxStorage(wx: Pick<WxApi, 'getStorageSync' | 'setStorageSync' | 'removeStorageSync'>): StorageLike {
  return {
    get: (key) => {
      const value = wx.getStorageSync(key);
      return typeof value === 'string' && value !== '' ? value : null;
    },
    set: (key, value) => wx.setStorageSync(key, value),
    remove: (key) => wx.removeStorageSync(key),
  };
}

/** `wx.request`: JSON in and out; a status is an answer, `fail` (no network, timeout) is not. */
export function wxHttp(wx: Pick<WxApi, 'request'>): HttpLike {
  return (request) =>
    new Promise((resolve, reject) =>
      wx.request({
        url: request.url,
        method: request.method,
        header: { 'content-type': 'application/json', ...request.headers },
        data: request.body,
        timeout: request.timeoutMs,
        success: (answer) => resolve({ status: answer.statusCode, body: answer.data === '' ? null : answer.data }),
        fail: (error) => reject(new Error(error.errMsg)),
      }),
    );
}

/** A fresh `wx.login()` code, for `ScancodeClient`'s `loginCode` option. */
export function wxLoginCode(wx: Pick<WxApi, 'login'>): () => Promise<string> {
  return () => new Promise((resolve, reject) => wx.login({ success: (answer) => resolve(answer.code), fail: (error) => reject(new Error(error.errMsg)) }));
}
