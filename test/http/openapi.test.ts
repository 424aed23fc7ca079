import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { legacy } from '../../src/contract';
import { loadConfig } from '../../src/config';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { legacyPost, signIn } from '../helpers/inventory';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { tags?: string[]; requestBody?: { content: Record<string, unknown> } }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

/**
 * @seriousme/openapi-schema-validator is an ES module, which Jest's CommonJS runtime cannot load: it runs
 * in a node process of its own, the document on its stdin.
 */
function validateOpenapi(document: unknown): { valid: boolean; errors?: unknown } {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    process.stdout.write(JSON.stringify(await new Validator().validate(JSON.parse(input))));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(__dirname, '../..'), input: JSON.stringify(document), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the validator did not run: ${run.stderr}`);
  return JSON.parse(run.stdout) as { valid: boolean; errors?: unknown };
}

/**
 * Every route the server registered, as `METHOD /path/{param}`, read from fastify's route tree
 * (`printRoutes` draws one node per line, four columns per level, each node's text extending its parent's).
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (.*?)(?: \(([^)]*)\))?$/u.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2];
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m !== '' && m !== '-')) routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes.sort();
}

/** Routes the document leaves out on purpose: HEAD twins, `/ws` (AsyncAPI's), the documents and swagger-ui themselves, `/metrics` (Prometheus'). */
const LEGACY_PREFIX = loadConfig({}).legacyPrefix;
// Each legacy route answers at the root and under the seed's own prefix.
const LEGACY_URLS = new Set<string>(Object.values(legacy).flatMap((route) => [route.url, `${LEGACY_PREFIX}${route.url}`]));
function expectedInDocument(route: string): boolean {
  const [method, path] = route.split(' ');
  if (method === 'HEAD' || path === '/ws' || path === '/openapi.json' || path === '/asyncapi.json' || path === '/metrics' || path.startsWith('/docs') || path.startsWith('/app')) return false;
  // A legacy URL answers every other method with the seed's refusal; only its POST is an operation.
  return !LEGACY_URLS.has(path) || method === 'POST';
}

const [db] = testDatabases();

describe(`the published OpenAPI document on ${db.name}`, () => {
  let server: TestServer;
  let document: OpenApiDocument;
  beforeAll(async () => {
    server = await startServer(db);
    const answer = await request<OpenApiDocument>(server.url, 'GET', '/openapi.json');
    expect(answer.status).toBe(200);
    document = answer.body;
  });
  afterAll(() => server.close());

  it('is a valid OpenAPI 3.1 document', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    const result = validateOpenapi(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every route the server answers, and nothing else', () => {
    const routes = registeredRoutes(server.app.printRoutes({ commonPrefix: false }));
    expect(routes).toContain('GET /api/directories/{directoryId}/goods/{code}');
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.filter(expectedInDocument));
  });

  it("documents the seed's form routes under the legacy tag", () => {
    for (const { url } of Object.values(legacy)) {
      const operation = document.paths[url]?.post;
      expect({ url, tags: operation?.tags, consumes: Object.keys(operation?.requestBody?.content ?? {}) }).toEqual({
        url,
        tags: ['legacy'],
        consumes: ['application/x-www-form-urlencoded'],
      });
    }
  });

  it('documents the legacy forms without enforcing them: the seed app is answered as before', async () => {
    const { token: cookie, api } = await signIn(server, 'openapi-legacy');
    // A field no form names, and a JSON body whose field is not text: what the handlers read decides.
    expect((await legacyPost(server, '/builddir/', { cookie, dirname: '货架', unknown: 'x' })).body).toEqual({ status: '已成功建立仓库货架' });
    const notText = await request(server.url, 'POST', '/builddir/', { body: { cookie, dirname: 42 } });
    expect({ status: notText.status, body: notText.body }).toEqual({ status: 200, body: { error: '仓库名不能为空' } });
    expect((await legacyPost(server, '/login/', {})).body).toEqual({ error: '缺少参数code' });
    // Every field of an answer survives serialization.
    expect((await legacyPost(server, '/dataout/', { code: 'none', cookie, dir: '货架' })).body).toEqual({ exist: 'noneexist', error: '无此商品' });
    expect((await api.get('/api/directories')).body.directories).toHaveLength(2);
  });

  it('holds the CSV export, empty answers and unknown routes to the document too', async () => {
    const { api, defaultDirectoryId } = await signIn(server, 'openapi-csv');
    const csv = await api.get(`/api/directories/${defaultDirectoryId}/export.csv`);
    expect({ status: csv.status, type: csv.headers.get('content-type') }).toEqual({ status: 200, type: 'text/csv; charset=utf-8' });
    expect((await api.post('/api/logout')).status).toBe(204);
    expect((await api.get('/api/no-such-route')).body.error.code).toBe('not_found');
  });

  it('serves the browsable reference at /docs with its assets from the server itself', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui">');
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => new URL(match[1], page.url).toString());
    const bundle = scripts.find((src) => src.endsWith('/swagger-ui-bundle.js'));
    expect(bundle).toBeDefined();
    expect(bundle?.startsWith(`${server.url}/`)).toBe(true);
    const asset = await fetch(bundle as string);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await asset.text()).length).toBeGreaterThan(1000);
  });
});
