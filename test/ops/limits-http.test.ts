import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request, type Answer } from '../helpers/http';
import { legacyPost, signIn } from '../helpers/inventory';

/**
 * The HTTP limits, each crossed: logins per address (LOGIN_RATE_LIMIT) and requests per token
 * (HTTP_RATE_LIMIT), answered 429 `rate_limited` with `retryAfter` and Retry-After (the legacy routes in
 * their own shape), while other addresses and tokens, and the operational routes, go on as before.
 */

const LOGINS = 3;
const REQUESTS = 5;
const BAD_TOKENS = 3;

/** A 429 with SPEC's `rate_limited`, and the same wait in its Retry-After header. */
function expectRateLimited(answer: Answer): number {
  expect(answer.status).toBe(429);
  expect(answer.body.error).toMatchObject({ code: 'rate_limited', message: expect.any(String), retryAfter: expect.any(Number) });
  const retryAfter = answer.body.error.retryAfter as number;
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(answer.headers.get('retry-after')).toBe(String(retryAfter));
  return retryAfter;
}

/** The legacy routes' refusal: the seed's `{error}` with a Chinese text naming the wait, 429 and Retry-After. */
function expectLegacyRateLimited(answer: Answer, words: string): void {
  expect(answer.status).toBe(429);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(answer.body).toEqual({ error: `${words}过于频繁，请${retryAfter}秒后再试` });
}

const from = (address: string) => ({ 'x-forwarded-for': address });

const [db] = testDatabases();

