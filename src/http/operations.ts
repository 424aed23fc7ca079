import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorResponse, NoContent, NoQuery, bearer, onlyFields, operations, pathFields, withoutFields, type OperationDef, type OperationName } from '../contract';
import { runOperation } from '../operations';
import type { Services } from '../services';
import { principalOf, requireAuth } from './auth';

/** A DELETE or a POST of an action usually has no body; its schema (an optional event id, or nothing) then reads it as `{}`. */
async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

/** An operation's HTTP route, derived from its entry: URL fields are params, the rest the query (GET) or the body. */
export function routeSchema(name: OperationName) {
  const def: OperationDef = operations[name];
  const params = pathFields(def.http?.url ?? '');
  const rest = withoutFields(def.input, params);
  const status = def.http?.status ?? 200;
  const role = def.role === null ? 'Any logged-in user.' : `Needs the role \`${def.role}\` or higher in the directory (a stranger gets \`directory_not_found\`, a lower role \`forbidden\`).`;
  const socket = def.socket ? ` Also the socket request \`{type: "${name}", id, ...}\`.` : '';
  return {
    summary: def.summary,
    description: `${def.description ? `${def.description} ` : ''}${role}${socket}`,
    tags: def.tags,
    security: bearer,
    ...(params.length > 0 ? { params: onlyFields(def.input, params) } : {}),
    ...(def.http?.method === 'GET' ? { querystring: rest } : { querystring: NoQuery, body: rest }),
    response: { [status]: status === 204 ? NoContent : def.result, '4xx': ErrorResponse, '5xx': ErrorResponse },
  };
}

/** Every operation of the table that lives on HTTP, as a route: a few lines over `runOperation`. */
export function operationRoutes(services: Services) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('preHandler', requireAuth(services));
    for (const name of Object.keys(operations) as OperationName[]) {
      const def: OperationDef = operations[name];
      const http = def.http;
      if (!http) continue;
      app.route({
        method: http.method,
        url: http.url,
        schema: routeSchema(name),
        ...(http.method === 'GET' ? {} : { preValidation: noBodyIsEmpty }),
        handler: async (request, reply) => {
          const { userId, deviceId } = principalOf(request);
          const input = { ...(request.method === 'GET' ? (request.query as object) : (request.body as object)), ...(request.params as object) };
          const result = (await runOperation(services, name, { userId, deviceId }, input as never)) as unknown;
          if (http.produces === 'text/csv') {
            const csv = result as { filename: string; body: unknown };
            return reply
              .header('content-type', 'text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="export.csv"; filename*=UTF-8''${encodeURIComponent(csv.filename)}`)
              .send(csv.body);
          }
          if (http.status === 204) return reply.status(204).send();
          return reply.status(http.status).send(result);
        },
      });
    }
  };
}
