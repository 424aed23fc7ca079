import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../errors';
import { authenticate, type Principal } from '../modules/auth/service';
import type { Services } from '../services';

/** The token from `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

/** A preHandler that admits only requests with a valid session token, and records who sent them. */
export function requireAuth(services: Services) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (token === null) throw unauthorized('missing Authorization: Bearer token');
    request.principal = await authenticate(services.orm.em, token, services.now());
  };
}

/** The principal set by requireAuth; routes behind it can rely on it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
