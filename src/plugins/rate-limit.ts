import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import rateLimit, { normalizeIP, type CreateRateLimitOptions } from '@fastify/rate-limit';
import type { Config } from '../config';
import type { RefusedTokens } from '../modules/auth/refused-tokens';
import { legacy } from '../contract';
import type { ErrorBody } from '../errors';
import { bearerToken } from '../http/auth';

/**
 * HTTP rate limits, counted by @fastify/rate-limit in this process (a window of one minute each):
 *
 * - logins (`POST /api/login` and the legacy `/login/`) per client address, LOGIN_RATE_LIMIT: each
 *   one calls WeChat, so a flood from one place must not become a flood at WeChat's door;
 * - every other `/api` and legacy request per session token (the legacy forms carry theirs as
 *   `cookie`), HTTP_RATE_LIMIT; a request without one counts against its address;
 * - `/api` and legacy requests with a token that belongs to no live session, from an address that sent
 *   too many refused ones (BAD_TOKEN_RATE_LIMIT, counted with the WebSocket's and the legacy cookies'
 *   in RefusedTokens), before their token is looked up; valid tokens from that address go on.
 *
 * Health, readiness, metrics, the documents and the `/ws` upgrade are never limited (the gateway has
 * its own limits). A refusal is 429 with `Retry-After`: SPEC's `rate_limited` with `retryAfter` on
 * `/api`, the seed's `{error: "<中文>"}` on the legacy routes, whose app shows that text.
 */

/** Every limit a refusal is counted under in /metrics. */
export const LIMITS = ['login', 'http', 'bad_token', 'body_timeout', 'ws_frames', 'ws_sockets', 'ws_subscriptions', 'ws_unauthenticated'] as const;
export type Limit = (typeof LIMITS)[number];

/** Refusals by limit, reported to the metrics plugin (which sets `observer`). */
export class LimitRefusals {
  observer: ((limit: Limit) => void) | undefined = undefined;

  count(limit: Limit): void {
    this.observer?.(limit);
  }
}

const WINDOW_MS = 60_000;
/** Keys (addresses, tokens) each limiter remembers, least recently seen forgotten first. */
const REMEMBERED_KEYS = 100_000;

type Check = ReturnType<FastifyInstance['createRateLimit']>;
type Answer = (reply: FastifyReply, retryAfter: number) => FastifyReply;

/** `/api`: SPEC's error. */
const apiAnswer =
  (message: string): Answer =>
  (reply, retryAfter) => {
    const error: ErrorBody = { code: 'rate_limited', message, retryAfter };
    return reply.code(429).send({ error });
  };

/** The legacy routes: the seed's shape, in words its app can show; the status says 429 all the same. */
const legacyAnswer =
  (words: string): Answer =>
  (reply, retryAfter) =>
    reply.code(429).send({ error: `${words}过于频繁，请${retryAfter}秒后再试` });

/** The session token a request carries: the bearer token, or a legacy form's `cookie`. */
function tokenOf(request: FastifyRequest): string | null {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== null) return bearer;
  const body = request.body as { cookie?: unknown } | undefined;
  return typeof body?.cookie === 'string' && body.cookie !== '' ? body.cookie : null;
}

const addressKey = (request: FastifyRequest) => `ip:${normalizeIP(request.ip)}`;

/**
 * Registers the limits on the root instance, before any route: an `onRoute` hook gives each route
 * registered after it the check that applies to it.
 */
