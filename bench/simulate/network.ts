import WebSocket from 'ws';
import { fetchHttp, wsSocket, type HttpLike, type OpenSocket } from '../../client/src';

/**
 * One phone's network, between its SDK client and the servers: the real `ws` and fetch adapters, which
 * the simulator can cut (drop the socket), turn off (nothing gets through), or half-off (sockets cannot
 * open, HTTP works: a proxy that refuses WebSockets). It also watches the wire: when each scan was
 * last sent and how many times, over either path.
 */
export type NetworkMode = 'up' | 'down' | 'noSocket';

export interface Wire {
  /** Times each event id was put on the wire (a socket frame or an event of a sync batch). */
  sends: Map<string, number>;
  /** When each event id was last put on the wire (performance.now()). */
  lastSent: Map<string, number>;
}

export class PhoneNetwork {
  mode: NetworkMode = 'up';
  private readonly sockets = new Set<WebSocket>();
  private nextUrl: number;

  constructor(
    private readonly urls: string[],
    private readonly wire: Wire,
    first: number,
  ) {
    this.nextUrl = first;
  }

  /** The URL the SDK is given; each connection picks the next instance, as a load balancer would. */
  get baseUrl(): string {
    return this.urls[0];
  }

  /** Drops every socket of this phone at once, without a close frame (1006 at the phone). */
  drop(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  readonly socket: OpenSocket = (url, events) => {
    if (this.mode !== 'up') {
      const timer = setTimeout(() => events.error('network unreachable'), 5);
      return { send: () => undefined, close: () => clearTimeout(timer) };
    }
    const sockets = this.sockets;
    const Tracked = class extends WebSocket {
      constructor(address: string) {
        super(address);
        sockets.add(this);
        this.on('close', () => sockets.delete(this));
      }
    };
    const inner = wsSocket(Tracked)(this.pick(url), events);
    return {
      send: (text) => {
        const frame = JSON.parse(text) as { type: string; id?: string };
        if (frame.type === 'scan' && frame.id !== undefined) this.sent(frame.id);
        inner.send(text);
      },
      close: (code, reason) => inner.close(code, reason),
    };
  };

  readonly http: HttpLike = async (request) => {
    if (this.mode === 'down') throw new Error('network unreachable');
    const body = request.body as { events?: { eventId: string }[] } | undefined;
    for (const event of body?.events ?? []) this.sent(event.eventId);
    return fetchHttp()({ ...request, url: this.pick(request.url) });
  };

  private pick(url: string): string {
    const parsed = new URL(url);
    const instance = new URL(this.urls[this.nextUrl++ % this.urls.length]);
    parsed.host = instance.host;
    parsed.protocol = parsed.protocol.startsWith('ws') ? instance.protocol.replace('http', 'ws') : instance.protocol;
    return parsed.toString();
  }

  private sent(eventId: string): void {
    this.wire.sends.set(eventId, (this.wire.sends.get(eventId) ?? 0) + 1);
    this.wire.lastSent.set(eventId, performance.now());
  }
}
