/**
 * What the SDK needs of its platform: a WebSocket, a key-value storage and HTTP. Each platform's own API
 * is wrapped into these by an adapter (wechat.ts, web.ts, ws.ts), so the rest of the SDK is the same on
 * a phone, in a browser and in Node.
 */

/** What the SDK hears of one socket. */
export interface SocketEvents {
  open(): void;
  message(text: string): void;
  /** The socket is closed; with no close frame (network lost) the code is 1006. */
  close(code: number, reason: string): void;
  /** The platform reported an error: the SDK treats the socket as lost. */
  error(message: string): void;
}

/** One open(ing) socket. */
export interface SocketLike {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Opens a socket to a `ws://` or `wss://` URL. */
export type OpenSocket = (url: string, events: SocketEvents) => SocketLike;

/**
 * Synchronous key-value storage, like `wx.getStorageSync`/`setStorageSync` or `localStorage`: a scan
 * is written before it is sent, so that an app killed right after still has it.
 */
export interface StorageLike {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs: number;
}

/** An HTTP answer, its body parsed from JSON (null when empty). */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** Sends one request; rejects only when no answer came (network, timeout), never for a status. */
export type HttpLike = (request: HttpRequest) => Promise<HttpAnswer>;

/** In-memory storage: the default, and what tests and the simulator share between "app restarts". */
export function memoryStorage(): StorageLike & { keys(): string[] } {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key) ?? null,
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
    keys: () => [...values.keys()],
  };
}

/** Rejects with `error()` when `promise` has not settled within `ms` (for HTTP APIs without their own timeout). */
export function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(error()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (reason: unknown) => {
        clearTimeout(timer);
        reject(reason);
      },
    );
  });
}
