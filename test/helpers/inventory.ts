import type { TestServer } from './app';
import { client, request, type Answer } from './http';

/** An HTTP client bound to one user's token. */
export type Api = ReturnType<typeof client>;

/** A logged-in user of a test server. */
export interface TestUser {
  api: Api;
  token: string;
  userId: number;
  /** The id of the user's first directory, `默认`. */
  defaultDirectoryId: number;
}

/** Logs `name` in (same name, same user) and looks up who that is and their `默认` directory. */
export async function signIn(server: TestServer, name: string): Promise<TestUser> {
  const token = await server.login(name);
  const api = client(server.url, token);
  const me = await api.get('/api/me');
  if (me.status !== 200) throw new Error(`GET /api/me failed: ${me.status} ${me.text}`);
  const first = (me.body.directories as { id: number; name: string }[]).find((d) => d.name === '默认');
  if (!first) throw new Error(`no 默认 directory in ${me.text}`);
  return { api, token, userId: me.body.user.id, defaultDirectoryId: first.id };
}

/** POST /api/directories and the new directory's id (throws unless 201). */
export async function createDirectory(api: Api, name: string): Promise<number> {
  const answer = await api.post('/api/directories', { body: { name } });
  if (answer.status !== 201) throw new Error(`create directory failed: ${answer.status} ${answer.text}`);
  return answer.body.directory.id;
}

export interface ScanRequest {
  op: string;
  code: string;
  qty?: number;
  name?: string;
  remarks?: string;
  eventId?: string;
}

/** POST /api/directories/:id/scans. */
export function scan(api: Api, directoryId: number, body: ScanRequest): Promise<Answer> {
  return api.post(`/api/directories/${directoryId}/scans`, { body });
}

/** The path of one goods; the code is URL-encoded (codes are scanned text: URLs, Chinese, slashes). */
export function goodsPath(directoryId: number, code: string): string {
  return `/api/directories/${directoryId}/goods/${encodeURIComponent(code)}`;
}

/** GET /api/directories/:id → `{directory, goods}` (throws unless 200). */
export async function directoryState(api: Api, directoryId: number): Promise<{ directory: any; goods: any[] }> {
  const answer = await api.get(`/api/directories/${directoryId}`);
  if (answer.status !== 200) throw new Error(`GET directory failed: ${answer.status} ${answer.text}`);
  return answer.body;
}

/** The directory's current revision. */
export async function revisionOf(api: Api, directoryId: number): Promise<number> {
  return (await directoryState(api, directoryId)).directory.revision;
}

/** The count of one goods, or null when the directory has no goods with that code. */
export async function countOf(api: Api, directoryId: number, code: string): Promise<number | null> {
  const answer = await api.get(goodsPath(directoryId, code));
  if (answer.status === 404 && answer.body.error?.code === 'goods_not_found') return null;
  if (answer.status !== 200) throw new Error(`GET goods failed: ${answer.status} ${answer.text}`);
  return answer.body.goods.count;
}

/** Every log entry of a directory, newest first, following `next` page by page. */
export async function allLogs(api: Api, directoryId: number, limit = 200): Promise<any[]> {
  const logs: any[] = [];
  let before: number | null | undefined;
  do {
    const query = before === undefined ? `limit=${limit}` : `before=${before}&limit=${limit}`;
    const answer = await api.get(`/api/directories/${directoryId}/logs?${query}`);
    if (answer.status !== 200) throw new Error(`GET logs failed: ${answer.status} ${answer.text}`);
    logs.push(...answer.body.logs);
    before = answer.body.next;
  } while (before !== null);
  return logs;
}

/** Starts `n` calls of `work` at once and waits for all of them (results in index order). */
export function all<T>(n: number, work: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, index) => work(index)));
}

/** A legacy (seed) route: POST with a form body. */
export function legacyPost(server: TestServer, path: string, form: Record<string, string>): Promise<Answer> {
  return request(server.url, 'POST', path, { form });
}

/** Rows straight from the server's database, for what no API shows any more (a deleted directory's history). */
export async function queryDatabase<T extends object>(server: TestServer, sql: string, params: unknown[] = []): Promise<T[]> {
  return server.app.services.orm.em.fork().getConnection().execute<T[]>(sql, params);
}

/** A GET answered as raw bytes (`text()` would drop a UTF-8 BOM, which is what some tests look for). */
export async function download(server: TestServer, token: string, path: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const response = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/**
 * Resolves once the bus has handed over what was published before: it delivers on the next turn of
 * the event loop, so a client in the same process may read an HTTP answer before the push.
 */
export function busDelivered(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
