// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '.tools/**', '.cache/**', 'bench/results/**', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'packages/*/bin/*.js'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Package boundaries: the SDK and CLI never import server code; core stays pure.
    files: ['packages/sdk/src/**/*.ts', 'packages/cli/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@spike-ts/nexus', '@spike-ts/store', '@spike-ts/keeper', '@spike-ts/bootstrap'],
              message: 'Clients must not import server code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/keeper/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@spike-ts/store', '@spike-ts/nexus'], message: 'The keeper never reaches storage.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/protocol/src/**/*.ts', 'packages/core/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:fs',
            'node:net',
            'node:http',
            'node:https',
            'node:tls',
            'node:child_process',
            'node:fs/promises',
          ].map((name) => ({ name, message: 'protocol and core are pure: no I/O.' })),
          patterns: [
            {
              group: [
                '@spike-ts/store',
                '@spike-ts/nexus',
                '@spike-ts/identity',
                '@spike-ts/sdk',
                '@spike-ts/cli',
              ],
              message: 'protocol/core depend on nothing above them.',
            },
          ],
        },
      ],
    },
  },
  {
    // Shared HTTP plumbing sits below the servers and the bootstrap.
    files: ['packages/http/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@spike-ts/nexus',
                '@spike-ts/keeper',
                '@spike-ts/bootstrap',
                '@spike-ts/store',
                '@spike-ts/sdk',
                '@spike-ts/cli',
              ],
              message: 'http is plumbing below the servers: it imports none of them.',
            },
          ],
        },
      ],
    },
  },
  {
    // The settings table sits below every component (identity included): it imports none of ours.
    files: ['packages/settings/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@spike-ts/*'], message: 'settings imports nothing of ours.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
);
