import type { Connection } from './connection';
import { MAX_SYNC_EVENTS, type ErrorBody, type RequestOf, type SyncResponse } from './contract';
import { isTransient, ScancodeError } from './errors';
import type { Outbox, OutboxEntry, Outcome } from './outbox';
import type { Session } from './session';

export type Via = 'socket' | 'http';

export interface DeliveryHost {
  /** The server's final answer to a queued write (applied or refused): take it out of the outbox. */
  settle(outcome: Outcome, via: Via): void;
  /** An HTTP sync started or ended (the client's `syncing` status). */
  syncing(active: boolean): void;
  /** The token was refused over HTTP. */
  loginRequired(reason: string): void;
}

/**
 * Gets the outbox to the server: over the socket while it is online (the oldest writes first, a window
 * of them in flight, so a long queue cannot time itself out), and over HTTP when the socket cannot be
 * opened: scans in batches over `POST /api/sync`, a count line or a transfer over its own route (the
 * sync takes only scans). Each write is sent until it has a final answer; an event id may be sent
 * twice (a lost ack, a restart, both paths at once) and the server applies it once.
 */
export class Delivery {
  private readonly inFlight = new Map<string, Via>();
  private httpRunning = false;
  /** After a transient refusal (`unavailable`...): no new sends until the retry timer. */
  private paused = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by stop(): answers to what was sent before are ignored (a closed client writes nothing more). */
  private generation = 0;

  constructor(
    private readonly connection: Connection,
    private readonly session: Session,
    private readonly outbox: Outbox,
    private readonly host: DeliveryHost,
    private readonly window: number,
  ) {}

  /** Sends the oldest unsent writes the window allows, if the socket is online. */
  flushSocket(): void {
    const user = this.session.user;
    if (this.paused || this.connection.state !== 'online' || user === null) return;
    let sending = [...this.inFlight.values()].filter((via) => via === 'socket').length;
    for (const entry of this.outbox.of(user.id)) {
      if (sending >= this.window) return;
      if (this.inFlight.has(entry.event.eventId)) continue;
      sending++;
      this.sendOverSocket(entry);
    }
  }

  /**
   * Sends the outbox over HTTP, in its order, while the socket cannot open: the scans at its head in one
   * `POST /api/sync`, or the write at its head alone over its route. Stops at the first request that
   * gets no answer (the next failed socket attempt tries again), or when the socket comes online.
   */
  async flushHttp(): Promise<void> {
    const user = this.session.user;
    if (this.httpRunning || user === null || this.session.token === null) return;
    this.httpRunning = true;
    this.host.syncing(true);
    const generation = this.generation;
    try {
      while (this.connection.state !== 'online' && generation === this.generation) {
        const waiting = this.outbox.of(user.id).filter((entry) => !this.inFlight.has(entry.event.eventId));
        if (waiting.length === 0) return;
        const [first] = waiting;
        if (first.operation !== 'scan') {
          if (!(await this.sendOverHttp(first))) return;
          continue;
        }
        const scans = waiting.slice(0, MAX_SYNC_EVENTS);
        const run = scans.findIndex((entry) => entry.operation !== 'scan');
        if (!(await this.syncBatch(run < 0 ? scans : scans.slice(0, run)))) return;
      }
    } finally {
      this.httpRunning = false;
      this.host.syncing(false);
      // The socket may have come online meanwhile, and skipped what was on its way over HTTP.
      this.flushSocket();
    }
  }

  /**
   * Forgets what was in flight, and ignores the answers still on their way: the client is closing, as
   * an app that is killed, and a new client over the same storage sends those writes again.
   */
  stop(): void {
    this.generation++;
    clearTimeout(this.retryTimer);
    this.inFlight.clear();
    this.paused = false;
  }

