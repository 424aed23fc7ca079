import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { api } from '../contract';
import type { Services } from '../services';

const READY_TIMEOUT_MS = 2000;

/** GET /healthz (the process answers) and GET /readyz (the database answers too, else 503). */
export function healthRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(api.healthz.url, { schema: api.healthz.schema }, async () => ({ status: 'ok' as const }));
    app.get(api.readyz.url, { schema: api.readyz.schema }, async (request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          services.orm.em.getConnection().execute('select 1'),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('database check timed out')), READY_TIMEOUT_MS))),
        ]);
        return { status: 'ok' as const };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply.status(503).send({ error: { code: 'unavailable', message: 'the database cannot be reached right now; retry' } });
      } finally {
        clearTimeout(timer);
      }
    });
  };
}
