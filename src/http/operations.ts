import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
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
  // A body sent as it is (a CSV file) is the input's field of that name; its schema is that field's.
  const rawBody = def.http?.consumes === 'text/csv' ? { consumes: ['text/csv'], body: (def.input as unknown as { properties: Record<string, TSchema> }).properties.csv } : null;
  const role = def.role === null ? 'Any logged-in user.' : `Needs the role \`${def.role}\` or higher in the directory (a stranger gets \`directory_not_found\`, a lower role \`forbidden\`).`;
  const socket = def.socket ? ` Also the socket request \`{type: "${name}", id, ...}\`.` : '';
  return {
    summary: def.summary,
    description: `${def.description ? `${def.description} ` : ''}${role}${socket}`,
    tags: def.tags,
    security: bearer,
    ...(params.length > 0 ? { params: onlyFields(def.input, params) } : {}),
    ...(def.http?.method === 'GET' ? { querystring: rest } : rawBody ? { querystring: NoQuery, ...rawBody } : { querystring: NoQuery, body: rest }),
    response: { [status]: status === 204 ? NoContent : def.result, '4xx': ErrorResponse, '5xx': ErrorResponse },
  };
}

/** Every operation of the table that lives on HTTP, as a route: a few lines over `runOperation`. */
export function operationRoutes(services: Services) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('preHandler', requireAuth(services));
    // A CSV file is read as text; the route that takes one raises the body limit for itself only.
    app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    for (const name of Object.keys(operations) as OperationName[]) {
      const def: OperationDef = operations[name];
      const http = def.http;
      if (!http) continue;
      app.route({
        method: http.method,
        url: http.url,
        schema: routeSchema(name),
        ...(http.method === 'GET' || http.consumes ? {} : { preValidation: noBodyIsEmpty }),
        ...(http.bodyLimit ? { bodyLimit: http.bodyLimit } : {}),
        handler: async (request, reply) => {
          const { userId, deviceId } = principalOf(request);
          const fields = request.method === 'GET' ? (request.query as object) : http.consumes === 'text/csv' ? { csv: request.body } : (request.body as object);
          const input = { ...fields, ...(request.params as object) };
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
