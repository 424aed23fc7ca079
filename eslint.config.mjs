// Guard rails the compiler does not give: a promise nobody awaits (an error that vanishes, an ack sent
// before its write) and a switch that forgets a member of a union (a frame type added to the protocol
// but not to the gateway) fail the build. Only type-aware rules with a reason are on.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'client/dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // The SDK ships inside mini-programs: the contract's shapes come in as types only, so TypeBox never
    // reaches its bundle; constants.ts is the contract's one run-time module it may use.
    files: ['client/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@sinclair/typebox', allowTypeImports: true, message: 'the SDK must not carry TypeBox: import types only' }],
          patterns: [{ group: ['**/src/contract/*', '!**/src/contract/constants'], allowTypeImports: true, message: "import the contract's types with `import type`; values only from constants.ts" }],
        },
      ],
    },
  },
);
