import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { CapturedLog } from '../helpers/logs';

const [db] = testDatabases();

/**
 * What an operator reads for each HTTP request: one line, written when the answer has gone, whose
 * message says the method, the path, the status, the error's code, the time, who asked and why a
 * request was refused; the same facts as fields for machines; and never a token, not even one that a
 * client put in the URL.
 */
describe(`request log lines on ${db.name}`, () => {
  const log = new CapturedLog();
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db, { env: { LOG_LEVEL: 'info' }, deps: { logStream: log.stream } })));
  afterAll(() => server.close());

  it('a refused scan is one line with its code, time, user, device and message', async () => {
    const login = await request(server.url, 'POST', '/api/login', { body: { code: 'logged#1', deviceId: 'phone-1' } });
    const { token, user, directories } = login.body;
    const directoryId = directories[0].id;
    const scans = `/api/directories/${directoryId}/scans`;
    await request(server.url, 'POST', scans, { token, body: { op: 'in', code: '6901234567892', qty: 2 } });
    const refused = await request(server.url, 'POST', scans, { token, body: { op: 'out', code: '6901234567892', qty: 5 }, headers: { 'x-request-id': 'scan-409' } });
    expect(refused.status).toBe(409);

    const [line, ...others] = await log.request('scan-409');
    expect(others).toEqual([]);
    expect(line.msg).toMatch(new RegExp(`^POST ${scans} 409 insufficient_stock \\d+\\.\\d ms user ${user.id} device phone-1: ${escape(refused.body.error.message)}$`));
    expect(line).toMatchObject({
      level: 30,
      req: { method: 'POST', url: scans, remoteAddress: '127.0.0.1', userId: user.id, deviceId: 'phone-1' },
      res: { statusCode: 409, code: 'insufficient_stock', message: refused.body.error.message },
      responseTime: expect.any(Number),
    });
  });

  it('a 400 and a 401 say which error and why', async () => {
    const bad = await request(server.url, 'POST', '/api/login', { body: { quantity: 1 }, headers: { 'x-request-id': 'login-400' } });
    const [badLine] = await log.request('login-400');
    expect(badLine.msg).toMatch(new RegExp(`^POST /api/login 400 bad_request \\d+\\.\\d ms: ${escape(bad.body.error.message)}$`));

    const anonymous = await request(server.url, 'GET', '/api/me', { headers: { 'x-request-id': 'me-401' } });
    const [anonymousLine] = await log.request('me-401');
    expect(anonymousLine.msg).toMatch(new RegExp(`^GET /api/me 401 unauthorized \\d+\\.\\d ms: ${escape(anonymous.body.error.message)}$`));
    expect(anonymousLine.req).not.toHaveProperty('userId');
  });

  it('a request that succeeds is one line, with no error', async () => {
    await request(server.url, 'GET', '/healthz', { headers: { 'x-request-id': 'health-200' } });
    const lines = await log.request('health-200');
    expect(lines.map((line) => line.msg)).toEqual([expect.stringMatching(/^GET \/healthz 200 \d+\.\d ms$/)]);
    expect(lines[0].res).toEqual({ statusCode: 200 });
  });

  it("a legacy route's refusal, answered 200, shows its message", async () => {
    await request(server.url, 'POST', '/scan/checkqr/', { form: { code: '1', cookie: 'made-up-cookie', dir: '默认' }, headers: { 'x-request-id': 'legacy-200' } });
    const [line] = await log.request('legacy-200');
    expect(line.msg).toMatch(/^POST \/scan\/checkqr\/ 200 \d+\.\d ms: 用户错误$/);
    expect(log.text.join('\n')).not.toContain('made-up-cookie');
  });

  it('a token in the URL is never written as it came', async () => {
    const secrets = ['tok-in-query-0123456789', 'access-in-query-0123456789', 'poll-in-query-0123456789'];
    const url = `/api/me?token=${secrets[0]}&access_token=${secrets[1]}&pollToken=${secrets[2]}&q=kept`;
    await request(server.url, 'GET', url, { headers: { 'x-request-id': 'token-in-url' } });
    const [line] = await log.request('token-in-url');
    expect(line.req.url).toBe('/api/me?token=[redacted]&access_token=[redacted]&pollToken=[redacted]&q=kept');
    for (const secret of secrets) expect(log.text.join('\n')).not.toContain(secret);
  });
});

/** LOG_FORMAT=pretty (a developer's terminal): each request is one line of text, no field lines under it. */
describe('request lines in the pretty log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-pretty-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are one line each', async () => {
    const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_FORMAT: 'pretty', DATABASE_URL: `file:${join(dir, 'scancode.db')}` };
    const server = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'src', 'main.js')], { env });
    let output = '';
    server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => server.on('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', () => {
          const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match) resolve(match[1]);
        });
        void exited.then(() => reject(new Error(`the server ended: ${output}`)));
      });
      await fetch(`${url}/api/me`);
      await fetch(`${url}/healthz`);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
    const lines = output.split('\n');
    const at = lines.findIndex((line) => line.includes('GET /api/me 401 unauthorized'));
    expect(lines[at]).toMatch(/INFO.*: GET \/api\/me 401 unauthorized \d+\.\d ms: /);
    expect(lines[at + 1]).toMatch(/INFO.*: GET \/healthz 200 \d+\.\d ms$/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
