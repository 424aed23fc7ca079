import type { TSchema } from '@sinclair/typebox';
import { CloseCode } from './errors';
import { ACK_RESULTS, CLIENT_FRAMES, MAX_FRAME_BYTES, SERVER_FRAMES, SNAPSHOT_PAGE_BYTES, type RequestType } from './frames';

/**
 * The AsyncAPI 3.0.0 document of `/ws`, built from the frames' own schemas so that it says exactly what
 * the server checks and cannot drift from it. A plain object: the contract imports nothing but TypeBox.
 * Operations are from the point of view of a client (a phone): it sends the client frames and receives
 * the server frames.
 */

export interface AsyncApiOptions {
  /** Where the server is: `host[:port]`, or a `ws://` or `wss://` URL (default `localhost:3000`). */
  serverUrl?: string;
}

/**
 * Payloads are the contract's JSON Schemas as they are. AsyncAPI's own schema format would read the
 * scan frame's `discriminator` (OpenAPI's object form, which Ajv also checks) as a property name.
 */
export const PAYLOAD_SCHEMA_FORMAT = 'application/schema+json;version=draft-07';

const KIB = MAX_FRAME_BYTES / 1024;

/** What a client does on each close code the server sends (keyed by CloseCode, so a new code needs its line). */
const CLOSE_CODE_ADVICE: Record<keyof typeof CloseCode, [why: string, what: string]> = {
  goingAway: ['the server is shutting down (a deploy)', 'reconnect after a short random delay (another instance answers) and re-subscribe with `since`'],
  tooBig: [`a frame over ${KIB} KiB`, 'a bug in the client: do not send that frame again; reconnect'],
  internalError: ['the server could not keep the no-gap promise (its database failed mid-delivery), or could not check the token', 'reconnect with backoff and re-subscribe with `since`'],
  unauthorized: ['no, bad, expired or revoked token', 'do not reconnect with this token: log in again (`POST /api/login`), then connect with the new token'],
  tooSlow: [
    'the client did not read its frames (over 1 MiB queued for it, or nothing read for 30 s while its snapshot or replay waits)',
    'reconnect and re-subscribe with `since` (what it missed is replayed)',
  ],
  tooManySockets: [
    'too many sockets of this user on this server, too many of this address waiting for authentication, or too many refused tokens from this address (after an `error` frame: `rate_limited` with `retryAfter`)',
    'not a login problem: reconnect after `retryAfter` seconds (send queued scans over `POST /api/sync` meanwhile) and re-subscribe with `since`',
  ],
};

type JsonObject = Record<string, unknown>;

/** A plain JSON copy: TypeBox schemas carry Symbol keys ([Kind], [OptionalKind]) that are no part of JSON Schema. */
const plain = (schema: TSchema): JsonObject => JSON.parse(JSON.stringify(schema)) as JsonObject;

const isRequestType = (type: string): type is RequestType => Object.hasOwn(ACK_RESULTS, type);

/** `{goods, delta, ...}`: the fields of an ack result, as the description lists them. */
const fieldsOf = (type: RequestType) => {
  const schema = ACK_RESULTS[type] as TSchema & { properties?: object; anyOf?: { properties?: object }[] };
  return `{${Object.keys(schema.properties ?? schema.anyOf?.[0]?.properties ?? {}).join(', ')}}`;
};

const ackResultLine = (type: RequestType) => {
  const description = ACK_RESULTS[type].description;
  return `| \`${type}\` | \`${fieldsOf(type)}\` | ${description ?? ''} |`;
};

const closeCodeLine = ([name, code]: [string, number]) => {
  const [why, what] = CLOSE_CODE_ADVICE[name as keyof typeof CloseCode];
  return `| ${code} | ${why} | ${what} |`;
};

