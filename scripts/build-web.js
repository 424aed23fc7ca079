#!/usr/bin/env node
'use strict';
/**
 * Builds the web dashboard (web/, Vue + Vite) into dist/web, which the server serves at /app/, and
 * prints the weight of its first page: the JavaScript that index.html loads before anything is shown,
 * gzipped (the charts page, with ECharts, is loaded later, when opened).
 *
 *   node scripts/build-web.js           builds only when dist/web is missing or older than its sources
 *   node scripts/build-web.js --force   builds whatever (npm run web:build)
 *
 * Used by `npm start` (scripts/start.js) and by the browser tests (`ensureDashboard()` in their
 * beforeAll): both build once, when stale. Without Vite (a production install, `npm ci --omit=dev`,
 * with a dist/web built elsewhere) it builds nothing and says so.
 */
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { gzipSync } = require('node:zlib');

const root = resolve(__dirname, '..');
const out = join(root, 'dist', 'web');
const index = join(out, 'index.html');
// What the bundle is made of: the app, the SDK it imports from source, the contract types and constants the SDK imports.
const sources = ['web', 'client/src', 'src/contract', 'package-lock.json'];
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
/** How long a build of another process may hold the lock before it is taken as abandoned. */
const LOCK_STALE_MS = 180_000;

/** The newest modification time under a file or folder (0 when it does not exist). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs);
}

/** Why dist/web must be built, or null when it is current. */
function staleness() {
  if (!existsSync(index)) return 'dist/web is missing';
  const built = statSync(index).mtimeMs;
  const changed = sources.find((source) => newest(join(root, source)) > built);
  return changed === undefined ? null : `${changed} changed since the last build`;
}

/** The JavaScript index.html loads at once (its module script and the chunks it preloads), gzipped. */
function firstPageWeight() {
  const html = readFileSync(index, 'utf8');
  const files = [...html.matchAll(/<script[^>]+src="([^"]+\.js)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map((match) => match[1] ?? match[2]);
  const bytes = files.map((file) => gzipSync(readFileSync(join(out, file.replace(/^\/app\//, '')))).length);
  return { files: files.length, gzip: bytes.reduce((sum, size) => sum + size, 0) };
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * One build at a time across processes (parallel jest workers, two starts): a lock folder, made
 * atomically. Vite writes into a folder of its own, which replaces dist/web at the end, so that a
 * server serving the old build never reads half of the new one.
 */
function build(reason, log) {
  const lock = join(root, 'dist', 'web.lock');
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(250);
    }
  }
  try {
    // Another process may have built it while this one waited for the lock.
    if (reason !== 'forced' && staleness() === null) return true;
    log(`scancode: building the dashboard into dist/web (${reason})\n`);
    const temporary = join(root, 'dist', `web.build-${process.pid}`);
    const result = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'web', 'vite.config.mts'), '--outDir', temporary, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      // A production build whoever asks for it: under jest (NODE_ENV=test) Vite would make import.meta.env.DEV true.
      env: { ...process.env, NODE_ENV: 'production', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
    if (result.status !== 0) {
      rmSync(temporary, { recursive: true, force: true });
      log('scancode: the dashboard build failed\n');
      return false;
    }
    const old = join(root, 'dist', `web.old-${process.pid}`);
    if (existsSync(out)) renameSync(out, old);
    renameSync(temporary, out);
    rmSync(old, { recursive: true, force: true });
    const weight = firstPageWeight();
    log(`scancode: dashboard built: first page ${(weight.gzip / 1024).toFixed(1)} KB of JavaScript gzipped (${weight.files} file${weight.files === 1 ? '' : 's'})\n`);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds dist/web when it is missing or stale (or always, with `force`). Returns whether a current
 * dashboard is there afterwards. Synchronous, so that a test's beforeAll or the start script simply
 * calls it.
 */
function ensureDashboard(options = {}) {
  const log = options.log ?? ((text) => process.stderr.write(text));
  const reason = options.force ? 'forced' : staleness();
  if (reason === null) return true;
  if (!existsSync(vite)) {
    log(
      existsSync(index)
        ? `scancode: ${reason}, but Vite is not installed (npm ci --omit=dev): serving the existing dashboard build\n`
        : 'scancode: no dashboard build (dist/web) and Vite is not installed (npm ci --omit=dev): /app/ is not served; build it where the dev dependencies are (npm run web:build)\n',
    );
    return existsSync(index);
  }
  return build(reason, log);
}

module.exports = { ensureDashboard, firstPageWeight };

if (require.main === module) {
  const force = process.argv.includes('--force');
  const current = !force && staleness() === null;
  const built = ensureDashboard({ force });
  if (current) {
    const weight = firstPageWeight();
    process.stderr.write(`scancode: dashboard is current: first page ${(weight.gzip / 1024).toFixed(1)} KB of JavaScript gzipped\n`);
  }
  process.exit(built ? 0 : 1);
}
