import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { bundleSdk, packSdk } from '../../bench/client-bundle';

const root = join(__dirname, '../..');

export interface SdkPackage {
  /** The package folder: package.json, README.md and dist/, as `npm run client:build` leaves client/. */
  dir: string;
  /** dist/miniprogram/index.js: the one file a mini-program requires. */
  bundle: string;
  /** The `npm pack` of it. */
  tarball: string;
  /** Deletes the folder. */
  remove(): void;
}

/**
 * The SDK package as `npm run client:build` makes it (tsc with client/tsconfig.json, the bundle, `npm
 * pack`), built into a folder of its own: suites running at once never write into client/dist
 * together, and each tests what the build makes of the sources as they are now.
 */
export async function buildSdkPackage(): Promise<SdkPackage> {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-sdk-'));
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'client/tsconfig.json'),
    { outDir: join(dir, 'dist') },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('client/tsconfig.json could not be read');
  const emitted = ts.createProgram(parsed.fileNames, parsed.options).emit();
  if (emitted.emitSkipped) throw new Error('tsc emitted nothing for the SDK');
  copyFileSync(join(root, 'client/package.json'), join(dir, 'package.json'));
  copyFileSync(join(root, 'client/README.md'), join(dir, 'README.md'));
  const { file } = await bundleSdk(join(dir, 'dist'));
  return { dir, bundle: file, tarball: packSdk(dir, dir), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
