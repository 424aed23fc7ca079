import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { compileFunction } from 'node:vm';
import type { FakeWx } from './wx';

/** A page as the mini-program's framework makes it: its definition's members, its `data`, `setData`. */
export interface PageInstance {
  route: string;
  data: Record<string, unknown>;
  setData(patch: Record<string, unknown>): void;
  /** A member of the page's definition: its handlers (`login`, `scan`...) and lifecycle. */
  call(name: string, ...args: unknown[]): unknown;
  /** Leaves the page (onUnload). */
  unload(): void;
}

export interface MiniProgram {
  /** What `getApp()` returns: the App definition, after onLaunch. */
  app: Record<string, unknown>;
  /** Opens a page by its URL (`/pages/directory/directory?id=3`): onLoad with the query, then onShow. */
  open(url: string): PageInstance;
}

type Definition = Record<string, unknown> & { data?: Record<string, unknown> };

/**
 * A small stand-in for WeChat's framework, to run a mini-program's own files in a test: each file is a
 * CommonJS module given `App`, `Page`, `getApp` and `wx` (here the fake of ./wx.ts) as WeChat gives
 * them, `require` resolves relative paths in the mini-program's folder, and `modules` replaces files
 * by their path in it (`libs/scancode.js`: the SDK's build; `config.js`: the test server's address).
 */
export function loadMiniProgram(root: string, wx: FakeWx, modules: Record<string, string | object>): MiniProgram {
  const cache = new Map<string, { exports: unknown }>();
  let app: Definition | null = null;
  let registered: Definition | null = null;
  const pages = new Map<string, Definition>();
  const globals = {
    App: (definition: Definition) => void (app = definition),
    Page: (definition: Definition) => void (registered = definition),
    getApp: () => app,
    wx,
  };

  const load = (file: string): unknown => {
    const known = cache.get(file);
    if (known) return known.exports;
    const replacement = modules[relative(root, file)];
    if (typeof replacement === 'object') return replacement;
    const source = typeof replacement === 'string' ? replacement : file;
    const module = { exports: {} as unknown };
    cache.set(file, module);
    const run = compileFunction(readFileSync(source, 'utf8'), ['require', 'module', 'exports', ...Object.keys(globals)], { filename: source });
    run((request: string) => load(resolve(dirname(file), request.endsWith('.js') ? request : `${request}.js`)), module, module.exports, ...Object.values(globals));
    return module.exports;
  };

  load(join(root, 'app.js'));
  const definition = app as Definition | null;
  if (!definition) throw new Error('app.js did not call App()');
  (definition.onLaunch as (() => void) | undefined)?.call(definition);
  (definition.onShow as (() => void) | undefined)?.call(definition);

  return {
    app: definition,
    open(url) {
      const [path, query = ''] = url.replace(/^\//, '').split('?');
      let page = pages.get(path);
      if (!page) {
        registered = null;
        load(join(root, `${path}.js`));
        if (!registered) throw new Error(`${path}.js did not call Page()`);
        pages.set(path, (page = registered));
      }
      const definition: Definition = page;
      // setData takes what can be sent to the view layer: JSON, as WeChat serialises it.
      const instance: Record<string, unknown> = { ...definition, route: path, data: JSON.parse(JSON.stringify(definition.data ?? {})) as Record<string, unknown> };
      instance.setData = (patch: Record<string, unknown>) => Object.assign(instance.data as object, JSON.parse(JSON.stringify(patch)));
      const call = (name: string, ...args: unknown[]) => {
        const member = instance[name];
        if (typeof member !== 'function') throw new Error(`page ${path} has no ${name}()`);
        return (member as (...args: unknown[]) => unknown).apply(instance, args);
      };
      const options = Object.fromEntries(new URLSearchParams(query));
      if (typeof instance.onLoad === 'function') call('onLoad', options);
      if (typeof instance.onShow === 'function') call('onShow');
      return {
        route: path,
        get data() {
          return instance.data as Record<string, unknown>;
        },
        setData: (patch) => call('setData', patch),
        call,
        unload: () => void (typeof instance.onUnload === 'function' && call('onUnload')),
      };
    },
  };
}
