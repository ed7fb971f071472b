import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-sea/', 'node_modules/', 'coverage/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message: 'Only src/lib/cluster/live*.ts loads client-node (and only lazily).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // CommonJS stand-ins the build bundles (scripts/build/*.cjs).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { exports: 'writable', module: 'writable', require: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/lib/cluster/live*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The engine is pure: it imports only the engine, and types from elsewhere (client-node's object
    // shapes). No I/O, no flags, no rendering, no library that does any of these.
    files: ['src/lib/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // The engine is one flat folder: `../` is outside it.
              regex: '^\\.\\./',
              allowTypeImports: true,
              message: 'src/lib/engine imports nothing outside the engine but types.',
            },
            {
              regex: '^[^.]',
              allowTypeImports: true,
              message:
                'src/lib/engine imports no module but types: no node: I/O, no library (client-node shapes only).',
            },
          ],
        },
      ],
    },
  },
  {
    // No import cycles anywhere in the sources: layers depend one way.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
);
