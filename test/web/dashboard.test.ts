import type { Browser, Locator, Page } from 'playwright-core';
import { ensureDashboard } from '../../scripts/build-web';
import type { ScancodeClient } from '../../client/src';
import { startServer, type TestServer } from '../helpers/app';
import { describeInBrowser, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser';
import { eventually, phoneOf, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { fakeWx, type FakeWx } from '../helpers/wx';

/** How long the page may take to show what a test waits for (a loaded two-core CI machine is slow). */
const SHOWN_MS = 20_000;

interface Phone {
  wx: FakeWx;
  client: ScancodeClient;
  token: string;
  userId: number;
}

/**
 * The web dashboard at /app/, built from web/ and driven in a real chromium against a real server,
 * with phones (the SDK over /ws, as the mini-program) on the other side: what a warehouse keeper at a
 * desk sees while the team scans. Each test also asserts that the page logged no error, threw nothing
 * and had no request fail.
 *
 * One database (the embedded SQLite, unless TEST_DATABASES says otherwise): these tests are about the
 * page, and every route it calls has its own suite on both databases; one server keeps the suite short.
 * REVISION_CHECK_MS is an hour, so that what reaches the page live came by the push, not by the
 * periodic check.
 */
describeInBrowser().each(testDatabases().slice(0, 1))('the web dashboard in chromium, on $name', (db) => {
  let server: TestServer;
  let browser: Browser;
  const phones: ScancodeClient[] = [];
  const pages: WatchedPage[] = [];
  let owner: Phone;
  let directoryId: number;

  beforeAll(async () => {
    // dist/web is built from web/ when missing or older than its sources (scripts/build-web.js).
    expect(ensureDashboard()).toBe(true);
    // The browser first: without one (CI without chromium) no server is left running behind the failure.
    browser = await launchBrowser();
    server = await startServer(db, { env: { REVISION_CHECK_MS: '3600000' } });
    owner = await phone('olivia', '王老板');
    directoryId = owner.client.directories[0].id;
  }, 180_000);
  afterEach(async () => {
    for (const watched of pages.splice(0)) await watched.close();
  });
  afterAll(async () => {
    for (const client of phones) client.close();
    await browser?.close();
    await server?.close();
  });

  /** A logged-in phone (the SDK over a fake `wx`, its socket open), with a nickname the page shows. */
  async function phone(user: string, nickname: string): Promise<Phone> {
    const wx = fakeWx(user);
    const client = phoneOf(server, wx);
    phones.push(client);
    await client.login();
    await eventually(() => client.status === 'online', `${user}'s phone online`);
    const token = storedToken(wx.storage);
    expect((await request(server.url, 'PATCH', '/api/me', { token, body: { nickname } })).status).toBe(200);
    return { wx, client, token, userId: client.user?.id ?? 0 };
  }

  /** A browser page that asserts, at the end of its test, that nothing went wrong in it. */
  async function newPage(): Promise<WatchedPage> {
    const watched = await openPage(browser);
    pages.push(watched);
    // The count page confirms before finishing: the keeper says yes.
    watched.page.on('dialog', (dialog) => void dialog.accept());
    return watched;
  }

  /** The QR code's text, once it is drawn. */
  async function qrText(code: Locator): Promise<string> {
    await code.waitFor({ state: 'visible', timeout: SHOWN_MS });
    return (await code.getAttribute('data-qr')) ?? '';
  }

  /** Logs the page in as a phone's user by the QR code, the way a keeper does, and waits for the directory list. */
  async function loggedIn(as: Phone): Promise<Page> {
    const watched = await newPage();
    const { page } = watched;
    await page.goto(`${server.url}/app/#/login`);
    await as.client.approveWebLogin(await qrText(page.getByTestId('login-qr')));
    await page.getByTestId('directory-row').first().waitFor({ timeout: SHOWN_MS });
    return page;
  }

  async function openDirectoryPage(page: Page, nav: string, url: RegExp): Promise<void> {
    await page.getByTestId(nav).click();
    await page.waitForURL(url);
  }

  const faultsOfThisTest = () => pages.flatMap((watched) => watched.faults);

  /** Pixels of the canvas that are neither transparent nor the page's white: something was drawn. */
  const inkOf = (canvas: Locator) =>
    canvas.evaluate((element) => {
      // The test's TypeScript has no DOM library (it is Node's); the few members used, typed here.
      const drawn = element as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
      const data = drawn.getContext('2d')?.getImageData(0, 0, drawn.width, drawn.height).data ?? [];
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) ink++;
      return ink;
    });

  it('records what would show in a console as a fault: an error logged, an exception thrown, a request failed', async () => {
    const { page, faults } = await newPage();
    await page.goto(`${server.url}/healthz`);
    // Port 1 of the loopback: nothing listens there, the request is refused.
    await page.evaluate("console.error('logged'); setTimeout(() => { throw new Error('thrown'); }); fetch('http://127.0.0.1:1/x').catch(() => undefined);");
    const kinds = () => [...new Set(faults.map((fault) => fault.split(':')[0]))].sort();
    await eventually(() => kinds().length === 3, 'the three kinds of fault', SHOWN_MS);
    expect(kinds()).toEqual(['console', 'request', 'uncaught']);
  });

  it('logs in by a QR code a phone approves, and lands on the directory list as that user', async () => {
    const watched = await newPage();
    const { page } = watched;
    // Not logged in: /app/ leads to the login page, which shows a QR code of a web login.
    await page.goto(`${server.url}/app/`);
    await page.waitForURL(/#\/login$/);
    const code = page.getByTestId('login-qr');
    const qr = await qrText(code);
    expect(qr).toMatch(/^scancode:weblogin:[A-Za-z0-9_-]{16,}$/);
    await eventually(async () => (await inkOf(code)) > 1000, 'the QR code drawn', SHOWN_MS);
    // A server with WeChat credentials: no dev login's name field.
    expect(await page.getByTestId('dev-name').count()).toBe(0);
    await screenshot(page, 'login', { tablet: true });

    // The phone scans it and approves: the page is logged in as the phone's user, no reload, no typing.
    await owner.client.approveWebLogin(qr);
    const row = page.getByTestId('directory-row');
    await row.first().waitFor({ timeout: SHOWN_MS });
    await page.waitForURL(/#\/$/);
    expect(await row.getAttribute('data-id')).toBe(String(directoryId));
    await expect(page.locator('header').textContent()).resolves.toContain('王老板');

    // The page's session is a session of its own of that user, marked `web`.
    const token = (JSON.parse(await page.evaluate<string>("localStorage.getItem('scancode-web:session') ?? '{}'")) as { token?: string }).token ?? '';
    expect(token).not.toBe(owner.token);
    const me = await request(server.url, 'GET', '/api/me', { token });
    expect(me.body).toMatchObject({ user: { id: owner.userId } });
    expect(faultsOfThisTest()).toEqual([]);
  });

  it('shows a scan made on a phone on the goods page without a reload', async () => {
    await owner.client.scan({ directoryId, op: 'in', code: '6901234567892', qty: 3, name: '矿泉水 550ml' });
    const page = await loggedIn(owner);
    await page.getByTestId('directory-row').first().click();
    await page.waitForURL(new RegExp(`#/d/${directoryId}$`));
    const count = page.locator('[data-testid="goods-row"][data-code="6901234567892"] [data-testid="goods-count"]');
    await expect(count.textContent({ timeout: SHOWN_MS })).resolves.toBe('3');
    // A mark on the window: a reload would lose it.
    await page.evaluate('window.unreloaded = true');

    // The phone scans (over its socket): the count on the page follows, and a new goods appears.
    const started = Date.now();
    const scanned = owner.client.scan({ directoryId, op: 'in', code: '6901234567892', qty: 2 });
    await page.locator('[data-testid="goods-row"][data-code="6901234567892"] [data-testid="goods-count"]:text-is("5")').waitFor({ timeout: SHOWN_MS });
    process.stdout.write(`dashboard: a phone's scan shown on the goods page ${Date.now() - started} ms after it was made\n`);
    expect(await scanned).toMatchObject({ ok: true });
    await owner.client.scan({ directoryId, op: 'in', code: '6920202888883', qty: 12, name: '方便面' });
    await page.locator('[data-testid="goods-row"][data-code="6920202888883"] [data-testid="goods-count"]:text-is("12")').waitFor({ timeout: SHOWN_MS });
    expect(await page.evaluate('window.unreloaded')).toBe(true);

    // The search box filters the rows.
    await page.getByTestId('goods-search').fill('方便');
    await eventually(async () => (await page.getByTestId('goods-row').count()) === 1, 'the search to leave one row', SHOWN_MS);
    await page.getByTestId('goods-search').fill('');
    await page.getByTestId('goods-search').blur();
    await screenshot(page, 'goods', { tablet: true });
    expect(faultsOfThisTest()).toEqual([]);
  });

  it('fills a count session live as two phones count, and finishes it', async () => {
    const page = await loggedIn(owner);
    await page.goto(`${server.url}/app/#/d/${directoryId}/counts`);
    // 04:08 in Shanghai (the browser's zone) is 20:08 of the day before in UTC, the server's date.
    const utcEvening = new Date(Date.UTC(2026, 11, 6, 20, 8));
    await page.clock.setFixedTime(utcEvening);
    await page.getByTestId('count-start').click();
    const view = page.getByTestId('count-view');
    await page.locator('[data-testid="count-view"][data-status="open"]').waitFor({ timeout: SHOWN_MS });
    const countId = Number(await view.getAttribute('data-count-id'));
    expect(countId).toBeGreaterThan(0);
    // Named with the keeper's date, not the server's.
    await expect(view.locator('h2').textContent()).resolves.toBe('盘点 2026-12-07');

    // Two phones of the keeper's team count: their lines fill the page as they come.
    const second = await phone('olivia', '王老板');
    const line = (code: string) => page.locator(`[data-testid="count-line"][data-code="${code}"] [data-testid="count-counted"]`);
    for (const [client, code, qty] of [
      [owner.client, '6901234567892', 2],
      [second.client, '6901234567892', 2],
      [second.client, '6920202888883', 11],
      [owner.client, '6933333333331', 4],
    ] as const) {
      await client.countLine(countId, code, qty);
    }
    await line('6901234567892').filter({ hasText: /^4$/ }).waitFor({ timeout: SHOWN_MS });
    await line('6920202888883').filter({ hasText: /^11$/ }).waitFor({ timeout: SHOWN_MS });
    await line('6933333333331').filter({ hasText: /^4$/ }).waitFor({ timeout: SHOWN_MS });
    await expect(page.locator('[data-testid="count-line"][data-code="6901234567892"] [data-testid="count-variance"]').textContent()).resolves.toBe('-1');
    await screenshot(page, 'counts', { tablet: true });

    // The keeper finishes it on the page: the counted totals become the counts, as the phone sees too.
    await page.getByTestId('count-finish').click();
    await page.locator('[data-testid="count-view"][data-status="finished"]').waitFor({ timeout: SHOWN_MS });
    const counted = await request(server.url, 'GET', `/api/directories/${directoryId}`, { token: owner.token });
    const counts = Object.fromEntries((counted.body as { goods: Array<{ code: string; count: number }> }).goods.map((goods) => [goods.code, goods.count]));
    expect(counts).toMatchObject({ '6901234567892': 4, '6920202888883': 11, '6933333333331': 4 });
    expect(faultsOfThisTest()).toEqual([]);
  });

  it("creates an invite whose QR code a colleague's phone accepts, and shows the new member", async () => {
    const page = await loggedIn(owner);
    await page.goto(`${server.url}/app/#/d/${directoryId}/members`);
    await page.locator(`[data-testid="member-row"][data-user-id="${owner.userId}"]`).waitFor({ timeout: SHOWN_MS });
    await page.getByTestId('invite-role').selectOption('editor');
    await page.getByTestId('invite-create').click();
    const qr = await qrText(page.getByTestId('invite-qr'));
    expect(qr).toMatch(/^scancode:join:[A-Za-z0-9_-]{16,}$/);

    const colleague = await phone('bob', '小李');
    expect(await colleague.client.acceptInvite(qr)).toMatchObject({ role: 'editor', directory: { id: directoryId } });
    const row = page.locator(`[data-testid="member-row"][data-user-id="${colleague.userId}"]`);
    await row.waitFor({ timeout: SHOWN_MS });
    expect(await row.getAttribute('data-role')).toBe('editor');
    await expect(row.textContent()).resolves.toContain('小李');
    await expect(row.textContent()).resolves.toContain('编辑');
    // The invite (one use) is used up: its QR code leaves the page, which says so, rather than showing 0/1.
    await page.getByTestId('invite-spent').waitFor({ timeout: SHOWN_MS });
    expect(await page.getByTestId('invite-qr').count()).toBe(0);
    expect(await page.getByTestId('invite-row').count()).toBe(0);
    // The colleague scans out: a change of theirs for the history and the charts.
    expect(await colleague.client.scan({ directoryId, op: 'out', code: '6920202888883', qty: 3 })).toMatchObject({ ok: true });
    await screenshot(page, 'members');
    expect(faultsOfThisTest()).toEqual([]);
  });

  it('draws the stock chart and the scans chart from the history', async () => {
    const page = await loggedIn(owner);
    await page.goto(`${server.url}/app/#/d/${directoryId}/charts`);
    for (const chart of ['chart-stock', 'chart-scans']) {
      const drawn = page.locator(`[data-testid="${chart}"][data-ready="true"]`);
      await drawn.waitFor({ timeout: SHOWN_MS });
      const ink = await inkOf(drawn.locator('canvas').first());
      expect({ chart, blank: ink < 500 }).toEqual({ chart, blank: false });
    }
    // Every scan of this suite is of today: the scans chart still spans a week, not one page-wide bar.
    expect(Number(await page.getByTestId('chart-scans').getAttribute('data-days'))).toBe(7);
    // Its one bar is at most 40 CSS pixels wide (ECharts' barMaxWidth): the longest run of coloured pixels across its lower part.
    const widest = await page
      .locator('[data-testid="chart-scans"] canvas')
      .first()
      .evaluate((element) => {
        const drawn = element as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
        const row = drawn.getContext('2d')?.getImageData(0, Math.round(drawn.height * 0.7), drawn.width, 1).data ?? [];
        let longest = 0;
        let run = 0;
        for (let i = 0; i < row.length; i += 4) {
          const saturated = Math.max(row[i], row[i + 1], row[i + 2]) - Math.min(row[i], row[i + 1], row[i + 2]) > 80;
          run = saturated ? run + 1 : 0;
          longest = Math.max(longest, run);
        }
        return longest / ((globalThis as unknown as { devicePixelRatio: number }).devicePixelRatio || 1);
      });
    expect(widest).toBeGreaterThan(10);
    expect(widest).toBeLessThanOrEqual(41);
    await screenshot(page, 'charts');
    expect(faultsOfThisTest()).toEqual([]);
  });

  it('imports a CSV file chosen on the page: the result is shown and the goods follow', async () => {
    const page = await loggedIn(owner);
    await page.goto(`${server.url}/app/#/d/${directoryId}/csv`);
    const file = ['\ufeffcode,name,remarks,count', '6901234567892,,,40', '6977777777770,酱油 500ml,厨房,6', ',no code,,1', '6988888888887,,,-3', '6920202888883,,,8'].join('\r\n');
    await page.getByTestId('csv-file').setInputFiles({ name: '盘点.csv', mimeType: 'text/csv', buffer: Buffer.from(`${file}\r\n`, 'utf8') });
    const result = page.getByTestId('csv-result');
    await result.waitFor({ timeout: SHOWN_MS });
    const figures = await Promise.all(['created', 'updated', 'unchanged', 'errors'].map((name) => result.getAttribute(`data-${name}`)));
    expect(figures).toEqual(['1', '1', '1', '2']);
    const errors = page.getByTestId('csv-error');
    expect(await Promise.all([0, 1].map((index) => errors.nth(index).getAttribute('data-line')))).toEqual(['4', '5']);
    expect(await errors.count()).toBe(2);
    // The server's reasons (English, for developers) read in the page's language.
    await expect(errors.nth(0).textContent()).resolves.toBe('第 4 行: 条码为空');
    await expect(errors.nth(1).textContent()).resolves.toBe('第 5 行: 数量必须是 0 或以上的整数（读到 "-3"）');
    await screenshot(page, 'csv');
    // A file the server cannot read at all says why beside the input, in Chinese too.
    await page.getByTestId('csv-file').setInputFiles({ name: 'x.csv', mimeType: 'text/csv', buffer: Buffer.from('条码,数量\r\n1,2\r\n', 'utf8') });
    await expect(page.getByTestId('csv-refused').textContent({ timeout: SHOWN_MS })).resolves.toBe('文件未导入: 第一行必须是表头 code,name,remarks,count（读到 "条码,数量"）');

    // The goods page shows the imported counts.
    await openDirectoryPage(page, 'nav-goods', new RegExp(`#/d/${directoryId}$`));
    await page.locator('[data-testid="goods-row"][data-code="6977777777770"] [data-testid="goods-count"]:text-is("6")').waitFor({ timeout: SHOWN_MS });
    await page.locator('[data-testid="goods-row"][data-code="6901234567892"] [data-testid="goods-count"]:text-is("40")').waitFor({ timeout: SHOWN_MS });
    // The one fault: the browser's own line about the refused file's 400, which the page showed as above.
    const refusedImport = (fault: string) => /status of 400 .*\/import\)$/.test(fault);
    expect(faultsOfThisTest().filter(refusedImport)).toHaveLength(1);
    expect(faultsOfThisTest().filter((fault) => !refusedImport(fault))).toEqual([]);
  });

  it('undoes a change from the history page; a low-stock alert is listed; the page switches to English', async () => {
    const page = await loggedIn(owner);
    // A threshold above the stock: the alerts page lists it.
    expect((await request(server.url, 'PATCH', `/api/directories/${directoryId}/goods/6977777777770`, { token: owner.token, body: { minCount: 10 } })).status).toBe(200);
    await owner.client.scan({ directoryId, op: 'out', code: '6977777777770', qty: 1 });

    await page.goto(`${server.url}/app/#/d/${directoryId}/history`);
    const newest = page.getByTestId('history-row').first();
    await newest.waitFor({ timeout: SHOWN_MS });
    const revision = Number(await newest.getAttribute('data-revision'));
    await expect(newest.textContent()).resolves.toContain('6977777777770');
    await screenshot(page, 'history');
    await newest.getByTestId('undo-button').click();
    await page.locator(`[data-testid="history-row"][data-revision="${revision}"] [data-testid="undone-mark"]`).waitFor({ timeout: SHOWN_MS });
    const goods = await request(server.url, 'GET', `/api/directories/${directoryId}/goods/6977777777770`, { token: owner.token });
    expect(goods.body).toMatchObject({ goods: { count: 6 } });
    // The undo is the page's own change, made by its session (deviceId `web`).
    const logs = await request(server.url, 'GET', `/api/directories/${directoryId}/logs?limit=1`, { token: owner.token });
    expect((logs.body as { logs: unknown[] }).logs[0]).toMatchObject({ type: 'undo', undoes: revision, deviceId: 'web', userId: owner.userId });

    await openDirectoryPage(page, 'nav-alerts', /#\/alerts$/);
    const alert = page.locator('[data-testid="alert-row"][data-code="6977777777770"]');
    await alert.waitFor({ timeout: SHOWN_MS });
    // Read from GET /api/alerts (no time of its own): the goods' last change, the undo just made, local time.
    const lastChange = (await request(server.url, 'GET', `/api/directories/${directoryId}/logs?limit=1`, { token: owner.token })).body as { logs: Array<{ at: string }> };
    const shanghai = new Date(lastChange.logs[0].at).toLocaleString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
    await expect(alert.getByTestId('alert-time').textContent()).resolves.toBe(shanghai);
    await screenshot(page, 'alerts');
    await page.goto(`${server.url}/app/#/`);
    await page.getByTestId('directory-row').first().waitFor({ timeout: SHOWN_MS });
    await screenshot(page, 'directories', { tablet: true });

    // Chinese by default; English on request, kept across a reload.
    await expect(page.getByTestId('nav-alerts').textContent()).resolves.toBe('库存预警');
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('nav-alerts').textContent()).resolves.toBe('Low stock');
    await page.reload();
    await page.getByTestId('directory-row').first().waitFor({ timeout: SHOWN_MS });
    await expect(page.getByTestId('nav-alerts').textContent()).resolves.toBe('Low stock');
    await expect(page.locator('thead').textContent()).resolves.toContain('Owner');
    // The role as a word, not the API's lowercase value.
    await expect(page.getByTestId('directory-row').first().locator('td').nth(1).textContent()).resolves.toBe('Owner');
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await screenshot(page, 'directories-en');
    expect(faultsOfThisTest()).toEqual([]);
  });
});
