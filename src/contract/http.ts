import { Type, type TSchema } from '@sinclair/typebox';
import { ErrorResponse } from './errors';
import { AvatarUrl, EventId, Nickname, LoginCode } from './fields';
import { Directory, User } from './models';

/**
 * The HTTP routes that are not operations of the operation table (operations.ts): login, the session,
 * health. Each with its method, URL, and schemas for params, query string, body and each answer; the
 * server registers them from this table and publishes them as OpenAPI. Every object refuses fields it
 * does not name.
 */

const strict = <T extends Record<string, TSchema>>(properties: T, options: { description?: string; title?: string } = {}) => Type.Object(properties, { ...options, additionalProperties: false });

/** A route without a query string still refuses one, as it refuses unknown fields anywhere. */
export const NoQuery = strict({});
export const NoContent = Type.Unsafe<void>({ type: 'null', description: 'No content' });

interface RouteSchema {
  summary: string;
  description?: string;
  tags: string[];
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  response: Record<number, TSchema>;
  security?: Record<string, string[]>[];
  consumes?: string[];
  produces?: string[];
}

export const bearer = [{ bearer: [] }];

/** A route's schema as registered: a query string always (empty when it takes none), error answers always. */
type Registered<S extends RouteSchema> = Omit<S, 'querystring' | 'response'> & {
  querystring: S extends { querystring: infer Q } ? Q : typeof NoQuery;
  response: S['response'] & { '4xx': typeof ErrorResponse; '5xx': typeof ErrorResponse };
};

function route<const M extends 'GET' | 'POST' | 'PATCH' | 'DELETE', const U extends string, const S extends RouteSchema>(
  method: M,
  url: U,
  schema: S,
  options: { auth: boolean } = { auth: true },
): { method: M; url: U; schema: Registered<S> } {
  const registered = {
    ...schema,
    querystring: schema.querystring ?? NoQuery,
    ...(options.auth ? { security: bearer } : {}),
    response: { ...schema.response, '4xx': ErrorResponse, '5xx': ErrorResponse },
  };
  return { method, url, schema: registered as unknown as Registered<S> };
}

// ---- requests ----

const WechatText = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const LoginRequest = strict(
  {
    code: LoginCode,
    encryptedData: Type.Optional(WechatText(65536)),
    encrypteddata: Type.Optional(WechatText(65536)),
    iv: Type.Optional(WechatText(64)),
    rawData: Type.Optional(WechatText(65536)),
    signature: Type.Optional(WechatText(64)),
    // Typed as EventId: the spread's own type names TypeBox's internal symbols, which a declaration file cannot.
    deviceId: Type.Optional({ ...EventId, description: 'names this install; the changes this session makes carry it, so a phone can tell its own changes' } as typeof EventId),
  },
  { description: "`encrypteddata` is the seed mini-program's spelling of `encryptedData`; `rawData` + `signature` are checked when given" },
);

export const MeEditBody = strict({ nickname: Type.Optional(Nickname), avatarUrl: Type.Optional(AvatarUrl) });
// ---- answers ----

export const LoginResponse = strict({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), user: User, directories: Type.Array(Directory) });
export const WebLoginId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'the `<id>` of the QR text `scancode:weblogin:<id>`' });
export const WebLoginCreated = strict({
  id: WebLoginId,
  qr: Type.String({ description: '`scancode:weblogin:<id>`: the text to show as a QR code' }),
  pollToken: Type.String({ description: 'proves to GET /api/web-logins/:id that the poller is the page that asked' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export const WebLoginPoll = strict({
  pollToken: Type.String({ minLength: 1, maxLength: 128 }),
  wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 25, default: 25, description: 'seconds to wait for the approval at most' })),
});
export const WebLoginStatus = Type.Union([
  strict({ status: Type.Literal('pending') }, { title: 'WebLoginPending' }),
  strict({ status: Type.Literal('approved'), token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), user: User }, { title: 'WebLoginApproved' }),
]);
export const MeResponse = strict({ user: User, directories: Type.Array(Directory) });
export const HealthResponse = strict({ status: Type.Literal('ok') });
const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]);
/** The database and the bus, each checked; `degraded` while the bus is away (writes still work here). */
export const ReadinessResponse = strict({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Check,
  bus: Check,
});

// ---- the routes ----

export const api = {
  login: route(
    'POST',
    '/api/login',
    {
      summary: 'Log in with a wx.login() code',
      description: "Calls WeChat's jscode2session, creates or updates the user (the first login also creates the directory 默认). Accepts JSON or a form.",
      tags: ['auth'],
      body: LoginRequest,
      consumes: ['application/json', 'application/x-www-form-urlencoded'],
      response: { 200: LoginResponse },
    },
    { auth: false },
  ),
  logout: route('POST', '/api/logout', { summary: 'Revoke this session everywhere', tags: ['auth'], response: { 204: NoContent } }),
  me: route('GET', '/api/me', { summary: 'The user and their directories', tags: ['auth'], response: { 200: MeResponse } }),
  editMe: route('PATCH', '/api/me', { summary: 'Change nickname or avatar', tags: ['auth'], body: MeEditBody, response: { 200: strict({ user: User }) } }),

  createWebLogin: route(
    'POST',
    '/api/web-logins',
    {
      summary: "Start a login by scanning (the web dashboard's)",
      description:
        'The page shows `qr` as a QR code and polls GET /api/web-logins/:id with `pollToken` until a logged-in phone approves; it expires in 2 minutes. Limited per client address to LOGIN_RATE_LIMIT a minute.',
      tags: ['auth'],
      response: { 201: WebLoginCreated },
    },
    { auth: false },
  ),
  pollWebLogin: route(
    'GET',
    '/api/web-logins/:id',
    {
      summary: 'Wait for a login by scanning to be approved',
      description:
        'Answers `pending` after `wait` seconds (25 by default) without an approval, or at once `approved` with the token of a new session of the approving user (deviceId `web`), handed out once. Unknown, expired, already used, or the wrong pollToken: 404 `not_found`.',
      tags: ['auth'],
      params: strict({ id: WebLoginId }),
      querystring: WebLoginPoll,
      response: { 200: WebLoginStatus },
    },
    { auth: false },
  ),
  approveWebLogin: route('POST', '/api/web-logins/:id/approve', {
    summary: 'Approve a login by scanning with this session (the phone that scanned its QR code)',
    description: 'The page polling for it gets a new session of this user. Unknown, expired or already used: 404 `not_found`; approving again as the same user changes nothing.',
    tags: ['auth'],
    params: strict({ id: WebLoginId }),
    response: { 204: NoContent },
  }),

  healthz: route('GET', '/healthz', { summary: 'The process is up', tags: ['operations'], response: { 200: HealthResponse } }, { auth: false }),
  readyz: route(
    'GET',
    '/readyz',
    {
      summary: 'The database and the bus, each checked',
      description:
        '503 unavailable (with `database` and `bus` beside the code) when the database does not answer; 200 `degraded` when only the bus (Redis) is away: writes are still answered, other instances catch up within REVISION_CHECK_MS.',
      tags: ['operations'],
      response: { 200: ReadinessResponse },
    },
    { auth: false },
  ),
};

export type ApiRoute = (typeof api)[keyof typeof api];
