import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Role } from './constants';
import { DirectoryId, DirectoryName, EventId, GoodsCode, GoodsName, MAX_QTY, Nickname, Remarks, Revision, SearchText } from './fields';
import {
  Change,
  ChangesAnswer,
  CountLine,
  CountReport,
  CountSession,
  Directory,
  Goods,
  Invite,
  LogEntry,
  LowStockAlert,
  Member,
  RoleSchema,
  ScanResult,
  SyncEvent,
  SyncResult,
  scanSchema,
} from './models';
import { MAX_SYNC_EVENTS } from './constants';
import { Webhook, WebhookDelivery, WebhookId, WebhookSecret, WebhookUrl } from './webhooks';

/**
 * Every operation of the product, once: its input (all its fields, flat), its result, the lowest role
 * that may run it, and where it lives on HTTP. The server's HTTP routes, its socket request types and
 * their acks, the OpenAPI and AsyncAPI documents, the SDK's types and the role-matrix test are all
 * derived from this table (as tRPC derives every transport from one procedure):
 * - HTTP: the URL's `:name` segments are input fields; the rest of the input is the query string of a
 *   GET and the JSON body of anything else. The answer is the result (a 204 has none).
 * - Socket: the request frame is `{type: <operation name>, id, ...input}`; for a write that takes an
 *   event id (`eventId: true`), the frame's `id` is the event id. The ack's result is the result.
 * Every object refuses fields it does not name.
 */

const strict = <T extends Record<string, TSchema>>(properties: T, options: { description?: string; title?: string } = {}) => Type.Object(properties, { ...options, additionalProperties: false });

/** Present (true) when the answer is the stored outcome of an event id sent before. */
export const Duplicate = Type.Optional(Type.Literal(true, { description: 'this answers an event id sent before: the original outcome, applied once' }));
/** What a removal answers: nothing over HTTP (204), `{}` (or `{duplicate: true}`) in an ack. */
const Removed = strict({ duplicate: Duplicate });
/** Every write may carry an event id: sent again, it has no second effect and gets the first outcome. */
const OptionalEventId = Type.Optional(EventId);
const UserId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
export const InviteCode = Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'the code of an invite (from its QR text `scancode:join:<code>`)' });
const InvitableRole = Type.Union([Type.Literal('manager'), Type.Literal('editor'), Type.Literal('viewer')]);

export const DirectoryWithGoods = strict({ directory: Directory, goods: Type.Array(Goods) });
export const LogsPage = strict({ logs: Type.Array(LogEntry), next: Type.Union([Type.Integer(), Type.Null()], { description: 'the `before` of the next page; null at the end' }) });

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface OperationDef {
  summary: string;
  description?: string;
  tags: string[];
  /**
   * The lowest role that may run it, in the directory its input names (`directoryId`); null: any
   * logged-in user (its own rules, if any, are checked by its handler through the same seam).
   */
  role: Role | null;
  /** A read is authorized before it runs; a write checks the role in the transaction that applies it. */
  kind: 'read' | 'write';
  /** Takes an event id (`eventId` over HTTP, the frame's `id` on the socket): exactly once. */
  eventId: boolean;
  input: TSchema;
  result: TSchema;
  /**
   * `consumes: 'text/csv'`: the body is the input's `csv` field, sent as it is (not JSON), of at most
   * `bodyLimit` bytes.
   */
  http: { method: HttpMethod; url: string; status: 200 | 201 | 204; produces?: 'text/csv'; consumes?: 'text/csv'; bodyLimit?: number } | null;
  /** Whether it is a socket request too (a CSV download is not). */
  socket: boolean;
  /**
   * What names the directory whose role is asked: its `directoryId` (the default), the directory of its
   * `countId` (a count session's), or both `from` and `to` (a transfer: the role in each).
   */
  scope?: 'directory' | 'count' | 'transfer';
}

/** A CSV import's limits: bytes of the file, and its lines of goods (the header aside). */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
export const MAX_IMPORT_LINES = 100_000;

/** Keeps each entry's own schema types (so that inputs and results stay typed) while checking its shape. */
const op = <const D extends OperationDef>(def: D): D => def;

