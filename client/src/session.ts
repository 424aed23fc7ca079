import type { HttpLike, HttpRequest, StorageLike } from './adapters/types';
import { EVENT_ID_PATTERN, type ErrorBody, type LoginRequest, type LoginResponse, type User } from './contract';
import { ScancodeError } from './errors';
import { read } from './outbox';

/** What is kept of a login. */
interface Stored {
  token: string;
  expiresAt: string;
  user: User;
}

/** A device id leaves room in an event id (64 characters) for `:` and the scan's number. */
const MAX_DEVICE_ID_LENGTH = 48;

/**
 * The login and what it leaves in storage: the token, the user, and this install's `deviceId` (made
 * once, kept forever, sent at every login so that the server marks this phone's changes). Also the
 * HTTP calls, which all carry the token.
 */
export class Session {
  readonly deviceId: string;
  private stored: Stored | null;

  constructor(private readonly options: { storage: StorageLike; key: string; http: HttpLike; baseUrl: string; timeoutMs: number; deviceId?: string }) {
    const { storage, key } = options;
    this.stored = read<Stored>(storage, `${key}:session`);
    const deviceId = options.deviceId ?? storage.get(`${key}:device`) ?? randomDeviceId();
    if (deviceId.length > MAX_DEVICE_ID_LENGTH || !new RegExp(EVENT_ID_PATTERN).test(deviceId)) {
      throw new ScancodeError('bad_request', `deviceId must be 1 to ${MAX_DEVICE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`);
    }
    storage.set(`${key}:device`, deviceId);
    this.deviceId = deviceId;
  }

  get token(): string | null {
    return this.stored?.token ?? null;
  }

  get user(): User | null {
    return this.stored?.user ?? null;
  }

  /** `POST /api/login` with a `wx.login()` code (and optionally a profile); keeps the token. */
  async login(code: string, profile: Omit<LoginRequest, 'code' | 'deviceId'> = {}): Promise<LoginResponse> {
    const answer = await this.call<LoginResponse>('POST', '/api/login', { ...profile, code, deviceId: this.deviceId }, false);
    this.stored = { token: answer.token, expiresAt: answer.expiresAt, user: answer.user };
    this.options.storage.set(`${this.options.key}:session`, JSON.stringify(this.stored));
    return answer;
  }

  /** Forgets the token (after a 401 or a logout); the device id stays. */
  forget(): void {
    this.stored = null;
    this.options.storage.remove(`${this.options.key}:session`);
  }

  /**
   * One API call with the token. Resolves with the answer's body on 2xx; rejects with the server's
   * error (a ScancodeError with its code and status), or `network` when no answer came.
   */
  async call<T>(method: HttpRequest['method'], path: string, body?: unknown, withToken = true): Promise<T> {
    const headers: Record<string, string> = {};
    if (withToken) {
      if (this.token === null) throw new ScancodeError('not_logged_in', 'log in first');
      headers.authorization = `Bearer ${this.token}`;
    }
    let answer;
    try {
      answer = await this.options.http({ method, url: this.options.baseUrl + path, headers, body, timeoutMs: this.options.timeoutMs });
    } catch (error) {
      throw new ScancodeError('network', error instanceof Error ? error.message : String(error));
    }
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    const error = (answer.body as { error?: ErrorBody } | null)?.error;
    if (error && typeof error.code === 'string') throw ScancodeError.fromBody(error, answer.status);
    throw new ScancodeError(answer.status >= 500 ? 'unavailable' : 'bad_request', `HTTP ${answer.status}`, { status: answer.status });
  }
}

/** 16 characters of base 36 (about 80 bits): unique per install without a crypto API, which WeChat only offers asynchronously. */
function randomDeviceId(): string {
  let id = 'd';
  while (id.length < 16) id += Math.floor(Math.random() * 36).toString(36);
  return id;
}