describe(`HTTP rate limits on ${db.name}`, () => {
  let server: TestServer;
  beforeAll(async () => {
    // Addresses come from X-Forwarded-For here, so that one test plays several phones' networks.
    server = await startServer(db, { env: { LOGIN_RATE_LIMIT: String(LOGINS), HTTP_RATE_LIMIT: String(REQUESTS), BAD_TOKEN_RATE_LIMIT: String(BAD_TOKENS), TRUST_PROXY: 'true' } });
  });
  afterAll(() => server.close());

  const login = (address: string, code: string) => request(server.url, 'POST', '/api/login', { body: { code }, headers: from(address) });

  it('past BAD_TOKEN_RATE_LIMIT refused tokens from an address, refuses its made-up tokens before looking them up, never its valid ones; other addresses go on', async () => {
    const me = (address: string, token: string) => request(server.url, 'GET', '/api/me', { token, headers: from(address) });
    const token = await login('192.0.2.50', 'token-guesser#1').then((answer) => answer.body.token as string);
    const neighbour = await login('192.0.2.50', 'token-guesser-neighbour#1').then((answer) => answer.body.token as string);
    expect((await me('192.0.2.50', token)).status).toBe(200);
    // Each made-up token has a per-token count of its own: only the address's refusals add up.
    for (let i = 0; i < BAD_TOKENS; i++) expect((await me('192.0.2.50', `made-up-${i}`)).status).toBe(401);
    expectRateLimited(await me('192.0.2.50', 'made-up-next'));
    // The shop behind the same NAT as the broken phone goes on: its valid tokens are still answered.
    expect((await me('192.0.2.50', token)).status).toBe(200);
    // A session created after the address was locked (here, a login from elsewhere) is valid at once.
    const fresh = await login('198.51.100.99', 'token-guesser-later#1').then((answer) => answer.body.token as string);
    expect((await me('192.0.2.50', fresh)).status).toBe(200);
    expectRateLimited(await me('192.0.2.50', 'made-up-after'));
    // Logout always works for a valid token; the token then never works again.
    expect((await request(server.url, 'POST', '/api/logout', { token: neighbour, headers: from('192.0.2.50') })).status).toBe(204);
    const after = await me('192.0.2.50', neighbour);
    expect([401, 429]).toContain(after.status);
    // Another address, with the same valid token or a made-up one, is answered as before.
    expect((await me('192.0.2.51', token)).status).toBe(200);
    expect((await me('192.0.2.51', 'made-up-elsewhere')).status).toBe(401);
  });

  it("counts made-up legacy cookies as refused tokens: past BAD_TOKEN_RATE_LIMIT they are refused before any lookup, in the seed's shape; valid cookies go on", async () => {
    const form = (path: string, fields: Record<string, string>, address = '192.0.2.60') => request(server.url, 'POST', path, { form: fields, headers: from(address) });
    const cookie = await login('192.0.2.60', 'cookie-guesser#1').then((answer) => answer.body.token as string);
    for (let i = 0; i < BAD_TOKENS; i++) expect((await form('/scan/checkqr/', { cookie: `made-up-${i}`, code: 'X', dir: '默认' })).body).toEqual({ error: '用户错误' });
    const refused = await form('/datain/', { cookie: 'made-up-next', code: 'X', dir: '默认' });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(refused.body).toEqual({ error: `用户错误次数过多，请${retryAfter}秒后再试` });
    // Counted with /api's refused tokens, by address.
    expectRateLimited(await request(server.url, 'GET', '/api/me', { token: 'made-up-bearer', headers: from('192.0.2.60') }));
    // The valid cookie from the same address, and made-up ones from elsewhere, are answered as before.
    expect((await form('/scan/query/', { cookie })).body).toEqual({ dirs: { 默认: [] } });
    expect((await form('/scan/query/', { cookie: 'made-up-elsewhere' }, '192.0.2.61')).body).toEqual({ error: '用户错误' });
    // A form without a cookie is no refused token: 用户错误 as before, whatever the count.
    expect((await form('/scan/query/', {})).body).toEqual({ error: '用户错误' });
  });

  it('refuses logins from one address past LOGIN_RATE_LIMIT a minute, before WeChat is called; another address logs in', async () => {
    for (let i = 1; i <= LOGINS; i++) expect((await login('203.0.113.1', `nat-phone#${i}`)).status).toBe(200);
    const refused = await login('203.0.113.1', 'nat-phone#refused');
    expectRateLimited(refused);
    expect(server.fake.codes).not.toContain('nat-phone#refused');
    // The legacy /login/ counts against the same address, under the prefix and at the root.
    expectLegacyRateLimited(await request(server.url, 'POST', '/scan/login/', { form: { code: 'nat-phone#legacy' }, headers: from('203.0.113.1') }), '登录');
    const root = await request(server.url, 'POST', '/login/', { form: { code: 'nat-phone#root' }, headers: from('203.0.113.1') });
    expectLegacyRateLimited(root, '登录');
    expect(server.fake.codes).not.toContain('nat-phone#root');

    expect((await login('198.51.100.7', 'elsewhere#1')).status).toBe(200);
    const legacy = await request(server.url, 'POST', '/scan/login/', { form: { code: 'elsewhere#2' }, headers: from('198.51.100.7') });
    expect(legacy.status).toBe(200);
    expect(legacy.body.info.cookie).toEqual(expect.any(String));
  });

  it('refuses requests with one token past HTTP_RATE_LIMIT a minute, /api and legacy alike; other tokens and the operational routes go on', async () => {
    const busy = await signIn(server, 'busy');
    const calm = await signIn(server, 'calm');
    // signIn's own GET /api/me was the first.
    for (let i = 1; i < REQUESTS; i++) expect((await busy.api.get('/api/me')).status).toBe(200);
    expectRateLimited(await busy.api.get('/api/me'));
    expectRateLimited(await busy.api.post(`/api/directories/${busy.defaultDirectoryId}/scans`, { body: { op: 'in', code: 'X', eventId: 'busy:1' } }));
    // The legacy forms' cookie is the same token, counted in the same place.
    expectLegacyRateLimited(await legacyPost(server, '/scan/query/', { cookie: busy.token }), '请求');
    expectLegacyRateLimited(await legacyPost(server, '/datain/', { cookie: busy.token, code: 'X', dir: '默认' }), '请求');

    // Nothing refused was applied (seen through another session of the same user: a token of its own).
    const again = await signIn(server, 'busy');
    expect((await again.api.get(`/api/directories/${busy.defaultDirectoryId}`)).body.goods).toEqual([]);

    expect((await calm.api.get('/api/me')).status).toBe(200);
    expect((await legacyPost(server, '/scan/query/', { cookie: calm.token })).body).toEqual({ dirs: { 默认: [] } });
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/asyncapi.json']) {
      for (let i = 0; i <= REQUESTS; i++) expect((await request(server.url, 'GET', path, { token: busy.token })).status).toBe(200);
    }
  });

  it('counts every refusal by limit in /metrics', async () => {
    const metrics = (await request(server.url, 'GET', '/metrics')).text;
    const count = (limit: string) => Number(new RegExp(`^scancode_rate_limited_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(count('login')).toBe(3);
    expect(count('http')).toBe(4);
    expect(count('ws_sockets')).toBe(0);
  });
});
