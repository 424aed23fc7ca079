import { createRequire } from 'node:module';
import { badRequest } from '../errors';

/**
 * The form decoder @fastify/formbody uses (fast-querystring), resolved from the plugin itself, so that
 * every form, the seed app's above all, is read exactly as before.
 */
const decodeForm = (createRequire(require.resolve('@fastify/formbody'))('fast-querystring') as { parse(text: string): Record<string, unknown> }).parse;

/** JSON.parse, refusing what fastify's JSON parser refuses (`__proto__`, `constructor.prototype`). */
function parseJsonObject(text: string): Record<string, unknown> {
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value)) {
      throw badRequest('the body must not set __proto__ or constructor.prototype');
    }
    return value;
  });
}

/**
 * `application/x-www-form-urlencoded` bodies: `curl -d '{"op":"in",...}'` sends JSON with this type
 * (curl's default), which read as a form is one field named after the whole text, and the answer was
 * `op is required` for a body that plainly holds `op`. A body that is a JSON object (it starts with `{`,
 * which no encoded form does: the seed app's and browsers' forms encode it as `%7B`) is read as JSON;
 * one that starts with `{` and does not parse is refused naming the content type to send. Every other
 * body is a form, as before.
 */
export function formOrJson(text: string): Record<string, unknown> {
  if (!text.trimStart().startsWith('{')) return decodeForm(text);
  try {
    return parseJsonObject(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw badRequest('the body starts like JSON but is not valid JSON; send JSON with Content-Type: application/json');
    throw error;
  }
}
