import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A stand-in for WeChat's `jscode2session`, served over real HTTP on loopback: WeChat cannot be reached
 * from development machines or CI. The dev mode serves it so that anyone can log in with `dev-alice`;
 * tests point WECHAT_API_BASE at it.
 *
 * Login codes:
 * - `<name>` or `<name>#<anything>`: a user named <name> (the suffix makes a fresh code for the same
 *   user); its openid depends only on the app id and <name>, its session_key on the whole code.
 * - `openid:<openid>` or `openid:<openid>#<anything>`: exactly that openid, so that a user imported from
 *   the old backend (`npm run import:django`) can log in as itself in dev mode and in tests.
 * - `err:<errcode>`: WeChat's error answer with that errcode (40029, 40163, 45011, 40226, -1, ...).
 * - `hang:<anything>`: never answers, like a WeChat that times out.
 */
export interface FakeWechat {
  apiBase: string;
  appId: string;
  secret: string;
  /** Login codes received, in order (to check what the server sent). */
  codes: string[];
  close(): Promise<void>;
}

export function fakeOpenId(appId: string, code: string): string {
  const name = code.split('#')[0];
  if (name.startsWith('openid:')) return name.slice('openid:'.length);
  return 'o' + createHash('sha256').update(`${appId}:${name}`).digest('base64url').slice(0, 27);
}

export function fakeSessionKey(code: string): string {
  return createHash('sha256').update(`session:${code}`).digest().subarray(0, 16).toString('base64');
}

function send(response: ServerResponse, body: object): void {
  // WeChat itself answers JSON labelled text/plain; the client must not depend on the label.
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end(JSON.stringify(body));
}

export async function startFakeWechat(options: { appId: string; secret: string; host?: string; port?: number }): Promise<FakeWechat> {
  const codes: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (url.pathname !== '/sns/jscode2session') {
      response.writeHead(404).end();
      return;
    }
    const code = url.searchParams.get('js_code') ?? '';
    codes.push(code);
    if (url.searchParams.get('appid') !== options.appId) return send(response, { errcode: 40013, errmsg: 'invalid appid' });
    if (url.searchParams.get('secret') !== options.secret) return send(response, { errcode: 40125, errmsg: 'invalid appsecret' });
    if (code === '') return send(response, { errcode: 41008, errmsg: 'missing code' });
    if (code.startsWith('hang:')) return; // never answer
    const error = /^err:(-?\d+)$/.exec(code);
    if (error) return send(response, { errcode: Number(error[1]), errmsg: 'fake error' });
    const openid = fakeOpenId(options.appId, code);
    if (openid === '') return send(response, { errcode: 40029, errmsg: 'invalid code' });
    send(response, { openid, session_key: fakeSessionKey(code) });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake WeChat did not bind a port');
  return {
    apiBase: `http://${host}:${address.port}`,
    appId: options.appId,
    secret: options.secret,
    codes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