  private sendOverSocket(entry: OutboxEntry): void {
    const { eventId, ...input } = entry.event;
    this.inFlight.set(eventId, 'socket');
    // The operation's request frame: its name as the type, its input, the event id as the frame's id.
    const frame = { type: entry.operation, ...input } as RequestOf<typeof entry.operation>;
    const generation = this.generation;
    this.connection.request(frame, { id: eventId }).then(
      (result) => this.answered({ eventId, ok: true, result } as Outcome, 'socket', generation),
      (error: ScancodeError) => {
        if (this.inFlight.get(eventId) === 'socket') this.inFlight.delete(eventId);
        // Lost with its socket: sent again once it is back. The server is in trouble: wait a little.
        if (error.body === undefined) return;
        if (isTransient(error.code)) return this.pause();
        this.answered({ eventId, ok: false, error: error.body }, 'socket', generation);
      },
    );
  }

  /** A count line or a transfer over its own route (the event id in its body); false when it got no usable answer. */
  private async sendOverHttp(entry: OutboxEntry): Promise<boolean> {
    const { eventId } = entry.event;
    this.inFlight.set(eventId, 'http');
    const generation = this.generation;
    try {
      let result: unknown;
      if (entry.operation === 'count') {
        const { countId, ...line } = entry.event;
        result = await this.session.call('POST', `/api/counts/${countId}/lines`, line);
      } else {
        result = await this.session.call('POST', '/api/transfers', entry.event);
      }
      this.answered({ eventId, ok: true, result } as Outcome, 'http', generation);
      return true;
    } catch (error) {
      const failure = error instanceof ScancodeError ? error : new ScancodeError('network', String(error));
      if (generation !== this.generation) return false;
      if (failure.code === 'unauthorized') this.host.loginRequired(failure.message);
      // No answer, or the server in trouble: tried again later. Any other error is its answer for good.
      if (!failure.body || isTransient(failure.code) || failure.code === 'unauthorized') return false;
      this.answered({ eventId, ok: false, error: failure.body }, 'http', generation);
      return true;
    } finally {
      if (this.inFlight.get(eventId) === 'http') this.inFlight.delete(eventId);
    }
  }

  /** One `POST /api/sync`; false when it got no usable answer. */
  private async syncBatch(batch: OutboxEntry[]): Promise<boolean> {
    for (const entry of batch) this.inFlight.set(entry.event.eventId, 'http');
    const generation = this.generation;
    let answer: SyncResponse;
    try {
      answer = await this.session.call<SyncResponse>('POST', '/api/sync', { events: batch.map((entry) => entry.event) });
    } catch (error) {
      const failure = error instanceof ScancodeError ? error : new ScancodeError('network', String(error));
      return this.batchRefused(batch, failure, generation);
    } finally {
      for (const entry of batch) if (this.inFlight.get(entry.event.eventId) === 'http') this.inFlight.delete(entry.event.eventId);
    }
    let progress = false;
    for (const result of answer.results) {
      if (!result.ok && isTransient(result.error.code)) continue;
      progress = true;
      this.answered(result as Outcome, 'http', generation);
    }
    return progress;
  }

  /**
   * A malformed event refuses its whole batch and names itself (`events.3.qty must be ...`): that one is
   * refused for good (it would poison every batch), and the others go again.
   */
  private batchRefused(batch: OutboxEntry[], error: ScancodeError, generation: number): boolean {
    if (generation !== this.generation) return false;
    if (error.code === 'unauthorized') this.host.loginRequired(error.message);
    const index = error.code === 'bad_request' ? /^events\.(\d+)\b/.exec(error.message) : null;
    const entry = index ? batch[Number(index[1])] : undefined;
    if (!entry || !error.body) return false;
    const body: ErrorBody = { ...error.body, message: error.message.replace(/^events\.\d+\./, '') };
    this.answered({ eventId: entry.event.eventId, ok: false, error: body }, 'http', generation);
    return true;
  }

  private answered(outcome: Outcome, via: Via, generation: number): void {
    if (generation !== this.generation) return;
    if (this.inFlight.get(outcome.eventId) === via) this.inFlight.delete(outcome.eventId);
    this.host.settle(outcome, via);
    this.flushSocket();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.retryTimer = setTimeout(
      () => {
        this.paused = false;
        this.flushSocket();
      },
      1000 + Math.random() * 2000,
    );
  }
}
