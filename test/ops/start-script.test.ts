import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * scripts/start.js (`npm start`, `npm run import:django`) on a project of one file, compiled by the real
 * tsc: the first start builds, a start with nothing changed does not, an edited source builds again,
 * and the entry gets its arguments and sets the exit code as if node had started it.
 */
const root = join(__dirname, '..', '..');

describe('the start script', () => {
  const project = mkdtempSync(join(tmpdir(), 'scancode-start-'));
  const source = join(project, 'src', 'main.ts');
  const entry = join(project, 'dist', 'src', 'main.js');
  const start = (...args: string[]) => {
    const result = spawnSync(process.execPath, [join(project, 'scripts', 'start.js'), ...args], { cwd: project, encoding: 'utf8' });
    return { status: result.status, output: result.stdout + result.stderr };
  };

  beforeAll(() => {
    mkdirSync(join(project, 'scripts'));
    mkdirSync(join(project, 'src'));
    copyFileSync(join(root, 'scripts', 'start.js'), join(project, 'scripts', 'start.js'));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
    const compilerOptions = { target: 'ES2022', module: 'commonjs', strict: true, types: ['node'], outDir: 'dist', rootDir: '.' };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions }));
    writeFileSync(join(project, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'] }));
    writeFileSync(source, "const args: string[] = process.argv.slice(2);\nconsole.log(`ran with ${args.join(' ')}`);\nprocess.exitCode = args.length;\n");
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('builds when dist/ is missing, then runs the entry with its arguments and exit code', () => {
    const first = start('dist/src/main.js', 'a', 'b');
    expect(first.output).toContain('scancode: building dist/ (dist/src/main.js is missing)');
    expect(first.output).toContain('ran with a b');
    expect(first.status).toBe(2);
  });

  it('does not build when dist/ is newer than every source', () => {
    const builtAt = statSync(entry).mtimeMs;
    const again = start();
    expect(again.output).not.toContain('building');
    expect(again.output).toContain('ran with');
    expect(again.status).toBe(0);
    expect(statSync(entry).mtimeMs).toBe(builtAt);
  });

  it('builds again when a source changed after the build', () => {
    const later = new Date(statSync(entry).mtimeMs + 60_000);
    utimesSync(source, later, later);
    const rebuilt = start('dist/src/main.js', 'x');
    expect(rebuilt.output).toContain('scancode: building dist/ (src changed since the last build)');
    expect(rebuilt.output).toContain('ran with x');
  });
});
