import { reactive, shallowRef } from 'vue';
import { browserSocket, fetchHttp, ScancodeClient, ScancodeError, webStorage, type ClientStatus, type Directory, type ErrorBody, type User } from '@scancode/client';
import { go } from './router';

/**
 * The logged-in session and the one SDK client of the page. The token comes from a web login (a phone
 * approved the QR code) or the dev login; it is kept where the SDK keeps its own (`<key>:session` in
 * localStorage, `{token, expiresAt, user}`), so that the client made after it connects with it and a
 * reload stays logged in.
 */
const STORAGE_KEY = 'scancode-web';
const SESSION_KEY = `${STORAGE_KEY}:session`;

interface StoredSession {
  token: string;
  expiresAt: string;
  user: User;
}

function readStored(): StoredSession | null {
  try {
    const text = localStorage.getItem(SESSION_KEY);
    const stored = text === null ? null : (JSON.parse(text) as StoredSession);
    return stored && typeof stored.token === 'string' && new Date(stored.expiresAt).getTime() > Date.now() ? stored : null;
  } catch {
    return null;
  }
}

export const session = reactive({
  user: null as User | null,
  status: 'offline' as ClientStatus,
  directories: [] as Directory[],
});

/** The SDK client while logged in (a shallow ref: Vue must not wrap its internals in proxies). */
export const client = shallowRef<ScancodeClient | null>(null);

function startClient(): void {
  const made = new ScancodeClient({ url: location.origin, socket: browserSocket(WebSocket), storage: webStorage(localStorage), http: fetchHttp(window.fetch.bind(window)), storageKey: STORAGE_KEY });
  made.on('status', (status) => (session.status = status));
  made.on('directories', (directories) => (session.directories = [...directories]));
  // The token was revoked (a logout elsewhere) or expired: back to the login page.
  made.on('loginRequired', () => void endSession());
  client.value = made;
  made.connect();
  session.status = made.status;
  made.refreshDirectories().catch(reportError);
}

/** Takes a token (from a web login, or the dev login's answer), keeps it and connects. */
export function beginSession(stored: StoredSession): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(stored));
  session.user = stored.user;
  startClient();
}

/** Resumes the session kept from the last visit, if it is still valid. */
export function resumeSession(): boolean {
  const stored = readStored();
  if (stored === null) return false;
  session.user = stored.user;
  startClient();
  return true;
}

/** Forgets the session (after the server refused it, or a logout) and shows the login page. */
export async function endSession(revoke = false): Promise<void> {
  const current = client.value;
  client.value = null;
  if (current && revoke) await current.logout().catch(() => undefined);
  current?.close();
  localStorage.removeItem(SESSION_KEY);
  session.user = null;
  session.directories = [];
  session.status = 'offline';
  go({ page: 'login' });
}

export function token(): string | null {
  return readStored()?.token ?? null;
}

/** The client, or a refusal the page shows (a page only runs while logged in). */
export function sdk(): ScancodeClient {
  if (client.value === null) throw new ScancodeError('not_logged_in', 'log in first');
  return client.value;
}

/** The server's clock minus this browser's, as the last answer's Date header told (to the second). */
let clockSkew = 0;

/** A time the server gave (an expiry) on this browser's clock: its own clock may be off by minutes. */
export function localTime(serverIso: string): number {
  return new Date(serverIso).getTime() - clockSkew;
}

/**
 * One call of the HTTP API with the session's token. JSON in and out by default; `body` as a string
 * is sent as it is with `contentType` (CSV). Rejects with a ScancodeError carrying the server's error.
 */
export async function api<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const headers: Record<string, string> = {};
  const bearer = token();
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = contentType;
  let answer: Response;
  try {
    answer = await fetch(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  } catch (error) {
    throw new ScancodeError('network', error instanceof Error ? error.message : String(error));
  }
  const date = Date.parse(answer.headers.get('date') ?? '');
  if (!Number.isNaN(date)) clockSkew = date - Date.now();
  const text = await answer.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (answer.ok) return parsed as T;
  const error = (parsed as { error?: ErrorBody } | null)?.error;
  if (answer.status === 401 && bearer !== null) void endSession();
  if (error && typeof error.code === 'string') throw ScancodeError.fromBody(error, answer.status);
  throw new ScancodeError(answer.status >= 500 ? 'unavailable' : 'bad_request', `HTTP ${answer.status}`, { status: answer.status });
}

/** A download through the API (the token cannot ride on a plain link): fetched, then saved as `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const bearer = token();
  const answer = await fetch(path, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  if (!answer.ok) {
    const body = (await answer.json().catch(() => null)) as { error?: ErrorBody } | null;
    throw body?.error ? ScancodeError.fromBody(body.error, answer.status) : new ScancodeError('unavailable', `HTTP ${answer.status}`);
  }
  const url = URL.createObjectURL(await answer.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- what the page tells the user ----

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}
export const notices = reactive<Notice[]>([]);
let noticeIds = 0;

export function notify(text: string, kind: Notice['kind'] = 'info'): void {
  const id = ++noticeIds;
  notices.push({ id, kind, text });
  setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 3000);
}

export function dismiss(id: number): void {
  const index = notices.findIndex((notice) => notice.id === id);
  if (index >= 0) notices.splice(index, 1);
}

/** Set by main.ts: how an error reads in the current language. */
export const describe = { error: (error: unknown): string => String(error) };

export function reportError(error: unknown): void {
  notify(describe.error(error), 'error');
}

/** Runs an action of a button: its refusal is shown, never left as an unhandled rejection. */
export function run(action: () => Promise<unknown>): void {
  action().catch(reportError);
}