export const operations = {
  listDirectories: op({
    summary: 'Every directory the user is a member of, most used first',
    tags: ['directories'],
    role: null,
    kind: 'read',
    eventId: false,
    input: strict({}),
    result: strict({ directories: Type.Array(Directory) }),
    http: { method: 'GET', url: '/api/directories', status: 200 },
    socket: true,
  }),
  createDirectory: op({
    summary: 'Create a directory (the user is its owner)',
    tags: ['directories'],
    role: null,
    kind: 'write',
    eventId: true,
    input: strict({ name: DirectoryName, eventId: OptionalEventId }),
    result: strict({ directory: Directory, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/directories', status: 201 },
    socket: true,
  }),
  getDirectory: op({
    summary: 'A directory with its goods',
    tags: ['directories'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, q: Type.Optional(SearchText) }),
    result: DirectoryWithGoods,
    http: { method: 'GET', url: '/api/directories/:directoryId', status: 200 },
    socket: true,
  }),
  renameDirectory: op({
    summary: 'Rename a directory',
    tags: ['directories'],
    role: 'manager',
    kind: 'write',
    eventId: true,
    input: strict({ directoryId: DirectoryId, name: DirectoryName, eventId: OptionalEventId }),
    result: strict({ directory: Directory, duplicate: Duplicate }),
    http: { method: 'PATCH', url: '/api/directories/:directoryId', status: 200 },
    socket: true,
  }),
  deleteDirectory: op({
    summary: 'Delete a directory (its history stays)',
    tags: ['directories'],
    role: 'owner',
    kind: 'write',
    eventId: true,
    input: strict({ directoryId: DirectoryId, eventId: OptionalEventId }),
    result: Removed,
    http: { method: 'DELETE', url: '/api/directories/:directoryId', status: 204 },
    socket: true,
  }),
  getGoods: op({
    summary: 'One goods by code',
    tags: ['goods'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, code: GoodsCode }),
    result: strict({ goods: Goods }),
    http: { method: 'GET', url: '/api/directories/:directoryId/goods/:code', status: 200 },
    socket: true,
  }),
  lookup: op({
    summary: 'One goods by code, or null',
    description: "The socket's read of a scanned code: null (not goods_not_found) when the code is unknown.",
    tags: ['goods'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, code: GoodsCode }),
    result: strict({ goods: Type.Union([Goods, Type.Null()]) }, { description: 'null when the code is unknown' }),
    http: null,
    socket: true,
  }),
  editGoods: op({
    summary: 'Change name, remarks or the low-stock threshold',
    tags: ['goods'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    input: strict({
      directoryId: DirectoryId,
      code: GoodsCode,
      name: Type.Optional(GoodsName),
      remarks: Type.Optional(Remarks),
      minCount: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_QTY, description: 'the low-stock threshold (0: none)' })),
      eventId: OptionalEventId,
    }),
    result: strict({ goods: Goods, duplicate: Duplicate }),
    http: { method: 'PATCH', url: '/api/directories/:directoryId/goods/:code', status: 200 },
    socket: true,
  }),
  removeGoods: op({
    summary: 'Remove goods (logged)',
    tags: ['goods'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    input: strict({ directoryId: DirectoryId, code: GoodsCode, eventId: OptionalEventId }),
    result: Removed,
    http: { method: 'DELETE', url: '/api/directories/:directoryId/goods/:code', status: 204 },
    socket: true,
  }),
  scan: op({
    summary: 'Scan in, out or set (stocktake)',
    description: 'With an eventId the scan is exactly-once: the same id sent again gets the original outcome with duplicate: true.',
    tags: ['goods'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    input: scanSchema({ directoryId: DirectoryId, eventId: OptionalEventId }, { title: 'ScanRequest' }),
    result: ScanResult,
    http: { method: 'POST', url: '/api/directories/:directoryId/scans', status: 200 },
    socket: true,
  }),
  changes: op({
    summary: 'Every change after a revision, or a snapshot',
    tags: ['sync'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, since: Revision }),
    result: ChangesAnswer,
    http: { method: 'GET', url: '/api/directories/:directoryId/changes', status: 200 },
    socket: true,
  }),
  logs: op({
    summary: 'History, newest first, paged',
    tags: ['directories'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({
      directoryId: DirectoryId,
      before: Type.Optional(Type.Integer({ minimum: 1, description: 'the `next` of the previous page' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    }),
    result: LogsPage,
    http: { method: 'GET', url: '/api/directories/:directoryId/logs', status: 200 },
    socket: true,
  }),
  exportCsv: op({
    summary: 'The goods as CSV (UTF-8 with BOM)',
    tags: ['directories'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId }),
    result: Type.Unsafe<{ filename: string; body: unknown }>({ description: 'code,name,remarks,count rows', content: { 'text/csv': { schema: { type: 'string' } } } }),
    http: { method: 'GET', url: '/api/directories/:directoryId/export.csv', status: 200, produces: 'text/csv' },
    socket: false,
  }),
  importCsv: op({
    summary: 'Import goods from CSV (what the export writes)',
    description: `The body is the file itself (\`Content-Type: text/csv\`), UTF-8 with or without a BOM, at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB and ${MAX_IMPORT_LINES.toLocaleString('en')} lines of goods, whose header names the columns \`code,name,remarks,count\` (\`code\` and \`count\` required). Each line sets its goods' count (a \`set\` change, one revision, live and logged) and, when not empty, its name and remarks; a line that changes nothing is \`unchanged\` and spends no revision. The good lines apply, the bad ones are listed in \`errors\` with their line in the file (the header is line 1). Each line is applied exactly once: the same line sent again to the same directory (a file sent twice) has no second effect.`,
    tags: ['directories'],
    role: 'editor',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, csv: Type.String({ description: 'the CSV file (text/csv)' }) }),
    result: strict({
      created: Type.Integer({ minimum: 0, description: 'lines that created a goods' }),
      updated: Type.Integer({ minimum: 0, description: 'lines that changed a goods' }),
      unchanged: Type.Integer({ minimum: 0, description: 'lines that changed nothing (a line sent before among them)' }),
      errors: Type.Array(strict({ line: Type.Integer({ minimum: 1 }), message: Type.String() }), { description: 'the lines not applied, in file order' }),
    }),
    http: { method: 'POST', url: '/api/directories/:directoryId/import', status: 200, consumes: 'text/csv', bodyLimit: MAX_IMPORT_BYTES },
    socket: false,
  }),
  sync: op({
    summary: 'Apply queued offline scans in order',
    description: 'At most 500 events, each with an eventId. One refused event does not stop the others; the batch is safe to send again.',
    tags: ['sync'],
    // Each event is checked against its own directory, with the role of a scan.
    role: null,
    kind: 'write',
    eventId: false,
    input: strict({ events: Type.Array(SyncEvent, { maxItems: MAX_SYNC_EVENTS }) }),
    result: strict({ results: Type.Array(SyncResult, { description: 'one per event, in order' }) }),
    http: { method: 'POST', url: '/api/sync', status: 200 },
    socket: true,
  }),

  // ---- warehouse operations ----
  transfer: op({
    summary: 'Move goods from one directory to another, both sides at once',
    description:
      'Both sides commit in one transaction or neither (`insufficient_stock` or `goods_not_found` from `from`); a goods new in `to` takes its name and remarks from `from`. Each side is one revision of its own directory, a Change of type out/in carrying `transfer: {id, from, to}`. Needs the role editor in both directories.',
    tags: ['operations'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    scope: 'transfer',
    input: strict({ from: DirectoryId, to: DirectoryId, code: GoodsCode, qty: Type.Integer({ minimum: 1, maximum: MAX_QTY }), eventId: OptionalEventId }),
    result: strict({ transferId: Type.String(), out: ScanResult, in: ScanResult, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/transfers', status: 200 },
    socket: true,
  }),
  undo: op({
    summary: 'Undo a change by a compensating one',
    description:
      "A change of type `undo` (`undoes: revision`, the reverse delta); history is never deleted. Goods changes and transfers (both sides at once) can be undone, an undo too; renames and deletes cannot. `undo_conflict` when the change was already undone, is not undoable, or the reverse would make a count negative. Editors undo their own changes, managers anyone's.",
    tags: ['operations'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    input: strict({ directoryId: DirectoryId, revision: Type.Integer({ minimum: 1 }), eventId: OptionalEventId }),
    result: strict({ undone: Type.Integer(), change: Change, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/directories/:directoryId/undo', status: 200 },
    socket: true,
  }),
  listCounts: op({
    summary: 'The count sessions of a directory, newest first',
    tags: ['counts'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId }),
    result: strict({ counts: Type.Array(CountSession) }),
    http: { method: 'GET', url: '/api/directories/:directoryId/counts', status: 200 },
    socket: true,
  }),
  startCount: op({
    summary: 'Start a count session (a stocktake with several phones)',
    description: 'One open count per directory: a second is refused with `count_open` (details `countId`).',
    tags: ['counts'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    input: strict({ directoryId: DirectoryId, name: Type.Optional({ ...Nickname, description: 'what to call it (e.g. 月末盘点)' } as typeof Nickname), eventId: OptionalEventId }),
    result: strict({ count: CountSession, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/directories/:directoryId/counts', status: 201 },
    socket: true,
  }),
  getCount: op({
    summary: 'A count session with its variance report',
    tags: ['counts'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    scope: 'count',
    input: strict({ countId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }),
    result: CountReport,
    http: { method: 'GET', url: '/api/counts/:countId', status: 200 },
    socket: true,
  }),
  count: op({
    summary: 'Add what a phone counted of a code to a count session',
    description: '`qty` may be negative to correct a miscount; the counted total of a code never goes below 0. Every subscriber of the directory gets a `count` push with the line.',
    tags: ['counts'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    scope: 'count',
    input: strict({ countId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), code: GoodsCode, qty: Type.Integer({ minimum: -MAX_QTY, maximum: MAX_QTY }), eventId: OptionalEventId }),
    result: strict({ line: CountLine, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/counts/:countId/lines', status: 200 },
    socket: true,
  }),
  finishCount: op({
    summary: 'Finish a count session: the counted totals become the counts, in one transaction',
    description:
      "Every counted code's count is set to its counted total (creating goods that are new), and with `zeroMissing` every uncounted goods to 0: one revision per goods whose count changes, Changes of type `set` with `countId`. Managers, or whoever started it.",
    tags: ['counts'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    scope: 'count',
    input: strict({ countId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), zeroMissing: Type.Optional(Type.Boolean({ default: false })), eventId: OptionalEventId }),
    result: Type.Object({ ...CountReport.properties, duplicate: Duplicate }, { additionalProperties: false }),
    http: { method: 'POST', url: '/api/counts/:countId/finish', status: 200 },
    socket: true,
  }),
  cancelCount: op({
    summary: 'Cancel a count session (nothing changes)',
    description: 'Managers, or whoever started it.',
    tags: ['counts'],
    role: 'editor',
    kind: 'write',
    eventId: true,
    scope: 'count',
    input: strict({ countId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), eventId: OptionalEventId }),
    result: strict({ count: CountSession, duplicate: Duplicate }),
    http: { method: 'POST', url: '/api/counts/:countId/cancel', status: 200 },
    socket: true,
  }),
  listAlerts: op({
    summary: 'The low-stock goods of every directory the user is a member of',
    tags: ['operations'],
    role: null,
    kind: 'read',
    eventId: false,
    input: strict({}),
    result: strict({ alerts: Type.Array(LowStockAlert) }),
    http: { method: 'GET', url: '/api/alerts', status: 200 },
    socket: true,
  }),

  // ---- teams ----
  listMembers: op({
    summary: 'The members of a directory with their roles',
    tags: ['teams'],
    role: 'viewer',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId }),
    result: strict({ members: Type.Array(Member) }),
    http: { method: 'GET', url: '/api/directories/:directoryId/members', status: 200 },
    socket: true,
  }),
  setMemberRole: op({
    summary: "Change a member's role (to `owner`: hand ownership over)",
    description: 'Managers change editors and viewers; the owner anyone. Setting another member to `owner` (the owner only) hands ownership over: the old owner becomes `manager`.',
    tags: ['teams'],
    role: 'manager',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, userId: UserId, role: RoleSchema }),
    result: strict({ member: Member }),
    http: { method: 'PATCH', url: '/api/directories/:directoryId/members/:userId', status: 200 },
    socket: true,
  }),
  removeMember: op({
    summary: 'Remove a member, or leave',
    description: 'Any member may remove themselves (leave), except the owner, who hands ownership over first; managers remove editors and viewers, the owner anyone.',
    tags: ['teams'],
    role: 'viewer',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, userId: UserId }),
    result: strict({}),
    http: { method: 'DELETE', url: '/api/directories/:directoryId/members/:userId', status: 204 },
    socket: true,
  }),
  createInvite: op({
    summary: 'Invite people to a directory with a role (a QR code to scan)',
    tags: ['teams'],
    role: 'manager',
    kind: 'write',
    eventId: false,
    input: strict({
      directoryId: DirectoryId,
      role: InvitableRole,
      maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1 })),
      expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 72 })),
    }),
    result: strict({ invite: Invite }),
    http: { method: 'POST', url: '/api/directories/:directoryId/invites', status: 201 },
    socket: true,
  }),
  listInvites: op({
    summary: 'The open invites of a directory',
    tags: ['teams'],
    role: 'manager',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId }),
    result: strict({ invites: Type.Array(Invite) }),
    http: { method: 'GET', url: '/api/directories/:directoryId/invites', status: 200 },
    socket: true,
  }),
  revokeInvite: op({
    summary: 'Revoke an invite',
    tags: ['teams'],
    role: 'manager',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, code: InviteCode }),
    result: strict({}),
    http: { method: 'DELETE', url: '/api/directories/:directoryId/invites/:code', status: 204 },
    socket: true,
  }),
  acceptInvite: op({
    summary: 'Join a directory with an invite',
    description: "The same user accepting the same invite again uses no second use and gets the same answer; a member keeps the higher of their role and the invite's.",
    tags: ['teams'],
    role: null,
    kind: 'write',
    eventId: false,
    input: strict({ code: InviteCode }),
    result: strict({ directory: Directory, role: RoleSchema }),
    http: { method: 'POST', url: '/api/invites/:code/accept', status: 200 },
    socket: true,
  }),
  // ---- webhooks ----
  createWebhook: op({
    summary: 'Register a webhook: every Change of the directory is POSTed to its URL, signed with its secret',
    description:
      'Each Change is POSTed as `{directoryId, revision, change}` with `X-Scancode-Signature: sha256=<hex HMAC-SHA256 of the body>` and `X-Scancode-Delivery: <directoryId>:<revision>`, in revision order, at least once, retried with backoff for 24 hours. Only the changes made after it is registered. A URL whose host is, or resolves to, a loopback, private or link-local address is refused (`bad_request`).',
    tags: ['webhooks'],
    role: 'manager',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, url: WebhookUrl, secret: WebhookSecret }),
    result: strict({ webhook: Webhook }),
    http: { method: 'POST', url: '/api/directories/:directoryId/webhooks', status: 201 },
    socket: true,
  }),
  listWebhooks: op({
    summary: 'The webhooks of a directory',
    tags: ['webhooks'],
    role: 'manager',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId }),
    result: strict({ webhooks: Type.Array(Webhook) }),
    http: { method: 'GET', url: '/api/directories/:directoryId/webhooks', status: 200 },
    socket: true,
  }),
  getWebhook: op({
    summary: 'One webhook of a directory',
    tags: ['webhooks'],
    role: 'manager',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, webhookId: WebhookId }),
    result: strict({ webhook: Webhook }),
    http: { method: 'GET', url: '/api/directories/:directoryId/webhooks/:webhookId', status: 200 },
    socket: true,
  }),
  deleteWebhook: op({
    summary: 'Delete a webhook (nothing more is sent to it)',
    tags: ['webhooks'],
    role: 'manager',
    kind: 'write',
    eventId: false,
    input: strict({ directoryId: DirectoryId, webhookId: WebhookId }),
    result: strict({}),
    http: { method: 'DELETE', url: '/api/directories/:directoryId/webhooks/:webhookId', status: 204 },
    socket: true,
  }),
  listDeliveries: op({
    summary: "A webhook's deliveries, newest first: pending (with their attempts) and delivered",
    tags: ['webhooks'],
    role: 'manager',
    kind: 'read',
    eventId: false,
    input: strict({ directoryId: DirectoryId, webhookId: WebhookId, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }),
    result: strict({ deliveries: Type.Array(WebhookDelivery) }),
    http: { method: 'GET', url: '/api/directories/:directoryId/webhooks/:webhookId/deliveries', status: 200 },
    socket: true,
  }),
};

