import { ConfigError, DEFAULT_LIMITS, loadConfig, parseDatabaseUrl } from '../src/config';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('defaults to the embedded database, port 3000 and the dev login', () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/scancode.db' });
    expect(config.port).toBe(3000);
    expect(config.wechat.devLogin).toBe(true);
    expect(config.wechat.apiBase).toBeNull();
    expect(config.sessionTtlMs).toBe(30 * 24 * 3600 * 1000);
    expect(config.redisUrl).toBeNull();
  });

  it('serves the legacy routes under /scan by default, under LEGACY_PREFIX when set, and at the root alone for /', () => {
    expect(loadConfig({}).legacyPrefix).toBe('/scan');
    expect(loadConfig({ LEGACY_PREFIX: '/mina/scan/' }).legacyPrefix).toBe('/mina/scan');
    expect(loadConfig({ LEGACY_PREFIX: '/' }).legacyPrefix).toBe('');
    expect(configError({ LEGACY_PREFIX: 'scan' }).message).toContain('LEGACY_PREFIX');
    expect(configError({ LEGACY_PREFIX: '/sc an' }).message).toContain('LEGACY_PREFIX');
  });

  it('gives MySQL the database timeouts, 5 s each by default, from DB_QUERY_TIMEOUT_MS and DB_ACQUIRE_TIMEOUT_MS', () => {
    const url = 'mysql://root@127.0.0.1:3306/scancode';
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: 'mysql', url, timeouts: { queryMs: 5000, acquireMs: 5000 } });
    expect(loadConfig({ DATABASE_URL: url, DB_QUERY_TIMEOUT_MS: '2500', DB_ACQUIRE_TIMEOUT_MS: '1000' }).database).toEqual({ kind: 'mysql', url, timeouts: { queryMs: 2500, acquireMs: 1000 } });
    // SQLite's statements run in-process: nothing to time out, but a bad value is refused all the same.
    expect(loadConfig({ DB_QUERY_TIMEOUT_MS: '2500' }).database).toEqual({ kind: 'sqlite', path: './data/scancode.db' });
  });

  it('selects MySQL for mysql:// and SQLite for file: and sqlite:', () => {
    expect(parseDatabaseUrl('mysql://root@127.0.0.1:3306/scancode')).toEqual({ kind: 'mysql', url: 'mysql://root@127.0.0.1:3306/scancode' });
    expect(parseDatabaseUrl('file:/var/lib/scancode.db')).toEqual({ kind: 'sqlite', path: '/var/lib/scancode.db' });
    expect(parseDatabaseUrl('sqlite:./x.db')).toEqual({ kind: 'sqlite', path: './x.db' });
  });

  it("uses the given WeChat credentials and WeChat's own API by default", () => {
    const config = loadConfig({ WECHAT_APPID: 'wx1', WECHAT_SECRET: 's', NODE_ENV: 'production' });
    expect(config.wechat).toMatchObject({ appId: 'wx1', secret: 's', devLogin: false, apiBase: 'https://api.weixin.qq.com' });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://root@127.0.0.1:3306' }, 'DATABASE_URL'],
    [{ SESSION_TTL_DAYS: '0' }, 'SESSION_TTL_DAYS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ WECHAT_API_BASE: 'ftp://x' }, 'WECHAT_API_BASE'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ WECHAT_APPID: 'wx1' }, 'WECHAT_SECRET'],
    [{ NODE_ENV: 'production' }, 'WECHAT_APPID'],
    [{ DB_QUERY_TIMEOUT_MS: '5s' }, 'DB_QUERY_TIMEOUT_MS'],
    [{ DB_QUERY_TIMEOUT_MS: '0' }, 'DB_QUERY_TIMEOUT_MS'],
    [{ DB_ACQUIRE_TIMEOUT_MS: '99' }, 'DB_ACQUIRE_TIMEOUT_MS'],
    [{ DB_ACQUIRE_TIMEOUT_MS: '600001' }, 'DB_ACQUIRE_TIMEOUT_MS'],
  ])('refuses %j naming %s', (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });
});

