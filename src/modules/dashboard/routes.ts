import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** Where `npm run web:build` writes the dashboard, under the repository (or the image's app folder). */
export const DASHBOARD_OUT = join('dist', 'web');

/**
 * The project's folder: this file is src/modules/dashboard under ts-jest and dist/src/modules/dashboard
 * once compiled (dist/ holds a package.json of its own, so the first one found walking up is not it).
 */
function projectRoot(): string {
  const root = resolve(__dirname, '..', '..', '..');
  return basename(root) === 'dist' ? dirname(root) : root;
}

export interface DashboardOptions {
  /** The built dashboard (default dist/web of the project). */
  folder?: string;
  /** Whether the page offers the dev login's name field (the server runs the dev login). */
  devLogin: boolean;
}

/**
 * The web dashboard at /app/ (a Vue single-page app, built by Vite into dist/web): index.html, never
 * cached, since it names the assets of the current build; the assets, cached for a year, since Vite
 * puts a hash of their content in their names. Without a build (a production image built without the
 * dashboard, a test tier that never built it) nothing is registered, and `GET /` leads to /docs.
 *
 * The page learns the server's login mode from a meta tag written into index.html here, rather than
 * from a request of its own: the login page knows at once whether to show the dev login's name field.
 */
export function dashboardRoutes(options: DashboardOptions): FastifyPluginAsync {
  return async (app) => {
    const folder = options.folder ?? join(projectRoot(), DASHBOARD_OUT);
    const indexFile = join(folder, 'index.html');
    if (!existsSync(indexFile)) {
      app.log.debug({ folder }, 'no dashboard build: /app/ is not served (npm run web:build)');
      return;
    }
    const loginMode = `<meta name="scancode-login" content="${options.devLogin ? 'dev' : 'wechat'}">`;
    // Read again when the build changes under a running server (npm run web:build): the old page would
    // name assets that the new build has replaced.
    let cached = { mtimeMs: -1, page: '' };
    const page = () => {
      const { mtimeMs } = statSync(indexFile);
      if (mtimeMs !== cached.mtimeMs) cached = { mtimeMs, page: readFileSync(indexFile, 'utf8').replace('</head>', `  ${loginMode}\n  </head>`) };
      return cached.page;
    };

    const hidden = { schema: { hide: true } };
    app.get('/app', hidden, async (_request, reply) => reply.redirect('/app/', 302));
    app.get('/app/', hidden, async (_request, reply) => reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page()));
    await app.register(fastifyStatic, {
      root: join(folder, 'assets'),
      prefix: '/app/assets/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
    });
  };
}
