import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver got, with what it answered. */
export interface Received {
  delivery: string;
  signature: string;
  body: string;
  payload: { directoryId: number; revision: number; change: { revision: number; type: string; code?: string } };
  answered: number;
}

/**
 * A webhook receiver on 127.0.0.1 (port 0), as a shop's system would run one: it records every POST and
 * answers what `answer` says (200 by default; a test makes it fail for a while). It counts how many
 * requests are in flight at once, so that a test can tell whether two senders overlapped.
 */
export class Receiver {
  readonly received: Received[] = [];
  /** What to answer a POST; a test swaps it to fail and to recover. */
  answer: (payload: Received['payload']) => number = () => 200;
  inFlight = 0;
  maxInFlight = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      receiver.inFlight += 1;
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const payload = JSON.parse(body) as Received['payload'];
        const status = receiver.answer(payload);
        receiver.received.push({ delivery: String(req.headers['x-scancode-delivery']), signature: String(req.headers['x-scancode-signature']), body, payload, answered: status });
        // Answered on the next turn, so that an overlapping second sender would be seen in flight.
        setImmediate(() => {
          receiver.inFlight -= 1;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down');
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** The revisions answered 2xx, in the order they were received. */
  delivered(): number[] {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300).map((r) => r.payload.revision);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Whether the signature is `sha256=<hex HMAC-SHA256 of the body with the secret>`, as a receiver checks it. */
export function validSignature(received: Received, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(received.body).digest('hex')}`);
  const given = Buffer.from(received.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
