import fc from 'fast-check';
import { api, legacy, operations, type OperationName } from '../../src/contract';

/** Every HTTP route: the non-operation routes of `api`, and every operation of the table that lives on HTTP. */
const ROUTES: Record<string, { method: string; url: string }> = {
  ...Object.fromEntries(Object.entries(api).map(([name, route]) => [name, { method: route.method, url: route.url }])),
  ...Object.fromEntries(
    (Object.keys(operations) as OperationName[]).flatMap((name) => {
      const http = operations[name].http;
      return http ? [[name, { method: http.method, url: http.url }]] : [];
    }),
  ),
};
type RouteName = keyof typeof api | OperationName;
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { createDirectory, scan, signIn, type TestUser } from '../helpers/inventory';
import {
  DIR,
  DIR_NAME,
  KNOWN_CODES,
  OTHER_DIR,
  OTHER_TOKEN,
  SEED,
  TOKEN,
  codeish,
  dirIdish,
  eventIdish,
  fill,
  garbageText,
  hostileNumber,
  hostileString,
  jsonText,
  junk,
  mutated,
  specErrorProblem,
  validScanFields,
  type Live,
} from './arbitraries';

/**
 * Hostile HTTP input on every route of the contract, the legacy form routes (under /scan and at the
 * root) and paths no route knows, on each database: valid requests spoiled (wrong types, extra and
 * missing keys, `__proto__`, NUL, lone surrogates, numbers out of range, huge text), bad JSON, wrong
 * content types, bad percent-escapes, odd methods, missing or garbage tokens. Whatever comes, the server
 * answers: never 500, no 5xx but 503 `unavailable` (and 502 `wechat_unavailable` from a login), every
 * error in SPEC's shape with a code of the contract and its status (the legacy routes' `{error: "..."}`
 * there), and it still answers /healthz at the end.
 *
 * Sent with fetch rather than test/helpers/http.ts: request() holds every answer to the published
 * OpenAPI document, and these requests are broken on purpose; the shape of errors is checked here.
 */

const CASES = 400;

interface HttpCase {
  method: string;
  /** Path and query, with placeholders. */
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: string | null;
}

// ---- generating requests ----

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'SEARCH', 'QUERY', 'MERGE'];
/** Methods node's HTTP parser itself refuses: a small share of the cases. */
const UNPARSABLE_METHODS = ['FOO', 'BREW', 'XYZZY'];
const anyMethod = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.constantFrom(...UNPARSABLE_METHODS) });

/** Percent-encodes the UTF-8 of a text (encodeURIComponent throws on a lone surrogate; Buffer makes it U+FFFD). */
const percentEncoded = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** A path segment: encoded as a client should, or raw, or with a broken escape. */
const segment = (value: fc.Arbitrary<unknown>) =>
  fc.tuple(value, fc.constantFrom('encoded', 'encoded', 'encoded', 'raw', 'bad-escape')).map(([v, how]) => {
    const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    if (text === DIR || text === OTHER_DIR) return text;
    if (how === 'raw') return text.replace(/[/?#]/g, '');
    if (how === 'bad-escape') return `${percentEncoded(text)}%${['', 'z', 'E0%A4', 'ED%A0%80', 'C0%AF', 'FF'][text.length % 6]}`;
    return percentEncoded(text);
  });

const queryString = (value: fc.Arbitrary<unknown>) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: value.map((v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return `?${percentEncoded(JSON.stringify(v) ?? '')}`;
        const params = new URLSearchParams();
        for (const [key, inner] of Object.entries(v)) params.append(key, typeof inner === 'string' ? inner : (JSON.stringify(inner) ?? ''));
        const text = params.toString();
        return text === '' ? '' : `?${text}`;
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('?', '?&&', '?=', '?%zz', '?since=1&since=2', '?limit=1&limit=x', '?q=%00', '?q=%ED%A0%80', '?since[]=1', '?since[a]=1', '?__proto__[x]=1', '?constructor=1'),
    },
  );

/** How a body travels: JSON mostly, else a form, no content type, a wrong one, garbage, or over 1 MiB. */
type Encoding = 'json' | 'form' | 'none' | 'untyped' | 'wrong-type' | 'garbage' | 'huge';
const encoding = fc.constantFrom<Encoding>('json', 'json', 'json', 'json', 'json', 'json', 'form', 'none', 'untyped', 'wrong-type', 'garbage');
const WRONG_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/vnd.api+json',
  '*/*',
  'garbage',
  'application/x-www-form-urlencoded; charset=latin1',
];

function encodedBody(value: fc.Arbitrary<unknown>): fc.Arbitrary<Pick<HttpCase, 'contentType' | 'body'>> {
  return fc
    .tuple(fc.oneof({ weight: 60, arbitrary: encoding }, { weight: 1, arbitrary: fc.constant<Encoding>('huge') }), jsonText(value), garbageText, fc.constantFrom(...WRONG_TYPES), value)
    .map(([how, json, garbage, wrongType, raw]) => {
      switch (how) {
        case 'json':
          return { contentType: 'application/json', body: json };
        case 'form': {
          const params = new URLSearchParams();
          if (typeof raw === 'object' && raw !== null) for (const [key, inner] of Object.entries(raw)) params.append(key, typeof inner === 'string' ? inner : (JSON.stringify(inner) ?? ''));
          return { contentType: 'application/x-www-form-urlencoded', body: params.toString() };
        }
        case 'none':
          return { contentType: null, body: null };
        case 'untyped':
          return { contentType: null, body: json };
        case 'wrong-type':
          return { contentType: wrongType, body: json };
        case 'garbage':
          return { contentType: 'application/json', body: garbage };
        case 'huge':
          return { contentType: 'application/json', body: JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }) };
      }
    });
}

