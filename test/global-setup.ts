import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { ensureDashboard } from '../scripts/build-web';
import { startPrivateRedisForRun } from './redis-for-tests';

const root = join(__dirname, '..');

function sourcesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => sourcesUnder(join(path, name)));
}

/**
 * The suites that start the server or the importer as a process (test/main.test.ts,
 * test/modules/legacy-import/cli.test.ts) run dist/ as `npm start` does. It is written once here, file
 * by file with the build's compiler options (what `npm run build` emits; types are checked once by
 * `npm run typecheck`, not again here): about a second, where a tsc build in each of those suites took
 * several.
 */
function buildDist(): void {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.build.json could not be read');
  const options = { ...parsed.options, isolatedModules: true };
  const outDir = options.outDir ?? join(root, 'dist');
  for (const file of [...sourcesUnder(join(root, 'src')), join(root, 'mikro-orm.config.ts')]) {
    const out = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
    const { outputText, sourceMapText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    if (sourceMapText) writeFileSync(`${out}.map`, sourceMapText);
  }
  // The one JSON module the sources import (the version in the OpenAPI document), as tsc copies it.
  copyFileSync(join(root, 'package.json'), join(outDir, 'package.json'));
}

/** Stops what the setup started (test/global-teardown.ts); globalSetup's globals are visible there. */
declare global {
  var stopTestRedis: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  buildDist();
  // The dashboard as `npm start` builds it (scripts/build-web.js, only when missing or stale): the
  // browser tests open it, and a started dist/ must find it current rather than build it first.
  ensureDashboard();
  // A private redis-server when the machine has none running (test/redis-for-tests.js); its URL
  // reaches the suites as TEST_REDIS_URL, since the workers start after this.
  globalThis.stopTestRedis = await startPrivateRedisForRun();
}