export async function limitRequests(app: FastifyInstance, config: Config, refusals: LimitRefusals, refusedTokens: RefusedTokens): Promise<void> {
  const { loginsPerMinute, httpRequestsPerMinute } = config.limits;
  // The plugin's own per-route hooks are not used (global: false): a refusal must answer in two
  // shapes, and the legacy routes' token is in the body, read after it is parsed.
  await app.register(rateLimit, { global: false });
  const limiter = (max: number, keyGenerator: (request: FastifyRequest) => string): Check | null => {
    if (max === 0) return null;
    const options: CreateRateLimitOptions & { cache: number } = { max, timeWindow: WINDOW_MS, keyGenerator, cache: REMEMBERED_KEYS };
    return app.createRateLimit(options);
  };
  const logins = limiter(loginsPerMinute, addressKey);
  const requests = limiter(httpRequestsPerMinute, (request) => {
    const token = tokenOf(request);
    return token === null ? addressKey(request) : `token:${token}`;
  });

  const hook = (check: Check, limit: Limit, answer: Answer) => async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return;
    refusals.count(limit);
    const retryAfter = Math.max(1, result.ttlInSeconds);
    request.log.info({ limit, retryAfter }, 'rate limited');
    return answer(reply.header('retry-after', String(retryAfter)), retryAfter);
  };

  /**
   * First of all: past BAD_TOKEN_RATE_LIMIT, a token from that address that belongs to no live session
   * is refused before it costs a lookup (a valid one goes on).
   */
  const badTokens = (answer: (reply: FastifyReply, refusal: ErrorBody & { retryAfter: number }) => FastifyReply) => async (request: FastifyRequest, reply: FastifyReply) => {
    const token = tokenOf(request);
    if (token === null) return;
    const refusal = await refusedTokens.refusal(request.ip, token, app.services.orm.em);
    if (refusal === null) return;
    refusals.count('bad_token');
    request.log.info({ limit: 'bad_token', retryAfter: refusal.retryAfter }, 'rate limited');
    return answer(reply.code(429).header('retry-after', String(refusal.retryAfter)), refusal);
  };
  const apiBadTokens = badTokens((reply, refusal) => reply.send({ error: refusal }));
  // The seed's app shows the `error` text of any answer: 用户错误, as for each refused cookie, with the wait.
  const legacyBadTokens = badTokens((reply, refusal) => reply.send({ error: `用户错误次数过多，请${refusal.retryAfter}秒后再试` }));
  // A token refused (401 with a token sent) counts against its address; a legacy form's refused
  // `cookie` is counted where its 用户错误 is answered (src/http/legacy.ts).
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401 && bearerToken(request.headers.authorization) !== null) refusedTokens.refused(request.ip);
  });

  const prefixes = [...new Set(['', config.legacyPrefix])];
  const legacyLogins = new Set(prefixes.map((prefix) => prefix + legacy.login.url));
  const legacyForms = new Set(Object.values(legacy).flatMap((route) => prefixes.map((prefix) => prefix + route.url)));

  app.addHook('onRoute', (route: RouteOptions) => {
    const url = route.url;
    if (url === '/api/login' || legacyLogins.has(url)) {
      const answer = url === '/api/login' ? apiAnswer(`more than ${loginsPerMinute} logins a minute from this address`) : legacyAnswer('登录');
      if (logins) addHook(route, 'onRequest', hook(logins, 'login', answer));
    } else if (legacyForms.has(url)) {
      // After the body is parsed: the token is its `cookie` field.
      if (requests) addHook(route, 'preHandler', hook(requests, 'http', legacyAnswer('请求')));
      addHook(route, 'preHandler', legacyBadTokens);
    } else if (url.startsWith('/api/')) {
      if (requests) addHook(route, 'onRequest', hook(requests, 'http', apiAnswer(`more than ${httpRequestsPerMinute} requests a minute with this token`)));
      addHook(route, 'onRequest', apiBadTokens);
    }
  });
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Runs `hook` first among the route's own hooks of that kind (before authentication, for instance). */
function addHook(route: RouteOptions, name: 'onRequest' | 'preHandler', hook: Hook): void {
  const own = route[name];
  const existing = own === undefined ? [] : Array.isArray(own) ? own : [own];
  route[name] = [hook, ...existing] as RouteOptions[typeof name];
}
