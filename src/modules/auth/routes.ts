import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { api } from '../../contract';
import { principalOf, requireAuth } from '../../http/auth';
import type { Services } from '../../services';
import { login, logout, me, updateMe } from './service';

/** POST /api/login, /api/logout, GET and PATCH /api/me: schemas from the contract, work in the service. */
export function authRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(api.login.url, { schema: api.login.schema }, async (request) => {
      const { encrypteddata, encryptedData, ...rest } = request.body;
      const result = await login(services.auth(), { ...rest, encryptedData: encryptedData ?? encrypteddata });
      const { token, expiresAt, user, directories } = result;
      return { token, expiresAt, user, directories };
    });

    const authed = { preHandler: requireAuth(services) };

    app.post(api.logout.url, { ...authed, schema: api.logout.schema }, async (request, reply) => {
      await logout(services.auth(), principalOf(request));
      return reply.status(204).send();
    });

    app.get(api.me.url, { ...authed, schema: api.me.schema }, async (request) => me(services.em(), principalOf(request).userId));

    app.patch(api.editMe.url, { ...authed, schema: api.editMe.schema }, async (request) => ({
      user: await updateMe(services.em(), principalOf(request).userId, request.body, services.now()),
    }));
  };
}
