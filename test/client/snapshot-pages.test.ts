import type { Goods } from '../../client/src';
import { DirectoryView } from '../../client/src/view';
import { applyScan } from '../../src/modules/inventory/scan';
import type { TestServer } from '../helpers/app';
import { cutSockets, eventually, sdkSuite, serverDirectory, settled, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { fakeWx } from '../helpers/wx';

const goods = (id: number, code: string, count: number): Goods => ({ id, code, name: '', remarks: '', count });
const page = (revision: number, index: number, last: boolean, items: Goods[]) => ({ type: 'snapshot' as const, directoryId: 1, revision, page: index, last, goods: items });
const change = (revision: number, item: Goods) => ({
  type: 'change' as const,
  directoryId: 1,
  revision,
  change: { revision, type: 'in' as const, code: item.code, goods: item, delta: 1, userId: 1, nickname: 'alice', at: '2026-11-25T00:00:00.000Z' },
});

describe('a directory view and the pages of a snapshot', () => {
  it('keeps the copy it has until the last page is in, then takes the whole snapshot', () => {
    const view = new DirectoryView(1);
    expect(view.applySnapshot(page(4, 0, true, [goods(1, 'A', 1)]))).toBe('applied');
    expect(view.applySnapshot(page(9, 0, false, [goods(1, 'A', 2)]))).toBe('partial');
    expect(view.applySnapshot(page(9, 1, false, [goods(2, 'B', 3)]))).toBe('partial');
    expect(view.revision).toBe(4);
    expect(view.counts()).toEqual({ A: 1 });
    expect(view.applySnapshot(page(9, 2, true, [goods(3, 'C', 4)]))).toBe('applied');
    expect(view.revision).toBe(9);
    expect(view.counts()).toEqual({ A: 2, B: 3, C: 4 });
    expect(view.applyChange(change(10, goods(2, 'B', 5)))).toBe('applied');
    expect(view.counts()).toEqual({ A: 2, B: 5, C: 4 });
  });

  it('starts again at page 0, and calls a page out of order a gap', () => {
    const view = new DirectoryView(1);
    expect(view.applySnapshot(page(5, 0, false, [goods(1, 'A', 1)]))).toBe('partial');
    // A snapshot cut short (its socket closed), then a new one from its first page.
    expect(view.applySnapshot(page(6, 0, false, [goods(1, 'A', 2)]))).toBe('partial');
    expect(view.applySnapshot(page(6, 1, true, [goods(2, 'B', 1)]))).toBe('applied');
    expect(view.counts()).toEqual({ A: 2, B: 1 });
    // A page whose predecessors never came, or of another revision: subscribe again.
    expect(view.applySnapshot(page(7, 1, true, [goods(3, 'C', 1)]))).toBe('gap');
    expect(view.applySnapshot(page(8, 0, false, [goods(3, 'C', 1)]))).toBe('partial');
    expect(view.applySnapshot(page(7, 1, true, [goods(4, 'D', 1)]))).toBe('gap');
    expect(view.counts()).toEqual({ A: 2, B: 1 });
    expect(view.revision).toBe(6);
  });

  it('drops the pages of a snapshot cut short when the copy is resumed by changes instead', () => {
    const view = new DirectoryView(1);
    view.applySnapshot(page(3, 0, true, [goods(1, 'A', 1)]));
    expect(view.applySnapshot(page(20, 0, false, [goods(1, 'A', 9)]))).toBe('partial');
    expect(view.applyChange(change(4, goods(1, 'A', 2)))).toBe('applied');
    expect(view.applySnapshot(page(20, 1, true, [goods(2, 'B', 1)]))).toBe('gap');
    expect(view.counts()).toEqual({ A: 2 });
  });
});

describe.each(testDatabases())('the SDK watching a directory of many snapshot pages, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  it('shows the directory whole, equal to the server, through scans and cut sockets', async () => {
    const wx = fakeWx('pages');
    const phone = suite.phone(wx);
    const login = await phone.login();
    const directoryId = login.directories[0].id;
    const actor = { userId: login.user.id, deviceId: null };
    // About 420 KB of goods: seven pages or so.
    const inventory = server.app.services.inventory();
    await Promise.all(Array.from({ length: 60 }, (_, i) => applyScan(inventory, actor, { directoryId, op: 'in', code: `${i}:${'Q'.repeat(7000)}`, qty: i + 1 })));

    await eventually(() => phone.status === 'online', 'the phone online');
    const pages: number[] = [];
    const shown: number[] = [];
    phone.on('change', () => shown.push(Object.keys(phone.counts(directoryId) ?? {}).length));
    wx.open.forEach((ws) => ws.on('message', (data: Buffer) => data.toString('utf8', 0, 18) === '{"type":"snapshot"' && pages.push(data.length)));
    phone.subscribe(directoryId);
    const token = storedToken(wx.storage);
    await settled(server, phone, token, directoryId);
    expect(pages.length).toBeGreaterThan(3);
    // The view never showed part of the directory: nothing, then all of it.
    expect(shown.filter((n) => n !== 0 && n !== 60)).toEqual([]);
    expect(phone.counts(directoryId)).toEqual((await serverDirectory(server, token, directoryId)).counts);

    // Watching it anew (a snapshot each time) while scans land and sockets are cut.
    for (let round = 0; round < 4; round++) {
      phone.unsubscribe(directoryId);
      phone.subscribe(directoryId);
      await applyScan(inventory, actor, { directoryId, op: 'in', code: `${round}:${'Q'.repeat(7000)}`, qty: 1 });
      if (round % 2 === 1) cutSockets(server);
      await eventually(() => phone.status === 'online', 'the phone back online');
      await settled(server, phone, token, directoryId);
      expect(phone.counts(directoryId)).toEqual((await serverDirectory(server, token, directoryId)).counts);
    }
  });
});
