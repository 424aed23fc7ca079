import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

/**
 * `npm run client:build` / `npm run client:size`: the SDK as it ships. Takes what
 * `tsc -p client/tsconfig.json` emitted, joins the modules reachable from its index into one CommonJS
 * file, minifies it with terser and writes client/dist/miniprogram/index.js (the package's
 * `miniprogram` entry, or a file to copy into a mini-program), and a copy of it as
 * examples/miniprogram/libs/scancode.js, which the example mini-program requires. Then packs the package
 * (`npm pack`: client/dist/scancode-client-<version>.tgz, for `npm install <that file>` anywhere).
 * Prints the bundle's size, which counts against WeChat's package limit, and fails if the SDK requires
 * anything but itself (TypeBox, a Node module) or mentions a Node-only global.
 */
const root = join(__dirname, '../..');
const entry = 'client/src/index.js';
/** What the bundle must export: what a mini-program or a Node script takes from it. */
const EXPORTS = ['ScancodeClient', 'ScancodeError', 'wxSocket', 'wxStorage', 'wxHttp', 'wxLoginCode', 'wsSocket', 'browserSocket'];

interface Module {
  id: number;
  path: string;
  code: string;
  /** Each `require()` argument of the module, resolved to the module's id. */
  resolved: Record<string, number>;
}

/** Every module reachable from the entry by relative requires, the entry first. */
function collect(emitted: string): Module[] {
  const modules = new Map<string, Module>();
  const visit = (path: string): number => {
    const known = modules.get(path);
    if (known) return known.id;
    const code = readFileSync(join(emitted, path), 'utf8');
    const module: Module = { id: modules.size, path, code, resolved: {} };
    modules.set(path, module);
    for (const [, request] of code.matchAll(/require\("([^"]+)"\)/g)) {
      if (!request.startsWith('.')) throw new Error(`${path} requires "${request}": the SDK must require nothing but itself`);
      module.resolved[request] = visit(posix.join(posix.dirname(path), `${request}.js`));
    }
    return module.id;
  };
  visit(entry);
  return [...modules.values()];
}

/** The modules behind a require() of their own: a few lines of CommonJS, no loader needed. */
function bundle(modules: Module[]): string {
  const factories = modules.map((module) => `/* ${module.path} */ [function (module, exports, require) {\n${module.code}\n}, ${JSON.stringify(module.resolved)}]`);
  return `'use strict';
var modules = [${factories.join(',\n')}];
var cache = {};
function load(id) {
  if (cache[id]) return cache[id].exports;
  var module = (cache[id] = { exports: {} });
  modules[id][0](module, module.exports, function (request) { return load(modules[id][1][request]); });
  return module.exports;
}
module.exports = load(0);
`;
}

/**
 * The one-file SDK from what tsc emitted under `emitted` (the package's dist/): written to
 * `<emitted>/miniprogram/index.js`, checked to load where a mini-program's module has nothing but the
 * language and its timers (no require, no process, no Buffer, no fetch) and to export the client.
 */
export async function bundleSdk(emitted: string): Promise<{ file: string; modules: number; joinedBytes: number; code: string }> {
  const modules = collect(emitted);
  const joined = bundle(modules);
  const { code } = await minify(joined, { ecma: 2017, module: false, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  if (code === undefined) throw new Error('terser produced nothing');
  // Node's globals, and what older WeChat engines lack (ES2019+; the contract's types declare some of them).
  const forbidden = ['typebox', 'Buffer', 'process.', 'require("node:', 'eval(', 'Function(', 'fromEntries', 'matchAll'].filter((word) => code.includes(word));
  if (forbidden.length > 0) throw new Error(`the bundle mentions ${forbidden.join(', ')}`);

  const file = join(emitted, 'miniprogram/index.js');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  const sandbox = { module: { exports: {} as Record<string, unknown> }, setTimeout, clearTimeout, setInterval, clearInterval };
  runInNewContext(code, sandbox);
  const loaded = sandbox.module.exports;
  for (const name of EXPORTS) if (typeof loaded[name] !== 'function') throw new Error(`the bundle does not export ${name}`);
  return { file, modules: modules.length, joinedBytes: Buffer.byteLength(joined), code };
}

/** `npm pack` of a package folder (package.json, README.md and dist/): the tarball's path. */
export function packSdk(packageDir: string, destination: string): string {
  const output = execFileSync('npm', ['pack', '--silent', '--pack-destination', destination], { cwd: packageDir, encoding: 'utf8' });
  const name = output.trim().split('\n').pop() ?? '';
  if (!name.endsWith('.tgz')) throw new Error(`npm pack printed no tarball: ${output}`);
  return join(destination, name);
}

async function main(): Promise<void> {
  const emitted = join(root, 'client/dist');
  const { file, modules, joinedBytes, code } = await bundleSdk(emitted);
  const example = join(root, 'examples/miniprogram/libs/scancode.js');
  mkdirSync(dirname(example), { recursive: true });
  copyFileSync(file, example);
  const tarball = packSdk(join(root, 'client'), emitted);
  process.stdout.write(
    `@scancode/client: ${modules} modules, ${joinedBytes} bytes joined -> ${relative(root, file)}: ` +
      `${Buffer.byteLength(code)} bytes minified (terser), ${gzipSync(code).length} gzipped; ` +
      `copied to ${relative(root, example)}; packed as ${relative(root, tarball)}\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`client-bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