const DESCRIPTION = [
  'The real-time protocol of scancode: a phone watches its directories (warehouses) live and scans over one WebSocket.',
  'Every frame is one JSON object in a text frame, tagged by `type`.',
  '',
  "**Point of view.** Operations are those of a client (a phone): `send` operations are the frames it sends, `receive` operations the frames the server pushes to it. A request operation's `reply` names the frames that answer it.",
  '',
  '## Connecting',
  '- Authenticate with the session token from `POST /api/login`: either the `Authorization: Bearer <token>` header of the upgrade request, or a first frame `{"type": "auth", "token": "<token>"}` within 10 s.',
  '- The upgrade is always accepted; a missing or bad token gets an `error` frame (`unauthorized`) and a close with 4401.',
  "- Once authenticated, the server's first frame is `hello`.",
  '',
  '## Requests and acks',
  '- Every request (every client frame but `auth`) carries an `id` (a string of 1 to 64 characters or an integer; the id of a write that takes an event id — `scan`, `editGoods`, `createDirectory`... — is its event id, 1 to 64 characters of A-Z a-z 0-9 . _ : -) and gets exactly one ack echoing it: `ackOk` with a `result`, or `ackError` with an `error`.',
  "- Besides `subscribe`, `unsubscribe` and `ping`, every operation of the HTTP API is a request whose `type` is the operation's name and whose fields are its input (`directoryId` for a route's `:directoryId`); its ack's result is the HTTP answer's body (`{}` for a 204). Each needs a role in the directory it names (owner > manager > editor > viewer): a stranger is answered `directory_not_found`, too low a role `forbidden` with `role` and `required`.",
  '- The requests of one socket are answered in the order they were sent; pushes (`change`, `snapshot`, `directory`, `unsubscribed`, `count`, `alert`) may arrive between acks.',
  `- A \`subscribe\` without a usable \`since\` gets a snapshot in one or more \`snapshot\` frames (pages of at most ${SNAPSHOT_PAGE_BYTES / 1024} KiB, \`page\` from 0, the final one with \`last: true\`, all of one revision): keep the pages until the last, then replace the copy with their goods together. The changes after the snapshot\'s revision follow its last page, up to the ack\'s revision, then live ones.`,
  '- A malformed or unknown frame gets an `ackError` with `bad_request` naming the field (an `error` frame when it has no usable `id`); the socket stays open.',
  '',
  'The `result` of an `ackOk`, by request type:',
  '',
  '| request | result | |',
  '|---|---|---|',
  ...(Object.keys(ACK_RESULTS) as RequestType[]).map(ackResultLine),
  '',
  '## Limits',
  `- A frame from the client may be at most ${KIB} KiB (${MAX_FRAME_BYTES} bytes); a larger one closes the socket with ${CloseCode.tooBig}.`,
  `- Over 1 MiB waiting to be sent to a client that does not read closes it with ${CloseCode.tooSlow}; so does reading nothing for 30 s while a snapshot page or a replayed change waits for it (they are sent as the client reads).`,
  '- Frames per session (shared by its sockets): a token bucket, by default 500 a second with bursts of 1,000. A frame over it gets an `ackError` (an `error` frame when it has no `id`) with `rate_limited` and `retryAfter` (seconds); nothing of it is applied and the socket stays open.',
  '- Directories per socket: by default 100. A `subscribe` to one more gets an `ackError` with `rate_limited` (`retryAfter` 30); re-subscribing to a directory already watched is not counted again.',
  `- Sockets per user on one server: by default 2,000. One more gets an \`error\` frame with \`rate_limited\` (\`retryAfter\` 30) and a close with ${CloseCode.tooManySockets}.`,
  `- Sockets waiting for authentication per client address: by default 256. One more gets an \`error\` frame with \`rate_limited\` (\`retryAfter\` 30) and a close with ${CloseCode.tooManySockets}.`,
  `- Refused tokens per client address: by default 600 a minute, over HTTP and sockets together. Past it, for the rest of that minute, a socket opened with a token from that address gets an \`error\` frame with \`rate_limited\` and a close with ${CloseCode.tooManySockets}, before its token is looked up.`,
  '- Each server may be configured otherwise (WS_FRAME_RATE, WS_FRAME_BURST, MAX_SUBSCRIPTIONS_PER_SOCKET, MAX_SOCKETS_PER_USER, MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS, BAD_TOKEN_RATE_LIMIT).',
  '- The server sends protocol pings every `heartbeatMs` (from `hello`); a socket silent for two intervals is dropped (1006 on the client).',
  '',
  '## Close codes',
  '',
  '| code | why | what the client does |',
  '|---|---|---|',
  ...Object.entries(CloseCode).map(closeCodeLine),
  '',
  'Reconnecting and re-subscribing with `since` (the last revision applied) is always safe: nothing is lost or doubled.',
].join('\n');

