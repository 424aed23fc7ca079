#!/usr/bin/env node
'use strict';
/**
 * `npm start` (and `npm run import:django`): runs a compiled entry point, compiling first only when
 * dist/ is missing or older than its sources. A fresh clone builds once; a start with nothing changed
 * never runs tsc, and a production install (`npm ci --omit=dev`, no TypeScript, often no src/) starts
 * what dist/ holds. Starting the server also builds the web dashboard (dist/web, scripts/build-web.js)
 * when it is missing or stale, and skips that with a line saying so when Vite is not installed.
 *
 *   node scripts/start.js [entry, default dist/src/main.js] [arguments for the entry...]
 *
 * The entry runs in this process (not a child), so that signals and the exit code are its own. Under
 * npm, package.json's `exec` makes this process npm's own child rather than a grandchild behind
 * `sh -c`, which passes no signal on: `npm start &` then `kill <npm's pid>` reaches the server.
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
// What `npm run build` (tsc -p tsconfig.build.json) reads.
const sources = ['src', 'mikro-orm.config.ts', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time under a file or folder (0 when it does not exist). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs);
}

/** Why dist/ must be rebuilt before `entry` runs, or null when it is current. */
function staleness(entry) {
  if (!existsSync(entry)) return `${entry.slice(root.length + 1)} is missing`;
  const built = statSync(entry).mtimeMs;
  const changed = sources.find((source) => newest(join(root, source)) > built);
  return changed === undefined ? null : `${changed} changed since the last build`;
}

/**
 * Started by npm, the server has nobody left to stop it once npm is gone (npm killed with SIGKILL, a
 * script shell that does not pass SIGTERM on): re-parented to PID 1, it would run on, holding the port
 * that the next `npm start` wants. So a change of parent stops it as SIGTERM would, gracefully.
 * Started any other way (systemd, a container, node directly), the parent is the supervisor's business.
 */
function stopWhenOrphaned() {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.stderr.write(`scancode: npm (pid ${parent}) is gone; stopping\n`);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  // Never what keeps the process alive: an entry that ends exits as it would have.
  watch.unref();
}

function main() {
  const [entryArg = 'dist/src/main.js', ...args] = process.argv.slice(2);
  const entry = resolve(root, entryArg);
  const reason = staleness(entry);
  if (reason !== null) {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) {
      // A production install has no compiler: run what was built, if anything was.
      if (!existsSync(entry)) {
        process.stderr.write(`scancode: ${entryArg} is missing and TypeScript is not installed: run \`npm ci && npm run build\` first\n`);
        process.exit(1);
      }
      process.stderr.write(`scancode: ${reason}, but TypeScript is not installed (npm ci --omit=dev): starting the existing build\n`);
    } else {
      process.stderr.write(`scancode: building dist/ (${reason})\n`);
      const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
      if (build.status !== 0) {
        // tsc writes its output even when it reports errors: drop the entry so that the next start
        // builds again rather than running code that did not compile cleanly.
        rmSync(entry, { force: true });
        process.stderr.write('scancode: the build failed\n');
        process.exit(build.status ?? 1);
      }
    }
  }
  // The dashboard too, when it is the server that starts (not another entry such as the importer) and
  // the project has the dashboard's builder (a project of start.js alone has no dashboard to build).
  if (entryArg === 'dist/src/main.js' && existsSync(join(__dirname, 'build-web.js'))) require('./build-web').ensureDashboard();
  // The entry reads its arguments from process.argv as if it had been started by node directly.
  process.argv = [process.argv[0], entry, ...args];
  stopWhenOrphaned();
  require(entry);
}

main();
