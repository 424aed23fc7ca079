import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * The SDK ships inside mini-programs: what it requires at run time is itself and the contract's
 * constants, never TypeBox (its shapes come in as types), and it compiles for WeChat's engine
 * (ES2017, CommonJS, with neither DOM nor Node declarations).
 */
const root = join(__dirname, '../..');
const sdk = join(root, 'client/src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

/** What a file requires once compiled on its own (as a transpiler that sees one file at a time would). */
function requires(file: string): string[] {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2017 } });
  return [...outputText.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
}

describe('the SDK build', () => {
  it('requires nothing at run time but its own modules and the contract constants', () => {
    const allowed = (path: string) => path.startsWith('.') && (!path.includes('src/contract/') || path.endsWith('src/contract/constants'));
    const files = [...sources(sdk), join(root, 'src/contract/constants.ts')];
    const foreign = files.flatMap((file) =>
      requires(file)
        .filter((path) => !allowed(path))
        .map((path) => `${relative(root, file)} requires ${path}`),
    );
    expect(foreign).toEqual([]);
    expect(requires(join(sdk, 'contract.ts'))).toEqual(['../../src/contract/constants']);
  });

  it('compiles for a mini-program: ES2017, CommonJS, no DOM, no Node', () => {
    const configFile = join(root, 'client/tsconfig.json');
    const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, join(root, 'client'));
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(diagnostics).toEqual([]);
    expect(parsed.options.target).toBe(ts.ScriptTarget.ES2017);
    expect(parsed.options.lib).toEqual(['lib.es2017.d.ts']);
    expect(parsed.options.types).toEqual([]);
  });
});
