import WebSocket from 'ws';
import { now, type SocketSpec } from './messages';

/** The few frame fields the bench reads; the server is a black box that speaks docs/protocol.md. */
interface Frame {
  type?: string;
  id?: string | number;
  ok?: boolean;
  revision?: number;
  /** A snapshot page's: true on its last page. */
  last?: boolean;
  /** A scan's revision; a transfer's, one per side. */
  result?: { revision?: number; out?: { revision?: number }; in?: { revision?: number } };
  error?: { code?: string; message?: string };
  change?: { eventId?: string };
}

export interface Answer {
  ok: boolean;
  revision: number | null;
  /** A transfer's revisions, of its `from` and its `to` side. */
  sides: { out: number | null; in: number | null };
  errorCode: string | null;
}

const noSides = { out: null, in: null };

const OPEN_TIMEOUT_MS = 30_000;

/**
 * What the bench checks of any watcher, whatever the server it watches: the protocol's promise that it
 * sees every revision after its starting point exactly once, in order (gaps and duplicates counted).
 */
export abstract class Watched {
  /** The last revision seen (the snapshot's or else the subscribe ack's, then each change's); null before either. */
  last: number | null = null;
  frames = 0;
  /** `count` pushes received (a phone's line to a count session of the watched directory). */
  countPushes = 0;
  readonly violations: string[] = [];
  violationCount = 0;
  /** Changes whose revision skipped some (each skip once), and changes at or below the last one seen. */
  gaps = 0;
  duplicates = 0;
  /** [event id, arrival time] of each change frame. */
  readonly arrivals: [string, number][] = [];

  constructor(readonly spec: SocketSpec) {}

  abstract get isOpen(): boolean;
  abstract request(frame: { id: string | number } & Record<string, unknown>): Promise<Answer>;
  /** Closes politely, waiting at most `waitMs` for the close to complete. */
  abstract close(waitMs: number): Promise<void>;

  protected onChange(revision: number, eventId: string, at: number): void {
    this.frames++;
    this.arrivals.push([eventId, at]);
    const directory = this.spec.directoryId;
    if (this.last === null) this.violate(`directory ${directory}: change ${revision} before the subscribe ack`);
    else if (revision === this.last + 1) this.last = revision;
    else if (revision <= this.last) {
      this.duplicates++;
      this.violate(`directory ${directory}: revision ${revision} received after ${this.last} (duplicate or out of order)`);
    } else {
      this.gaps++;
      this.violate(`directory ${directory}: gap, revision ${this.last} then ${revision}`);
      this.last = revision;
    }
  }

  violate(sentence: string): void {
    this.violationCount++;
    if (this.violations.length < 3) this.violations.push(sentence);
  }
}

/**
 * One client socket on `/ws` (or on the raw ws echo server): requests matched to their acks by id, and
 * a watcher's check (Watched).
 */
export class BenchSocket extends Watched {
  /** The revision the subscribe ack announced (a snapshot may be older; the changes after it follow). */
  private acked: number | null = null;
  /** The subscribe's time to its last snapshot page (ms), for the snapshot section. */
  snapshotMs: number | null = null;
  private readonly pending = new Map<string | number, (answer: Answer) => void>();
  private hello: (() => void) | null = null;
  private snapshot: (() => void) | null = null;

  private constructor(
    readonly ws: WebSocket,
    spec: SocketSpec,
    private readonly echo: boolean,
  ) {
    super(spec);
    // Failures show up as a close or as refused requests; an 'error' without a listener would throw.
    ws.on('error', () => undefined);
    ws.on('message', (data) => this.receive(JSON.parse(String(data)) as Frame, now()));
    ws.on('close', (code) => {
      for (const settle of this.pending.values()) settle({ ok: false, revision: null, sides: noSides, errorCode: `socket closed ${code}` });
      this.pending.clear();
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Opens the socket, waits for `hello` (scancode) and, for a subscriber, for the subscribe ack and snapshot. */
  static async open(url: string, spec: SocketSpec, echo: boolean): Promise<BenchSocket> {
    const headers = spec.token ? { authorization: `Bearer ${spec.token}` } : undefined;
    const socket = new BenchSocket(new WebSocket(url, { headers, perMessageDeflate: false }), spec, echo);
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out opening')), OPEN_TIMEOUT_MS);
      socket.ws.once('error', reject);
      socket.ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
    });
    failed.catch(() => socket.ws.terminate());
    try {
      const ready = echo ? new Promise((resolve) => socket.ws.once('open', resolve)) : new Promise<void>((resolve) => (socket.hello = resolve));
      await Promise.race([ready, failed]);
      if (spec.subscribe) {
        const snapshot = echo ? Promise.resolve() : new Promise<void>((resolve) => (socket.snapshot = resolve));
        const subscribedAt = now();
        const ack = await Promise.race([socket.request({ type: 'subscribe', id: 'sub', directoryId: spec.directoryId }), failed]);
        if (!ack.ok) throw new Error(`subscribe refused: ${ack.errorCode}`);
        // The snapshot's pages may have been read before this line runs: its revision wins.
        if (!echo) socket.acked = ack.revision;
        if (!echo) socket.last ??= ack.revision;
        await Promise.race([snapshot, failed]);
        socket.snapshotMs = now() - subscribedAt;
      }
      return socket;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a request frame and resolves with its ack (or the echo of it). */
  request(frame: { id: string | number } & Record<string, unknown>): Promise<Answer> {
    if (!this.isOpen) return Promise.resolve({ ok: false, revision: null, sides: noSides, errorCode: 'socket not open' });
    return new Promise((resolve) => {
      this.pending.set(frame.id, resolve);
      this.ws.send(JSON.stringify(frame));
    });
  }

  private receive(frame: Frame, at: number): void {
    if (this.echo || frame.type === 'ack') {
      const settle = frame.id === undefined ? undefined : this.pending.get(frame.id);
      if (!settle || frame.id === undefined) return;
      this.pending.delete(frame.id);
      const sides = { out: frame.result?.out?.revision ?? null, in: frame.result?.in?.revision ?? null };
      settle({ ok: this.echo || frame.ok === true, revision: frame.result?.revision ?? null, sides, errorCode: frame.error?.code ?? null });
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.hello?.();
        return;
      case 'snapshot':
        // Pages until the last; the changes after the snapshot's revision follow it.
        if (!frame.last) return;
        if (this.acked !== null && (frame.revision ?? -1) > this.acked) this.violate(`snapshot at ${frame.revision} after a subscribe ack at ${this.acked}`);
        this.last = frame.revision ?? null;
        this.snapshot?.();
        return;
      case 'change':
        return this.onChange(frame.revision ?? -1, frame.change?.eventId ?? '', at);
      case 'count':
        this.countPushes++;
        return;
      case 'error':
        this.violate(`error frame: ${frame.error?.code} ${frame.error?.message}`);
        return;
      case undefined:
      default:
        // `directory` and `alert` pushes, and any frame type added later: nothing the bench measures.
        return;
    }
  }

  async close(waitMs: number): Promise<void> {
    if (!this.isOpen) return;
    await Promise.race([new Promise((resolve) => (this.ws.once('close', resolve), this.ws.close(1000))), new Promise((resolve) => setTimeout(resolve, waitMs))]);
    this.ws.terminate();
  }
}
