import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { version } from '../../package.json';

/**
 * Publishes the HTTP API as OpenAPI 3.1 at `GET /openapi.json`, with a browsable reference at `/docs`
 * (swagger-ui's own assets, served from its package). The document is built from the route schemas
 * themselves (`api` and `legacy` in src/contract), so it cannot drift from what the server validates
 * and serializes.
 *
 * A function on the root instance rather than an encapsulated plugin, and called before any route:
 * @fastify/swagger learns the routes from an `onRoute` hook, which sees only the routes registered after
 * it, in its own scope and below.
 */
export async function publishOpenapi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'scancode',
        version,
        description:
          'The real-time inventory server of a barcode and QR code scanning WeChat mini-program. Errors are `{error: {code, message, ...details}}`. The `/ws` protocol is published as AsyncAPI at `/asyncapi.json`.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the token from POST /api/login' } },
      },
      tags: [
        { name: 'auth', description: 'WeChat login, the session and the user' },
        { name: 'directories', description: 'Warehouses and their history' },
        { name: 'goods', description: 'Goods and scans' },
        { name: 'sync', description: 'Catching up after being offline' },
        { name: 'operations', description: 'Health and readiness' },
        { name: 'legacy', description: 'The seed mini-program\'s form routes: always 200 with JSON, refusals as {error: "<中文>"}' },
      ],
    },
    // `/ws` is described by AsyncAPI; as an HTTP operation it would only be a bare GET.
    transform: ({ schema, url, route }) => ({ schema: route.websocket ? { ...schema, hide: true } : schema, url }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
