import { memoryStorage, ScancodeClient, type ErrorBody, type ScanRequest, type ScanResult } from '../../client/src';
import { PhoneNetwork, type Wire } from './network';

/** What every phone saw, for the summary and the checks. */
export interface Tally {
  wire: Wire;
  /** Every scan made, by event id: where, by which phone, and when (performance.now()). */
  made: Map<string, { directoryId: number; code: string; phone: string; at: number }>;
  /** The server's answer to each scan, the first one the SDK settled it with. */
  applied: Map<string, ScanResult>;
  refused: Map<string, ErrorBody>;
  /** Event ids the SDK settled more than once (it must not: an answer reaches the app once). */
  settledTwice: string[];
  /** Last send to answer, ms. */
  latencies: number[];
  duplicates: number;
  overHttp: number;
  reconnects: number;
  disruptions: Record<'drop' | 'offline' | 'noSocket' | 'kill', number>;
}

export interface SimUser {
  name: string;
  directories: number[];
  token: string;
}

let logins = 0;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

/**
 * One phone of a user: an SDK client (`ws` adapter) over storage that outlives it, so that killing the
 * app and starting it again resends its outbox, as on a real phone.
 */
export class Phone {
  readonly storage = memoryStorage();
  readonly network: PhoneNetwork;
  client: ScancodeClient | null = null;
  /** Pushes this phone's apps received over its life (every app start counts on). */
  readonly pushes = { count: 0, alert: 0 };
  private cameOnline = false;

  constructor(
    readonly user: SimUser,
    readonly name: string,
    private readonly tally: Tally,
    urls: string[],
    index: number,
  ) {
    this.network = new PhoneNetwork(urls, tally.wire, index);
  }

  /** Starts the app: a new client over the phone's storage; logs in unless it already has a token. */
  async start(): Promise<void> {
    const client = new ScancodeClient({
      url: this.network.baseUrl,
      socket: this.network.socket,
      http: this.network.http,
      storage: this.storage,
      deviceId: this.name,
      backoff: { baseMs: 200, maxMs: 3_000 },
      requestTimeoutMs: 10_000,
    });
    this.client = client;
    client.on('status', (status) => {
      if (status !== 'online') return;
      if (this.cameOnline) this.tally.reconnects++;
      this.cameOnline = true;
    });
    client.on('acked', ({ entry, result, via }) =>
      this.settled(entry.event.eventId, () => {
        this.tally.applied.set(entry.event.eventId, result);
        if (result.duplicate) this.tally.duplicates++;
        if (via === 'http') this.tally.overHttp++;
      }),
    );
    client.on('refused', ({ entry, error }) => this.settled(entry.event.eventId, () => this.tally.refused.set(entry.event.eventId, error)));
    client.on('count', () => void this.pushes.count++);
    client.on('alert', () => void this.pushes.alert++);
    client.on('loginRequired', () => void client.login(this.loginCode()).catch(() => undefined));
    for (const directoryId of this.user.directories) client.subscribe(directoryId);
    if (client.user === null) await client.login(this.loginCode());
    else client.connect();
  }

  /** The app is killed: no goodbye, the outbox stays in storage. */
  kill(): void {
    this.client?.close();
    this.client = null;
  }

  scan(scan: ScanRequest): void {
    if (!this.client) return;
    void this.client.scan(scan);
    const entry = this.client.pending().at(-1);
    if (entry) this.tally.made.set(entry.event.eventId, { directoryId: scan.directoryId, code: scan.code, phone: this.name, at: performance.now() });
  }

  /** A fresh dev-login code for this user (`name#anything` is the same user). */
  private loginCode(): string {
    return `${this.user.name}#${this.name}-${++logins}`;
  }

  private settled(eventId: string, record: () => void): void {
    if (this.tally.applied.has(eventId) || this.tally.refused.has(eventId)) {
      this.tally.settledTwice.push(eventId);
      return;
    }
    record();
    const sent = this.tally.wire.lastSent.get(eventId);
    if (sent !== undefined) this.tally.latencies.push(performance.now() - sent);
  }
}