const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
const authorization: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  { weight: 1, arbitrary: fc.constant(`Bearer ${OTHER_TOKEN}`) },
  { weight: 2, arbitrary: fc.constant(null) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Bearer  x',
      `bearer ${TOKEN}`,
      `Bearer ${TOKEN} extra`,
      `Bearer  ${TOKEN}`,
      `Token ${TOKEN}`,
      'Basic dXNlcjpwYXNz',
      `Bearer ${'a'.repeat(600)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, 5)}`,
    ),
  },
  { weight: 1, arbitrary: printable.map((text) => `Bearer ${text}`) },
  { weight: 1, arbitrary: printable },
);

/** The valid body of each route that takes one, before mutation. */
const eventId = fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), { nil: undefined });
const withEventId = <T extends object>(record: fc.Arbitrary<T>) => fc.tuple(record, eventId).map(([fields, id]) => (id === undefined ? fields : { ...fields, eventId: id }));
const BODIES: Partial<Record<RouteName, fc.Arbitrary<unknown>>> = {
  login: fc.record(
    {
      code: fc.oneof(fc.stringMatching(/^fuzz-login[a-z]{0,3}#[0-9]{1,4}$/), fc.constantFrom('err:40029', 'err:45011', 'err:40226', 'err:-1', 'openid:o-fuzz', 'fuzz'), hostileString),
      deviceId: eventIdish,
      encryptedData: hostileString,
      encrypteddata: hostileString,
      iv: hostileString,
      rawData: hostileString,
      signature: hostileString,
    },
    { requiredKeys: ['code'] },
  ),
  editMe: fc.record({ nickname: hostileString, avatarUrl: hostileString }, { requiredKeys: [] }),
  createDirectory: withEventId(fc.record({ name: hostileString })),
  renameDirectory: withEventId(fc.record({ name: hostileString })),
  deleteDirectory: withEventId(fc.record({})),
  editGoods: withEventId(fc.record({ name: fc.string({ maxLength: 10 }), remarks: fc.string({ maxLength: 10 }) }, { requiredKeys: [] })),
  removeGoods: withEventId(fc.record({})),
  scan: withEventId(validScanFields),
  sync: fc.record({
    events: fc.oneof(
      {
        weight: 10,
        arbitrary: fc.array(
          fc.tuple(validScanFields, fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), dirIdish).map(([fields, id, dir]) => ({ ...fields, eventId: id, directoryId: dir })),
          { maxLength: 6 },
        ),
      },
      { weight: 1, arbitrary: fc.constant(Array.from({ length: 501 }, (_, i) => ({ eventId: `fuzz-many:${i}`, directoryId: DIR, op: 'in', code: 'MANY' }))) },
    ),
  }),
};

/** The valid query string of each route that takes one, before mutation. */
const QUERIES: Partial<Record<RouteName, fc.Arbitrary<unknown>>> = {
  getDirectory: fc.record({ q: hostileString }, { requiredKeys: [] }),
  changes: fc.record({ since: fc.oneof(fc.nat({ max: 30 }), hostileNumber) }),
  logs: fc.record({ before: fc.oneof(fc.integer({ min: 1, max: 30 }), hostileNumber), limit: fc.oneof(fc.integer({ min: 1, max: 200 }), hostileNumber) }, { requiredKeys: [] }),
};

const idSegment = segment(dirIdish);
const codeSegment = segment(codeish);

function routeCase(name: RouteName): fc.Arbitrary<HttpCase> {
  const route = ROUTES[name];
  const body = BODIES[name];
  const query = QUERIES[name];
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant<string>(route.method) }, { weight: 1, arbitrary: anyMethod }),
      id: idSegment,
      code: codeSegment,
      query: query ? queryString(mutated(query)) : fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString(fc.dictionary(hostileString, junk, { maxKeys: 2 })) }),
      authorization,
      body: body ? encodedBody(mutated(body)) : encodedBody(fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: junk })),
      trailingSlash: fc.constantFrom('', '', '', '', '', '', '', '', '', '/'),
    })
    .map(({ method, id, code, query, authorization: auth, body: sent, trailingSlash }) => ({
      method,
      path: `${route.url.replace(':directoryId', id).replace(':userId', id).replace(':code', code)}${trailingSlash}${query}`,
      authorization: auth,
      ...sent,
    }));
}

