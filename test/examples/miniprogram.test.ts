import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScancodeClient } from '../../client/src';
import { startServer, type TestServer } from '../helpers/app';
import { eventually } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { loadMiniProgram, type MiniProgram } from '../helpers/miniprogram';
import { buildSdkPackage, type SdkPackage } from '../helpers/sdk-package';
import { fakeWx, type FakeWx } from '../helpers/wx';

const example = join(__dirname, '../../examples/miniprogram');

interface ListItem {
  id: number;
  name: string;
  role: string;
  roleText: string;
  mine: boolean;
}
interface Line {
  code: string;
  count: number;
}
interface CountLine {
  code: string;
  name: string;
  counted: number;
  expected: number;
  variance: number;
  pending: number;
}

/**
 * The example mini-program's own files (app.js, each page's .js), run by a stand-in of WeChat's
 * framework with the `wx` stand-in, over the SDK's one-file build, against a real server: what a
 * mini-program developer copies from it works.
 */
describe.each(testDatabases().slice(0, 1))('the example mini-program, on $name', (db) => {
  let server: TestServer;
  let sdk: SdkPackage;
  const programs: MiniProgram[] = [];

  beforeAll(async () => {
    [server, sdk] = await Promise.all([startServer(db), buildSdkPackage()]);
  });
  afterAll(async () => {
    for (const program of programs) (program.app.client as ScancodeClient).close();
    sdk?.remove();
    await server?.close();
  });

  function phone(user: string): { wx: FakeWx; program: MiniProgram; client: ScancodeClient } {
    const wx = fakeWx(user);
    const program = loadMiniProgram(example, wx, { 'libs/scancode.js': sdk.bundle, 'config.js': { serverUrl: server.url } });
    programs.push(program);
    return { wx, program, client: program.app.client as ScancodeClient };
  }

  it('an owner invites, a colleague joins by scanning the QR code and scans in, and the owner sees it live; roles and removal reach the colleague live', async () => {
    // The owner logs in and opens their directory.
    const owner = phone('olivia');
    await owner.program.open('/pages/login/login').call('login');
    expect(owner.wx.navigations).toEqual(['reLaunch /pages/directories/directories']);
    const ownerList = owner.program.open('/pages/directories/directories');
    const [warehouse] = ownerList.data.directories as ListItem[];
    expect(warehouse).toMatchObject({ name: '默认', role: 'owner', roleText: '所有者', mine: true });
    const ownerPage = owner.program.open(`/pages/directory/directory?id=${warehouse.id}`);
    expect(ownerPage.data).toMatchObject({ role: 'owner', canScan: true, canInvite: true });
    await ownerPage.call('invite');
    const qr = (ownerPage.data.invite as { qr: string } | null)?.qr ?? '';
    expect(qr).toMatch(/^scancode:join:[A-Za-z0-9_-]{16,}$/);

    // A colleague on their own phone logs in; the list holds their own directory only.
    const colleague = phone('bob');
    await colleague.program.open('/pages/login/login').call('login');
    const list = colleague.program.open('/pages/directories/directories');
    expect((list.data.directories as ListItem[]).map((item) => item.role)).toEqual(['owner']);
    list.call('join');
    expect(colleague.wx.navigations).toContain('navigateTo /pages/join/join');

    // The join page: a QR code that is not an invite is told apart without asking the server...
    const join = colleague.program.open('/pages/join/join');
    colleague.wx.camera.push('https://example.com/product/42');
    await join.call('scan');
    expect(join.data).toMatchObject({ joined: null, error: '这不是仓库邀请码' });
    // ...and the owner's QR code joins the directory as an editor.
    colleague.wx.camera.push(qr);
    await join.call('scan');
    expect(join.data).toMatchObject({ error: '', joined: { id: warehouse.id, name: '默认', role: 'editor', roleText: '编辑' } });
    expect(colleague.wx.navigations).toContain(`redirectTo /pages/directory/directory?id=${warehouse.id}`);
    // The list page, still open beneath, has it too, with the colleague's role.
    await eventually(() => (list.data.directories as ListItem[]).some((item) => item.id === warehouse.id && item.role === 'editor' && !item.mine), 'the shared directory in the list');

    // The colleague scans into the shared directory with the camera...
    const shared = colleague.program.open(`/pages/directory/directory?id=${warehouse.id}`);
    expect(shared.data).toMatchObject({ role: 'editor', canScan: true, canInvite: false });
    await eventually(() => shared.data.synced === true, "the colleague's view to sync");
    colleague.wx.camera.push('6901234567892');
    const scanned = await shared.call('scan', { currentTarget: { dataset: { op: 'in' } } });
    expect(scanned).toMatchObject({ ok: true, result: { created: true, goods: { code: '6901234567892', count: 1 } } });
    expect(colleague.wx.toasts).toContain('新商品');
    // ...and the owner's page shows it live, with who did it.
    await eventually(() => (ownerPage.data.items as Line[]).some((line) => line.code === '6901234567892' && line.count === 1), "the scan on the owner's page");
    expect(ownerPage.data.last).toMatch(/ 入库 6901234567892$/);

    // The owner makes the colleague a viewer: their page stops offering scans, and the server refuses one.
    const members = await owner.client.members(warehouse.id);
    const bob = members.find((member) => member.role === 'editor');
    expect(bob).toBeDefined();
    await owner.client.setRole(warehouse.id, bob?.user.id ?? 0, 'viewer');
    await eventually(() => shared.data.role === 'viewer' && shared.data.canScan === false, "the colleague's page to show the viewer role");
    colleague.wx.camera.push('6901234567892');
    const refused = await shared.call('scan', { currentTarget: { dataset: { op: 'in' } } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden', role: 'viewer', required: 'editor' } });
    await eventually(() => colleague.wx.toasts.some((toast) => toast.startsWith('6901234567892:')), 'the refusal told');

    // Removed: the page says so, and the directory leaves the list.
    await owner.client.removeMember(warehouse.id, bob?.user.id ?? 0);
    await eventually(() => shared.data.lost === '你已被移出这个仓库', "the colleague's page to show the removal");
    await eventually(() => !(list.data.directories as ListItem[]).some((item) => item.id === warehouse.id), 'the directory gone from the list');
    expect((ownerPage.data.items as Line[]).find((line) => line.code === '6901234567892')?.count).toBe(1);
  });
  it('two phones count a directory on the count page, live on both; the owner finishes, and the directory pages show the counted totals', async () => {
    const owner = phone('paula');
    await owner.program.open('/pages/login/login').call('login');
    const directoryId = (owner.client.directories[0] as { id: number }).id;
    const ownerPage = owner.program.open(`/pages/directory/directory?id=${directoryId}`);
    await ownerPage.call('invite');
    const colleague = phone('quinn');
    await colleague.program.open('/pages/login/login').call('login');
    await colleague.client.acceptInvite((ownerPage.data.invite as { qr: string }).qr);
    const colleaguePage = colleague.program.open(`/pages/directory/directory?id=${directoryId}`);
    await eventually(() => ownerPage.data.synced === true && colleaguePage.data.synced === true, 'both directory pages synced');
    // One in stock before the count.
    owner.wx.camera.push('690A');
    await ownerPage.call('scan', { currentTarget: { dataset: { op: 'in' } } });

    // The directory page leads to the count page, which offers to start one.
    ownerPage.call('count');
    expect(owner.wx.navigations).toContain(`navigateTo /pages/count/count?directoryId=${directoryId}`);
    const ownerCount = owner.program.open(`/pages/count/count?directoryId=${directoryId}`);
    await eventually(() => ownerCount.data.canStart === true, 'the start button');
    await ownerCount.call('start');
    await eventually(() => ownerCount.data.status === 'open', 'the started count read');
    expect(ownerCount.data).toMatchObject({ statusText: '盘点中', canStart: false, canFinish: true, lines: [] });
    const countId = ownerCount.data.countId as number;
    expect(countId).toBeGreaterThan(0);

    // The colleague's count page joins the open count.
    colleaguePage.call('count');
    const colleagueCount = colleague.program.open(`/pages/count/count?directoryId=${directoryId}`);
    await eventually(() => colleagueCount.data.countId === countId && colleagueCount.data.status === 'open', 'the colleague joined the count');
    expect(colleagueCount.data.canFinish).toBe(false);

    // Both scan what they count with the camera.
    owner.wx.camera.push('690A', '690A');
    colleague.wx.camera.push('690A', '690B');
    for (let i = 0; i < 2; i++) await Promise.all([ownerCount.call('scan'), colleagueCount.call('scan')]);
    const expected: CountLine[] = [
      { code: '690A', name: '', counted: 3, expected: 1, variance: 2, pending: 0 },
      { code: '690B', name: '', counted: 1, expected: 0, variance: 1, pending: 0 },
    ];
    for (const page of [ownerCount, colleagueCount]) {
      await eventually(() => JSON.stringify(page.data.lines) === JSON.stringify(expected), 'every line on both count pages');
    }

    // The owner finishes: the counted totals become the counts, on both directory pages.
    await ownerCount.call('finish');
    expect(owner.wx.toasts).toContain('盘点完成');
    expect(owner.wx.navigations.at(-1)).toBe('navigateBack');
    await eventually(() => colleagueCount.data.status === 'finished' && colleagueCount.data.statusText === '已完成', "the finish on the colleague's count page");
    expect(colleagueCount.data.lines).toEqual(expected);
    const counts = (page: { data: Record<string, unknown> }) => Object.fromEntries((page.data.items as Line[]).map((line) => [line.code, line.count]));
    for (const page of [ownerPage, colleaguePage]) {
      await eventually(() => JSON.stringify(counts(page)) === JSON.stringify({ '690A': 3, '690B': 1 }), 'the new counts on the directory pages');
    }
    ownerCount.unload();
    colleagueCount.unload();
  });

  it('every page app.json registers has its four files', () => {
    const { pages } = JSON.parse(readFileSync(join(example, 'app.json'), 'utf8')) as { pages: string[] };
    expect(pages).toContain('pages/weblogin/weblogin');
    for (const page of pages)
      for (const ext of ['js', 'json', 'wxml', 'wxss']) expect(existsSync(join(example, `${page}.${ext}`)) ? `${page}.${ext}` : `missing ${page}.${ext}`).toBe(`${page}.${ext}`);
  });

  it("logs the web dashboard in: the list's 扫一扫 reads its QR code, the web login page asks, and the page waiting gets the phone user's session", async () => {
    const owner = phone('rita');
    await owner.program.open('/pages/login/login').call('login');
    const startWebLogin = async () => (await request<{ id: string; qr: string; pollToken: string }>(server.url, 'POST', '/api/web-logins')).body;
    const poll = (login: { id: string; pollToken: string }, wait: number) => request(server.url, 'GET', `/api/web-logins/${login.id}?pollToken=${encodeURIComponent(login.pollToken)}&wait=${wait}`);

    // The dashboard shows its QR code and waits; 扫一扫 on the directory list reads it and opens the web login page.
    const login = await startWebLogin();
    const waiting = poll(login, 25);
    const list = owner.program.open('/pages/directories/directories');
    owner.wx.camera.push(login.qr);
    await list.call('scan');
    expect(owner.wx.navigations.at(-1)).toBe(`navigateTo /pages/weblogin/weblogin?id=${login.id}`);

    // It asks first; 登录 approves, and the page waiting gets a session of this user.
    const page = owner.program.open(`/pages/weblogin/weblogin?id=${login.id}`);
    expect(page.data).toMatchObject({ asking: true, done: false });
    await page.call('approve');
    expect(page.data).toMatchObject({ asking: false, done: true, error: '' });
    expect(owner.wx.toasts).toContain('已在电脑上登录');
    expect((await waiting).body).toMatchObject({ status: 'approved', user: { id: owner.client.user?.id } });

    // Scanning the same QR code again on the page: used, so the phone is told to refresh the computer's.
    owner.wx.camera.push(login.qr);
    await page.call('scan');
    expect(page.data.asking).toBe(true);
    await page.call('approve');
    expect(page.data).toMatchObject({ asking: false, done: false, error: '二维码已过期或已使用，请在电脑上刷新后重新扫码' });

    // A goods code is not a login: told apart without asking the server.
    const before = owner.wx.requests.length;
    owner.wx.camera.push('6901234567892');
    await page.call('scan');
    expect(page.data).toMatchObject({ asking: false, error: '这不是电脑登录二维码' });
    expect(owner.wx.requests.length).toBe(before);

    // 取消 leaves the computer logged out.
    const declined = await startWebLogin();
    owner.wx.camera.push(declined.qr);
    await page.call('scan');
    page.call('cancel');
    expect(owner.wx.navigations.at(-1)).toBe('navigateBack');
    expect((await poll(declined, 0)).body).toEqual({ status: 'pending' });

    // 扫一扫 with an invite joins its directory instead.
    const colleague = phone('sam');
    await colleague.program.open('/pages/login/login').call('login');
    const theirs = (colleague.client.directories[0] as { id: number }).id;
    const invite = await colleague.client.createInvite(theirs, { role: 'viewer' });
    owner.wx.camera.push(invite.qr);
    await list.call('scan');
    expect(owner.wx.navigations.at(-1)).toBe(`navigateTo /pages/directory/directory?id=${theirs}`);
    expect(owner.client.directory(theirs)).toMatchObject({ role: 'viewer' });
    list.unload();
  });
});
