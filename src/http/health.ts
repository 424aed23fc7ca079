import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { api } from '../contract';
import type { Services } from '../services';

const READY_TIMEOUT_MS = 2000;

/** Whether the database answers `select 1` within READY_TIMEOUT_MS. */
async function databaseAnswers(services: Services): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([services.orm.em.getConnection().execute('select 1'), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('database check timed out')), READY_TIMEOUT_MS)))]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** GET /healthz (the process answers) and GET /readyz (the database and the bus, each checked). */
export function healthRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(api.healthz.url, { schema: api.healthz.schema }, async () => ({ status: 'ok' as const }));
    app.get(api.readyz.url, { schema: api.readyz.schema }, async (request, reply) => {
      const [database, bus] = await Promise.all([databaseAnswers(services), services.bus.healthy()]);
      const checks = { database: database ? ('ok' as const) : ('unavailable' as const), bus: bus ? ('ok' as const) : ('unavailable' as const) };
      if (!database) {
        request.log.warn(checks, 'readiness: the database does not answer');
        return reply.status(503).send({ error: { code: 'unavailable', message: 'the database cannot be reached right now; retry', ...checks } });
      }
      if (!bus) request.log.warn(checks, 'readiness: the bus does not answer');
      return { status: bus ? ('ok' as const) : ('degraded' as const), ...checks };
    });
  };
}