const LEGACY_PREFIXES = ['', '/scan', '/scan', '/SCAN', '/scan/scan', '/api'];
const legacyFields = fc.record(
  {
    code: fc.oneof(codeish, fc.stringMatching(/^fuzz-legacy[a-z]{0,2}#[0-9]{1,4}$/)),
    cookie: fc.oneof({ weight: 6, arbitrary: fc.constant(TOKEN) }, { weight: 1, arbitrary: fc.constant(OTHER_TOKEN) }, { weight: 2, arbitrary: hostileString }),
    dir: fc.oneof(
      { weight: 4, arbitrary: fc.constant(DIR_NAME) },
      { weight: 2, arbitrary: fc.constant(` ${DIR_NAME} `) },
      { weight: 1, arbitrary: fc.constant('默认') },
      { weight: 2, arbitrary: hostileString },
    ),
    dirname: hostileString,
    name: hostileString,
    remarks: hostileString,
    encrypteddata: hostileString,
    iv: hostileString,
  },
  { requiredKeys: [] },
);

const legacyCase: fc.Arbitrary<HttpCase> = fc
  .record({
    prefix: fc.constantFrom(...LEGACY_PREFIXES),
    url: fc.constantFrom(...Object.values(legacy).map((route) => route.url)),
    method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: anyMethod }),
    form: mutated(legacyFields),
    how: fc.constantFrom('form', 'form', 'form', 'form', 'json', 'other'),
    other: encodedBody(junk),
    query: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('?cookie=x', '?%zz', '?a=1&a=2') }),
  })
  .map(({ prefix, url, method, form, how, other, query }) => {
    if (how === 'other') return { method, path: `${prefix}${url}${query}`, authorization: null, ...other };
    if (how === 'json') return { method, path: `${prefix}${url}${query}`, authorization: null, contentType: 'application/json', body: JSON.stringify(form) ?? 'null' };
    const params = new URLSearchParams();
    if (typeof form === 'object' && form !== null) for (const [key, inner] of Object.entries(form)) params.append(key, typeof inner === 'string' ? inner : (JSON.stringify(inner) ?? ''));
    return { method, path: `${prefix}${url}${query}`, authorization: null, contentType: 'application/x-www-form-urlencoded', body: params.toString() };
  });