const CHANNEL = '#/channels/ws';
const ref = ($ref: string) => ({ $ref });
const messageRef = (name: string) => ref(`${CHANNEL}/messages/${name}`);
const capitalized = (name: string) => name[0].toUpperCase() + name.slice(1);

function message(name: string, schema: TSchema): JsonObject {
  return {
    name,
    title: schema.title,
    summary: schema.description,
    contentType: 'application/json',
    payload: { schemaFormat: PAYLOAD_SCHEMA_FORMAT, schema: plain(schema) },
  };
}

function sendOperation(type: string, schema: TSchema): JsonObject {
  const operation = { action: 'send', channel: ref(CHANNEL), title: `send ${type}`, summary: schema.description, messages: [messageRef(type)] };
  if (!isRequestType(type)) {
    return { ...operation, reply: { channel: ref(CHANNEL), messages: [messageRef('hello'), messageRef('error')] } };
  }
  return {
    ...operation,
    description: `Answered by exactly one ack with the same \`id\`: \`ackOk\` with the result \`${fieldsOf(type)}\` (in \`x-ack-result\`), or \`ackError\`.`,
    reply: { channel: ref(CHANNEL), messages: [messageRef('ackOk'), messageRef('ackError')] },
    'x-ack-result': plain(ACK_RESULTS[type]),
  };
}

const receiveOperation = (type: string, schema: TSchema): JsonObject => ({
  action: 'receive',
  channel: ref(CHANNEL),
  title: `receive ${type}`,
  summary: schema.description,
  messages: [messageRef(type)],
});

/** `ws://host:port` or `wss://host` → protocol and host; a bare host is `ws`. */
function serverOf(serverUrl: string): { protocol: string; host: string } {
  const match = /^(wss?):\/\/([^/]+)/.exec(serverUrl);
  return match ? { protocol: match[1], host: match[2] } : { protocol: 'ws', host: serverUrl };
}

/** A server frame's message name: its key, or `<key>Push` where a request has that name (`count`). */
export const serverMessageName = (key: string) => (Object.hasOwn(CLIENT_FRAMES, key) ? `${key}Push` : key);

export function asyncApiDocument(options: AsyncApiOptions = {}): JsonObject {
  const frames = [...Object.entries(CLIENT_FRAMES), ...Object.entries(SERVER_FRAMES).map(([key, schema]): [string, TSchema] => [serverMessageName(key), schema])];
  return {
    asyncapi: '3.0.0',
    info: { title: 'scancode /ws', version: '1.0.0', description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      scancode: {
        ...serverOf(options.serverUrl ?? 'localhost:3000'),
        description: 'The scancode server; the same host serves the HTTP API.',
        security: [ref('#/components/securitySchemes/bearer')],
      },
    },
    channels: {
      ws: {
        address: '/ws',
        title: '/ws',
        description: 'One socket per phone: requests, their acks, and the pushes of every directory it watches.',
        servers: [ref('#/servers/scancode')],
        messages: Object.fromEntries(frames.map(([name, schema]) => [name, message(name, schema)])),
      },
    },
    operations: Object.fromEntries([
      ...Object.entries(CLIENT_FRAMES).map(([type, schema]) => [`send${capitalized(type)}`, sendOperation(type, schema)]),
      ...Object.entries(SERVER_FRAMES).map(([type, schema]) => [`receive${capitalized(serverMessageName(type))}`, receiveOperation(serverMessageName(type), schema)]),
    ]),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The session token from `POST /api/login`, in the `Authorization: Bearer` header of the upgrade request, or, without the header, in a first `auth` frame within 10 s.',
        },
      },
    },
  };
}
