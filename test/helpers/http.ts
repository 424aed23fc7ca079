import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ErrorResponse } from '../../src/contract';

/**
 * A small JSON client over real HTTP (fetch), so tests read as requests and answers. Every answer is
 * checked against the OpenAPI document the server publishes: an answer the document does not allow
 * fails the request, so that every test also proves the published contract.
 */
export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export async function request<T = any>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    // A body of another type (a CSV file) names its own.
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if (isJson(response.headers) && text !== '') parsed = JSON.parse(text);
  const answer = { status: response.status, body: parsed as T, headers: response.headers, text };
  await checkAgainstDocument(baseUrl, method, path, answer);
  return answer;
}

/** Binds request() to one server and, optionally, one token. */
export function client(baseUrl: string, token?: string) {
  const call =
    (method: string) =>
    <T = any>(path: string, options: Omit<RequestOptions, 'token'> & { token?: string } = {}) =>
      request<T>(baseUrl, method, path, { token, ...options });
  return { get: call('GET'), post: call('POST'), patch: call('PATCH'), delete: call('DELETE'), put: call('PUT') };
}

// ---- the published contract ----

const isJson = (headers: Headers) => (headers.get('content-type') ?? '').includes('json');

interface MediaType {
  schema?: unknown;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
interface Operation {
  responses?: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  paths?: Record<string, Record<string, Operation>>;
}

/** One server's document: its operations found by method and path, their schemas compiled once. */
class PublishedDocument {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  private readonly compiled = new Map<string, ValidateFunction>();
  /** `/api/directories/{id}/goods/{code}` as a pattern over a request's (percent-encoded) path; fewest parameters first. */
  private readonly templates: { template: string; pattern: RegExp; parameters: number }[];

  constructor(private readonly document: OpenApiDocument) {
    // The whole document under one id, so that a schema's `$ref`s into components resolve (it is not
    // itself a schema, hence no meta-schema check).
    this.ajv.addSchema(document as object, 'openapi.json', undefined, false);
    this.templates = Object.keys(document.paths ?? {})
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template
            .split(/\{[^}]+\}/)
            .map(escapeRegExp)
            .join('[^/]+')}$`,
        ),
        parameters: (template.match(/\{/g) ?? []).length,
      }))
      .sort((a, b) => a.parameters - b.parameters);
  }

  /** The operation that answers `method path`, with the pointer to it in the document. */
  operation(method: string, path: string): { pointer: string; operation: Operation } | null {
    const pathname = path.split('?')[0];
    const lower = method.toLowerCase();
    for (const { template, pattern } of this.templates) {
      if (!pattern.test(pathname)) continue;
      const operation = this.document.paths?.[template]?.[lower];
      if (operation) return { pointer: `#/paths/${pointerEscape(template)}/${lower}`, operation };
    }
    return null;
  }

  /** The validator of the schema at a JSON pointer into the document (its `$ref`s resolve in the document). */
  validator(pointer: string): ValidateFunction {
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json${pointer}` });
      this.compiled.set(pointer, validate);
    }
    return validate;
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One key as a segment of a JSON pointer in a URI fragment (`{id}` must be percent-encoded there). */
const pointerEscape = (key: string) => encodeURIComponent(key.replace(/~/g, '~0').replace(/\//g, '~1'));

const documents = new Map<string, Promise<PublishedDocument>>();

/** The document of the server at `baseUrl`, fetched once per server. */
function publishedDocument(baseUrl: string): Promise<PublishedDocument> {
  let document = documents.get(baseUrl);
  if (!document) {
    document = fetch(`${baseUrl}/openapi.json`).then(async (response) => {
      if (response.status !== 200) throw new Error(`GET ${baseUrl}/openapi.json answered ${response.status}`);
      return new PublishedDocument((await response.json()) as OpenApiDocument);
    });
    // A server that was not up yet must not leave a failure behind for the next request.
    document.catch(() => documents.delete(baseUrl));
    documents.set(baseUrl, document);
  }
  return document;
}

const errorShape = addFormats(new Ajv2020({ strict: false, allErrors: true })).compile(ErrorResponse);

/**
 * Fails unless the document allows this answer. The response is the one declared for its exact status,
 * else for its class (`4XX`), else `default`; a JSON body must validate against its schema, any other
 * body (CSV, the empty 204) must come with a content type the response declares (none for no content).
 *
 * A request the document lists no operation for (an unknown route in a 404 test, /openapi.json itself,
 * /docs, a legacy route's other methods) is held to one rule only, SPEC's: an answer of 400 or more is
 * `{error: {code, message}}`.
 */
async function checkAgainstDocument(baseUrl: string, method: string, path: string, answer: Answer): Promise<void> {
  const document = await publishedDocument(baseUrl);
  const found = document.operation(method, path);
  const fail = (problem: string) => {
    throw new Error(`${method} ${path} answered ${answer.status}, which the published OpenAPI document does not allow: ${problem}\nbody: ${answer.text.slice(0, 2000)}`);
  };
  if (!found) {
    if (answer.status >= 400 && !errorShape(answer.body)) fail(`not SPEC's error shape: ${describe(errorShape.errors)}`);
    return;
  }
  const responses = found.operation.responses ?? {};
  const status = String(answer.status);
  const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in responses);
  if (key === undefined) return fail(`no response is declared for it (declared: ${Object.keys(responses).join(', ')})`);
  const content = responses[key].content ?? {};
  const contentType = (answer.headers.get('content-type') ?? '').split(';')[0].trim();
  if (Object.keys(content).length === 0) {
    if (answer.text !== '') fail(`response ${key} declares no content, but a body came (${contentType})`);
    return;
  }
  if (!(contentType in content)) return fail(`content type "${contentType}" is not one of ${Object.keys(content).join(', ')}`);
  if (!isJson(answer.headers) || content[contentType].schema === undefined) return;
  const validate = document.validator(`${found.pointer}/responses/${key}/content/${pointerEscape(contentType)}/schema`);
  if (!validate(answer.body)) fail(`the body does not match response ${key}: ${describe(validate.errors)}`);
}

const describe = (errors: ErrorObject[] | null | undefined) => (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