const KNOWN_PATHS = [
  '/',
  '//',
  '/api',
  '/api/',
  '/api//me',
  '/api/me/',
  '/API/ME',
  '/api/me/..',
  '/api/directories/',
  '/api/directories//scans',
  `/api/directories/${DIR}/`,
  `/api/directories/${DIR}/goods`,
  `/api/directories/${DIR}/goods/`,
  `/api/directories/${DIR}/scans/1`,
  '/ws',
  '/ws/',
  '/openapi.json',
  '/asyncapi.json',
  '/docs',
  '/docs/',
  '/docs/json',
  '/docs/static/index.html',
  '/docs/static/%zz',
  '/docs/static/../../package.json',
  '/healthz',
  '/readyz',
  '/healthz/',
  '/scan',
  '/scan/',
  '/login',
  '/favicon.ico',
  '/.env',
  '/api/warehouses',
  `/api/directories/${DIR}/export.csv/x`,
];
const randomPathCase: fc.Arbitrary<HttpCase> = fc
  .record({
    path: fc.oneof(
      fc.constantFrom(...KNOWN_PATHS),
      fc.array(segment(hostileString), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
      fc.array(segment(hostileString), { maxLength: 3 }).map((parts) => `/api/${parts.join('/')}`),
    ),
    method: anyMethod,
    authorization,
    body: encodedBody(junk),
  })
  .map(({ path, method, authorization: auth, body }) => ({ method, path, authorization: auth, ...body }));

const httpCase: fc.Arbitrary<HttpCase> = fc.oneof(
  { weight: 12, arbitrary: fc.oneof(...(Object.keys(ROUTES) as RouteName[]).map(routeCase)) },
  { weight: 3, arbitrary: legacyCase },
  { weight: 2, arbitrary: randomPathCase },
);

// ---- sending and judging ----

const LEGACY_PATH = new RegExp(
  `^(/scan)?(${Object.values(legacy)
    .map((route) => route.url.replace(/\//g, '\\/'))
    .join('|')})$`,
);
const NO_BODY_METHODS = new Set(['GET', 'HEAD']);

interface Outcome {
  status: number;
  contentType: string;
  text: string;
}

/** The request as sent, placeholders filled in: what a failure report shows. */
function resolved(request: HttpCase, live: Live): HttpCase {
  const bodyless = NO_BODY_METHODS.has(request.method.toUpperCase());
  return {
    method: request.method,
    path: fill(request.path, live),
    authorization: request.authorization === null ? null : fill(request.authorization, live),
    contentType: bodyless ? null : request.contentType,
    body: bodyless || request.body === null ? null : fill(request.body, live),
  };
}

async function send(baseUrl: string, request: HttpCase): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (request.authorization !== null) headers.authorization = request.authorization;
  if (request.contentType !== null) headers['content-type'] = request.contentType;
  // A Buffer body: fetch would add `text/plain` to a string body sent without a content type.
  const body = request.body === null ? undefined : Buffer.from(request.body, 'utf8');
  const response = await fetch(baseUrl + request.path, { method: request.method, headers, body });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

const parsed = (outcome: Outcome): unknown => {
  try {
    return JSON.parse(outcome.text);
  } catch {
    return undefined;
  }
};

/** Why this answer breaks SPEC; null when it does not. */
function problemOf(request: HttpCase, url: URL, outcome: Outcome, body: unknown): string | null {
  const { status } = outcome;
  const method = request.method.toUpperCase();
  const errorCode = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  if (status >= 500) {
    if (status === 503 && errorCode === 'unavailable') return null;
    if (status === 502 && errorCode === 'wechat_unavailable' && /\/login\/?$/.test(url.pathname)) return null;
    return `answered ${status}`;
  }
  if (method === 'HEAD') return null;
  let pathname = url.pathname;
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    // a bad escape: not a legacy route either way
  }
  if (LEGACY_PATH.test(pathname)) {
    // The seed's shape ({error: "<中文>"} with 200, 413 over the size limit); SPEC's for what the router refuses first.
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && (status === 200 || status === 413)) {
      const legacyError = (body as { error?: unknown }).error;
      if (legacyError === undefined || typeof legacyError === 'string') return null;
    }
    if (status < 400) return `a legacy route answered ${status} with ${outcome.text.slice(0, 200)}`;
  }
  if (status >= 400) {
    if (!outcome.contentType.includes('json')) return `an error with content type "${outcome.contentType}"`;
    return specErrorProblem(status, body);
  }
  if (status === 204 && outcome.text !== '') return 'a 204 with a body';
  if (outcome.contentType.includes('json') && body === undefined && status !== 204) return 'a JSON content type with a body that is not JSON';
  return null;
}

