import { ERROR_STATUS, OPERATION_NAMES, ROLES, operations, pathFields, type OperationDef, type OperationInput, type OperationName, type Role } from '../../../src/contract';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { request } from '../../helpers/http';
import { createDirectory, legacyPost, revisionOf, scan, signIn, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Teams", generated from the operation table: every operation, run by the owner, a manager, an
 * editor, a viewer and a stranger, over HTTP and over the socket, gets exactly SPEC's answer. A role at
 * least the table's succeeds (a null role: any logged-in user); a stranger gets `directory_not_found`,
 * as for a missing directory; a member below the table's role gets `forbidden` with `role` (theirs) and
 * `required` (the table's). A refused write applies nothing. The seed's legacy routes see only the
 * user's own directories: its owner succeeds, every other member is told the directory does not exist.
 */

type Actor = Role | 'stranger';
const ACTORS: Actor[] = [...ROLES, 'stranger'];
const rank = (role: Role) => ROLES.length - ROLES.indexOf(role);

/** A directory of the owner's with one member of each role, a viewer to act on, goods, and an open invite. */
interface Team {
  directoryId: number;
  name: string;
  /** A viewer who is none of the actors: the member that setMemberRole and removeMember act on. */
  targetUserId: number;
  /** An invite to the team made by its owner (role viewer, one use). */
  inviteCode: string;
  /** Goods in the directory, count 5. */
  goodsCode: string;
  /** The owner's scan that brought the goods in (revision 1): what undo undoes. */
  undoRevision: number;
  /** A count session of the directory, open, started by the owner. */
  countId: number;
  /** A second directory of the owner's with the same members and no count: transfers go there, counts start there. */
  otherDirectoryId: number;
  /** A webhook of the directory, registered by its owner (to a loopback port nothing listens on). */
  webhookId: number;
}

interface CaseContext {
  team: Team;
  /** Unique to this case: names, event ids. */
  unique: string;
}

/** Loopback is allowed in the matrix (WEBHOOK_ALLOW_PRIVATE=1); nothing listens on the discard port, so deliveries just fail and wait. */
const WEBHOOK_URL = 'http://127.0.0.1:9/matrix';
const WEBHOOK_SECRET = 'matrix-webhook-secret-0123';

/**
 * One input per operation, typed by the table: an operation added without a sample here does not
 * compile (and the first test below fails with its name, for a run that skips the type check).
 */
const SAMPLES: { [N in OperationName]: (ctx: CaseContext) => OperationInput<N> } = {
  listDirectories: () => ({}),
  createDirectory: ({ unique }) => ({ name: `新建-${unique}` }),
  getDirectory: ({ team }) => ({ directoryId: team.directoryId }),
  renameDirectory: ({ team, unique }) => ({ directoryId: team.directoryId, name: `改名-${unique}` }),
  deleteDirectory: ({ team }) => ({ directoryId: team.directoryId }),
  getGoods: ({ team }) => ({ directoryId: team.directoryId, code: team.goodsCode }),
  lookup: ({ team }) => ({ directoryId: team.directoryId, code: team.goodsCode }),
  editGoods: ({ team, unique }) => ({ directoryId: team.directoryId, code: team.goodsCode, remarks: `备注-${unique}` }),
  removeGoods: ({ team }) => ({ directoryId: team.directoryId, code: team.goodsCode }),
  scan: ({ team }) => ({ directoryId: team.directoryId, op: 'in', code: team.goodsCode }),
  changes: ({ team }) => ({ directoryId: team.directoryId, since: 0 }),
  logs: ({ team }) => ({ directoryId: team.directoryId }),
  exportCsv: ({ team }) => ({ directoryId: team.directoryId }),
  importCsv: ({ team }) => ({ directoryId: team.directoryId, csv: `code,name,remarks,count\r\n${team.goodsCode},,,5\r\n` }),
  sync: ({ team, unique }) => ({ events: [{ eventId: `sync-${unique}`, directoryId: team.directoryId, op: 'in', code: team.goodsCode }] }),
  listMembers: ({ team }) => ({ directoryId: team.directoryId }),
  setMemberRole: ({ team }) => ({ directoryId: team.directoryId, userId: team.targetUserId, role: 'editor' }),
  removeMember: ({ team }) => ({ directoryId: team.directoryId, userId: team.targetUserId }),
  createInvite: ({ team }) => ({ directoryId: team.directoryId, role: 'viewer' }),
  listInvites: ({ team }) => ({ directoryId: team.directoryId }),
  revokeInvite: ({ team }) => ({ directoryId: team.directoryId, code: team.inviteCode }),
  acceptInvite: ({ team }) => ({ code: team.inviteCode }),
  transfer: ({ team }) => ({ from: team.directoryId, to: team.otherDirectoryId, code: team.goodsCode, qty: 1 }),
  undo: ({ team }) => ({ directoryId: team.directoryId, revision: team.undoRevision }),
  listCounts: ({ team }) => ({ directoryId: team.directoryId }),
  startCount: ({ team, unique }) => ({ directoryId: team.otherDirectoryId, name: `盘点-${unique}` }),
  getCount: ({ team }) => ({ countId: team.countId }),
  count: ({ team }) => ({ countId: team.countId, code: team.goodsCode, qty: 1 }),
  finishCount: ({ team }) => ({ countId: team.countId }),
  cancelCount: ({ team }) => ({ countId: team.countId }),
  listAlerts: () => ({}),
  createWebhook: ({ team }) => ({ directoryId: team.directoryId, url: WEBHOOK_URL, secret: WEBHOOK_SECRET }),
  listWebhooks: ({ team }) => ({ directoryId: team.directoryId }),
  getWebhook: ({ team }) => ({ directoryId: team.directoryId, webhookId: team.webhookId }),
  deleteWebhook: ({ team }) => ({ directoryId: team.directoryId, webhookId: team.webhookId }),
  listDeliveries: ({ team }) => ({ directoryId: team.directoryId, webhookId: team.webhookId }),
};

/** Operations whose success uses up what the sample names (the directory, the goods, the target, the invite): each case gets a team of its own. */
const CONSUMING = new Set<OperationName>([
  'deleteDirectory',
  'removeGoods',
  'setMemberRole',
  'removeMember',
  'revokeInvite',
  'acceptInvite',
  'undo',
  'startCount',
  'finishCount',
  'cancelCount',
  'deleteWebhook',
]);

/**
 * Where the sample asks for more than the table's role. removeMember's role is viewer (any member may
 * leave); removing another member, a viewer, takes a manager (SPEC: managers remove editors and viewers).
 */
const SAMPLE_REQUIRES: Partial<Record<OperationName, Role>> = {
  removeMember: 'manager',
  // The owner's change and the owner's count: their author may with the table's role, anyone else needs a manager.
  undo: 'manager',
  finishCount: 'manager',
  cancelCount: 'manager',
};

/** The seed's routes that run an operation, with the owner's answer on a fresh team (goods at 5). */
const LEGACY: { path: string; operation: OperationName; unknownDirectory: string; ownerAnswer: object }[] = [
  { path: '/checkqr/', operation: 'lookup', unknownDirectory: '无此仓库，请重新登陆账户', ownerAnswer: { name: '样品', remarks: '', count: 5 } },
  { path: '/datain/', operation: 'scan', unknownDirectory: '不存在此仓库', ownerAnswer: { cur_count: 6, exist: 'existed' } },
  { path: '/dataout/', operation: 'scan', unknownDirectory: '无此仓库', ownerAnswer: { exist: 'existed', cur_count: 4 } },
];

/** What SPEC says `actor` gets for this operation's sample. */
function expected(name: OperationName, actor: Actor): { ok: true } | { ok: false; error: { code: string; role?: Role; required?: Role } } {
  const def: OperationDef = operations[name];
  if (def.role === null) return { ok: true };
  if (actor === 'stranger') return { ok: false, error: { code: 'directory_not_found' } };
  const required = SAMPLE_REQUIRES[name] ?? def.role;
  if (rank(actor) >= rank(required)) return { ok: true };
  return { ok: false, error: { code: 'forbidden', role: actor, required } };
}

/** The part of an error the matrix is about. */
const errorSummary = (error: { code: string; role?: Role; required?: Role }) => (error.code === 'forbidden' ? { code: error.code, role: error.role, required: error.required } : { code: error.code });

type Transport = 'http' | 'socket';
const transportsOf = (def: OperationDef): Transport[] => [...(def.http ? ['http' as const] : []), ...(def.socket ? ['socket' as const] : [])];

describe.each(testDatabases())('the role matrix on $name', (db) => {
  let server: TestServer;
  const users = {} as Record<Actor, TestUser & { socket: TestSocket }>;
  let target: TestUser;
  let shared: Team;
  let teams = 0;
  let cases = 0;
  /** Fresh teams, one for each case that uses its team up (only a success does); with a second directory for startCount's. */
  const spare: Team[] = [];
  const spareWithOther: Team[] = [];
  let building = 0;
  const freshTeam = (name: OperationName | null): Team => {
    const team = (name === 'startCount' ? spareWithOther : spare).pop();
    if (!team) throw new Error('the matrix built too few teams for its consuming cases');
    return team;
  };
  const succeeding = (name: OperationName) => ACTORS.filter((actor) => expected(name, actor).ok).length * transportsOf(operations[name]).length;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    // The matrix makes a few hundred requests as the same few users: no rate may stand in its way.
    server = await startServer(db, { env: { HTTP_RATE_LIMIT: '0', WS_FRAME_RATE: '0', INVITE_ACCEPT_RATE_LIMIT: '0', WEBHOOK_ALLOW_PRIVATE: '1' } });
    for (const actor of ACTORS) {
      const user = await signIn(server, `matrix-${actor}`);
      const socket = await connect(server.url, user.token);
      sockets.push(socket);
      users[actor] = { ...user, socket };
    }
    target = await signIn(server, 'matrix-target');
    shared = await newTeam(true);
    // Every case that uses up its team (a success of a consuming operation, the owner's legacy write)
    // gets one of its own, built here a few at a time; refusals change nothing and share one.
    const needed = OPERATION_NAMES.filter((name) => CONSUMING.has(name) && name !== 'startCount').reduce((sum, name) => sum + succeeding(name), 0) + LEGACY.length;
    const neededWithOther = succeeding('startCount');
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (spare.length + spareWithOther.length + building < needed + neededWithOther) {
          building += 1;
          const withOther = spareWithOther.length + building <= neededWithOther;
          (withOther ? spareWithOther : spare).push(await newTeam(withOther));
          building -= 1;
        }
      }),
    );
  }, 240_000);
  afterAll(async () => {
    await closeAll(sockets);
    await server.close();
  });

  async function invite(directoryId: number, role: Role, maxUses = 1): Promise<string> {
    const answer = await users.owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role, maxUses } });
    if (answer.status !== 201) throw new Error(`invite failed: ${answer.status} ${answer.text}`);
    return answer.body.invite.code;
  }

  async function join(user: TestUser, code: string): Promise<void> {
    const answer = await user.api.post(`/api/invites/${code}/accept`);
    if (answer.status !== 200) throw new Error(`accept failed: ${answer.status} ${answer.text}`);
  }

  /** A directory of the owner's with a manager, an editor and two viewers (the viewer actor and the target). */
  async function teamDirectory(name: string): Promise<number> {
    const directoryId = await createDirectory(users.owner.api, name);
    for (const role of ['manager', 'editor'] as const) await join(users[role], await invite(directoryId, role));
    const viewers = await invite(directoryId, 'viewer', 2);
    await join(users.viewer, viewers);
    await join(target, viewers);
    return directoryId;
  }

  async function newTeam(withOther = false): Promise<Team> {
    const name = `团队-${++teams}`;
    const directoryId = await teamDirectory(name);
    const otherDirectoryId = withOther ? await teamDirectory(`${name}-乙`) : 0;
    const goodsCode = `G-${teams}`;
    const scanned = await scan(users.owner.api, directoryId, { op: 'in', code: goodsCode, qty: 5, name: '样品' });
    if (scanned.status !== 200) throw new Error(`scan failed: ${scanned.status} ${scanned.text}`);
    const count = await users.owner.api.post(`/api/directories/${directoryId}/counts`, { body: {} });
    if (count.status !== 201) throw new Error(`count failed: ${count.status} ${count.text}`);
    const webhook = await users.owner.api.post(`/api/directories/${directoryId}/webhooks`, { body: { url: WEBHOOK_URL, secret: WEBHOOK_SECRET } });
    if (webhook.status !== 201) throw new Error(`webhook failed: ${webhook.status} ${webhook.text}`);
    return {
      directoryId,
      name,
      targetUserId: target.userId,
      inviteCode: await invite(directoryId, 'viewer'),
      goodsCode,
      undoRevision: scanned.body.revision,
      countId: count.body.count.id,
      otherDirectoryId,
      webhookId: webhook.body.webhook.id,
    };
  }

  /** Runs the operation as `actor` over the transport; the answer as `{ok, error?}`, and the raw result. */
  async function run(transport: Transport, actor: Actor, name: OperationName, input: Record<string, unknown>, unique: string) {
    const user = users[actor];
    if (transport === 'socket') {
      const def: OperationDef = operations[name];
      const { eventId: _none, ...fields } = input;
      const id = def.eventId ? `m-${unique}` : `r-${unique}`;
      const ack = await user.socket.request({ type: name, id, ...fields });
      return ack.ok ? { outcome: { ok: true as const }, result: ack.result } : { outcome: { ok: false as const, error: errorSummary(ack.error) } };
    }
    const http = operations[name].http as NonNullable<OperationDef['http']>;
    const params = pathFields(http.url);
    let path = http.url;
    for (const param of params) path = path.replace(`:${param}`, encodeURIComponent(String(input[param])));
    const rest = Object.fromEntries(Object.entries(input).filter(([field]) => !params.includes(field)));
    let body: unknown;
    let headers: Record<string, string> | undefined;
    if (http.consumes === 'text/csv') {
      // The file itself, not JSON.
      body = rest.csv;
      headers = { 'content-type': 'text/csv' };
    } else if (http.method === 'GET') {
      const query = new URLSearchParams(Object.entries(rest).map(([field, value]): [string, string] => [field, String(value)])).toString();
      if (query !== '') path += `?${query}`;
    } else if (Object.keys(rest).length > 0) {
      body = rest;
    }
    const answer = await request(server.url, http.method, path, { token: user.token, body, headers });
    if (answer.status >= 400) {
      const error = answer.body.error;
      expect({ code: error.code, status: answer.status }).toEqual({ code: error.code, status: ERROR_STATUS[error.code as keyof typeof ERROR_STATUS] });
      return { outcome: { ok: false as const, error: errorSummary(error) } };
    }
    expect({ name, status: answer.status }).toEqual({ name, status: http.status });
    return { outcome: { ok: true as const }, result: answer.body };
  }

  it('has a sample input for every operation of the table', () => {
    const missing = OPERATION_NAMES.filter((name) => typeof (SAMPLES as Partial<Record<OperationName, unknown>>)[name] !== 'function');
    if (missing.length > 0) throw new Error(`the role matrix has no sample input for ${missing.join(', ')}: add one to SAMPLES in ${__filename}`);
  });

  describe.each(OPERATION_NAMES)('%s', (name) => {
    const def: OperationDef = operations[name];
    const cases_ = transportsOf(def).flatMap((transport) => ACTORS.map((actor) => ({ transport, actor })));
    it.each(cases_)('$transport as $actor', async ({ transport, actor }) => {
      const sample = (SAMPLES as Partial<{ [N in OperationName]: (ctx: CaseContext) => Record<string, unknown> }>)[name];
      if (!sample) throw new Error(`no sample input for operation ${name}: add one to SAMPLES`);
      const team = CONSUMING.has(name) && expected(name, actor).ok ? freshTeam(name) : shared;
      const unique = `${name}-${transport}-${actor}-${++cases}`;
      const input = sample({ team, unique });
      const before = def.kind === 'write' ? await revisionOf(users.owner.api, team.directoryId) : null;

      const { outcome, result } = await run(transport, actor, name, input, unique);

      const want = expected(name, actor);
      expect({ name, transport, actor, ...outcome }).toEqual({ name, transport, actor, ...want });
      // A refused write applies nothing: the directory's revision stays.
      if (!want.ok && before !== null) expect(await revisionOf(users.owner.api, team.directoryId)).toBe(before);
      if (name === 'sync') {
        // Each event of a sync is checked against its own directory with a scan's role.
        const event = (result as { results: { ok: boolean; error?: { code: string; role?: Role; required?: Role } }[] }).results[0];
        const scanAnswer = expected('scan', actor);
        expect(event.ok ? { ok: true } : { ok: false, error: errorSummary(event.error as { code: string }) }).toEqual(scanAnswer);
      }
      if (name === 'acceptInvite') {
        // A member keeps the higher of their role and the invite's (viewer); a stranger becomes a viewer.
        expect((result as { role: Role }).role).toBe(actor === 'stranger' ? 'viewer' : actor);
      }
    });
  });

  describe.each(LEGACY)('legacy $path', ({ path, unknownDirectory, ownerAnswer }) => {
    it.each(ACTORS)('as %s', async (actor) => {
      // The owner's write changes its team (a fresh one, goods at 5); the others are refused and share one.
      const team = actor === 'owner' ? freshTeam(null) : shared;
      const countNow = async () => (await users.owner.api.get(`/api/directories/${team.directoryId}/goods/${encodeURIComponent(team.goodsCode)}`)).body.goods.count as number;
      const before = await countNow();
      const answer = await legacyPost(server, path, { code: team.goodsCode, name: '', remarks: '', cookie: users[actor].token, dir: team.name });
      expect(answer.status).toBe(200);
      // The seed's app addresses directories by name, among its user's own: only the owner finds this one.
      expect(answer.body).toEqual(actor === 'owner' ? ownerAnswer : { error: unknownDirectory });
      expect(await countNow()).toBe(actor === 'owner' && path !== '/checkqr/' ? (ownerAnswer as { cur_count: number }).cur_count : before);
    });
  });
});
