/**
 * The simulator's own calls to the server, beside the phones' SDK: the checks read what the server
 * holds, and the scenarios set up directories and teams, each with a token of its own (the SDK keeps
 * its token to itself). Every call is plain HTTP, as any client would make it.
 */

export async function call<T>(baseUrl: string, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** The call's answer when it has the expected status; an error saying what went wrong otherwise. */
export async function expectStatus<T>(status: number, baseUrl: string, method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const answer = await call<T>(baseUrl, method, path, token, body);
  if (answer.status !== status) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export const get = <T>(baseUrl: string, path: string, token: string) => expectStatus<T>(200, baseUrl, 'GET', path, token);

/** Logs a user in through the (fake) WeChat login with a code of its own: `name#anything` is the same user. */
export function login(baseUrl: string, code: string): Promise<{ token: string; user: { id: number }; directories: { id: number }[] }> {
  return expectStatus(200, baseUrl, 'POST', '/api/login', null, { code });
}

export async function createDirectory(baseUrl: string, token: string, name: string): Promise<number> {
  return (await expectStatus<{ directory: { id: number } }>(201, baseUrl, 'POST', '/api/directories', token, { name })).directory.id;
}