describe.each(testDatabases())('fuzzed HTTP requests on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  let other: TestUser;
  const live: Live = { token: '', otherToken: '', dir: 0, otherDir: 0, dirName: '' };
  let fresh = 0;

  beforeAll(async () => {
    // A code that makes the fake WeChat hang must not hold a case for the default 5 s.
    server = await startServer(db, { env: { WECHAT_TIMEOUT_MS: '500' } });
    user = await signIn(server, 'fuzz-http');
    other = await signIn(server, 'fuzz-http-other');
    live.token = user.token;
    live.otherToken = other.token;
    live.otherDir = other.defaultDirectoryId;
    live.dir = await createDirectory(user.api, '模糊 fuzz');
    live.dirName = '模糊 fuzz';
    for (const code of KNOWN_CODES.slice(0, 3)) await scan(user.api, live.dir, { op: 'in', code, qty: 5 });
    await scan(other.api, live.otherDir, { op: 'in', code: KNOWN_CODES[0], qty: 5 });
  });
  afterAll(() => server.close());

  /** After a write went through, the token, directory or name the placeholders stand for may be gone: find or make new ones. */
  async function refresh(): Promise<void> {
    const me = async (token: string) => {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      return response.status === 200 ? ((await response.json()) as { directories: { id: number; name: string }[] }) : null;
    };
    let mine = await me(live.token);
    if (mine === null) {
      live.token = await server.login('fuzz-http');
      mine = await me(live.token);
    }
    let theirs = await me(live.otherToken);
    if (theirs === null) {
      live.otherToken = await server.login('fuzz-http-other');
      theirs = await me(live.otherToken);
    }
    if (mine === null || theirs === null) throw new Error('could not log the fuzz users in again');
    const current = mine.directories.find((d) => d.id === live.dir);
    if (current) live.dirName = current.name;
    else {
      live.dirName = `模糊 fuzz ${++fresh}`;
      const created = await fetch(`${server.url}/api/directories`, {
        method: 'POST',
        headers: { authorization: `Bearer ${live.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: live.dirName }),
      });
      live.dir = ((await created.json()) as { directory: { id: number } }).directory.id;
    }
    if (!theirs.directories.some((d) => d.id === live.otherDir)) live.otherDir = theirs.directories[0]?.id ?? live.otherDir;
  }

  it(`answers ${CASES} generated requests without a 5xx, every error in SPEC's shape`, async () => {
    const cases = fc.sample(httpCase, { seed: SEED, numRuns: CASES });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const generated of cases) {
      const request = resolved(generated, live);
      const url = new URL(server.url + request.path);
      let outcome: Outcome;
      try {
        outcome = await send(server.url, request);
      } catch (error) {
        failures.push(`${JSON.stringify(request).slice(0, 600)}\n  -> no answer: ${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`);
        continue;
      }
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      const body = parsed(outcome);
      const problem = problemOf(request, url, outcome, body);
      if (problem !== null) failures.push(`${JSON.stringify(request).slice(0, 600)}\n  -> ${problem}: ${outcome.status} ${outcome.text.slice(0, 300)}`);
      if (!['GET', 'HEAD'].includes(request.method.toUpperCase()) && outcome.status < 300) await refresh();
    }
    const health = await fetch(`${server.url}/healthz`);
    console.log(
      `fuzz http on ${db.name}: ${cases.length} requests tried (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}; problems: ${failures.length}`,
    );
    expect(failures).toEqual([]);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  // Found by the run above, each the smallest request that showed it: fastify's and node's own bodies
  // at the edges, now answered in SPEC's shape.
  const answerOf = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const outcome = await send(server.url, { method, path: fill(path, live), authorization: headers.authorization ?? null, contentType: null, body: null });
    return { status: outcome.status, problem: specErrorProblem(outcome.status, parsed(outcome)), text: outcome.text };
  };

  it("a bad percent-escape in the path is a 400 in SPEC's shape", async () => {
    const answer = await answerOf('GET', '/api/directories/1/goods/%E0%A4%A', { authorization: `Bearer ${TOKEN}` });
    expect(answer).toEqual({ status: 400, problem: null, text: expect.stringContaining('"bad_request"') });
  });

  it("a method node's parser does not know is a 4xx in SPEC's shape", async () => {
    const answer = await answerOf('FOO', '/api/me');
    expect(answer.status).toBeLessThan(500);
    expect(answer.problem).toBeNull();
  });

  it("the longest goods paths are read, and a URL over the header limit is answered in SPEC's shape", async () => {
    // A code of 2,000 Chinese characters (within the 7,089 of a code) is 18,000 characters percent-encoded.
    const code = '码'.repeat(2000);
    const answer = await answerOf('GET', `/api/directories/${DIR}/goods/${percentEncoded(code)}`, { authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBeLessThan(500);
    expect(answer.problem).toBeNull();
  });
});