export type Operations = typeof operations;
export type OperationName = keyof Operations;
export type OperationInput<N extends OperationName> = Static<Operations[N]['input']>;
export type OperationResult<N extends OperationName> = Static<Operations[N]['result']>;
/** The operations that are socket requests. */
export type SocketOperationName = { [N in OperationName]: Operations[N]['socket'] extends true ? N : never }[OperationName];
export const OPERATION_NAMES = Object.keys(operations) as OperationName[];

/** `Omit` for each member of a union (a plain Omit would merge a tagged union into one shape). */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An operation's request frame: `{type, id, ...input}`, the event id being the frame's id. */
export type OperationFrame<N extends SocketOperationName> = OmitEach<OperationInput<N>, 'eventId'> & { type: N; id: Operations[N]['eventId'] extends true ? string : string | number };

// ---- deriving the transports' schemas ----

type JsonSchema = TSchema & { properties?: Record<string, TSchema>; required?: string[]; oneOf?: JsonSchema[] };

/** The schema without these fields (each branch of a tagged union alike). */
export function withoutFields(schema: TSchema, names: readonly string[]): TSchema {
  const s = schema as JsonSchema;
  if (s.oneOf) return { ...s, oneOf: s.oneOf.map((branch) => withoutFields(branch, names)) } as TSchema;
  const properties = Object.fromEntries(Object.entries(s.properties ?? {}).filter(([name]) => !names.includes(name)));
  const required = (s.required ?? []).filter((name) => !names.includes(name));
  const copy: JsonSchema = { ...s, properties } as JsonSchema;
  if (required.length > 0) copy.required = required;
  else delete copy.required;
  return copy;
}