describe('limits', () => {
  it('default to sizes a fleet of scanners on one account never meets, and take 0 as "no limit"', () => {
    expect(loadConfig({}).limits).toEqual(DEFAULT_LIMITS);
    // The fan-out target: a scanner and 1,000 sockets watching its directory, which only its owner's sockets can watch.
    expect(DEFAULT_LIMITS.maxSocketsPerUser).toBeGreaterThanOrEqual(1001);
    const off = loadConfig({
      LOGIN_RATE_LIMIT: '0',
      BAD_TOKEN_RATE_LIMIT: '0',
      MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '0',
      HTTP_RATE_LIMIT: '0',
      WS_FRAME_RATE: '0',
      MAX_SOCKETS_PER_USER: '0',
      MAX_SUBSCRIPTIONS_PER_SOCKET: '0',
    }).limits;
    expect(off).toMatchObject({
      loginsPerMinute: 0,
      badTokensPerMinute: 0,
      maxUnauthenticatedSocketsPerAddress: 0,
      httpRequestsPerMinute: 0,
      wsFramesPerSecond: 0,
      maxSocketsPerUser: 0,
      maxSubscriptionsPerSocket: 0,
    });
    expect(loadConfig({ WS_FRAME_BURST: '7', BODY_TIMEOUT_MS: '1500' }).limits).toMatchObject({ wsFrameBurst: 7, bodyTimeoutMs: 1500 });
  });

  it.each([
    ['LOGIN_RATE_LIMIT', '-1'],
    ['HTTP_RATE_LIMIT', 'many'],
    ['BAD_TOKEN_RATE_LIMIT', '-5'],
    ['WS_FRAME_RATE', '1.5'],
    ['WS_FRAME_BURST', '0'],
    ['MAX_SOCKETS_PER_USER', '-3'],
    ['MAX_SUBSCRIPTIONS_PER_SOCKET', 'x'],
    ['BODY_TIMEOUT_MS', '0'],
  ])('refuses %s=%s, naming it', (variable, value) => {
    const error = configError({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });
});

describe('BUS_SECRET', () => {
  const production = { NODE_ENV: 'production', WECHAT_APPID: 'wx1', WECHAT_SECRET: 's' };
  const secret = 'a'.repeat(32);

  it('is required with Redis in production, and nowhere else (a fixed development key stands in)', () => {
    expect(configError({ ...production, REDIS_URL: 'redis://127.0.0.1:6379' }).message).toMatch(/BUS_SECRET is required with REDIS_URL when NODE_ENV=production/);
    expect(loadConfig(production).busSecret.dev).toBe(true);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).busSecret).toMatchObject({ dev: true, keys: [expect.any(String)] });
    expect(loadConfig({ ...production, REDIS_URL: 'redis://127.0.0.1:6379', BUS_SECRET: secret }).busSecret).toEqual({ keys: [secret], dev: false });
  });

  it('holds two secrets while rotating, the first one signing', () => {
    const old = 'b'.repeat(40);
    expect(loadConfig({ BUS_SECRET: ` ${secret} , ${old} ` }).busSecret).toEqual({ keys: [secret, old], dev: false });
  });

  it.each([
    ['short', 'at least 32 characters'],
    [`${'a'.repeat(32)},short`, 'the old (second) secret must be at least 32 characters'],
    [`${'a'.repeat(32)},${'b'.repeat(32)},${'c'.repeat(32)}`, 'two separated by a comma'],
    [`${'a'.repeat(32)},${'a'.repeat(32)}`, 'the same secret twice'],
    [`${'a'.repeat(32)},`, 'at least 32 characters'],
  ])('refuses %j, saying why', (value, reason) => {
    const error = configError({ BUS_SECRET: value });
    expect(error.variable).toBe('BUS_SECRET');
    expect(error.message).toContain(reason);
    expect(error.message).not.toContain(value.slice(0, 32)); // a secret is never repeated in a log line
  });
});
