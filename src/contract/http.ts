import { Type, type TSchema } from '@sinclair/typebox';
import { MAX_SYNC_EVENTS } from './constants';
import { ErrorResponse } from './errors';
import { AvatarUrl, DirectoryId, DirectoryName, EventId, GoodsCode, GoodsName, Nickname, Remarks, Revision } from './fields';
import { ChangesAnswer, Directory, Goods, LogEntry, ScanBody, ScanResult, SyncEvent, SyncResult, User } from './models';

/**
 * Every HTTP route of the API: its method, URL, and schemas for params, query string, body and each
 * answer. The server registers its routes from this table and publishes it as OpenAPI; a client can
 * import it to know every shape. Every object refuses fields it does not name.
 */

const strict = <T extends Record<string, TSchema>>(properties: T, options: { description?: string; title?: string } = {}) =>
  Type.Object(properties, { ...options, additionalProperties: false });

/** A route without a query string still refuses one, as it refuses unknown fields anywhere. */
const NoQuery = strict({});
const NoContent = Type.Unsafe<void>({ type: 'null', description: 'No content' });

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

const bearer = [{ bearer: [] }];

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

export const LoginRequest = strict({
  code: Type.String({ minLength: 1, maxLength: 256, description: 'the code from wx.login()' }),
  encryptedData: Type.Optional(WechatText(65536)),
  encrypteddata: Type.Optional(WechatText(65536)),
  iv: Type.Optional(WechatText(64)),
  rawData: Type.Optional(WechatText(65536)),
  signature: Type.Optional(WechatText(64)),
  // Typed as EventId: the spread's own type names TypeBox's internal symbols, which a declaration file cannot.
  deviceId: Type.Optional({ ...EventId, description: 'names this install; the changes this session makes carry it, so a phone can tell its own changes' } as typeof EventId),
}, { description: '`encrypteddata` is the seed mini-program\'s spelling of `encryptedData`; `rawData` + `signature` are checked when given' });

