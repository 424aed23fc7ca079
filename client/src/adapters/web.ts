import { withTimeout, type HttpLike, type OpenSocket, type StorageLike } from './types';

/** Adapters for browsers (and anything with the standard WebSocket, fetch and Storage). */

/** The members of the standard WebSocket the SDK uses. */
interface StandardWebSocket {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/**
 * The standard `WebSocket` (pass the class: `browserSocket(WebSocket)`). It cannot send headers,
 * which the SDK does not need: it authenticates with its first frame.
 */
export function browserSocket(WebSocketClass: new (url: string) => object): OpenSocket {
  return (url, events) => {
    // Typed loosely at the boundary: each platform's typings declare these handlers a little differently.
    const socket = new WebSocketClass(url) as StandardWebSocket;
    socket.onopen = () => events.open();
    socket.onmessage = (event) => typeof event.data === 'string' && events.message(event.data);
    socket.onclose = (event) => events.close(event.code, event.reason);
    socket.onerror = () => events.error('websocket error');
    return { send: (text) => socket.send(text), close: (code, reason) => socket.close(code, reason) };
  };
}

/** The members of `fetch` the SDK uses. */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; text(): Promise<string> }>;

/** `fetch` (the default HTTP adapter where there is one: browsers, Node 18+). */
export function fetchHttp(fetchFunction?: FetchLike): HttpLike {
  return async (request) => {
    const found = fetchFunction ?? (typeof globalThis === 'object' ? (globalThis as { fetch?: FetchLike }).fetch : undefined);
    if (!found) throw new Error('no fetch here: pass an http adapter (wxHttp(wx) in a mini-program)');
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const answer = await withTimeout(
      found(request.url, { method: request.method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) }),
      request.timeoutMs,
      () => new Error(`no answer in ${request.timeoutMs} ms`),
    );
    const text = await answer.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: answer.status, body };
  };
}

/** `localStorage`, or any Storage. */
export function webStorage(storage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void }): StorageLike {
  return { get: (key) => storage.getItem(key), set: (key, value) => storage.setItem(key, value), remove: (key) => storage.removeItem(key) };
}
