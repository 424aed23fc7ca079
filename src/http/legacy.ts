import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LegacyRoute } from '../contract';
import { AppError } from '../errors';
import { isStorableText } from '../validation';
import { authenticate, type Principal } from '../modules/auth/service';
import type { Services } from '../services';
import { toErrorBody } from './errors';

/**
 * The seed's Django routes: POST with form fields, 200 with JSON, errors as `{error: "<中文>"}`.
 * A refusal the seed knew is thrown as LegacyRefusal and answered as-is.
 */
export class LegacyRefusal extends Error {
  constructor(readonly body: Record<string, string>) {
    super(body.error ?? 'refused');
  }
}

export const refuse = (error: string, extra: Record<string, string> = {}) => new LegacyRefusal({ ...extra, error });

/** The seed's 用户错误 for a `cookie` that names no live session: a refused token, counted against the address. */
class RefusedCookie extends LegacyRefusal {
  constructor() {
    super({ error: '用户错误' });
  }
}

export type LegacyFields = Record<string, string | undefined>;

/** Form fields as text; anything that is not a string (from a JSON body) counts as missing. */
function fieldsOf(request: FastifyRequest): LegacyFields {
  const body = request.body;
  const fields: LegacyFields = {};
  if (typeof body === 'object' && body !== null) {
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') fields[key] = value;
  }
  return fields;
}

/**
 * Registers a legacy route: its POST handler, and the seed's answer to any other method. The form's
 * schema is published but never refuses (`attachValidation`, and the error left unread): the seed's app
 * cannot change, and each handler checks the fields it reads, in the seed's words.
 */
export function legacyRoute(app: FastifyInstance, route: LegacyRoute, handler: (fields: LegacyFields) => Promise<object>): void {
  const { url, schema } = route;
  app.post(url, { schema, attachValidation: true }, async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return await handler(fieldsOf(request));
    } catch (error) {
      // Counted like a refused bearer token (BAD_TOKEN_RATE_LIMIT): guessing cookies is no cheaper.
      if (error instanceof RefusedCookie) request.server.services.refusedTokens.refused(request.ip);
      if (error instanceof LegacyRefusal) return error.body;
      return legacyErrorHandler(error, request, reply);
    }
  });
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url,
    schema: { hide: true },
    handler: async () => ({ error: '仅接受POST请求' }),
  });
}

/**
 * Errors raised before a legacy handler runs (an unparsable body, one over the size limit) in the
 * legacy shape; set on each legacy plugin's scope.
 */
export function legacyErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toErrorBody(error, request.log);
  if (status >= 500) return reply.status(status).send({ error: '服务器繁忙，请稍后再试' });
  return reply.status(status === 413 ? 413 : 200).send({ error: body.message });
}

/** A text field within the limits of its SPEC field, or the seed-style refusal naming it. */
export function legacyText(fields: LegacyFields, name: string, options: { required?: boolean; max: number }): string | undefined {
  const value = fields[name];
  if (value === undefined || value === '') {
    if (options.required) throw refuse(`缺少参数${name}`);
    return undefined;
  }
  if ([...value].length > options.max) throw refuse(`参数${name}过长（最多${options.max}个字符）`);
  if (!isStorableText(value)) throw refuse(`参数${name}含有无法保存的字符`);
  return value;
}

/** The session named by the `cookie` field; the seed answers 用户错误 for a missing or bad one. */
export async function legacyPrincipal(services: Services, cookie: string | undefined): Promise<Principal> {
  if (cookie === undefined || cookie === '') throw refuse('用户错误');
  try {
    return await authenticate(services.orm.em, cookie, services.now());
  } catch (error) {
    if (error instanceof AppError && error.code === 'unauthorized') throw new RefusedCookie();
    throw error;
  }
}
