import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * The real browser of the dashboard's tests: Debian's chromium, driven by playwright-core through its
 * executable path (playwright never downloads a browser here). Every page records what a user's
 * console would show as a fault — console errors, uncaught exceptions, requests that failed — so that
 * each test can assert there were none.
 */

/** The chromium to drive: `CHROMIUM_PATH`, or Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** What puts it there (and the Chinese font the dashboard's text and the screenshots need). */
export const CHROMIUM_FIX = 'apt-get install -y chromium fonts-wqy-zenhei';

/** The sizes the screenshots are taken at: a laptop's screen, and a tablet held upright. */
export const LAPTOP = { width: 1366, height: 768 };
export const TABLET = { width: 820, height: 1180 };

/**
 * `describe` when the browser suites can run, `describe.skip` with one printed line naming the fix
 * when chromium is missing on a developer's machine. In CI (`CI` set) a missing chromium is no reason
 * to skip: the suite runs and fails at launch, saying what to install.
 */
export function describeInBrowser(): jest.Describe {
  if (existsSync(CHROMIUM_PATH) || process.env.CI) return describe;
  process.stdout.write(`skipping the browser tests: no chromium at ${CHROMIUM_PATH} (${CHROMIUM_FIX}, or set CHROMIUM_PATH)\n`);
  return describe.skip;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no chromium at ${CHROMIUM_PATH}: ${CHROMIUM_FIX} (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Containers: no user namespaces for the sandbox, no GPU, a small /dev/shm.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A page with what went wrong in it so far. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Every console error, uncaught exception and failed request, in order, as one line each. */
  faults: string[];
  close(): Promise<void>;
}

/**
 * A page in a context of its own (its own localStorage: one user per page), at the laptop size unless
 * told otherwise. A request the page itself gave up (`net::ERR_ABORTED`: a navigation, a long poll or
 * a socket closed on purpose) is no fault; any other failure is.
 */
export async function openPage(browser: Browser, options: { viewport?: { width: number; height: number }; locale?: string } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? LAPTOP, locale: options.locale ?? 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const faults: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') faults.push(`console: ${message.text()} (${message.location().url || 'page'})`);
  });
  page.on('pageerror', (error) => faults.push(`uncaught: ${error.stack ?? error.message}`));
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? 'failed';
    if (failure !== 'net::ERR_ABORTED') faults.push(`request: ${request.method()} ${request.url()}: ${failure}`);
  });
  return { page, context, faults, close: () => context.close() };
}

/**
 * Where screenshots go: docs/screenshots when `SCREENSHOTS=1` (`SCREENSHOTS=1 npx jest test/web`
 * refreshes the README's pictures), a scratch folder otherwise, so that a test run leaves the working
 * tree as it was.
 */
export function screenshotFolder(): string {
  const folder = process.env.SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : join(tmpdir(), 'scancode-screenshots');
  mkdirSync(folder, { recursive: true });
  return folder;
}

/**
 * Screenshots of the page as it is, at the laptop size (`<name>.png`) and, with `tablet`, upright on a
 * tablet (`<name>-tablet.png`); the page is left at the laptop size. Returns the files written.
 */
export async function screenshot(page: Page, name: string, options: { tablet?: boolean } = {}): Promise<string[]> {
  const folder = screenshotFolder();
  const files: string[] = [];
  const sizes: Array<[string, { width: number; height: number }]> = [[name, LAPTOP]];
  if (options.tablet) sizes.push([`${name}-tablet`, TABLET]);
  for (const [file, size] of sizes) {
    await page.setViewportSize(size);
    // A layout that depends on the width (a chart's canvas) redraws on resize: let it settle.
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    const path = join(folder, `${file}.png`);
    await page.screenshot({ path, animations: 'disabled' });
    files.push(path);
  }
  await page.setViewportSize(LAPTOP);
  return files;
}
