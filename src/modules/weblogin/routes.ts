import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { normalizeIP } from '@fastify/rate-limit';
import { api } from '../../contract';
import type { ErrorBody } from '../../errors';
import { principalOf, requireAuth } from '../../http/auth';
import type { Services } from '../../services';
import { approveWebLogin, checkWebLogin, createWebLogin, type WebLoginAnswer, type WebLoginContext } from './service';
import { WebLoginWaiters } from './waiters';

const WINDOW_MS = 60_000;

/**
 * Login by scanning: the page asks for a login and polls it, a logged-in phone approves it. A poll
 * holds its request up to `wait` seconds, looking at the database again at each approval heard on the
 * bus and every REVISION_CHECK_MS besides (a lost bus message only delays it).
 */
export function webLoginRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    const ctx = (): WebLoginContext => services.auth();
    const waiters = new WebLoginWaiters(services.bus);
    // A waiting poll would hold the shutdown up for as long as it waits: it answers `pending` at once.
    app.addHook('preClose', async () => waiters.close());

    // Each creation writes a row: counted per client address like logins (LOGIN_RATE_LIMIT), on a counter of its own.
    const perMinute = services.config.limits.loginsPerMinute;
    const limit = perMinute > 0 ? app.createRateLimit({ max: perMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => `web-login:${normalizeIP(request.ip)}` }) : null;

    app.post(
      api.createWebLogin.url,
      {
        schema: api.createWebLogin.schema,
        onRequest: async (request, reply) => {
          const result = limit ? await limit(request) : null;
          if (!result || result.isAllowed || !result.isExceeded) return;
          const retryAfter = Math.max(1, result.ttlInSeconds);
          const error: ErrorBody = { code: 'rate_limited', message: `more than ${perMinute} web logins a minute from this address`, retryAfter };
          return reply.code(429).header('retry-after', String(retryAfter)).send({ error });
        },
      },
      async (_request, reply) => reply.status(201).send(await createWebLogin(ctx())),
    );

    app.get(api.pollWebLogin.url, { schema: api.pollWebLogin.schema }, async (request, reply): Promise<WebLoginAnswer> => {
      const { id } = request.params;
      const { pollToken, wait = 25 } = request.query;
      const deadline = Date.now() + wait * 1000;
      // The page went away (closed, navigated): stop waiting for it. (The response closes when answered too.)
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      for (;;) {
        const armed = waiters.arm(id, gone.signal);
        try {
          const answer = await checkWebLogin(ctx(), id, pollToken);
          const left = deadline - Date.now();
          if (answer.status === 'approved' || left <= 0 || waiters.closing || gone.signal.aborted) return answer;
          await armed.wait(Math.min(left, services.config.revisionCheckMs));
        } finally {
          armed.stop();
        }
      }
    });

    app.post(api.approveWebLogin.url, { schema: api.approveWebLogin.schema, preHandler: requireAuth(services) }, async (request, reply) => {
      await approveWebLogin(ctx(), principalOf(request), request.params.id);
      return reply.status(204).send();
    });
  };
}
