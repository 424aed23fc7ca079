import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { fakeSessionKey } from '../../../src/modules/wechat/fake-server';
import { startServer, TEST_APPID, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { encryptProfile, signRawData } from '../../helpers/wechat';

const PROFILE = { nickName: '小明', gender: 1, language: 'zh_CN', city: 'Hangzhou', province: 'Zhejiang', country: 'China', avatarUrl: 'https://example.invalid/a.png' };

describe.each(testDatabases())('WeChat login and sessions on $name', (db) => {
  let server: TestServer;
  let clock = Date.now();
  const logs: string[] = [];
  const bodies: string[] = [];
  const codes: string[] = [];

  beforeAll(async () => {
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    // WeChat's timeout stays the default (5 s): the 'hang:' code never answers, so any timeout shows it, while a
    // short one (it was 300 ms) also failed the six logins at once whenever a busy machine made the fake answer late.
    server = await startServer(db, { env: { LOG_LEVEL: 'trace' }, deps: { now: () => new Date(clock), logStream } });
  });
  afterAll(() => server.close());

  /** POST /api/login with a fresh code for `name`, remembering the code and the answer body. */
  async function login(name: string, extra: Record<string, unknown> = {}, code = `${name}#${codes.length}`) {
    codes.push(code);
    const answer = await request(server.url, 'POST', '/api/login', { body: { code, ...extra } });
    bodies.push(answer.text);
    return answer;
  }

  it('creates the user and 默认 on the first login and reuses both on the second', async () => {
    const first = await login('alice');
    expect(first.status).toBe(200);
    expect(first.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.body.directories).toEqual([expect.objectContaining({ name: '默认', revision: 0, freq: 0, goodsCount: 0, totalCount: 0 })]);
    const second = await login('alice');
    expect(second.status).toBe(200);
    expect(second.body.user.id).toBe(first.body.user.id);
    expect(second.body.directories).toEqual([expect.objectContaining({ id: first.body.directories[0].id, name: '默认' })]);
    expect(second.body.token).not.toBe(first.body.token);
  });

  it('creates one user and one 默认 when a new user logs in from several phones at once', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => login('kate', {}, `kate#phone${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    const userIds = new Set(answers.map((a) => a.body.user.id));
    expect(userIds.size).toBe(1);
    const directories = (await client(server.url, answers[0].body.token).get('/api/directories')).body.directories;
    expect(directories.map((d: { name: string }) => d.name)).toEqual(['默认']);
    expect(new Set(answers.map((a) => a.body.token)).size).toBe(6);
  });

  it('stores the decrypted profile', async () => {
    const code = 'bob#profile';
    const { encryptedData, iv } = encryptProfile(code, { ...PROFILE, watermark: { appid: TEST_APPID, timestamp: 1 } });
    const answer = await login('bob', { encryptedData, iv }, code);
    expect(answer.status).toBe(200);
    expect(answer.body.user).toMatchObject({ nickname: '小明', gender: 1, city: 'Hangzhou', province: 'Zhejiang', country: 'China', avatarUrl: PROFILE.avatarUrl });
    const me = await client(server.url, answer.body.token).get('/api/me');
    expect(me.body.user).toMatchObject({ nickname: '小明', city: 'Hangzhou' });
  });

  it('accepts a form-encoded login with the seed field name encrypteddata', async () => {
    const code = 'carol#form';
    const { encryptedData, iv } = encryptProfile(code, { ...PROFILE, nickName: 'Carol', watermark: { appid: TEST_APPID } });
    codes.push(code);
    const answer = await request(server.url, 'POST', '/api/login', { form: { code, encrypteddata: encryptedData, iv } });
    bodies.push(answer.text);
    expect(answer.status).toBe(200);
    expect(answer.body.user.nickname).toBe('Carol');
  });

  it('checks rawData against its signature', async () => {
    const code = 'dave#raw';
    const rawData = JSON.stringify({ nickName: 'Dave', gender: 2 });
    const good = await login('dave', { rawData, signature: signRawData(code, rawData) }, code);
    expect(good.status).toBe(200);
    expect(good.body.user.nickname).toBe('Dave');
    const bad = await login('dave', { rawData, signature: 'f'.repeat(40) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('decrypt_failed');
  });

  it('answers 400 decrypt_failed for a tampered iv and for data made for another app', async () => {
    const code = 'erin#tamper';
    const sealed = encryptProfile(code, { ...PROFILE, watermark: { appid: TEST_APPID } });
    const tamperedIv = Buffer.from(sealed.iv, 'base64');
    tamperedIv[0] ^= 0xff;
    const tampered = await login('erin', { encryptedData: sealed.encryptedData, iv: tamperedIv.toString('base64') }, code);
    expect(tampered.status).toBe(400);
    expect(tampered.body.error.code).toBe('decrypt_failed');

    const otherCode = 'erin#other-app';
    const foreign = encryptProfile(otherCode, { ...PROFILE, watermark: { appid: 'wxsomeoneelse0000' } });
    const other = await login('erin', foreign, otherCode);
    expect(other.status).toBe(400);
    expect(other.body.error).toMatchObject({ code: 'decrypt_failed', message: expect.stringContaining('another app') });
  });

  it.each([
    [40029, 401, 'wechat_code_invalid'],
    [40163, 401, 'wechat_code_invalid'],
    [45011, 429, 'wechat_rate_limited'],
    [40226, 403, 'wechat_user_blocked'],
    [-1, 502, 'wechat_unavailable'],
  ])('maps WeChat errcode %i to %i %s', async (errcode, status, code) => {
    const answer = await login('x', {}, `err:${errcode}`);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
  });

  it('answers 502 wechat_unavailable when WeChat never answers', async () => {
    const answer = await login('x', {}, 'hang:1');
    expect(answer.status).toBe(502);
    expect(answer.body.error).toMatchObject({ code: 'wechat_unavailable', message: 'WeChat did not answer in time' });
    expect(server.fake.codes).toContain('hang:1');
  });

  it('answers 400 bad_request naming a missing or wrong-typed field', async () => {
    const missing = await request(server.url, 'POST', '/api/login', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('code') });
    const wrongType = await request(server.url, 'POST', '/api/login', { body: { code: 12345 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('code') });
    const badIv = await request(server.url, 'POST', '/api/login', { body: { code: 'x#1', encryptedData: 'abc', iv: 7 } });
    expect(badIv.status).toBe(400);
    expect(badIv.body.error.message).toContain('iv');
    const notJson = await request(server.url, 'POST', '/api/login', { body: '{"code":', headers: {} });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('bad_request');
  });

  it('accepts a token, and refuses it after logout', async () => {
    const token = (await login('frank')).body.token as string;
    const api = client(server.url, token);
    expect((await api.get('/api/me')).status).toBe(200);
    expect((await api.post('/api/logout')).status).toBe(204);
    const after = await api.get('/api/me');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it('refuses a token after it expires', async () => {
    const answer = await login('grace');
    const api = client(server.url, answer.body.token);
    expect((await api.get('/api/me')).status).toBe(200);
    clock = new Date(answer.body.expiresAt).getTime() + 1000;
    try {
      const after = await api.get('/api/me');
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('unauthorized');
    } finally {
      clock = Date.now();
    }
  });

  it('refuses missing, malformed and unknown tokens', async () => {
    expect((await request(server.url, 'GET', '/api/me')).body.error.code).toBe('unauthorized');
    expect((await request(server.url, 'GET', '/api/me', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await client(server.url, 'A'.repeat(43)).get('/api/me')).status).toBe(401);
  });

  it('updates the profile with PATCH /api/me', async () => {
    const api = client(server.url, (await login('heidi')).body.token);
    const patched = await api.patch('/api/me', { body: { nickname: '  Heidi  ', avatarUrl: 'https://example.invalid/h.png' } });
    expect(patched.status).toBe(200);
    expect(patched.body.user).toMatchObject({ nickname: 'Heidi', avatarUrl: 'https://example.invalid/h.png' });
    expect((await api.get('/api/me')).body.user.nickname).toBe('Heidi');
    const bad = await api.patch('/api/me', { body: { nickname: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('nickname');
  });

  it('serves the legacy /login/ with the seed shape and a working cookie', async () => {
    const code = 'ivan#legacy';
    const { encryptedData, iv } = encryptProfile(code, { ...PROFILE, nickName: 'Ivan', watermark: { appid: TEST_APPID } });
    codes.push(code);
    const first = await request(server.url, 'POST', '/login/', { form: { code, encrypteddata: encryptedData, iv } });
    bodies.push(first.text);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ dirs: ['默认'], status: '已创建并登录', info: { nickName: 'Ivan', city: 'Hangzhou', cookie: expect.any(String) } });
    expect((await client(server.url, first.body.info.cookie).get('/api/me')).body.user.nickname).toBe('Ivan');
    const second = await request(server.url, 'POST', '/login/', { form: { code: 'ivan#legacy2' } });
    codes.push('ivan#legacy2');
    bodies.push(second.text);
    expect(second.body).toMatchObject({ dirs: ['默认'], status: '已登录', info: { nickName: 'Ivan' } });
    expect((await request(server.url, 'GET', '/login/')).body).toEqual({ error: '仅接受POST请求' });
    expect((await request(server.url, 'POST', '/login/', { form: { code: 'err:40029' } })).body.error).toEqual(expect.any(String));
  });

  it('keeps tokens hashed in the database', async () => {
    const token = (await login('judy')).body.token as string;
    const hash = createHash('sha256').update(token).digest('hex');
    const em = server.app.services.orm.em.fork();
    const rows = await em.getConnection().execute<{ token_hash: string }[]>('select token_hash from sessions');
    const hashes = rows.map((r) => r.token_hash);
    expect(hashes).toContain(hash);
    expect(hashes).not.toContain(token);
  });

  it('never puts a session key in a response body or a log line', () => {
    expect(codes.length).toBeGreaterThan(5);
    const keys = codes.map(fakeSessionKey);
    for (const body of bodies) for (const key of keys) expect(body).not.toContain(key);
    const logText = logs.join('');
    expect(logText).toContain('/api/login'); // the log was captured at trace level
    for (const key of keys) expect(logText).not.toContain(key);
    expect(logText).not.toContain('test-secret');
  });
});

describe.each(testDatabases())('health on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  it('answers /healthz and /readyz', async () => {
    expect((await request(server.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(server.url, 'GET', '/readyz')).body).toEqual({ status: 'ok', database: 'ok', bus: 'ok' });
  });
});
