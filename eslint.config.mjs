import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The pure core may not reach I/O, the clock's source, randomness or native adapters:
// those arrive through ports (see src/core/ports.ts).
const coreRestrictions = {
  paths: [
    { name: 'node:crypto', importNames: ['randomBytes', 'randomInt', 'randomUUID', 'getRandomValues'], message: 'Randomness is a port (RandomSource).' },
  ],
  patterns: [
    { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*'], message: 'The core does no file I/O.' },
    { group: ['node:child_process', 'child_process'], message: 'Commands run in adapters.' },
    { group: ['node:net', 'net', 'node:dgram', 'dgram', 'node:http', 'http'], message: 'Sockets live in adapters.' },
    { group: ['cap', 'better-sqlite3', 'pino', 'express', 'node-cron'], message: 'Technology belongs in adapters.' },
    { group: ['**/adapters/**', '**/web/**', '**/cli/**', '**/daemon*'], message: 'Dependencies point into the core, never out.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'public/**', 'scripts/**/*.mjs', 'test/helpers/*.mjs', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', coreRestrictions],
      'no-restricted-globals': ['error', { name: 'Date', message: 'Time is a port (Clock).' }, { name: 'process', message: 'The core reads no environment.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness is a port.' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
