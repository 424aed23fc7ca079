/**
 * Every setting the server reads, parsed and validated in one place at start-up.
 * A bad value stops the start with a message naming the variable (ConfigError).
 */

import { isIP } from 'node:net';
import { parseRedisUrl } from './modules/realtime/redis-url';

export type DatabaseConfig = { kind: 'mysql'; url: string; timeouts?: DatabaseTimeouts } | { kind: 'sqlite'; path: string };

/**
 * How long the server waits on MySQL/MariaDB before answering 503 `unavailable`, so that a database
 * that stalls (a frozen server, a network that drops packets silently) costs a client seconds, not the
 * whole stall. Absent on a DatabaseConfig (the offline tools: migrations, the importer), statements
 * wait as long as they take and a connection is waited for 5 s. SQLite has no use for them: its
 * statements run in-process, synchronously, and its lock waits end at its own busy_timeout.
 */
export interface DatabaseTimeouts {
  /**
   * DB_QUERY_TIMEOUT_MS: how long a statement may wait with no answer from the database. Past it the
   * statement fails and its connection is destroyed (never handed out again), and the request is
   * answered 503. Statements of the start-up migrations are exempt.
   */
  queryMs: number;
  /**
   * DB_ACQUIRE_TIMEOUT_MS: how long a request waits for a pool connection, including opening a new one
   * (its TCP connect and handshake), before it is answered 503.
   */
  acquireMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { queryMs: 5000, acquireMs: 5000 };

export interface WechatConfig {
  appId: string;
  secret: string;
  /** Base URL of WeChat's API; `null` in dev mode until the built-in fake is started. */
  apiBase: string | null;
  timeoutMs: number;
  /** True when no credentials were given outside production: logins go to the built-in fake. */
  devLogin: boolean;
}

export interface Config {
  env: string;
  port: number;
  host: string;
  database: DatabaseConfig;
  wechat: WechatConfig;
  /** One Redis server, or several nodes of a Redis Cluster (`redis://h:7000,h:7001,...`): see realtime/redis-url.ts. */
  redisUrl: string | null;
  /** The prefix of the bus's channels, and the global channel itself (REDIS_CHANNEL): `<prefix>:d:<directoryId>`, `<prefix>:u:<userId>`. */
  redisChannel: string;
  /**
   * BUS_SECRET: the keys of the HMAC every Redis bus message carries. The first signs, every one
   * verifies, so that a rotation rolls through the instances one at a time (`old,new`, `new,old`, `new`).
   * `dev`: none was set outside production, and a fixed development key stands in (logged at start).
   */
  busSecret: { keys: string[]; dev: boolean };
  /** Lifetime of a session token (SESSION_TTL_DAYS, in ms). */
  sessionTtlMs: number;
  /** Live sessions per user (MAX_SESSIONS_PER_USER): a login past it ends the oldest. */
  maxSessionsPerUser: number;
  logLevel: string;
  /** LOG_FORMAT: `pretty` (pino-pretty) or `json`; `null` is pretty on a terminal outside production. */
  logFormat: 'pretty' | 'json' | null;
  heartbeatMs: number;
  /** How many changes `changes?since=` replays before answering `reset` with a snapshot. */
  changesReplayLimit: number;
  /**
   * How often each instance compares the revisions of the directories its sockets watch with the
   * database (REVISION_CHECK_MS): the bound within which a change whose publish was lost reaches them.
   */
  revisionCheckMs: number;
  /** The legacy routes' second home besides the root (LEGACY_PREFIX, `/scan`); `''` when set to `/`. */
  legacyPrefix: string;
  /** Which proxies' X-Forwarded-* headers are believed (TRUST_PROXY), in the form fastify's `trustProxy` takes. */
  trustProxy: TrustProxy;
  /** Rate limits and caps, each answered with `rate_limited` and `retryAfter`. */
  limits: LimitsConfig;
  /** The caps of teams, answered with `quota_exceeded` (stored sizes) or `rate_limited` (accepts). */
  teams: TeamLimits;
  /** The caps on what a user stores, answered with `quota_exceeded`. */
  storage: StorageLimits;
  /** Webhooks (SPEC "Webhooks"). */
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** WEBHOOK_ALLOW_PRIVATE=1: loopback, private and link-local targets are allowed (tests, a shop's own network). */
  allowPrivate: boolean;
  /** WEBHOOK_RETRY_BASE_MS (2000): the gap before the first retry; it doubles after each failure. */
  retryBaseMs: number;
  /** The longest gap between two attempts (SPEC: 10 minutes). */
  maxDelayMs: number;
  /** How long a change is retried from its first attempt before it is given up (SPEC: 24 hours). */
  giveUpAfterMs: number;
  /** A receiver that has not answered within this has failed (SPEC: 10 s). */
  timeoutMs: number;
  /** How long an instance's claim on a webhook lasts unless renewed: another instance takes a crashed one's over after it. */
  leaseMs: number;
  /** How often each instance asks the database for due deliveries (after a restart, an expired lease). */
  pollMs: number;
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  allowPrivate: false,
  retryBaseMs: 2000,
  maxDelayMs: 10 * 60_000,
  giveUpAfterMs: 24 * 3600_000,
  timeoutMs: 10_000,
  leaseMs: 60_000,
  pollMs: 2000,
};

export interface TeamLimits {
  /** MAX_MEMBERS_PER_DIRECTORY (200): members of one directory, its owner included. */
  maxMembersPerDirectory: number;
  /** MAX_OPEN_INVITES_PER_DIRECTORY (50): invites of one directory neither expired, revoked nor used up. */
  maxOpenInvitesPerDirectory: number;
  /** INVITE_ACCEPT_RATE_LIMIT (10): invite accepts per user per minute, so that invite codes cannot be guessed by the thousand. */
  inviteAcceptsPerMinute: number;
}

export const DEFAULT_TEAM_LIMITS: TeamLimits = { maxMembersPerDirectory: 200, maxOpenInvitesPerDirectory: 50, inviteAcceptsPerMinute: 10 };

/**
 * Stored sizes: a user cannot make the database (or a snapshot, a CSV export, a `changes` reset) grow
 * without bound. Sized far above a warehouse's use: a big shop has tens of directories and thousands of
 * goods in each.
 */
export interface StorageLimits {
  /** MAX_DIRECTORIES_PER_USER (1,000): live directories one user owns (deleted ones do not count). */
  maxDirectoriesPerUser: number;
  /** MAX_GOODS_PER_DIRECTORY (100,000): goods of one directory; a scan that would add one more is refused. */
  maxGoodsPerDirectory: number;
}

export const DEFAULT_STORAGE_LIMITS: StorageLimits = { maxDirectoriesPerUser: 1000, maxGoodsPerDirectory: 100_000 };

/**
 * Sized for a warehouse whose fleet of handheld scanners shares one account, so that its ordinary
 * traffic never meets them; each stops one client (an address, a token, a user) from taking more
 * than its share. The counts are per server instance. 0 turns a rate or a cap off.
 */
export interface LimitsConfig {
  /**
   * LOGIN_RATE_LIMIT: login attempts (`POST /api/login`, the legacy `/login/`) per client address per
   * minute; each one calls WeChat. A shift of 100+ legacy handhelds behind one NAT logs in at every app
   * start, so the default (300) lets such a fleet in at once, retries included, and still cuts a flood.
   */
  loginsPerMinute: number;
  /**
   * BAD_TOKEN_RATE_LIMIT: refused tokens (unknown, expired, revoked) per client address per minute, over
   * HTTP and WebSocket; past it the address's tokens that belong to no live session are refused, before
   * any lookup, until the minute ends (valid ones never). Made-up tokens would each get a count of their own under HTTP_RATE_LIMIT. A fleet
   * behind one NAT whose tokens all expired at once meets at most one refusal per phone.
   */
  badTokensPerMinute: number;
  /** HTTP_RATE_LIMIT: requests per session token per minute (the legacy forms' `cookie` counts as the token). */
  httpRequestsPerMinute: number;
  /** WS_FRAME_RATE: frames per second per session, shared by its sockets, sustained... */
  wsFramesPerSecond: number;
  /** ...and WS_FRAME_BURST: how many may come at once (a reconnecting phone's subscribes and queued scans). */
  wsFrameBurst: number;
  /** MAX_SOCKETS_PER_USER: open authenticated sockets of one user on one instance; a socket past it is closed with 4429. */
  maxSocketsPerUser: number;
  /**
   * MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: sockets from one client address not yet authenticated
   * (waiting for their auth frame, up to 10 s each, or for their token's lookup); one more is closed
   * with 4429. Authentication takes milliseconds, so a fleet behind one NAT reconnecting at once
   * stays far below it; sockets opened and left silent by the thousand do not.
   */
  maxUnauthenticatedSocketsPerAddress: number;
  /** MAX_SUBSCRIPTIONS_PER_SOCKET: directories one socket may watch at once. */
  maxSubscriptionsPerSocket: number;
  /**
   * BODY_TIMEOUT_MS: a request's headers and body must have arrived this long after its first byte, or
   * it is answered 400 and its connection closed (a body that trickles in holds a connection and its
   * buffers). WebSockets and idle keep-alive connections are not timed by it.
   */
  bodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: LimitsConfig = {
  loginsPerMinute: 300,
  badTokensPerMinute: 600,
  httpRequestsPerMinute: 1200,
  wsFramesPerSecond: 500,
  wsFrameBurst: 1000,
  maxSocketsPerUser: 2000,
  maxSubscriptionsPerSocket: 100,
  maxUnauthenticatedSocketsPerAddress: 256,
  bodyTimeoutMs: 30_000,
};

/** false: none (the default); true: any; a list: those addresses and CIDR ranges. */
export type TrustProxy = boolean | string[];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

export const WECHAT_DEFAULT_API_BASE = 'https://api.weixin.qq.com';
export const DEV_WECHAT_APPID = 'wxdevappid0000000';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A switch: 1/true or 0/false (unset: false). */
function flag(env: Env, name: string): boolean {
  const raw = text(env, name);
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(name, `must be 1 or 0, got "${raw}"`);
}

function httpUrl(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** A URL path prefix such as `/scan` (a trailing slash is dropped; `/` alone means none). */
function pathPrefix(env: Env, name: string, fallback: string): string {
  const raw = text(env, name) ?? fallback;
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(raw)) throw new ConfigError(name, `must be a path such as /scan, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** proxy-addr's names for whole ranges (fastify's trustProxy takes them in a list). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: unset or `false` trusts no proxy, so a client cannot choose the address the logs show by
 * sending X-Forwarded-For; `true` trusts any; else a comma list of addresses, CIDR ranges and the names
 * `loopback`, `linklocal`, `uniquelocal`. A hop count is refused: fastify 5 ignores one (it cannot tell
 * whether the peer is a proxy, so it trusts nothing), and a setting that silently does nothing misleads.
 */
function trustProxy(env: Env, name: string): TrustProxy {
  const raw = text(env, name);
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) throw new ConfigError(name, `must list the proxies' addresses (e.g. 10.0.0.0/8) or be true; a hop count such as "${raw}" is not supported`);
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigError(name, `must be true, false or a comma list of addresses, got "${raw}"`);
  for (const entry of entries) {
    if (PROXY_RANGE_NAMES.has(entry)) continue;
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    const prefixOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(name, `must be true, false or a comma list of addresses and CIDR ranges, got "${entry}"`);
    }
  }
  return entries;
}

/** Stands in for BUS_SECRET outside production: instances on one machine agree, an attacker knows it too. */
export const DEV_BUS_SECRET = 'scancode-development-bus-secret-never-for-production';
/** About 192 bits of a random text (`openssl rand -base64 32` gives 44 characters). */
const MIN_BUS_SECRET_LENGTH = 32;

/**
 * BUS_SECRET: one secret, or two separated by a comma during a rotation (the first signs, both
 * verify). Required with Redis in production: an unsigned bus lets whoever can publish on the channel
 * push changes to every watcher and log phones out.
 */
function busSecret(env: Env, redisUrl: string | null, nodeEnv: string): Config['busSecret'] {
  const raw = text(env, 'BUS_SECRET');
  if (raw === undefined) {
    if (redisUrl !== null && nodeEnv === 'production')
      throw new ConfigError('BUS_SECRET', 'is required with REDIS_URL when NODE_ENV=production (a random text of 32 characters or more, e.g. openssl rand -base64 32)');
    return { keys: [DEV_BUS_SECRET], dev: true };
  }
  const keys = raw.split(',').map((key) => key.trim());
  if (keys.length > 2) throw new ConfigError('BUS_SECRET', `holds one secret, or two separated by a comma while rotating (new,old); got ${keys.length}`);
  for (const [index, key] of keys.entries()) {
    const which = keys.length === 1 ? 'the secret' : index === 0 ? 'the new (first) secret' : 'the old (second) secret';
    if (key.length < MIN_BUS_SECRET_LENGTH) throw new ConfigError('BUS_SECRET', `${which} must be at least ${MIN_BUS_SECRET_LENGTH} characters (e.g. openssl rand -base64 32), got ${key.length}`);
    if (/\s/.test(key)) throw new ConfigError('BUS_SECRET', `${which} must not contain spaces`);
  }
  if (keys.length === 2 && keys[0] === keys[1]) throw new ConfigError('BUS_SECRET', 'names the same secret twice');
  return { keys, dev: false };
}

export function parseDatabaseUrl(raw: string | undefined, name = 'DATABASE_URL'): DatabaseConfig {
  const value = raw?.trim() || 'file:./data/scancode.db';
  if (value.startsWith('mysql://') || value.startsWith('mariadb://')) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, 'is not a valid mysql:// URL');
    }
    if (parsed.pathname.replace(/^\//, '') === '') throw new ConfigError(name, 'must name a database, e.g. mysql://user@host:3306/scancode');
    return { kind: 'mysql', url: value.replace(/^mariadb:/, 'mysql:') };
  }
  const match = /^(?:file|sqlite):(.+)$/.exec(value);
  if (match) return { kind: 'sqlite', path: match[1].replace(/^\/\/(?=\/)/, '') };
  throw new ConfigError(name, 'must start with mysql://, file: or sqlite:');
}

/** The server's database: MySQL gets the timeouts (validated on either database, so a typo never waits for a switch to MySQL). */
function withTimeouts(database: DatabaseConfig, timeouts: DatabaseTimeouts): DatabaseConfig {
  return database.kind === 'mysql' ? { ...database, timeouts } : database;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = text(env, 'NODE_ENV') ?? 'development';
  const appId = text(env, 'WECHAT_APPID');
  const secret = text(env, 'WECHAT_SECRET');
  if ((appId === undefined) !== (secret === undefined)) {
    throw new ConfigError(appId === undefined ? 'WECHAT_APPID' : 'WECHAT_SECRET', 'must be set together with the other WeChat credential');
  }
  const devLogin = appId === undefined;
  if (devLogin && nodeEnv === 'production') {
    throw new ConfigError('WECHAT_APPID', 'and WECHAT_SECRET are required when NODE_ENV=production (the dev login is refused there)');
  }
  const logLevel = text(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = text(env, 'LOG_FORMAT') ?? null;
  if (logFormat !== null && logFormat !== 'pretty' && logFormat !== 'json') throw new ConfigError('LOG_FORMAT', `must be pretty or json, got "${logFormat}"`);
  const redisUrl = text(env, 'REDIS_URL') ?? null;
  if (redisUrl !== null) {
    try {
      parseRedisUrl(redisUrl);
    } catch (error) {
      throw new ConfigError('REDIS_URL', (error as Error).message);
    }
  }

  return {
    env: nodeEnv,
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? '0.0.0.0',
    database: withTimeouts(parseDatabaseUrl(env.DATABASE_URL), {
      queryMs: integer(env, 'DB_QUERY_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.queryMs, 100, 600_000),
      acquireMs: integer(env, 'DB_ACQUIRE_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.acquireMs, 100, 600_000),
    }),
    wechat: {
      appId: appId ?? DEV_WECHAT_APPID,
      secret: secret ?? 'dev-secret',
      apiBase: httpUrl(env, 'WECHAT_API_BASE') ?? (devLogin ? null : WECHAT_DEFAULT_API_BASE),
      timeoutMs: integer(env, 'WECHAT_TIMEOUT_MS', 5000, 100, 60000),
      devLogin,
    },
    redisUrl,
    redisChannel: text(env, 'REDIS_CHANNEL') ?? 'scancode:bus',
    busSecret: busSecret(env, redisUrl, nodeEnv),
    sessionTtlMs: integer(env, 'SESSION_TTL_DAYS', 30, 1, 3650) * 24 * 3600 * 1000,
    maxSessionsPerUser: integer(env, 'MAX_SESSIONS_PER_USER', 200, 1, 100_000),
    logLevel,
    logFormat,
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 30000, 1000, 600000),
    changesReplayLimit: integer(env, 'CHANGES_REPLAY_LIMIT', 1000, 1, 100000),
    revisionCheckMs: integer(env, 'REVISION_CHECK_MS', 5000, 100, 3_600_000),
    legacyPrefix: pathPrefix(env, 'LEGACY_PREFIX', '/scan'),
    trustProxy: trustProxy(env, 'TRUST_PROXY'),
    limits: {
      loginsPerMinute: integer(env, 'LOGIN_RATE_LIMIT', DEFAULT_LIMITS.loginsPerMinute, 0, 1_000_000),
      badTokensPerMinute: integer(env, 'BAD_TOKEN_RATE_LIMIT', DEFAULT_LIMITS.badTokensPerMinute, 0, 1_000_000),
      httpRequestsPerMinute: integer(env, 'HTTP_RATE_LIMIT', DEFAULT_LIMITS.httpRequestsPerMinute, 0, 10_000_000),
      wsFramesPerSecond: integer(env, 'WS_FRAME_RATE', DEFAULT_LIMITS.wsFramesPerSecond, 0, 1_000_000),
      wsFrameBurst: integer(env, 'WS_FRAME_BURST', DEFAULT_LIMITS.wsFrameBurst, 1, 10_000_000),
      maxSocketsPerUser: integer(env, 'MAX_SOCKETS_PER_USER', DEFAULT_LIMITS.maxSocketsPerUser, 0, 1_000_000),
      maxUnauthenticatedSocketsPerAddress: integer(env, 'MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS', DEFAULT_LIMITS.maxUnauthenticatedSocketsPerAddress, 0, 1_000_000),
      maxSubscriptionsPerSocket: integer(env, 'MAX_SUBSCRIPTIONS_PER_SOCKET', DEFAULT_LIMITS.maxSubscriptionsPerSocket, 0, 1_000_000),
      bodyTimeoutMs: integer(env, 'BODY_TIMEOUT_MS', DEFAULT_LIMITS.bodyTimeoutMs, 1000, 3_600_000),
    },
    teams: {
      maxMembersPerDirectory: integer(env, 'MAX_MEMBERS_PER_DIRECTORY', DEFAULT_TEAM_LIMITS.maxMembersPerDirectory, 1, 100_000),
      maxOpenInvitesPerDirectory: integer(env, 'MAX_OPEN_INVITES_PER_DIRECTORY', DEFAULT_TEAM_LIMITS.maxOpenInvitesPerDirectory, 1, 100_000),
      inviteAcceptsPerMinute: integer(env, 'INVITE_ACCEPT_RATE_LIMIT', DEFAULT_TEAM_LIMITS.inviteAcceptsPerMinute, 0, 1_000_000),
    },
    storage: {
      maxDirectoriesPerUser: integer(env, 'MAX_DIRECTORIES_PER_USER', DEFAULT_STORAGE_LIMITS.maxDirectoriesPerUser, 1, 1_000_000),
      maxGoodsPerDirectory: integer(env, 'MAX_GOODS_PER_DIRECTORY', DEFAULT_STORAGE_LIMITS.maxGoodsPerDirectory, 1, 100_000_000),
    },
    webhooks: {
      ...DEFAULT_WEBHOOK_CONFIG,
      allowPrivate: flag(env, 'WEBHOOK_ALLOW_PRIVATE'),
      // At most 5 s: SPEC's first retry comes within 5 s.
      retryBaseMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', DEFAULT_WEBHOOK_CONFIG.retryBaseMs, 1, 5000),
    },
  };
}
