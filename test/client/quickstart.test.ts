import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/app';
import { serverDirectory } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { buildSdkPackage, type SdkPackage } from '../helpers/sdk-package';

const run = promisify(execFile);
const root = join(__dirname, '../..');

/** The first ```js block of docs/client.md's Node quickstart, as a reader copies it. */
function quickstart(): string {
  const guide = readFileSync(join(root, 'docs/client.md'), 'utf8');
  const section = guide.split(/^## /m).find((part) => part.startsWith('Quickstart in Node'));
  const block = section && /```js\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('docs/client.md has no "## Quickstart in Node" section with a js block');
  return block[1];
}

describe.each(testDatabases().slice(0, 1))("the guide's Node quickstart, installed from the package the build makes, on $name", (db) => {
  let server: TestServer;
  let sdk: SdkPackage;

  beforeAll(async () => {
    [server, sdk] = await Promise.all([startServer(db), buildSdkPackage()]);
  });
  let app: string | undefined;
  afterAll(async () => {
    sdk?.remove();
    if (app) rmSync(app, { recursive: true, force: true });
    await server?.close();
  });

  it("installs with npm and runs: two devices of one user, the tablet sees the phone's scans live", async () => {
    // A project of the reader's own, outside the repository: the SDK comes from the packed tarball.
    const project = (app = mkdtempSync(join(tmpdir(), 'scancode-quickstart-')));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'try-scancode', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', sdk.tarball], { cwd: project });
    const installed = join(project, 'node_modules/@scancode/client');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { main: string; types: string; miniprogram: string };
    for (const path of [manifest.main, manifest.types, join(manifest.miniprogram, 'index.js')]) expect(existsSync(join(installed, path))).toBe(true);

    writeFileSync(join(project, 'quickstart.js'), quickstart());
    // `ws` as the reader installs it beside the SDK (here: the repository's copy, no registry needed).
    const { stdout } = await run('node', ['quickstart.js'], { cwd: project, env: { ...process.env, SCANCODE_URL: server.url, NODE_PATH: join(root, 'node_modules') }, timeout: 30_000 });

    const lines = stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('phone scanned'))).toEqual(['phone scanned in: 2', 'phone scanned in: 4', 'phone scanned out: 2']);
    expect(lines.filter((line) => line.startsWith('tablet saw'))).toEqual([
      'tablet saw in 6901234567892: 2 (phone-1)',
      'tablet saw in 6901234567892: 4 (phone-1)',
      'tablet saw out 6901234567892: 2 (phone-1)',
    ]);
    expect(lines[lines.length - 1]).toBe('tablet shows 2');
    const token = await server.login('dev-alice');
    const directories = (await fetch(`${server.url}/api/directories`, { headers: { authorization: `Bearer ${token}` } }).then((answer) => answer.json())) as { directories: { id: number }[] };
    expect((await serverDirectory(server, token, directories.directories[0].id)).counts).toEqual({ '6901234567892': 2 });
  });
});
