import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';

/** Where a newcomer lands: `GET /`, and the examples "Try it out" sends from /docs. */
const [db] = testDatabases();

describe(`the way in on ${db.name}`, () => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  /** A server of the same config whose dashboard folder holds no build: nothing is served at /app/. */
  async function withoutDashboard<T>(work: (app: FastifyInstance) => Promise<T>): Promise<T> {
    const app = await buildApp(server.config, { dashboardFolder: join(tmpdir(), 'scancode-no-dashboard') });
    try {
      return await work(app);
    } finally {
      await app.close();
    }
  }

  it('GET / leads to /docs while no dashboard is served', async () => {
    await withoutDashboard(async (app) => {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/docs');
      // And /docs is there.
      expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);
    });
  });

  it('GET / leads to the dashboard when one is served at /app/', async () => {
    await withoutDashboard(async (app) => {
      app.get('/app/', async () => 'dashboard');
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${address.port}/`, { redirect: 'manual' });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/app/');
    });
  });

  it("every example in the OpenAPI document is a real value its schema accepts, the scan's among them", async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false, unicodeRegExp: true, validateFormats: false });
    const checked: { at: string; example: unknown }[] = [];
    const refused: string[] = [];
    const check = (at: string, schema: object, example: unknown) => {
      checked.push({ at, example });
      if (!ajv.validate(schema, example)) refused.push(`${at}: ${JSON.stringify(example)} ${ajv.errorsText()}`);
    };
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${at}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const object = node as Record<string, unknown>;
      if (Array.isArray(object.examples) && typeof object.type === 'string') {
        for (const example of object.examples) check(at, { ...object, examples: undefined }, example);
      }
      // A parameter: its example beside its schema.
      if ('example' in object && typeof object.schema === 'object' && object.schema !== null) check(at, object.schema, object.example);
      for (const [key, value] of Object.entries(object)) walk(value, `${at}/${key}`);
    };
    walk(document.paths, '');
    expect(refused).toEqual([]);
    const examples = checked.map((entry) => entry.example);
    expect(examples).toEqual(expect.arrayContaining(['6901234567892', '仓库A', 'phone-1:42']));
  });
});
