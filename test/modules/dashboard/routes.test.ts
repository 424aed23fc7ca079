import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { rootRoute } from '../../../src/http/root';
import { dashboardRoutes } from '../../../src/modules/dashboard/routes';

/** A dashboard build as Vite writes it: index.html naming a hashed asset. */
function fakeBuild(): string {
  const folder = mkdtempSync(join(tmpdir(), 'scancode-web-'));
  mkdirSync(join(folder, 'assets'));
  writeFileSync(join(folder, 'index.html'), '<!doctype html><html><head><script type="module" src="/app/assets/index-abc123.js"></script></head><body></body></html>');
  writeFileSync(join(folder, 'assets', 'index-abc123.js'), 'console.log("dashboard")');
  return folder;
}

interface Served {
  app: FastifyInstance;
  get(path: string): Promise<{ status: number; headers: Headers; body: string }>;
}

async function serve(folder: string, devLogin: boolean): Promise<Served> {
  const app = Fastify();
  await app.register(rootRoute);
  await app.register(dashboardRoutes({ folder, devLogin }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    async get(path) {
      const answer = await fetch(url + path, { redirect: 'manual' });
      return { status: answer.status, headers: answer.headers, body: await answer.text() };
    },
  };
}

describe('the web dashboard at /app/', () => {
  const folders: string[] = [];
  afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('serves index.html uncached, with the login mode written in, and its hashed assets cached for good', async () => {
    const folder = fakeBuild();
    folders.push(folder);
    const { app, get } = await serve(folder, true);
    const root = await get('/');
    expect({ status: root.status, location: root.headers.get('location') }).toEqual({ status: 302, location: '/app/' });
    const page = await get('/app/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('<meta name="scancode-login" content="dev">');
    const asset = await get('/app/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.body).toBe('console.log("dashboard")');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await get('/app')).headers.get('location')).toBe('/app/');
    expect((await get('/app/assets/missing.js')).status).toBe(404);
    await app.close();
  });

  it('tells the page that logins go through WeChat when the server has credentials', async () => {
    const folder = fakeBuild();
    folders.push(folder);
    const { app, get } = await serve(folder, false);
    expect((await get('/app/')).body).toContain('<meta name="scancode-login" content="wechat">');
    await app.close();
  });

  it('serves nothing without a build, and / leads to the API reference as before', async () => {
    const { app, get } = await serve(join(tmpdir(), 'scancode-no-such-build'), true);
    expect((await get('/app/')).status).toBe(404);
    expect((await get('/')).headers.get('location')).toBe('/docs');
    await app.close();
  });
});
