import { io, type Socket } from 'socket.io-client';
import { now, type SocketSpec } from './messages';
import { Watched, type Answer } from './socket';

const OPEN_TIMEOUT_MS = 30_000;
const noSides = { out: null, in: null };

/** What the Socket.IO baseline answers a request with (its ack callback's argument). */
interface IoAnswer {
  ok: boolean;
  revision?: number;
  error?: string;
}

/**
 * One client of the Socket.IO baseline (bench/socketio-server.ts): its own connection (forceNew, the
 * WebSocket transport only, as a phone would use it), requests as emits with Socket.IO acks, changes
 * as `change` events of the directory's room; the same watcher check as on /ws.
 */
export class IoBenchSocket extends Watched {
  private readonly pending = new Set<(answer: IoAnswer) => void>();

  private constructor(
    private readonly socket: Socket,
    spec: SocketSpec,
  ) {
    super(spec);
    socket.on('disconnect', () => {
      for (const settle of this.pending) settle({ ok: false, error: 'socket closed' });
      this.pending.clear();
    });
    socket.on('change', (change: { revision: number; eventId: string }) => this.onChange(change.revision, change.eventId, now()));
  }

  static async open(url: string, spec: SocketSpec): Promise<IoBenchSocket> {
    const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false, timeout: OPEN_TIMEOUT_MS });
    const peer = new IoBenchSocket(socket, spec);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      if (spec.subscribe) {
        const ack = await peer.request({ type: 'subscribe', id: 'sub', directoryId: spec.directoryId });
        if (!ack.ok) throw new Error(`subscribe refused: ${ack.errorCode}`);
        peer.last = ack.revision;
      }
      return peer;
    } catch (error) {
      socket.disconnect();
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.socket.connected;
  }

  request(frame: { id: string | number } & Record<string, unknown>): Promise<Answer> {
    if (!this.isOpen) return Promise.resolve({ ok: false, revision: null, sides: noSides, errorCode: 'socket not open' });
    const { type, ...body } = frame;
    return new Promise((resolve) => {
      const settle = (answer: IoAnswer) => {
        this.pending.delete(settle);
        resolve({ ok: answer.ok, revision: answer.revision ?? null, sides: noSides, errorCode: answer.error ?? null });
      };
      this.pending.add(settle);
      this.socket.emit(String(type), body, settle);
    });
  }

  close(): Promise<void> {
    this.socket.disconnect();
    return Promise.resolve();
  }
}
