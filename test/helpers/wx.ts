import WebSocket from 'ws';
import type { WxApi, WxSocketTask } from '../../client/src';

/** What the example mini-program uses beyond the SDK's adapters: the camera, toasts and navigation. */
export interface WxPageApi {
  scanCode(options: { success(answer: { result: string; scanType: string; charSet: string }): void; fail(error: { errMsg: string }): void }): void;
  showToast(options: { title: string; icon?: string }): void;
  navigateTo(options: { url: string }): void;
  redirectTo(options: { url: string }): void;
  reLaunch(options: { url: string }): void;
  navigateBack(options?: { delta?: number }): void;
}

/**
 * The parts of WeChat's `wx` that the SDK and the example mini-program use, behaving as a phone's does, over real sockets and real
 * HTTP: `connectSocket` returns a SocketTask (listeners registered after the call, `onClose({code,
 * reason})`, `send({data, fail})` failing on a closed socket, at most 5 sockets at once), sync storage
 * that answers '' for a missing key, `request` with `success({statusCode, data})` / `fail({errMsg})`,
 * and `login` giving fresh codes for one fake WeChat user. A test switches the network: sockets can be
 * blocked (they fail to open, as when the socket domain is unreachable), made deaf (frames from the
 * server are lost, as in a network that dies after the request left), and HTTP can be down. The
 * camera reads the texts a test puts in `camera` (and is cancelled when there is none); toasts and
 * navigations are recorded.
 */
export interface FakeWx extends WxApi, WxPageApi {
  network: { socket: 'up' | 'blocked' | 'deaf'; http: 'up' | 'down' };
  storage: Map<string, string>;
  /** `METHOD /path` of every request that reached the network. */
  requests: string[];
  /** The sockets open now, and the most there ever were at once. */
  open: Set<WebSocket>;
  maxOpen: number;
  /** What `scanCode` reads next, in order. */
  camera: string[];
  toasts: string[];
  /** Every navigation, as `navigateTo /pages/directory/directory?id=3`. */
  navigations: string[];
}

const MAX_SOCKETS = 5;
let codes = 0;

export function fakeWx(user: string, storage = new Map<string, string>()): FakeWx {
  const wx: FakeWx = {
    network: { socket: 'up', http: 'up' },
    storage,
    requests: [],
    open: new Set(),
    maxOpen: 0,
    camera: [],
    toasts: [],
    navigations: [],
    connectSocket: ({ url, fail }) => socketTask(wx, url, fail),
    getStorageSync: (key) => storage.get(key) ?? '',
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
    request: (options) => {
      if (wx.network.http === 'down') return void setTimeout(() => options.fail({ errMsg: 'request:fail network down' }), 5);
      wx.requests.push(`${options.method} ${new URL(options.url).pathname}`);
      fetch(options.url, { method: options.method, headers: options.header, body: options.data === undefined ? undefined : JSON.stringify(options.data) })
        .then(async (response) => {
          const text = await response.text();
          options.success({ statusCode: response.status, data: text === '' ? '' : JSON.parse(text) });
        })
        .catch((error: Error) => options.fail({ errMsg: `request:fail ${error.message}` }));
    },
    login: ({ success }) => void setTimeout(() => success({ code: `${user}#wx${++codes}` }), 1),
    scanCode: ({ success, fail }) => {
      const text = wx.camera.shift();
      setTimeout(() => (text === undefined ? fail({ errMsg: 'scanCode:fail cancel' }) : success({ result: text, scanType: 'QR_CODE', charSet: 'utf-8' })), 1);
    },
    showToast: ({ title }) => void wx.toasts.push(title),
    navigateTo: ({ url }) => void wx.navigations.push(`navigateTo ${url}`),
    redirectTo: ({ url }) => void wx.navigations.push(`redirectTo ${url}`),
    reLaunch: ({ url }) => void wx.navigations.push(`reLaunch ${url}`),
    navigateBack: () => void wx.navigations.push('navigateBack'),
  };
  return wx;
}

function socketTask(wx: FakeWx, url: string, fail?: (error: { errMsg: string }) => void): WxSocketTask {
  const listeners = {
    open: [] as (() => void)[],
    message: [] as ((message: { data: string }) => void)[],
    close: [] as ((event: { code: number; reason: string }) => void)[],
    error: [] as ((error: { errMsg: string }) => void)[],
  };
  let ws: WebSocket | null = null;
  if (wx.open.size >= MAX_SOCKETS) setTimeout(() => fail?.({ errMsg: 'connectSocket:fail exceed max task count' }), 0);
  else if (wx.network.socket === 'blocked') {
    setTimeout(() => {
      for (const listener of listeners.error) listener({ errMsg: 'connectSocket:fail' });
      for (const listener of listeners.close) listener({ code: 1006, reason: 'abnormal closure' });
    }, 5);
  } else {
    const socket = (ws = new WebSocket(url));
    socket.on('open', () => {
      wx.open.add(socket);
      wx.maxOpen = Math.max(wx.maxOpen, wx.open.size);
      for (const listener of listeners.open) listener();
    });
    socket.on('message', (data) => {
      if (wx.network.socket === 'deaf') return;
      for (const listener of listeners.message) listener({ data: data.toString() });
    });
    socket.on('error', (error) => {
      for (const listener of listeners.error) listener({ errMsg: error.message });
    });
    socket.on('close', (code, reason) => {
      wx.open.delete(socket);
      for (const listener of listeners.close) listener({ code, reason: reason.toString() });
    });
  }
  return {
    send: ({ data, fail: failed }) => {
      if (ws === null || ws.readyState !== WebSocket.OPEN) return void setTimeout(() => failed?.({ errMsg: 'sendSocketMessage:fail WebSocket is not connected' }), 0);
      ws.send(data, (error) => error && failed?.({ errMsg: error.message }));
    },
    close: ({ code, reason }) => ws?.close(code, reason),
    onOpen: (listener) => void listeners.open.push(listener),
    onMessage: (listener) => void listeners.message.push(listener),
    onClose: (listener) => void listeners.close.push(listener),
    onError: (listener) => void listeners.error.push(listener),
  };
}