/** Only these fields of an object schema (the path parameters of a route). */
export function onlyFields(schema: TSchema, names: readonly string[]): TSchema {
  const s = schema as JsonSchema;
  const properties = Object.fromEntries(names.map((name) => [name, (s.properties ?? (s.oneOf?.[0]?.properties as Record<string, TSchema>))[name]]));
  return Type.Object(properties, { additionalProperties: false });
}

/** The schema with these required fields added first (each branch of a tagged union alike). */
export function withFields(schema: TSchema, fields: Record<string, TSchema>, options: { title?: string; description?: string } = {}): TSchema {
  const s = schema as JsonSchema;
  if (s.oneOf)
    return {
      ...s,
      ...options,
      oneOf: s.oneOf.map((branch) => withFields(branch, fields, branch.title && options.title ? { title: `${options.title} (${branch.title.replace(/^.*\((.*)\)$/, '$1')})` } : {})),
    } as TSchema;
  const properties = { ...fields, ...(s.properties ?? {}) };
  // The added fields (a frame's type and id) are always required.
  const required = [...new Set([...Object.keys(fields), ...(s.required ?? [])])];
  return { ...s, ...options, type: 'object', properties, required, additionalProperties: false } as TSchema;
}

/** The `:name` segments of a route's URL. */
export function pathFields(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
}

/** The RequestId of a read: a string or an integer, chosen by the client. */
const RequestIdSchema = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer()]);

/** The socket request frame of an operation. */
export function operationFrame(name: OperationName): TSchema {
  const def: OperationDef = operations[name];
  const id = def.eventId ? { ...EventId, description: 'the event id of this write: sent again, it has no second effect' } : RequestIdSchema;
  return withFields(withoutFields(def.input, ['eventId']), { type: Type.Literal(name), id }, { title: name, description: def.description ?? def.summary });
}