export const DirectoryParams = strict({ id: DirectoryId });
export const GoodsParams = strict({ id: DirectoryId, code: GoodsCode });
/** Every mutation may carry an event id: sent again, it has no second effect and gets the first outcome. */
const MutationEventId = Type.Optional(EventId);
export const NameBody = strict({ name: DirectoryName, eventId: MutationEventId });
export const GoodsEditBody = strict({ name: Type.Optional(GoodsName), remarks: Type.Optional(Remarks), eventId: MutationEventId });
/** A DELETE may carry an event id in its body; no body at all is the same as `{}`. */
export const DeleteBody = strict({ eventId: MutationEventId });
/** Present (true) when the answer is the stored outcome of an event id sent before. */
const Duplicate = Type.Optional(Type.Literal(true, { description: 'this answers an event id sent before: the original outcome, applied once' }));
export const MeEditBody = strict({ nickname: Type.Optional(Nickname), avatarUrl: Type.Optional(AvatarUrl) });
export const DirectoryQuery = strict({ q: Type.Optional(Type.String({ maxLength: 512, description: 'keeps goods whose code or name contains it, ignoring case' })) });
export const ChangesQuery = strict({ since: Revision });
export const LogsQuery = strict({
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'the `next` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
export { MAX_SYNC_EVENTS } from './constants';
export const SyncBody = strict({ events: Type.Array(SyncEvent, { maxItems: MAX_SYNC_EVENTS }) });

// ---- answers ----

export const LoginResponse = strict({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), user: User, directories: Type.Array(Directory) });
export const MeResponse = strict({ user: User, directories: Type.Array(Directory) });
export const DirectoryWithGoods = strict({ directory: Directory, goods: Type.Array(Goods) });
export const LogsPage = strict({ logs: Type.Array(LogEntry), next: Type.Union([Type.Integer(), Type.Null()], { description: 'the `before` of the next page; null at the end' }) });
export const SyncResponse = strict({ results: Type.Array(SyncResult, { description: 'one per event, in order' }) });
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
  login: route('POST', '/api/login', {
    summary: 'Log in with a wx.login() code',
    description: "Calls WeChat's jscode2session, creates or updates the user (the first login also creates the directory 默认). Accepts JSON or a form.",
    tags: ['auth'],
    body: LoginRequest,
    consumes: ['application/json', 'application/x-www-form-urlencoded'],
    response: { 200: LoginResponse },
  }, { auth: false }),
  logout: route('POST', '/api/logout', { summary: 'Revoke this session everywhere', tags: ['auth'], response: { 204: NoContent } }),
  me: route('GET', '/api/me', { summary: 'The user and their directories', tags: ['auth'], response: { 200: MeResponse } }),
  editMe: route('PATCH', '/api/me', { summary: 'Change nickname or avatar', tags: ['auth'], body: MeEditBody, response: { 200: strict({ user: User }) } }),

  listDirectories: route('GET', '/api/directories', { summary: 'Live directories, most used first', tags: ['directories'], response: { 200: strict({ directories: Type.Array(Directory) }) } }),
  createDirectory: route('POST', '/api/directories', { summary: 'Create a directory', tags: ['directories'], body: NameBody, response: { 201: strict({ directory: Directory, duplicate: Duplicate }) } }),
  getDirectory: route('GET', '/api/directories/:id', { summary: 'A directory with its goods', tags: ['directories'], params: DirectoryParams, querystring: DirectoryQuery, response: { 200: DirectoryWithGoods } }),
  renameDirectory: route('PATCH', '/api/directories/:id', { summary: 'Rename a directory', tags: ['directories'], params: DirectoryParams, body: NameBody, response: { 200: strict({ directory: Directory, duplicate: Duplicate }) } }),
  deleteDirectory: route('DELETE', '/api/directories/:id', { summary: 'Delete a directory (its history stays)', tags: ['directories'], params: DirectoryParams, body: DeleteBody, response: { 204: NoContent } }),

  getGoods: route('GET', '/api/directories/:id/goods/:code', { summary: 'One goods by code', tags: ['goods'], params: GoodsParams, response: { 200: strict({ goods: Goods }) } }),
  editGoods: route('PATCH', '/api/directories/:id/goods/:code', { summary: 'Change name or remarks', tags: ['goods'], params: GoodsParams, body: GoodsEditBody, response: { 200: strict({ goods: Goods, duplicate: Duplicate }) } }),
  removeGoods: route('DELETE', '/api/directories/:id/goods/:code', { summary: 'Remove goods (logged)', tags: ['goods'], params: GoodsParams, body: DeleteBody, response: { 204: NoContent } }),
  scan: route('POST', '/api/directories/:id/scans', {
    summary: 'Scan in, out or set (stocktake)',
    description: 'With an eventId the scan is exactly-once: the same id sent again gets the original outcome with duplicate: true.',
    tags: ['goods'],
    params: DirectoryParams,
    body: ScanBody,
    response: { 200: ScanResult },
  }),
  changes: route('GET', '/api/directories/:id/changes', { summary: 'Every change after a revision, or a snapshot', tags: ['sync'], params: DirectoryParams, querystring: ChangesQuery, response: { 200: ChangesAnswer } }),
  logs: route('GET', '/api/directories/:id/logs', { summary: 'History, newest first, paged', tags: ['directories'], params: DirectoryParams, querystring: LogsQuery, response: { 200: LogsPage } }),
  exportCsv: route('GET', '/api/directories/:id/export.csv', {
    summary: 'The goods as CSV (UTF-8 with BOM)',
    tags: ['directories'],
    params: DirectoryParams,
    // The content type of this answer alone (a route's `produces` would make its JSON errors CSV too).
    response: { 200: Type.Unsafe<unknown>({ description: 'code,name,remarks,count rows', content: { 'text/csv': { schema: { type: 'string' } } } }) },
  }),
  sync: route('POST', '/api/sync', {
    summary: 'Apply queued offline scans in order',
    description: 'At most 500 events, each with an eventId. One refused event does not stop the others; the batch is safe to send again.',
    tags: ['sync'],
    body: SyncBody,
    response: { 200: SyncResponse },
  }),

  healthz: route('GET', '/healthz', { summary: 'The process is up', tags: ['operations'], response: { 200: HealthResponse } }, { auth: false }),
  readyz: route('GET', '/readyz', {
    summary: 'The database and the bus, each checked',
    description: '503 unavailable (with `database` and `bus` beside the code) when the database does not answer; 200 `degraded` when only the bus (Redis) is away: writes are still answered, other instances catch up within REVISION_CHECK_MS.',
    tags: ['operations'],
    response: { 200: ReadinessResponse },
  }, { auth: false }),
};

export type ApiRoute = (typeof api)[keyof typeof api];
