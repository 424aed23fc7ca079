import Ajv, { type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { PATTERN_RULES, STORED_TEXT_PATTERN, WEB_URL_PATTERN } from './contract';

/**
 * The one validator of every input (HTTP bodies, params and query strings, WebSocket frames) and the one
 * style of message for its refusals: the field is named first, then what it must be.
 */

/**
 * Bodies and frames are never coerced: a number where a string belongs is refused naming the field.
 * Params and query strings arrive as text and are coerced to the schema's types.
 */
export function createAjv(options: { coerce: boolean }): Ajv {
  const settings: Options = {
    coerceTypes: options.coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    // Ajv does not know OpenAPI's annotations (`discriminator` aside); they describe, they do not validate.
    strict: false,
    discriminator: true,
    // Keeps the failing schema on each error, so that a message can list a union's allowed values.
    verbose: true,
    // Patterns run in Unicode mode: a surrogate pair is one code point, a lone surrogate matches \uD800-\uDFFF.
    unicodeRegExp: true,
    // `format` (date-time on answers) is documentation here; inputs carry none.
    validateFormats: false,
  };
  return new Ajv(settings);
}

/** `events.3.qty`: a JSON pointer as the dotted path a developer would write. */
function fieldOf(error: ErrorObject, root: string): string {
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.').replace(/~1/g, '/').replace(/~0/g, '~');
  return path === '' ? root : path;
}

const join = (parent: string, child: string, root: string) => (parent === root ? child : `${parent}.${child}`);

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const typeName = (type: string) => (type === 'object' ? 'JSON object' : type);

/** One readable sentence for the first error: `op must be one of "in", "out", "set"`, `quantity is not a known field`. */
export function describeErrors(errors: readonly ErrorObject[], root = 'request'): string {
  // A failed anyOf reports each branch, then itself; its own error reads best.
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  if (!error) return `${root} is invalid`;
  const field = fieldOf(error, root);
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${join(field, String(params.additionalProperty), root)} is not a known field`;
    case 'required':
      return `${join(field, String(params.missingProperty), root)} is required`;
    case 'type':
      return `${field} must be ${String(params.type)
        .split(',')
        .map((t) => article(typeName(t)))
        .join(' or ')}`;
    case 'minimum':
      return `${field} must be at least ${String(params.limit)}`;
    case 'maximum':
      return `${field} must be at most ${String(params.limit)}`;
    case 'minLength':
      return params.limit === 1 ? `${field} must not be empty` : `${field} must be at least ${String(params.limit)} characters`;
    case 'maxLength':
      return `${field} must be at most ${String(params.limit)} characters`;
    case 'maxItems':
      return `${field} must have at most ${String(params.limit)} items`;
    case 'pattern':
      return `${field} must be ${PATTERN_RULES[String(params.pattern)] ?? `text matching ${String(params.pattern)}`}`;
    case 'const':
      return `${field} must be ${JSON.stringify(params.allowedValue)}`;
    case 'enum':
      return `${field} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'discriminator': {
      // The tag is missing, not a string, or names no branch: list the values it may take.
      const tag = String(params.tag);
      const branches = (parent.oneOf ?? []) as { properties?: Record<string, { const?: unknown }> }[];
      const values = branches.map((b) => JSON.stringify(b.properties?.[tag]?.const)).join(', ');
      return `${join(field, tag, root)} must be one of ${values}`;
    }
    case 'anyOf': {
      const branches = (error.schema ?? []) as { const?: unknown; type?: string }[];
      if (branches.every((b) => b.const !== undefined)) return `${field} must be one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
      return `${field} must be ${branches.map((b) => article(typeName(b.type ?? 'value'))).join(' or ')}`;
    }
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

export type Validated<T> = { ok: true; value: T } | { ok: false; message: string };

/** A compiled check of one schema that answers with the value or the sentence of its refusal. */
export function validator<T>(ajv: Ajv, schema: TSchema, root: string): (value: unknown) => Validated<T> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value) => (validate(value) ? { ok: true, value: value as T } : { ok: false, message: describeErrors(validate.errors ?? [], root) });
}

const STORABLE = new RegExp(STORED_TEXT_PATTERN, 'u');

/** True when the text can be stored exactly (no NUL, no unpaired surrogate): for inputs no schema checks (form fields). */
export function isStorableText(text: string): boolean {
  return STORABLE.test(text);
}

const WEB_URL = new RegExp(WEB_URL_PATTERN, 'u');

/** True for an http(s) URL or empty text: the only avatar URLs stored and served (a profile's included). */
export function isWebUrl(text: string): boolean {
  return WEB_URL.test(text);
}
