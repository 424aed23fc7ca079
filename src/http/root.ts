import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

const DASHBOARD = '/app/';
const DOCS = '/docs';

/** Whether a dashboard is served at /app/ (a static plugin registers `/app/` or `/app/*`). */
const dashboardServed = (app: FastifyInstance) => app.hasRoute({ method: 'GET', url: DASHBOARD }) || app.hasRoute({ method: 'GET', url: `${DASHBOARD}*` });

/**
 * `GET /` leads somewhere: to the dashboard when one is served, else to the API's reference, where
 * a newcomer who opened the server's address in a browser finds what it answers. Asked at each
 * request, so that the order in which the routes are registered does not matter.
 */
export const rootRoute: FastifyPluginAsync = async (app) => {
  app.get(
    '/',
    {
      schema: {
        summary: 'Where to start: the dashboard (/app/) when it is served, else this reference (/docs)',
        tags: ['operations'],
        response: { 302: { type: 'null', description: 'Location: /app/ or /docs' } },
      },
    },
    async (_request, reply) => reply.redirect(dashboardServed(app) ? DASHBOARD : DOCS, 302),
  );
};
