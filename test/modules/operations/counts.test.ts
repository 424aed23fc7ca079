import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases, type TestDatabase } from '../../helpers/db';
import { client, type Answer } from '../../helpers/http';
import { createDirectory, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Warehouse operations", count sessions: a stocktake of a directory of 1,000 goods by three phones
 * of three editors, two counting over their sockets and one offline, its queued lines delivered later
 * over HTTP with the event ids it made while offline (some of them twice, as a phone does whose answers
 * were lost). The counts overlap (several phones count the same code), correct themselves (negative
 * lines, never below 0) and include codes that are not goods yet. The test plans every line, so it knows
 * what the variance report, the live pushes and the finish must be.
 */

const GOODS = 1000;
const NEW_CODES = 15;
/** The third phone is the offline one. */
const OFFLINE = 2;

interface PlannedLine {
  code: string;
  qty: number;
}

interface Plan {
  goods: { code: string; name: string; count: number }[];
  /** Each phone's lines in the order it sends them. */
  phones: PlannedLine[][];
  /** What each counted code adds up to. */
  totals: Map<string, number>;
}

/** A small seeded generator, so that a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const codeOf = (i: number) => `690${String(i).padStart(10, '0')}`;
/** Every tenth goods is left uncounted; a partial count (one aisle) counts every third of the others only. */
const uncounted = (i: number, partial: boolean) => i % 10 === 9 || (partial && i % 3 !== 0);

/**
 * The goods (counts 0–12) and every phone's lines. Each counted code gets a total, split among one to
 * three phones; a phone sends its share as one or two lines, and sometimes first a miscount that it
 * corrects with a negative line at the end of its run. A phone never takes its own share below 0, so
 * however the phones' lines interleave, no line of these is clamped: the totals are exact.
 */
function planCount(seed: number, partial: boolean): Plan {
  const random = seeded(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const goods = Array.from({ length: GOODS }, (_, i) => ({ code: codeOf(i), name: `商品${i}`, count: (i * 7) % 13 }));
  const groups: PlannedLine[][][] = [[], [], []];
  const corrections: PlannedLine[][] = [[], [], []];
  const totals = new Map<string, number>();
  const targets: [string, number][] = [
    ...goods.filter((_, i) => !uncounted(i, partial)).map((g): [string, number] => [g.code, random() < 0.5 ? g.count : int(0, 12)]),
    ...Array.from({ length: NEW_CODES }, (_, k): [string, number] => [`NEW-${k}`, k % 5 === 0 ? 0 : int(1, 6)]),
  ];
  for (const [code, total] of targets) {
    totals.set(code, total);
    const counters = [0, 1, 2].sort(() => random() - 0.5).slice(0, random() < 0.25 ? int(2, 3) : 1);
    // Split the total among the counters.
    const shares = counters.map(() => 0);
    for (let unit = 0; unit < total; unit++) shares[int(0, shares.length - 1)] += 1;
    counters.forEach((phone, k) => {
      const share = shares[k];
      const group: PlannedLine[] = [];
      if (share === 0 || random() < 0.1) {
        // A miscount: too many (or a code counted that was not there), taken back later.
        const extra = int(1, 3);
        group.push({ code, qty: share + extra });
        corrections[phone].push({ code, qty: -extra });
      } else if (share > 1 && random() < 0.2) {
        const first = int(1, share - 1);
        group.push({ code, qty: first }, { code, qty: share - first });
      } else {
        group.push({ code, qty: share });
      }
      groups[phone].push(group);
    });
  }
  const phones = groups.map((phoneGroups, phone) => [...phoneGroups.sort(() => random() - 0.5).flat(), ...corrections[phone]]);
  return { goods, phones, totals };
}

interface Team {
  directoryId: number;
  owner: TestUser;
  /** Three editors, one phone each. */
  editors: TestUser[];
  manager: TestUser;
}

async function join(owner: TestUser, directoryId: number, user: TestUser, role: 'editor' | 'manager'): Promise<void> {
  const invite = await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role } });
  if (invite.status !== 201) throw new Error(`invite failed: ${invite.status} ${invite.text}`);
  const accepted = await user.api.post(`/api/invites/${invite.body.invite.code}/accept`);
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${accepted.text}`);
}

/** An owner's directory with three editors and a manager who joined by invites. */
async function team(server: TestServer, tag: string): Promise<Team> {
  const owner = await signIn(server, `${tag}-owner`);
  const directoryId = await createDirectory(owner.api, `盘点 ${tag}`);
  const editors = [await signIn(server, `${tag}-editor-a`), await signIn(server, `${tag}-editor-b`), await signIn(server, `${tag}-editor-c`)];
  const manager = await signIn(server, `${tag}-manager`);
  for (const editor of editors) await join(owner, directoryId, editor, 'editor');
  await join(owner, directoryId, manager, 'manager');
  return { directoryId, owner, editors, manager };
}

/** Creates the goods through POST /api/sync, 500 scans a batch. */
async function stock(api: Api, directoryId: number, goods: { code: string; name: string; count: number }[], tag: string): Promise<void> {
  for (let from = 0; from < goods.length; from += 500) {
    const events = goods.slice(from, from + 500).map((g, k) => ({ eventId: `stock-${tag}-${from + k}`, directoryId, op: 'set', code: g.code, qty: g.count, name: g.name }));
    const answer = await api.post('/api/sync', { body: { events } });
    expect(answer.status).toBe(200);
    expect(answer.body.results.filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
  }
}

async function goodsCounts(api: Api, directoryId: number): Promise<{ revision: number; counts: Map<string, number> }> {
  const answer = await api.get(`/api/directories/${directoryId}`);
  expect(answer.status).toBe(200);
  return { revision: answer.body.directory.revision, counts: new Map((answer.body.goods as { code: string; count: number }[]).map((g) => [g.code, g.count])) };
}

const errorOf = (answer: Answer) => ({ status: answer.status, ...answer.body.error, message: undefined });
const lineFrames = (socket: TestSocket, countId: number) => socket.received.filter((f) => f.type === 'count' && f.countId === countId && f.line !== undefined);
const sortedLines = (lines: { code: string; counted: number; expected: number }[]) => lines.map((l) => JSON.stringify([l.code, l.counted, l.expected])).sort();
const byCode = <T extends { code: string }>(lines: T[]) => [...lines].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));

describe.each(testDatabases())('count sessions on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db)));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  const open = async (user: TestUser, target: TestServer = server) => {
    const socket = await connect(target.url, user.token);
    sockets.push(socket);
    return socket;
  };

  const cases = [
    { tag: 'zero', zeroMissing: true, partial: false, finisher: 'the editor who started it, over HTTP' },
    // Counting one aisle only is where zeroMissing false belongs: the rest stays as it is.
    { tag: 'keep', zeroMissing: false, partial: true, finisher: 'a manager, over the socket' },
  ];

  it.each(cases)(
    'three phones count a directory of 1,000 goods (one aisle only: $partial); the report is what they counted; finished by $finisher with zeroMissing $zeroMissing in one transaction',
    async ({ tag, zeroMissing, partial }) => {
      const plan = planCount(tag === 'zero' ? 17 : 29, partial);
      const { directoryId, owner, editors, manager } = await team(server, tag);
      await stock(owner.api, directoryId, plan.goods, tag);
      const initial = new Map(plan.goods.map((g) => [g.code, g.count]));
      const names = new Map(plan.goods.map((g) => [g.code, g.name]));

      // Every phone watches the directory, and so does the manager.
      const phones = await Promise.all(editors.map((editor) => open(editor)));
      const watcher = await open(manager);
      const subscribers = [...phones, watcher];
      for (const socket of subscribers) expect((await socket.request({ type: 'subscribe', directoryId })).ok).toBe(true);

      const started = await editors[0].api.post(`/api/directories/${directoryId}/counts`, { body: { name: '月末盘点' } });
      expect(started.status).toBe(201);
      const count = started.body.count;
      expect(count).toMatchObject({ directoryId, name: '月末盘点', status: 'open', startedBy: editors[0].userId });
      const countId = count.id as number;
      for (const socket of subscribers) expect((await socket.next((f) => f.type === 'count' && f.countId === countId && f.count)).count).toEqual(count);

      /** Every line the server accepted as new, as answered. */
      const answered: { code: string; counted: number; expected: number }[] = [];

      // A code only the first phone counts: 2, then a correction of −5 stops at 0, then 1.
      const clamp = [2, -5, 1];
      const clamped: number[] = [];
      for (const [n, qty] of clamp.entries()) {
        const ack = await phones[0].request({ type: 'count', id: `clamp-${n}`, countId, code: 'NEW-CLAMP', qty });
        expect(ack.ok).toBe(true);
        clamped.push(ack.result.line.counted);
        answered.push(ack.result.line);
      }
      expect(clamped).toEqual([2, 0, 1]);
      const totals = new Map([...plan.totals, ['NEW-CLAMP', 1]]);

      // The two phones online count at once over their sockets, each line acked before the next.
      await Promise.all(
        [0, 1].map(async (phone) => {
          for (const [n, line] of plan.phones[phone].entries()) {
            const ack = await phones[phone].request({ type: 'count', id: `p${phone}-${n}`, countId, code: line.code, qty: line.qty });
            if (!ack.ok) throw new Error(`line refused: ${JSON.stringify(ack)}`);
            answered.push(ack.result.line);
          }
        }),
      );

      // The offline phone comes back: its queued lines over HTTP, in order, with the event ids it made
      // offline; every fifth is sent twice (its answer was lost), and the second gets the first's outcome.
      let duplicates = 0;
      for (const [n, line] of plan.phones[OFFLINE].entries()) {
        const body = { code: line.code, qty: line.qty, eventId: `offline-${n}` };
        const first = await editors[OFFLINE].api.post(`/api/counts/${countId}/lines`, { body });
        expect(first.status).toBe(200);
        answered.push(first.body.line);
        if (n % 5 === 0 && n < plan.phones[OFFLINE].length - 1) {
          const again = await editors[OFFLINE].api.post(`/api/counts/${countId}/lines`, { body });
          expect(again.body).toEqual({ line: first.body.line, duplicate: true });
          duplicates += 1;
        }
      }
      expect(duplicates).toBeGreaterThan(partial ? 10 : 50);
      const lineCount = clamp.length + plan.phones.reduce((sum, lines) => sum + lines.length, 0);
      expect(answered).toHaveLength(lineCount);
      // Nothing was scanned while counting: every line's expected is the goods' count (0 for a new code).
      expect(answered.filter((line) => line.expected !== (initial.get(line.code) ?? 0))).toEqual([]);

      // Every subscriber got one push per line (none for the duplicates), each the line as answered.
      for (const socket of subscribers) {
        await socket.until(() => lineFrames(socket, countId).length >= lineCount, `${lineCount} count pushes`);
        const pushed = lineFrames(socket, countId);
        expect(pushed.every((f: Frame) => f.directoryId === directoryId)).toBe(true);
        expect(sortedLines(pushed.map((f: Frame) => f.line))).toEqual(sortedLines(answered));
      }

      // A scan while the count is open moves `expected` (the live count), not the counted total.
      const bumped = codeOf(0);
      expect((await owner.api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: bumped, qty: 3 } })).status).toBe(200);
      const live = new Map(initial);
      live.set(bumped, (initial.get(bumped) as number) + 3);

      const report = [...totals].map(([code, counted]) => {
        const expected = live.get(code) ?? 0;
        return { code, name: names.get(code) ?? '', counted, expected, variance: counted - expected };
      });
      const got = await manager.api.get(`/api/counts/${countId}`);
      expect(got.status).toBe(200);
      expect(got.body.count).toEqual(count);
      expect(byCode(got.body.lines)).toEqual(byCode(report));
      expect(report.filter((line) => line.variance !== 0).length).toBeGreaterThan(partial ? 40 : 100);
      expect(report.filter((line) => line.variance === 0).length).toBeGreaterThan(partial ? 40 : 100);

      // Finishing is the starter's or a manager's: another editor is refused.
      const refused = await editors[1].api.post(`/api/counts/${countId}/finish`, { body: { zeroMissing } });
      expect(errorOf(refused)).toMatchObject({ status: 403, code: 'forbidden', role: 'editor', required: 'manager' });

      // What the finish must change: each counted code to its total, and with zeroMissing each
      // uncounted goods to 0; nothing whose count is already that.
      const targets = new Map<string, number>();
      for (const [code, total] of totals) if (total !== (live.get(code) ?? 0)) targets.set(code, total);
      // The owner keeps scanning an uncounted goods in while the count finishes.
      const scanned = plan.goods.find((g, i) => uncounted(i, partial) && g.count > 0)?.code as string;
      if (zeroMissing) for (const [code, n] of live) if (!totals.has(code) && n > 0) targets.set(code, 0);
      const { revision: before } = await goodsCounts(owner.api, directoryId);

      const scanner = await open(owner);
      const SCANS = 10;
      const scanning = (async () => {
        for (let n = 0; n < SCANS; n++) expect((await scanner.request({ type: 'scan', id: `during-${tag}-${n}`, directoryId, op: 'in', code: scanned })).ok).toBe(true);
      })();
      let finished: { count: any; lines: any[] };
      if (zeroMissing) {
        const answer = await editors[0].api.post(`/api/counts/${countId}/finish`, { body: { zeroMissing, eventId: `finish-${tag}` } });
        expect(answer.status).toBe(200);
        finished = answer.body;
        // The same event id again: the first outcome, applied once.
        const again = await editors[0].api.post(`/api/counts/${countId}/finish`, { body: { zeroMissing, eventId: `finish-${tag}` } });
        expect(again.body).toEqual({ ...answer.body, duplicate: true });
      } else {
        const ack = await watcher.request({ type: 'finishCount', id: `finish-${tag}`, countId, zeroMissing });
        expect(ack).toMatchObject({ ok: true });
        finished = ack.result;
      }
      await scanning;
      expect(finished.count).toMatchObject({ id: countId, status: 'finished' });
      // The report as of the finish: the one read before it (the scans during it were of an uncounted goods).
      expect(byCode(finished.lines)).toEqual(byCode(report));

      // The watcher sees every revision once, in order; the finish's are consecutive: one `set` with
      // the countId per goods whose count changed, and no scan among them.
      const last = before + targets.size + SCANS;
      const frames = (await watcher.changesUpTo(directoryId, last)).filter((f) => f.revision > before);
      expect(frames.map((f) => f.revision)).toEqual(Array.from({ length: targets.size + SCANS }, (_, k) => before + 1 + k));
      const fromCount = frames.filter((f) => f.change.countId !== undefined);
      expect(fromCount).toHaveLength(targets.size);
      expect(fromCount[fromCount.length - 1].revision - fromCount[0].revision).toBe(targets.size - 1);
      for (const f of fromCount) expect(f.change).toMatchObject({ type: 'set', countId, code: f.change.code, goods: { count: targets.get(f.change.code) } });
      expect(new Set(fromCount.map((f) => f.change.code))).toEqual(new Set(targets.keys()));
      const scans = frames.filter((f) => f.change.countId === undefined);
      expect(scans.every((f) => f.change.type === 'in' && f.change.code === scanned)).toBe(true);
      await watcher.next((f) => f.type === 'count' && f.countId === countId && f.count?.status === 'finished');

      // The counts right after: the counted totals (new codes created when counted above 0), the
      // uncounted ones 0 with zeroMissing and as they were without; the scanned one as its scans say.
      const scansAfter = scans.filter((f) => f.revision > fromCount[0].revision).length;
      const expectedCounts = new Map<string, number>();
      for (const [code, n] of live) expectedCounts.set(code, totals.get(code) ?? (zeroMissing ? 0 : n));
      for (const [code, total] of totals) if (!live.has(code) && total > 0) expectedCounts.set(code, total);
      expectedCounts.set(scanned, zeroMissing ? scansAfter : (initial.get(scanned) as number) + SCANS);
      const after = await goodsCounts(manager.api, directoryId);
      expect(after.revision).toBe(last);
      expect(new Map([...after.counts].sort())).toEqual(new Map([...expectedCounts].sort()));
      expect((await manager.api.get(`/api/directories/${directoryId}/goods/NEW-0`)).body.error.code).toBe('goods_not_found');

      // Closed: a second finish, a line (over HTTP and the socket) and a cancel are count_closed.
      expect(errorOf(await manager.api.post(`/api/counts/${countId}/finish`, { body: {} }))).toMatchObject({ status: 409, code: 'count_closed' });
      expect(errorOf(await editors[1].api.post(`/api/counts/${countId}/lines`, { body: { code: bumped, qty: 1 } }))).toMatchObject({ status: 409, code: 'count_closed' });
      expect((await phones[1].request({ type: 'count', id: `late-${tag}`, countId, code: bumped, qty: 1 })).error.code).toBe('count_closed');
      expect(errorOf(await editors[0].api.post(`/api/counts/${countId}/cancel`, { body: {} }))).toMatchObject({ status: 409, code: 'count_closed' });
      expect((await goodsCounts(manager.api, directoryId)).revision).toBe(last);
      expect((await manager.api.get(`/api/counts/${countId}`)).body.count).toMatchObject({ status: 'finished', closedAt: expect.any(String) });
      // And the directory may be counted again.
      expect((await editors[1].api.post(`/api/directories/${directoryId}/counts`, { body: {} })).status).toBe(201);
    },
    240_000,
  );

  it("allows one open count per directory (count_open with its id); a cancel is the starter's or a manager's and changes no count", async () => {
    const { directoryId, owner, editors, manager } = await team(server, 'cancel');
    await stock(
      owner.api,
      directoryId,
      [
        { code: 'A', name: '甲', count: 5 },
        { code: 'B', name: '乙', count: 0 },
      ],
      'cancel',
    );
    const started = await editors[0].api.post(`/api/directories/${directoryId}/counts`, { body: {} });
    expect(started.status).toBe(201);
    const countId = started.body.count.id as number;

    expect(errorOf(await editors[1].api.post(`/api/directories/${directoryId}/counts`, { body: {} }))).toMatchObject({ status: 409, code: 'count_open', countId });
    const socket = await open(manager);
    const overSocket = await socket.request({ type: 'startCount', id: 'second-start', directoryId });
    expect(overSocket).toMatchObject({ ok: false, error: { code: 'count_open', countId } });

    for (const [code, qty] of [
      ['A', 9],
      ['B', 4],
      ['C', 2],
    ] as const) {
      expect((await editors[1].api.post(`/api/counts/${countId}/lines`, { body: { code, qty } })).status).toBe(200);
    }
    const before = await goodsCounts(owner.api, directoryId);

    expect(errorOf(await editors[1].api.post(`/api/counts/${countId}/cancel`, { body: {} }))).toMatchObject({ status: 403, code: 'forbidden', role: 'editor', required: 'manager' });
    const cancelled = await editors[0].api.post(`/api/counts/${countId}/cancel`, { body: {} });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.count).toMatchObject({ id: countId, status: 'cancelled' });
    expect(await goodsCounts(owner.api, directoryId)).toEqual(before);
    expect(errorOf(await editors[0].api.post(`/api/counts/${countId}/lines`, { body: { code: 'A', qty: 1 } }))).toMatchObject({ status: 409, code: 'count_closed' });
    expect(errorOf(await manager.api.post(`/api/counts/${countId}/finish`, { body: { zeroMissing: true } }))).toMatchObject({ status: 409, code: 'count_closed' });
    expect(errorOf(await editors[0].api.post(`/api/counts/${countId}/cancel`, { body: {} }))).toMatchObject({ status: 409, code: 'count_closed' });
    expect(await goodsCounts(owner.api, directoryId)).toEqual(before);

    // Cancelled, the directory may be counted again; a manager cancels a count an editor started.
    const next = await editors[1].api.post(`/api/directories/${directoryId}/counts`, { body: {} });
    expect(next.status).toBe(201);
    const byManager = await socket.request({ type: 'cancelCount', id: 'manager-cancel', countId: next.body.count.id });
    expect(byManager).toMatchObject({ ok: true, result: { count: { id: next.body.count.id, status: 'cancelled' } } });
    expect(await goodsCounts(owner.api, directoryId)).toEqual(before);
    const listed = await manager.api.get(`/api/directories/${directoryId}/counts`);
    expect(listed.body.counts.map((c: { id: number; status: string }) => [c.id, c.status])).toEqual([
      [next.body.count.id, 'cancelled'],
      [countId, 'cancelled'],
    ]);
  });

  it('keeps an open count across a server restart: lines added before and after, then finished', async () => {
    await restartable(db, async (first, restart) => {
      const { directoryId, owner, editors, manager } = await team(first, 'restart');
      const goods = Array.from({ length: 20 }, (_, i) => ({ code: `R-${i}`, name: `货${i}`, count: i % 4 }));
      await stock(owner.api, directoryId, goods, 'restart');
      const started = await editors[0].api.post(`/api/directories/${directoryId}/counts`, { body: { name: '重启前' } });
      const countId = started.body.count.id as number;
      const beforeAnswers: Answer[] = [];
      for (let i = 0; i < 10; i++) beforeAnswers.push(await editors[i % 2].api.post(`/api/counts/${countId}/lines`, { body: { code: `R-${i}`, qty: 5, eventId: `before-${i}` } }));
      expect(beforeAnswers.map((a) => a.status)).toEqual(Array(10).fill(200));

      const second = await restart();
      const on = (user: TestUser) => client(second.url, user.token);
      const report = await on(manager).get(`/api/counts/${countId}`);
      expect(report.body.count).toEqual(started.body.count);
      expect(report.body.lines.map((l: { code: string; counted: number }) => [l.code, l.counted])).toEqual(Array.from({ length: 10 }, (_, i) => [`R-${i}`, 5]));

      // An event id sent before the restart is still known; new lines go on over HTTP and the socket.
      const again = await on(editors[0]).post(`/api/counts/${countId}/lines`, { body: { code: 'R-0', qty: 5, eventId: 'before-0' } });
      expect(again.body).toEqual({ line: beforeAnswers[0].body.line, duplicate: true });
      expect((await on(editors[1]).post(`/api/counts/${countId}/lines`, { body: { code: 'R-1', qty: -2, eventId: 'after-1' } })).body.line).toEqual({ code: 'R-1', counted: 3, expected: 1 });
      const phone = await open(editors[2], second);
      expect((await phone.request({ type: 'count', id: 'after-new', countId, code: 'R-NEW', qty: 7 })).result.line).toEqual({ code: 'R-NEW', counted: 7, expected: 0 });

      const finished = await on(editors[0]).post(`/api/counts/${countId}/finish`, { body: { zeroMissing: true } });
      expect(finished.status).toBe(200);
      const counts = await goodsCounts(on(owner), directoryId);
      const expected = new Map<string, number>(goods.map((g, i) => [g.code, i < 10 ? (i === 1 ? 3 : 5) : 0]));
      expected.set('R-NEW', 7);
      expect(new Map([...counts.counts].sort())).toEqual(new Map([...expected].sort()));
    });
  });
});

/**
 * Runs `body` with a server over a database of its own, and a `restart` that stops that server and
 * starts a new one on the same database (its sessions, directories and counts as they were).
 */
async function restartable(db: TestDatabase, body: (first: TestServer, restart: () => Promise<TestServer>) => Promise<void>): Promise<void> {
  const database = await db.create();
  const servers: TestServer[] = [await startServer(db, { config: { database: database.config } })];
  try {
    await body(servers[0], async () => {
      await servers[0].close();
      servers.push(await startServer(db, { config: { database: database.config } }));
      return servers[1];
    });
  } finally {
    if (servers.length > 1) await servers[1].close();
    else await servers[0].close();
    await database.drop();
  }
}
