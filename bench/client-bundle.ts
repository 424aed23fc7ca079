import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

/**
 * `npm run client:build` / `npm run client:size`: the SDK as it ships in a mini-program. Takes what
 * `tsc -p client/tsconfig.json` emitted, joins the modules reachable from its index into one CommonJS
 * file, minifies it with terser and writes client/dist/miniprogram/index.js (the package's
 * `miniprogram` entry, or a file to copy into a mini-program). Prints its size, which counts against
 * WeChat's package limit, and fails if the SDK requires anything but itself (TypeBox, a Node module)
 * or mentions a Node-only global.
 */
const root = join(__dirname, '../..');
const emitted = join(root, 'client/dist');
const entry = 'client/src/index.js';

interface Module {
  id: number;
  path: string;
  code: string;
  /** Each `require()` argument of the module, resolved to the module's id. */
  resolved: Record<string, number>;
}

/** Every module reachable from the entry by relative requires, the entry first. */
function collect(): Module[] {
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
  const factories = modules.map(
    (module) => `/* ${module.path} */ [function (module, exports, require) {\n${module.code}\n}, ${JSON.stringify(module.resolved)}]`,
  );
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

async function main(): Promise<void> {
  const modules = collect();
  const joined = bundle(modules);
  const { code } = await minify(joined, { ecma: 2017, module: false, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  if (code === undefined) throw new Error('terser produced nothing');
  const forbidden = ['typebox', 'Buffer', 'process.', 'require("node:', 'eval(', 'Function('].filter((word) => code.includes(word));
  if (forbidden.length > 0) throw new Error(`the bundle mentions ${forbidden.join(', ')}`);

  const out = join(emitted, 'miniprogram/index.js');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  // Loads where a mini-program's module has nothing but the language and its timers (no require, no
  // process, no Buffer, no fetch), and exports the client.
  const sandbox = { module: { exports: {} as Record<string, unknown> }, setTimeout, clearTimeout, setInterval, clearInterval };
  runInNewContext(code, sandbox);
  const loaded = sandbox.module.exports;
  for (const name of ['ScancodeClient', 'wxSocket', 'wxStorage', 'wxHttp', 'wxLoginCode', 'wsSocket', 'browserSocket']) {
    if (typeof loaded[name] !== 'function') throw new Error(`the bundle does not export ${name}`);
  }

  const gzipped = gzipSync(code).length;
  process.stdout.write(
    `@scancode/client: ${modules.length} modules, ${Buffer.byteLength(joined)} bytes joined -> ${relative(root, out)}: ` +
      `${Buffer.byteLength(code)} bytes minified (terser), ${gzipped} gzipped\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`client-bundle: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
