import { ScancodeError, type ErrorBody } from '../../client/src';
import type { Phone } from './phone';
import { sleep } from './phone';

/**
 * One phone's part of a count session: the lines it will count (planned at the start, each due at a
 * time of the run), sent over its socket (`{type: "count", id: <event id>, countId, code, qty}`) or over
 * `POST /api/counts/:countId/lines` with the same event id, a few at a time, each until it is answered.
 * A line lost with a dropped socket or a timed-out request is sent again with the same event id; the
 * server applies it once and answers a resend with the first outcome and `duplicate: true`.
 */

export interface CountLineAnswer {
  line: { code: string; counted: number; expected: number };
  duplicate?: true;
}

export interface PlannedLine {
  eventId: string;
  code: string;
  qty: number;
  /** When it is counted, ms after the counting began. */
  dueMs: number;
  /** A correction is sent only once the line it corrects was answered (so no total ever goes below 0). */
  corrects?: string;
}

/** Every answer a line received, the first kept as its outcome. */
export interface LineRecord {
  first: CountLineAnswer | null;
  refused: ErrorBody | null;
  sends: number;
  answers: number;
  duplicates: number;
  /** Answers to a resend that differ from the first (a resend must get the original outcome). */
  mismatched: string[];
}

const WINDOW = 8;
const HTTP_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 5_000;

export class Counter {
  readonly records = new Map<string, LineRecord>();
  readonly via = { socket: 0, http: 0 };
  /** Sends that got no answer (a dropped socket, a timeout): sent again later. */
  lost = 0;
  /** Lines only over HTTP (the phone that was offline delivers what it counted meanwhile this way). */
  httpOnly = false;
  private readonly inFlight = new Set<string>();

  constructor(
    readonly phone: Phone,
    readonly plan: PlannedLine[],
    private readonly baseUrl: string,
  ) {
    for (const line of plan) this.records.set(line.eventId, { first: null, refused: null, sends: 0, answers: 0, duplicates: 0, mismatched: [] });
  }

  answered(eventId: string): boolean {
    const record = this.records.get(eventId);
    return record !== undefined && (record.first !== null || record.refused !== null);
  }

  unanswered(): number {
    return this.plan.filter((line) => !this.answered(line.eventId)).length;
  }

  /** Counts every planned line at its time (counting began at `began`, performance.now()) until each has its answer. */
  async deliver(countId: number, began: number): Promise<void> {
    const waiting = [...this.plan];
    while (waiting.length > 0 || this.inFlight.size > 0) {
      const elapsed = performance.now() - began;
      for (let i = 0; i < waiting.length && this.inFlight.size < WINDOW && this.canSend(); ) {
        const line = waiting[i];
        if (line.dueMs > elapsed) break;
        if (line.corrects !== undefined && !this.answered(line.corrects)) {
          i++;
          continue;
        }
        waiting.splice(i, 1);
        this.inFlight.add(line.eventId);
        void this.send(countId, line).then((done) => {
          this.inFlight.delete(line.eventId);
          if (!done) waiting.unshift(line);
        });
      }
      await sleep(10);
    }
  }

  /** Sends lines again that were answered already, with their event ids: each must answer `duplicate: true`, the first outcome. */
  async resend(countId: number, lines: PlannedLine[], http: boolean): Promise<void> {
    for (const line of lines) {
      for (;;) {
        if (this.canSend() && (await this.send(countId, line, http))) break;
        await sleep(50);
      }
    }
  }

  private canSend(): boolean {
    return this.phone.client !== null && this.phone.network.mode !== 'down';
  }

  /** One send over the socket when it is online (else over HTTP); false when no answer came (to be sent again). */
  private async send(countId: number, line: PlannedLine, forceHttp = false): Promise<boolean> {
    const record = this.records.get(line.eventId);
    if (!record) throw new Error(`no record of ${line.eventId}`);
    record.sends++;
    const client = this.phone.client;
    let answer: { ok: true; body: CountLineAnswer } | { ok: false; error: ErrorBody } | null;
    if (client?.status === 'online' && !this.httpOnly && !forceHttp) {
      this.via.socket++;
      // The SDK's request() hands its options to the connection, which takes the frame's id from them:
      // a count line's frame id is its event id, the same on every send.
      const options: { timeoutMs: number; id: string } = { timeoutMs: SOCKET_TIMEOUT_MS, id: line.eventId };
      answer = await client.request<'count'>({ type: 'count', countId, code: line.code, qty: line.qty }, options).then(
        (body) => ({ ok: true as const, body: body as CountLineAnswer }),
        (error: unknown) => (error instanceof ScancodeError && error.body ? { ok: false as const, error: error.body } : null),
      );
    } else {
      this.via.http++;
      answer = await this.phone.network
        .http({
          method: 'POST',
          url: `${this.baseUrl}/api/counts/${countId}/lines`,
          headers: { authorization: `Bearer ${this.phone.user.token}` },
          body: { code: line.code, qty: line.qty, eventId: line.eventId },
          timeoutMs: HTTP_TIMEOUT_MS,
        })
        .then(
          ({ status, body }) => {
            if (status === 200) return { ok: true as const, body: body as CountLineAnswer };
            // Overload and server failures are not answers: the line goes again.
            if (status === 429 || status >= 500) return null;
            return { ok: false as const, error: (body as { error: ErrorBody }).error };
          },
          () => null,
        );
    }
    if (answer === null) {
      this.lost++;
      return false;
    }
    record.answers++;
    if (!answer.ok) {
      record.refused ??= answer.error;
      return true;
    }
    if (answer.body.duplicate === true) record.duplicates++;
    if (record.first === null) {
      record.first = answer.body;
    } else {
      const same = JSON.stringify(answer.body.line) === JSON.stringify(record.first.line);
      if (!same || answer.body.duplicate !== true) record.mismatched.push(`${JSON.stringify(answer.body)} after ${JSON.stringify(record.first)}`);
    }
    return true;
  }
}

/** What the lines add up to, code by code: the counted totals once every line is applied once. */
export const sumOfLines = (lines: PlannedLine[]): Map<string, number> => {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.code, (totals.get(line.code) ?? 0) + line.qty);
  return totals;
};
