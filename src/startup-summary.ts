import { resolve } from 'node:path';
import { DEFAULT_LIMITS, type Config, type LimitsConfig } from './config';

/** The variable that sets each limit (src/config.ts), for naming the ones an operator changed. */
const LIMIT_VARIABLES: Record<keyof LimitsConfig, string> = {
  loginsPerMinute: 'LOGIN_RATE_LIMIT',
  badTokensPerMinute: 'BAD_TOKEN_RATE_LIMIT',
  httpRequestsPerMinute: 'HTTP_RATE_LIMIT',
  wsFramesPerSecond: 'WS_FRAME_RATE',
  wsFrameBurst: 'WS_FRAME_BURST',
  maxSocketsPerUser: 'MAX_SOCKETS_PER_USER',
  maxUnauthenticatedSocketsPerAddress: 'MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS',
  maxSubscriptionsPerSocket: 'MAX_SUBSCRIPTIONS_PER_SOCKET',
  bodyTimeoutMs: 'BODY_TIMEOUT_MS',
};

/** A mysql:// or redis:// URL as a place: user, hosts and path, never the password. */
export function placeOf(url: string): string {
  return url.replace(/^[a-z]+:\/\/(?:([^:@/]*)(?::[^@/]*)?@)?/i, (_scheme, user: string | undefined) => (user ? `${user}@` : ''));
}

export interface StartupFacts {
  /** The embedded database's absolute path, or the MySQL server and database. */
  database: { kind: 'sqlite' | 'mysql'; location: string };
  /** The migrations this start applied, oldest first. */
  migrations: string[];
  bus: { kind: 'in-process' } | { kind: 'redis'; location: string; channel: string };
  /** Limits set to other than their defaults, by variable. */
  limits: Record<string, number>;
  devLogin: boolean;
}

/**
 * What an operator checks first in the log of a start, in one line and as fields: which database and
 * where, which migrations this start applied, which bus, which limits were changed, and whether logins
 * are real. A wrong DATABASE_URL or a forgotten REDIS_URL shows here rather than in the data.
 */
export function startupSummary(config: Config, migrations: string[]): { facts: StartupFacts; line: string } {
  const database = config.database.kind === 'sqlite' ? { kind: 'sqlite' as const, location: resolve(config.database.path) } : { kind: 'mysql' as const, location: placeOf(config.database.url) };
  const bus = config.redisUrl === null ? { kind: 'in-process' as const } : { kind: 'redis' as const, location: placeOf(config.redisUrl), channel: config.redisChannel };
  const limits: Record<string, number> = {};
  for (const key of Object.keys(LIMIT_VARIABLES) as Array<keyof LimitsConfig>) {
    if (config.limits[key] !== DEFAULT_LIMITS[key]) limits[LIMIT_VARIABLES[key]] = config.limits[key];
  }
  const facts: StartupFacts = { database, migrations, bus, limits, devLogin: config.wechat.devLogin };

  const changed = Object.entries(limits).map(([variable, value]) => `${variable}=${value}`);
  const line = [
    `database ${database.kind} ${database.location}`,
    migrations.length === 0 ? 'migrations: none to apply' : `migrations applied: ${migrations.join(', ')}`,
    bus.kind === 'redis' ? `bus redis ${bus.location} (channel ${bus.channel})` : 'bus in-process (one instance)',
    changed.length === 0 ? 'limits: defaults' : `limits: ${changed.join(', ')}`,
    `dev login ${facts.devLogin ? 'ON' : 'off'}`,
  ].join('; ');
  return { facts, line: `starting: ${line}` };
}
