import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf, requireAuth } from '../../http/auth';
import type { Services } from '../../services';
import { EventId } from '../inventory/schemas';
import { login, logout, me, updateMe } from './service';

const WechatText = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const LoginBody = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 256 }),
  encryptedData: Type.Optional(WechatText(65536)),
  // The seed's mini-program spells it in lower case.
  encrypteddata: Type.Optional(WechatText(65536)),
  iv: Type.Optional(WechatText(64)),
  rawData: Type.Optional(WechatText(65536)),
  signature: Type.Optional(WechatText(64)),
  deviceId: Type.Optional(EventId),
});

const MeBody = Type.Object({ nickname: Type.Optional(Type.String({ maxLength: 100 })), avatarUrl: Type.Optional(Type.String({ maxLength: 1000 })) });

/** POST /api/login, /api/logout, GET and PATCH /api/me (SPEC: HTTP API). */
export function authRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/api/login', { schema: { body: LoginBody } }, async (request) => {
      const { encrypteddata, encryptedData, ...rest } = request.body;
      const result = await login(services.auth(), { ...rest, encryptedData: encryptedData ?? encrypteddata });
      const { token, expiresAt, user, directories } = result;
      return { token, expiresAt, user, directories };
    });

    const authed = { preHandler: requireAuth(services) };

    app.post('/api/logout', authed, async (request, reply) => {
      await logout(services.auth(), principalOf(request));
      return reply.status(204).send();
    });

    app.get('/api/me', authed, async (request) => me(services.em(), principalOf(request).userId));

    app.patch('/api/me', { ...authed, schema: { body: MeBody } }, async (request) => ({
      user: await updateMe(services.em(), principalOf(request).userId, request.body, services.now()),
    }));
  };
}
