/**
 * `npm run web:bench`: how fast the web dashboard shows a directory of 1,000 goods, and a phone's scan
 * in it, in a real chromium (Debian's, through playwright-core) against the compiled server in dev
 * login mode over a fresh embedded database. Prints the medians:
 *
 * - first screen / whole list: from the snapshot's arrival to the first rows painted, and to all of them
 *   (the goods table's data-first-screen-ms and data-whole-ms, measured by the page itself);
 * - open: from the click on the warehouse to 1,000 rows in the page (the snapshot's trip over /ws included);
 * - scan to page: from a scan sent over HTTP to its count shown.
 *
 * Needs dist/ (npm run build) and dist/web (npm run web:build); CHROMIUM_PATH or /usr/bin/chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { NodeProcess } from './server';

const GOODS = 1000;
const ROUNDS = 5;
const SCANS = 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function call<T>(base: string, token: string | null, method: string, path: string, body?: string, type = 'application/json'): Promise<T> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = type;
  const answer = await fetch(base + path, { method, headers, body });
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${await answer.text()}`);
  return (await answer.json()) as T;
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'scancode-web-bench-'));
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', DATABASE_URL: `file:${join(folder, 'bench.db')}`, LOG_LEVEL: 'warn' };
  const server = await NodeProcess.start('dist/src/main.js', env, join(folder, 'server.log'), async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok);
  const base = `http://127.0.0.1:${server.port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const phone = await call<{ token: string; directories: Array<{ id: number }> }>(base, null, 'POST', '/api/login', JSON.stringify({ code: 'bench-keeper', deviceId: 'phone-1' }));
    const directoryId = phone.directories[0].id;
    let csv = 'code,name,remarks,count\n';
    for (let i = 0; i < GOODS; i++) csv += `69${String(i).padStart(11, '0')},商品 ${i},备注 ${i},${i % 50}\n`;
    await call(base, phone.token, 'POST', `/api/directories/${directoryId}/import`, csv, 'text/csv');

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/app/#/login`);
    await page.getByTestId('dev-name').fill('bench-keeper');
    await page.getByTestId('dev-login').click();
    const row = page.locator(`[data-testid=directory-row][data-id="${directoryId}"]`);
    const allRows = `document.querySelectorAll('[data-testid=goods-row]').length >= ${GOODS}`;
    const measured = 'table.goods:not([data-whole-ms="-1"])';
    const firstScreen: number[] = [];
    const whole: number[] = [];
    const open: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await page.goto(`${base}/app/#/`);
      await row.waitFor();
      const clicked = Date.now();
      await row.click();
      await page.waitForFunction(allRows, undefined, { polling: 'raf' });
      open.push(Date.now() - clicked);
      await page.waitForSelector(measured);
      firstScreen.push(Number(await page.getAttribute('table.goods', 'data-first-screen-ms')));
      whole.push(Number(await page.getAttribute('table.goods', 'data-whole-ms')));
    }
    const scans: number[] = [];
    const code = '6900000000007';
    for (let scan = 1; scan <= SCANS; scan++) {
      const sent = Date.now();
      await call(base, phone.token, 'POST', `/api/directories/${directoryId}/scans`, JSON.stringify({ op: 'in', code, qty: 1 }));
      await page.waitForFunction(`document.querySelector('[data-testid=goods-row][data-code="${code}"] [data-testid=goods-count]')?.textContent === '${7 + scan}'`, undefined, { polling: 'raf' });
      scans.push(Date.now() - sent);
    }
    console.log(`dashboard, ${GOODS} goods, medians of ${ROUNDS} opens and ${SCANS} scans:`);
    console.log(`  first screen ${median(firstScreen)} ms, whole list ${median(whole)} ms after the snapshot arrived`);
    console.log(`  click to ${GOODS} rows ${median(open)} ms; scan (HTTP) to page ${median(scans)} ms`);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
