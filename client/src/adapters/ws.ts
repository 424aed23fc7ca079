import type { OpenSocket } from './types';

/** The members of the `ws` package's WebSocket the SDK uses (Node: the simulator, tests, scripts). */
interface WsWebSocket {
  on(event: 'open', listener: () => void): void;
  on(event: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): void;
  on(event: 'close', listener: (code: number, reason: { toString(): string }) => void): void;
  on(event: 'error', listener: (error: { message: string }) => void): void;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** `ws`'s WebSocket (pass the class: `wsSocket(WebSocket)` with `import WebSocket from 'ws'`). */
export function wsSocket(WebSocketClass: new (url: string) => object): OpenSocket {
  return (url, events) => {
    // Typed loosely at the boundary: ws's overloads of `on` are not assignable to a smaller interface.
    const socket = new WebSocketClass(url) as WsWebSocket;
    socket.on('open', () => events.open());
    socket.on('message', (data, isBinary) => !isBinary && events.message(data.toString()));
    socket.on('close', (code, reason) => events.close(code, reason.toString()));
    socket.on('error', (error) => events.error(error.message));
    return { send: (text) => socket.send(text), close: (code, reason) => socket.close(code, reason) };
  };
}
