import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { all, allLogs, countOf, createDirectory, directoryState, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

/**
 * Group commit across directories: what waits for many directories shares one transaction (one commit),
 * each directory still its own revisions, refusals and watchers' order. The periodic revision check is
 * an hour away, so every change a watcher sees came through the post-commit announcements.
 */
describe.each(testDatabases())('group commit across directories on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  let people = 0;
  beforeAll(async () => {
    server = await startServer(db, { env: { REVISION_CHECK_MS: '3600000' } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  const commits = () => server.app.services.mutations.commits;
  /** One transaction holds at most 50 mutations on the embedded database (so that it shares the event loop), 500 on MariaDB. */
  const transactionsFor = (mutations: number) => (db.name === 'sqlite' ? Math.ceil(mutations / 50) : Math.ceil(mutations / 500));

  /** A user (logged in under `name`, so more devices can log in as them) with fresh directories. */
  async function owner(directories: number): Promise<{ name: string; user: TestUser; ids: number[] }> {
    const name = `owner-${++people}`;
    const user = await signIn(server, name);
    const ids: number[] = [];
    for (let i = 0; i < directories; i++) ids.push(await createDirectory(user.api, `仓库 ${i}`));
    return { name, user, ids };
  }

  async function socket(token: string): Promise<TestSocket> {
    const opened = await connect(server.url, token);
    sockets.push(opened);
    return opened;
  }

  const rows = <T extends object>(sql: string, params: unknown[]) => server.app.services.orm.em.fork().getConnection().execute<T[]>(sql, params);
  /** The log's revisions of a directory, oldest first: 0 (its creation), then one per change, no gap. */
  const revisions = async (api: Api, id: number) => (await allLogs(api, id)).map((l) => l.revision as number).reverse();
  const upTo = (n: number) => Array.from({ length: n + 1 }, (_, i) => i);

  it('many sockets scanning into 50 directories at once: every ack ok, revisions 1..n per directory, counts right, every watcher in order', async () => {
    const owners = await Promise.all(Array.from({ length: 10 }, () => owner(5)));
    const perDirectory = 6;
    // Each owner: a watcher socket subscribed to their five directories, and two scanning devices.
    const watchers = await Promise.all(owners.map(({ user }) => socket(user.token)));
    await Promise.all(owners.flatMap(({ ids }, o) => ids.map((id) => watchers[o].request({ type: 'subscribe', directoryId: id }))));
    const scanners = await Promise.all(owners.flatMap(({ name }) => [0, 1].map(async (d) => socket(await server.login(name, { deviceId: `phone-${d}` })))));

    // Every scanner pipelines its scans (three per directory of its owner's) without waiting for acks.
    const sent = scanners.flatMap((scanner, s) =>
      Array.from({ length: perDirectory / 2 }, (_, round) =>
        owners[Math.floor(s / 2)].ids.map((id) => ({ id, ack: scanner.request({ type: 'scan', id: `s${s}-${id}-${round}`, directoryId: id, op: 'in', code: 'C', qty: 1 }) })),
      ).flat(),
    );
    const acks = await Promise.all(sent.map(({ ack }) => ack));

    expect(acks.filter((ack) => !ack.ok)).toEqual([]);
    const ids = owners.flatMap((o) => o.ids);
    const logged = await rows<{ directory_id: number; revision: number }>(
      `select directory_id, revision from logs where directory_id in (${ids.map(() => '?').join(', ')}) order by directory_id, revision`,
      ids,
    );
    const counts = await rows<{ directory_id: number; count: number }>(`select directory_id, count from goods where directory_id in (${ids.map(() => '?').join(', ')})`, ids);
    for (const id of ids) {
      const own = acks.filter((_, i) => sent[i].id === id);
      expect(own.map((ack) => ack.result.revision).sort((a, b) => a - b)).toEqual(upTo(perDirectory).slice(1));
      expect(logged.filter((row) => row.directory_id === id).map((row) => row.revision)).toEqual(upTo(perDirectory));
      expect(counts.filter((row) => row.directory_id === id).map((row) => row.count)).toEqual([perDirectory]);
    }
    for (const [o, { ids }] of owners.entries()) {
      for (const id of ids) {
        await watchers[o].changesUpTo(id, perDirectory);
        expect(watchers[o].revisions(id)).toEqual(upTo(perDirectory).slice(1));
      }
    }
  });

  it('one sync into 50 directories is one transaction (MariaDB; 50 mutations each on the embedded database), each event its own outcome', async () => {
    const { user, ids } = await owner(50);
    const before = commits();
    const events = [0, 1, 2, 3].flatMap((round) => ids.map((id) => ({ eventId: `one-${id}-${round}`, directoryId: id, op: 'in', code: 'G', qty: round + 1 })));
    const answer = await user.api.post('/api/sync', { body: { events } });
    expect(answer.status).toBe(200);
    expect(commits() - before).toBe(transactionsFor(events.length));
    const results = answer.body.results as Frame[];
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => r.result.revision)).toEqual([0, 1, 2, 3].flatMap((round) => ids.map(() => round + 1)));
    for (const id of [ids[0], ids[17], ids[49]]) {
      expect(await countOf(user.api, id, 'G')).toBe(1 + 2 + 3 + 4);
      expect(await revisions(user.api, id)).toEqual(upTo(4));
    }
  });

  it("a directory refused in a shared transaction (beyond stock, deleted mid-flight, a member removed) fails none of the others'", async () => {
    const { user, ids } = await owner(6);
    const [short, deleted, shared, ...plain] = ids;
    // A member of `shared` who is removed before the sync: their scans there are refused, the rest apply.
    const member = await signIn(server, `member-${++people}`);
    const invite = await user.api.post(`/api/directories/${shared}/invites`, { body: { role: 'editor' } });
    expect((await member.api.post(`/api/invites/${invite.body.invite.code}/accept`)).status).toBe(200);
    const own = await createDirectory(member.api, '自己的');
    expect((await user.api.delete(`/api/directories/${shared}/members/${member.userId}`)).status).toBe(204);
    await user.api.post('/api/sync', { body: { events: [{ eventId: 'stock', directoryId: short, op: 'in', code: 'S', qty: 2 }] } });

    const ownerEvents = [
      ...plain.map((id) => ({ eventId: `ok-${id}`, directoryId: id, op: 'in', code: 'P' })),
      { eventId: 'too-many', directoryId: short, op: 'out', code: 'S', qty: 3 },
      { eventId: 'enough', directoryId: short, op: 'out', code: 'S', qty: 1 },
      ...Array.from({ length: 30 }, (_, i) => ({ eventId: `race-${i}`, directoryId: deleted, op: 'in', code: 'D' })),
      ...plain.map((id) => ({ eventId: `ok2-${id}`, directoryId: id, op: 'in', code: 'P' })),
    ];
    const memberEvents = [
      { eventId: 'm-own', directoryId: own, op: 'in', code: 'M' },
      { eventId: 'm-shared', directoryId: shared, op: 'in', code: 'M' },
    ];
    const [ownerSync, memberSync, deletion] = await Promise.all([
      user.api.post('/api/sync', { body: { events: ownerEvents } }),
      member.api.post('/api/sync', { body: { events: memberEvents } }),
      user.api.delete(`/api/directories/${deleted}`),
    ]);
    expect(deletion.status).toBe(204);
    const byId = new Map((ownerSync.body.results as Frame[]).map((r) => [r.eventId, r]));
    for (const id of plain) expect([byId.get(`ok-${id}`)?.result.revision, byId.get(`ok2-${id}`)?.result.revision]).toEqual([1, 2]);
    expect(byId.get('too-many')).toMatchObject({ ok: false, error: { code: 'insufficient_stock' } });
    expect(byId.get('enough')).toMatchObject({ ok: true, result: { revision: 2, goods: { count: 1 } } });
    // They were one transaction (its clock is the `at` of every row it wrote), with the refusal in it.
    const together = ['enough', ...plain.flatMap((id) => [`ok-${id}`, `ok2-${id}`])];
    const written = await rows<{ at: unknown }>(`select at from logs where event_id in (${together.map(() => '?').join(', ')})`, together);
    expect(written).toHaveLength(together.length);
    expect(new Set(written.map((row) => String(row.at))).size).toBe(1);
    // Scans into the deleted directory landed before its delete or were refused after it.
    const race = [...byId.values()].filter((r) => r.eventId.startsWith('race-'));
    expect(race.filter((r) => !r.ok).every((r) => r.error.code === 'directory_not_found')).toBe(true);
    const landed = race.filter((r) => r.ok).length;
    const deletedLog = await rows<{ revision: number; type: string }>('select revision, type from logs where directory_id = ? order by revision', [deleted]);
    expect(deletedLog.map((r) => r.type)).toEqual(['create', ...Array(landed).fill('in'), 'delete']);
    expect(deletedLog.map((r) => r.revision)).toEqual(upTo(landed + 1));

    expect((memberSync.body.results as Frame[]).map((r) => (r.ok ? r.result.revision : r.error.code))).toEqual([1, 'directory_not_found']);
    expect(await countOf(member.api, own, 'M')).toBe(1);
    expect((await directoryState(user.api, shared)).directory.revision).toBe(0);
    for (const id of plain) expect(await countOf(user.api, id, 'P')).toBe(2);
    expect(await countOf(user.api, short, 'S')).toBe(1);
  });

  it('an event id re-sent lands once, even when the copies share one transaction (one sync, two syncs at once, a socket sending twice)', async () => {
    const { user, ids } = await owner(3);
    const [a, b, c] = ids;
    const events = [
      { eventId: 'e1', directoryId: a, op: 'in', code: 'E', qty: 5 },
      { eventId: 'e2', directoryId: b, op: 'in', code: 'E', qty: 2 },
      { eventId: 'e1', directoryId: a, op: 'in', code: 'E', qty: 5 },
      { eventId: 'e3', directoryId: c, op: 'out', code: 'E' },
      { eventId: 'e2', directoryId: b, op: 'in', code: 'E', qty: 2 },
    ];
    const answers = await Promise.all([0, 1, 2].map(() => user.api.post('/api/sync', { body: { events } })));
    const outcomes = answers.map((answer) => (answer.body.results as Frame[]).map((r) => (r.ok ? [r.result.revision, r.result.goods.count] : r.error.code)));
    for (const outcome of outcomes) expect(outcome).toEqual([[1, 5], [1, 2], [1, 5], 'goods_not_found', [1, 2]]);
    const fresh = answers.flatMap((answer) => (answer.body.results as Frame[]).filter((r) => r.ok && !r.result.duplicate));
    expect(fresh.map((r) => r.eventId).sort()).toEqual(['e1', 'e2']);

    const phone = await socket(user.token);
    const [first, second] = await Promise.all([0, 1].map(() => phone.request({ type: 'scan', id: 'twice', directoryId: c, op: 'in', code: 'E', qty: 4 })));
    expect([first.result.duplicate, second.result.duplicate]).toEqual([false, true]);
    expect(second.result).toEqual({ ...first.result, duplicate: true });
    expect([await countOf(user.api, a, 'E'), await countOf(user.api, b, 'E'), await countOf(user.api, c, 'E')]).toEqual([5, 2, 4]);
    expect([await revisions(user.api, a), await revisions(user.api, b), await revisions(user.api, c)]).toEqual([upTo(1), upTo(1), upTo(1)]);
  });

  it('transfers between directories while their scans are grouped: no deadlock, every unit accounted for, revisions without gaps', async () => {
    const { name, user, ids } = await owner(8);
    await user.api.post('/api/sync', { body: { events: ids.map((id) => ({ eventId: `fill-${id}`, directoryId: id, op: 'in', code: 'T', qty: 100 })) } });
    const phones = await Promise.all([0, 1].map(async (d) => socket(await server.login(name, { deviceId: `t-${d}` }))));
    const api = client(server.url, user.token);
    const rounds = 6;
    const [transfers, scans] = await Promise.all([
      // Both directions between neighbours and further, over HTTP and over the socket.
      all(rounds * ids.length, async (i) => {
        const [x, y] = [ids[i % ids.length], ids[(i + 1 + (i % 3)) % ids.length]];
        const body = { from: i % 2 ? x : y, to: i % 2 ? y : x, code: 'T', qty: 1 + (i % 4) };
        if (i % 3 === 0) {
          const ack = await phones[0].request({ type: 'transfer', id: `tr-${i}`, ...body });
          return { ok: ack.ok as boolean, body, result: ack.result };
        }
        const answer = await api.post('/api/transfers', { body: { ...body, eventId: `tr-${i}` } });
        return { ok: answer.status === 200, body, result: answer.body };
      }),
      all(rounds * ids.length, (i) => phones[1].request({ type: 'scan', id: `sc-${i}`, directoryId: ids[i % ids.length], op: i % 2 ? 'in' : 'out', code: 'T', qty: 1 })),
    ]);
    expect(transfers.filter((t) => !t.ok)).toEqual([]);
    expect(scans.filter((s) => !s.ok)).toEqual([]);
    // Undo a few transfers (both sides at once, in their own transactions) while more scans are grouped.
    const [undos] = await Promise.all([
      Promise.all(transfers.slice(0, 6).map(({ body, result }) => api.post(`/api/directories/${body.from}/undo`, { body: { revision: result.out.revision } }))),
      all(ids.length, (i) => phones[1].request({ type: 'scan', id: `after-${i}`, directoryId: ids[i], op: 'in', code: 'T', qty: 1 })),
    ]);
    expect(undos.map((u) => u.status)).toEqual(Array(6).fill(200));

    let total = 0;
    for (const id of ids) {
      total += (await countOf(user.api, id, 'T')) ?? 0;
      const log = await revisions(user.api, id);
      expect(log).toEqual(upTo(log.length - 1));
    }
    const scanned = scans.reduce((sum, ack) => sum + ack.result.delta, 0) + ids.length;
    expect(total).toBe(100 * ids.length + scanned);
  });
});
