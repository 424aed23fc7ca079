import type { AlertFrame, AnsweredEvent, CountViewState, Directory, ScancodeClient } from '../../client/src';
import type { TestServer } from '../helpers/app';
import { cutSockets, eventually, sdkSuite, serverDirectory, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { fakeWx, type FakeWx } from '../helpers/wx';

/** The counted totals by code, as a count view or the server's report has them. */
const counted = (lines: { code: string; counted: number }[]) => Object.fromEntries(lines.map((line) => [line.code, line.counted]));

describe.each(testDatabases())("the SDK's warehouse operations, on $name", (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  async function loggedIn(user: string, wx = fakeWx(user)): Promise<{ wx: FakeWx; client: ScancodeClient; own: Directory; token: string }> {
    const client = suite.phone(wx);
    const own = (await client.login()).directories[0];
    await eventually(() => client.status === 'online', `${user} online`);
    return { wx, client, own, token: storedToken(wx.storage) };
  }

  /** The count's report as the server has it. */
  async function report(token: string, countId: number): Promise<{ status: string; lines: Record<string, number> }> {
    const answer = await request(server.url, 'GET', `/api/counts/${countId}`, { token });
    expect(answer.status).toBe(200);
    return { status: answer.body.count.status, lines: counted(answer.body.lines) };
  }

  it('a count line made offline waits in storage, goes over its own route once HTTP is back, and is counted once though a restarted phone sends it again', async () => {
    const phone = await loggedIn('alice');
    const { client, wx, token } = phone;
    const count = await client.startCount(phone.own.id, '月末盘点');
    expect(count).toMatchObject({ directoryId: phone.own.id, name: '月末盘点', status: 'open' });
    await eventually(() => client.countView(count.id).synced, 'the count view read');
    expect(await client.countLine(count.id, 'C1', 2)).toMatchObject({ ok: true, result: { line: { code: 'C1', counted: 2, expected: 0 } } });

    // No network: the lines are kept, and shown as this phone's pending ones.
    wx.network = { socket: 'blocked', http: 'down' };
    cutSockets(server);
    const offline = [client.countLine(count.id, 'C1', 3), client.countLine(count.id, 'C2', 1)];
    expect(client.pending().map((entry) => entry.operation)).toEqual(['count', 'count']);
    expect(JSON.parse(wx.storage.get('scancode:outbox') ?? '[]')).toHaveLength(2);
    expect(client.countView(count.id).lines).toEqual([expect.objectContaining({ code: 'C1', counted: 2, pending: 3 }), expect.objectContaining({ code: 'C2', counted: 0, pending: 1 })]);

    // HTTP back, the socket still blocked: each line goes as POST /api/counts/:id/lines (the sync takes scans only).
    wx.network.http = 'up';
    const outcomes = await Promise.all(offline);
    expect(outcomes).toEqual([
      expect.objectContaining({ ok: true, result: { line: { code: 'C1', counted: 5, expected: 0 } } }),
      expect.objectContaining({ ok: true, result: { line: { code: 'C2', counted: 1, expected: 0 } } }),
    ]);
    expect(wx.requests.filter((line) => line === `POST /api/counts/${count.id}/lines`)).toHaveLength(2);
    expect(wx.requests).not.toContain('POST /api/sync');

    // A line that reaches the server whose answer is lost, then the app is killed...
    wx.network = { socket: 'up', http: 'up' };
    client.reconnectNow();
    await eventually(() => client.status === 'online', 'online again');
    wx.network.socket = 'deaf';
    void client.countLine(count.id, 'C3', 4);
    const [sent] = client.pending();
    await eventually(async () => (await report(token, count.id)).lines.C3 === 4, 'the server to count C3');
    client.close();

    // ...started again over the same storage: the line is sent again under its event id, and counted once.
    wx.network.socket = 'up';
    const again = suite.phone(wx);
    expect(again.pending()).toEqual([sent]);
    const answered: AnsweredEvent[] = [];
    again.on('answered', (event) => answered.push(event));
    again.connect();
    await eventually(() => answered.length === 1, 'the resent line answered');
    expect(answered[0]).toMatchObject({ entry: { operation: 'count', event: { eventId: sent.event.eventId } }, outcome: { ok: true, result: { line: { code: 'C3', counted: 4 }, duplicate: true } } });
    expect(await report(token, count.id)).toEqual({ status: 'open', lines: { C1: 5, C2: 1, C3: 4 } });
    await eventually(() => again.countView(count.id).synced, 'the count view of the restarted app');
    expect(counted(again.countView(count.id).lines)).toEqual({ C1: 5, C2: 1, C3: 4 });
    expect(again.pending()).toEqual([]);
  });

  it('transfers through the outbox (pending in both views while offline, over POST /api/transfers), refuses a transfer short of stock, and undoes one on both sides', async () => {
    const { client, wx, own, token } = await loggedIn('bob');
    const created = await request(server.url, 'POST', '/api/directories', { token, body: { name: '店面' } });
    const shop = created.body.directory.id as number;
    const store = own.id;
    client.subscribe(store);
    client.subscribe(shop);
    await eventually(() => client.view(store)?.synced === true && client.view(shop)?.synced === true, 'both views synced');
    await client.scan({ directoryId: store, op: 'in', code: 'T', qty: 5 });

    const moved = await client.transfer({ from: store, to: shop, code: 'T', qty: 3 });
    expect(moved).toMatchObject({ ok: true, result: { out: { goods: { code: 'T', count: 2 } }, in: { goods: { code: 'T', count: 3 }, created: true } } });
    await eventually(() => client.counts(store)?.T === 2 && client.counts(shop)?.T === 3, 'both sides in the views');

    const short = await client.transfer({ from: store, to: shop, code: 'T', qty: 100 });
    expect(short).toMatchObject({ ok: false, error: { code: 'insufficient_stock' } });

    // Offline: shown as pending on both sides, delivered over HTTP when only HTTP is back.
    wx.network = { socket: 'blocked', http: 'down' };
    cutSockets(server);
    await eventually(() => client.status !== 'online', 'offline');
    const queued = client.transfer({ from: store, to: shop, code: 'T', qty: 1 });
    expect(client.view(store)?.items).toEqual([expect.objectContaining({ code: 'T', count: 2, pending: 1, expected: 1 })]);
    expect(client.view(shop)?.items).toEqual([expect.objectContaining({ code: 'T', count: 3, pending: 1, expected: 4 })]);
    wx.network.http = 'up';
    const delivered = await queued;
    expect(wx.requests).toContain('POST /api/transfers');
    expect(delivered).toMatchObject({ ok: true, result: { out: { goods: { count: 1 } }, in: { goods: { count: 4 } } } });
    wx.network.socket = 'up';
    client.reconnectNow();
    await eventually(
      () => client.counts(store)?.T === 1 && client.counts(shop)?.T === 4 && client.view(store)?.items[0].pending === 0 && client.view(shop)?.items[0].pending === 0,
      'the views caught up',
    );

    // Undo the last transfer: both sides go back, by compensating changes.
    if (!delivered.ok) throw new Error('the transfer was refused');
    const undone = await client.undo(store, delivered.result.out.revision);
    expect(undone).toMatchObject({ undone: delivered.result.out.revision, change: { type: 'undo', undoes: delivered.result.out.revision } });
    await eventually(() => client.counts(store)?.T === 2 && client.counts(shop)?.T === 3, 'the undo in both views');
    expect((await serverDirectory(server, token, shop)).counts).toEqual({ T: 3 });
    await expect(client.undo(store, delivered.result.out.revision)).rejects.toMatchObject({ code: 'undo_conflict' });
  });

  it("a member's second phone, watching nothing, gets the low-stock alert; alerts() lists it", async () => {
    const owner = await loggedIn('carol');
    const first = await loggedIn('dave');
    const directoryId = owner.own.id;
    await first.client.acceptInvite((await owner.client.createInvite(directoryId, { role: 'editor' })).qr);
    const second = await loggedIn('dave', fakeWx('dave'));
    expect(second.client.user?.id).toBe(first.client.user?.id);
    const alerts: AlertFrame[] = [];
    second.client.on('alert', (alert) => alerts.push(alert));

    await owner.client.scan({ directoryId, op: 'in', code: 'M', qty: 6 });
    expect((await request(server.url, 'PATCH', `/api/directories/${directoryId}/goods/M`, { token: owner.token, body: { minCount: 5 } })).status).toBe(200);
    await first.client.scan({ directoryId, op: 'out', code: 'M', qty: 2 });

    await eventually(() => alerts.length > 0, 'the alert on the second phone');
    expect(alerts).toEqual([{ type: 'alert', kind: 'low_stock', directoryId, goods: expect.objectContaining({ code: 'M', count: 4, minCount: 5 }) }]);
    expect(await second.client.alerts()).toEqual([{ directoryId, goods: expect.objectContaining({ code: 'M', count: 4, minCount: 5 }) }]);
  });

  it('a count view stays live on two phones: every line, the live counts as expected, the finish; closing it ends the subscription it made', async () => {
    const owner = await loggedIn('erin');
    const member = await loggedIn('frank');
    const directoryId = owner.own.id;
    await member.client.acceptInvite((await owner.client.createInvite(directoryId, { role: 'editor' })).qr);
    await owner.client.scan({ directoryId, op: 'in', code: 'C1', qty: 5 });
    const count = await owner.client.startCount(directoryId);
    await expect(member.client.startCount(directoryId)).rejects.toMatchObject({ code: 'count_open' });
    expect((await member.client.listCounts(directoryId)).map((session) => [session.id, session.status])).toEqual([[count.id, 'open']]);

    const phones = [owner.client, member.client];
    for (const phone of phones) phone.countView(count.id);
    await eventually(() => phones.every((phone) => phone.countView(count.id).synced), 'both count views read');
    await Promise.all([owner.client.countLine(count.id, 'C1', 2), member.client.countLine(count.id, 'C1', 1), member.client.countLine(count.id, 'C2', 4)]);
    await owner.client.countLine(count.id, 'C2', -1);

    const same = (state: CountViewState, c1Expected: number) =>
      state.status === 'open' &&
      state.lines.length === 2 &&
      state.lines.every((line) => line.pending === 0) &&
      JSON.stringify(counted(state.lines)) === JSON.stringify({ C1: 3, C2: 3 }) &&
      state.lines[0].expected === c1Expected &&
      state.lines[0].variance === 3 - c1Expected;
    await eventually(() => phones.every((phone) => same(phone.countView(count.id), 5)), 'every line on both phones');
    expect(member.client.countView(count.id).lines).toEqual([
      { code: 'C1', name: '', counted: 3, expected: 5, variance: -2, pending: 0 },
      { code: 'C2', name: '', counted: 3, expected: 0, variance: 3, pending: 0 },
    ]);
    expect((await report(owner.token, count.id)).lines).toEqual({ C1: 3, C2: 3 });

    // A scan while counting moves the goods' live count: `expected` follows on both phones.
    await owner.client.scan({ directoryId, op: 'in', code: 'C1', qty: 1 });
    await eventually(() => phones.every((phone) => same(phone.countView(count.id), 6)), 'the live count as expected');

    // The owner finishes: the member's view closes with the report as it stood; the counts are the counted totals.
    const finished = await owner.client.finishCount(count.id);
    expect(finished.lines).toEqual([expect.objectContaining({ code: 'C1', counted: 3, expected: 6, variance: -3 }), expect.objectContaining({ code: 'C2', counted: 3, expected: 0, variance: 3 })]);
    await eventually(() => member.client.countView(count.id).status === 'finished', "the finish on the member's phone");
    expect(member.client.countView(count.id).lines.map((line) => [line.code, line.expected, line.variance])).toEqual([
      ['C1', 6, -3],
      ['C2', 0, 3],
    ]);
    expect((await serverDirectory(server, owner.token, directoryId)).counts).toEqual({ C1: 3, C2: 3 });
    expect(await member.client.countLine(count.id, 'C1', 1)).toMatchObject({ ok: false, error: { code: 'count_closed' } });

    // The member never subscribed the directory: the count view did, and closing it ends that.
    expect(member.client.view(directoryId)).not.toBeNull();
    member.client.closeCountView(count.id);
    expect(member.client.view(directoryId)).toBeNull();
    // The owner watches it too: closing the count view keeps the owner's own subscription.
    owner.client.subscribe(directoryId);
    owner.client.closeCountView(count.id);
    expect(owner.client.view(directoryId)).not.toBeNull();
  });
});
